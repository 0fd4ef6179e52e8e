"""Screenshots of gridwatch pages in headless Chromium, for docs/ and for looking.

    .venv/bin/python scripts/screenshot.py http://127.0.0.1:8050/wall docs/wall-1080p.png 1920x1080

Prints console errors and any request that left the app's origin.
"""
from __future__ import annotations

import sys
import time
from urllib.parse import urlsplit

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"


def shoot(url: str, out: str, size: str = "1920x1080", wait: float = 6.0) -> int:
    w, h = (int(x) for x in size.split("x"))
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
    errors, foreign = [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": w, "height": h})
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: None if r.url.startswith((origin, "data:", "blob:"))
                else foreign.append(r.url))
        page.goto(url)
        time.sleep(wait)
        page.screenshot(path=out)
        browser.close()
    for e in errors:
        print("console error:", e)
    for f in foreign:
        print("foreign request:", f)
    return 1 if errors or foreign else 0


if __name__ == "__main__":
    sys.exit(shoot(*sys.argv[1:4]))
