"""Every text on every page is drawn in the font gridwatch serves (assets/fonts, declared
as "GW Sans" in assets/00-fonts.css).

Kiosks in a command center have no Chinese system font: any text whose font-family does
not start with the served font falls through to the system's fonts and shows empty boxes
(AG Grid's theme, for one, names its own fonts). Two checks, in Chromium against the real
server, on every page and with the dropdown, date picker and chart hover label open:

- the computed font-family of every visible element with its own text (HTML and the SVG
  <text> of plotly) starts with the served font;
- the fonts Chromium actually drew those texts with (DevTools' CSS.getPlatformFontsForNode)
  are web fonts, i.e. the served one: a character the subset lacks would be drawn from a
  system font, which this machine may have and a kiosk does not.

This machine must have no Chinese system font either (`fc-list :lang=zh` empty), or a
fallback could hide a box from the screenshots; the checks themselves do not depend on it.
"""
from __future__ import annotations

import pytest

from tests.live import hover_widest_bar
from tests.logins import enter_wall, sign_in

SERVED = "GW Sans"
TIMEOUT = 30_000

# Marks every visible element that has text of its own and returns what it found.
# Visible: it has a box (a client rect), is not visibility:hidden, and is on the page
# (plotly keeps an off-page <svg> to measure text with).
TEXTS = r"""(served) => {
  document.querySelectorAll('[data-gw-text]').forEach(e => e.removeAttribute('data-gw-text'));
  const out = [];
  const first = f => f.split(',')[0].trim().replace(/^["']|["']$/g, '');
  for (const el of document.querySelectorAll('body *')) {
    let own = '';
    for (const n of el.childNodes) if (n.nodeType === Node.TEXT_NODE) own += n.textContent;
    if (el.tagName === 'INPUT' && !['hidden', 'radio', 'checkbox'].includes(el.type))
      own = el.value || el.placeholder || '';
    own = own.trim();
    if (!own) continue;
    const rects = el.getClientRects();
    if (!rects.length) continue;
    const r = el.getBoundingClientRect();
    if (r.right + window.scrollX < 0 || r.bottom + window.scrollY < 0) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden') continue;
    el.setAttribute('data-gw-text', String(out.length));
    const cls = typeof el.className === 'string' ? el.className : el.className.baseVal;
    out.push({first: first(style.fontFamily), family: style.fontFamily, text: own.slice(0, 40),
              where: el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
                     (cls ? '.' + cls.trim().split(/\s+/).slice(0, 2).join('.') : '')});
  }
  const faces = [...document.fonts].filter(f => first(f.family) === served);
  return {texts: out, faces: faces.map(f => [f.weight, f.status])};
}"""


def drawn_fonts(page, count: int) -> dict[int, list[tuple[str, bool]]]:
    """For the marked elements, the fonts Chromium drew their text with: (family, web
    font). An element redrawn meanwhile (the wall refreshes every 2 s) is left out."""
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
        nodes = cdp.send("DOM.querySelectorAll", {"nodeId": root, "selector": "[data-gw-text]"})
        out = {}
        for node in nodes["nodeIds"]:
            try:
                attrs = cdp.send("DOM.getAttributes", {"nodeId": node})["attributes"]
                fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
            except Exception:  # noqa: BLE001 - the node went away meanwhile
                continue
            i = int(attrs[attrs.index("data-gw-text") + 1])
            if i < count:
                out[i] = [(f["familyName"], f["isCustomFont"]) for f in fonts if f["glyphCount"]]
        return out
    finally:
        cdp.detach()


def assert_served_font(page, what: str) -> None:
    page.evaluate("document.fonts.ready.then(() => true)")
    checked: set[tuple[str, str]] = set()
    system: dict[tuple[str, str], list] = {}
    for _ in range(20):  # the wall redraws as it is read: read again what was missed
        found = page.evaluate(TEXTS, SERVED)
        texts = found["texts"]
        assert texts, f"{what}: no text found"
        wrong = [f"{t['where']} {t['text']!r}: {t['family']}"
                 for t in texts if t["first"] != SERVED]
        assert not wrong, f"{what}: {len(wrong)} texts not in {SERVED}:\n" + "\n".join(wrong[:30])
        assert ("400", "loaded") in [tuple(f) for f in found["faces"]], found["faces"]
        keys = [(t["where"], t["text"]) for t in texts]
        for i, fonts in drawn_fonts(page, len(texts)).items():
            checked.add(keys[i])
            if not all(web for _, web in fonts):
                system[keys[i]] = fonts
        covered = sum(k in checked for k in keys)
        if covered >= 0.9 * len(keys):
            break
    assert not system, (f"{what}: {len(system)} texts drawn (partly) with a system font, so a "
                        "character is missing from the served subset:\n" +
                        "\n".join(f"{w} {t!r}: {f}" for (w, t), f in list(system.items())[:30]))
    assert covered >= 0.9 * len(keys), f"{what}: drawn fonts of {covered} of {len(keys)} texts"


