"""Screenshots of gridwatch pages in headless Chromium, for docs/ and for looking.

    .venv/bin/python scripts/screenshot.py http://127.0.0.1:8050/wall docs/wall-1080p.png 1920x1080
    .venv/bin/python scripts/screenshot.py --docs http://127.0.0.1:8050 [--query period=this_week]

The first form takes one screenshot of the viewport; `--full` takes the whole page. The
second (re)makes every page screenshot of docs/ that the README shows, from a running demo
(`bash scripts/demo.sh`); pass a region code and a case id to show others than the
defaults (苏州市, the first case of the database).

Pages behind the login are shot logged in: `--login USER` logs in through the form first
with the password in the environment variable GRIDWATCH_PASSWORD (not on the command
line, where the shell's history would keep it). `--docs` logs in as the demo's leader
(/kpi) and staff (/region, /case): `--leader USER --staff USER` with their passwords in
GRIDWATCH_LEADER_PASSWORD and GRIDWATCH_STAFF_PASSWORD (the demo prints all four).

It waits until the page is drawn (tables with rows, charts with axes, the served font
loaded), then a few seconds more. Prints console errors and any request that left the
app's origin.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
DOCS = Path(__file__).resolve().parent.parent / "docs"

# Drawn: a page's frame is there, every table has rows, every chart has axes or a message.
DRAWN = """() => {
  if (!document.querySelector('.gw-page, #wall-root .gw-w-kpi-value, .gw-status, #error-page'))
    return false;
  for (const g of document.querySelectorAll('.ag-root-wrapper'))
    if (!g.querySelector('.ag-row')) return false;
  for (const g of document.querySelectorAll('.dash-graph'))
    if (!g.querySelector('.main-svg :is(.xtick, .ytick, .annotation, .trace)'))
      return false;
  return document.fonts.status === 'loaded';
}"""


def log_in(page, url: str, login: tuple[str, str]) -> None:
    """Through the login form, as a person does; lands on `url`."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    page.goto(f"{parts.scheme}://{parts.netloc}/login?next={target}")
    page.fill("#username", login[0])
    page.fill("#password", login[1])
    page.click("#auth-submit")
    page.wait_for_url(lambda u: "/login" not in u, timeout=30_000)
    if urlsplit(page.url).path != parts.path:
        raise SystemExit(f"logged in as {login[0]}, but landed on {page.url} (a step to finish "
                         "in a browser first: new password, second factor?)")


def shoot(url: str, out: str, size: str = "1920x1080", wait: float = 3.0,
          full: bool = False, login: tuple[str, str] | None = None) -> int:
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
        if login:
            log_in(page, url, login)
        else:
            page.goto(url)
        page.wait_for_function(DRAWN, timeout=60_000)
        time.sleep(wait)  # the wall's first refresh, charts' transitions
        page.screenshot(path=out, full_page=full)
        browser.close()
    for e in errors:
        print("console error:", e)
    for f in foreign:
        print("foreign request:", f)
    print(out)
    return 1 if errors or foreign else 0


def docs(base: str, region: str = "320500", case: str = "1", query: str = "",
         leader: tuple[str, str] | None = None, staff: tuple[str, str] | None = None) -> int:
    """Every page screenshot the README shows; `query` (e.g. "period=this_week") is
    added to /kpi's and /region's URLs."""
    q = "?" + query if query else ""
    shots = [
        (f"/kpi{q}", "kpi-1080p.png", "1920x1080", leader),
        (f"/region/{region}{q}", "region-1080p.png", "1920x1080", staff),
        (f"/case/{case}", "case-1080p.png", "1920x1080", staff),
        (f"/kpi{q}", "kpi-4k.png", "3840x2160", leader),
        (f"/kpi{q}", "kpi-1366.png", "1366x768", leader),
        (f"/region/{region}{q}", "region-1366.png", "1366x768", staff),
    ]
    return max(shoot(base.rstrip("/") + path, str(DOCS / name), size, login=login)
               for path, name, size, login in shots)


def _login(user: str | None, variable: str) -> tuple[str, str] | None:
    if not user:
        return None
    password = os.environ.get(variable)
    if not password:
        raise SystemExit(f"{variable} is not set: the password of {user}")
    return user, password


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--docs", action="store_true", help="make docs/'s page screenshots")
    ap.add_argument("--full", action="store_true", help="the whole page, not the viewport")
    ap.add_argument("--query", default="", help="with --docs: query of /kpi and /region")
    ap.add_argument("--login", help="log in as USER first (password: $GRIDWATCH_PASSWORD)")
    ap.add_argument("--leader", help="with --docs: the leader for /kpi "
                    "(password: $GRIDWATCH_LEADER_PASSWORD)")
    ap.add_argument("--staff", help="with --docs: the staff member for /region and /case "
                    "(password: $GRIDWATCH_STAFF_PASSWORD)")
    ap.add_argument("url")
    ap.add_argument("rest", nargs="*", help="OUT [WxH], or with --docs: [REGION [CASE]]")
    args = ap.parse_args(argv)
    if args.docs:
        return docs(args.url, *args.rest, query=args.query,
                    leader=_login(args.leader, "GRIDWATCH_LEADER_PASSWORD"),
                    staff=_login(args.staff, "GRIDWATCH_STAFF_PASSWORD"))
    if not args.rest:
        ap.error("OUT is required")
    return shoot(args.url, args.rest[0], *(args.rest[1:2] or ["1920x1080"]), full=args.full,
                 login=_login(args.login, "GRIDWATCH_PASSWORD"))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