def wait_for_charts(page) -> None:
    page.wait_for_function("() => [...document.querySelectorAll('.dash-graph')].every("
                           "g => g.querySelector('.main-svg .xtick, .main-svg .ytick, "
                           ".main-svg .annotation, .main-svg .trace'))")


def open_wall(page, url, case_id):
    page.goto(url + "/")           # as the province's wall device (WALL below)
    page.wait_for_selector("#wall-feed")
    page.wait_for_function("() => document.getElementById('wall-feed').dataset.status === 'live'")
    page.wait_for_selector("#wall-ranking td")
    wait_for_charts(page)


def open_kpi(page, url, case_id):
    page.goto(url + "/kpi")
    page.wait_for_selector("#ranking-grid .ag-row")
    wait_for_charts(page)


def open_region(code):
    def open_it(page, url, case_id):
        page.goto(f"{url}/region/{code}")
        page.wait_for_selector("#children-grid .ag-row")
        page.wait_for_selector("#case-grid .ag-row")
        wait_for_charts(page)
    return open_it


def open_empty_cases(page, url, case_id):
    """A case list with no rows: AG Grid's own overlay text."""
    page.goto(f"{url}/region/320500?period=custom&from=2020-01-01&to=2020-01-02")
    page.wait_for_selector("#case-grid .ag-overlay-no-rows-center")


def open_case(page, url, case_id):
    page.goto(f"{url}/case/{case_id}")
    page.wait_for_selector("#case-timeline .ag-row")


def open_status(page, url, case_id):
    page.goto(url + "/status")
    page.wait_for_selector("#status-kpis")
    page.wait_for_function("() => document.getElementById('status-kpis').textContent.trim() !== '' &&"
                           "document.getElementById('status-sources').textContent.trim() !== ''")


def open_error(page, url, case_id):
    page.goto(url + "/kpi?from=2026-02-30&to=2026-03-05")
    page.wait_for_selector("#error-page")


def open_auth(path, ready):
    def open_it(page, url, case_id):
        page.goto(url + path)
        page.wait_for_selector(ready)
    return open_it


PAGES = {"wall": open_wall, "kpi": open_kpi, "region-root": open_region("320000"),
         "region-city": open_region("320500"), "empty-cases": open_empty_cases,
         "case": open_case, "status": open_status,
         "bad-input": open_error, "login": open_auth("/login", "#auth-submit"),
         "account": open_auth("/account", "#account-pages"),
         "password": open_auth("/password", "#auth-submit"),
         "enrol": open_auth("/totp/enrol", "#totp-qr svg")}
# Who opens each page (the login: nobody logged in; the wall: the province's wall device).
ROLES = {"kpi": "leader", "bad-input": "leader", "region-root": "staff", "region-city": "staff",
         "empty-cases": "staff", "case": "staff", "status": "staff", "account": "staff", "password": "staff",
         "enrol": "staff"}


@pytest.mark.parametrize("name", PAGES)
def test_every_text_of_the_page_is_in_the_served_font(page, live_server, case_id, name):
    if name in ROLES:
        sign_in(page, live_server, ROLES[name])
    if name == "wall":
        enter_wall(page.context, live_server)
    PAGES[name](page, live_server.url, case_id)
    assert_served_font(page, name)


def test_open_dropdown_date_picker_and_hover_label_are_in_the_served_font(page, live_server,
                                                                          case_id):
    sign_in(page, live_server, "staff")
    open_region("320500")(page, live_server.url, case_id)
    page.click("#filter-state")
    page.wait_for_selector(".dash-dropdown-content")
    assert_served_font(page, "dropdown open")
    page.keyboard.press("Escape")
    page.click("#period-range-wrapper")
    page.wait_for_selector(".dash-datepicker-content")
    assert_served_font(page, "date picker open")
    page.keyboard.press("Escape")
    hover_widest_bar(page, "#breakdown-category")
    assert_served_font(page, "chart hover label")
