"""/kpi, /region and /case on the screens they meet: a 1080p monitor, a 4K screen without
OS scaling (3840×2160 at 100 %, common on command-center TVs) and a 1366×768 laptop.

At 4K a page must look as it does at 1080p, twice as large (assets/pages.js scales it as
the wall is scaled): its texts, tables and charts take the same share of the screen. At
1366×768 it is not scaled down; it flows: the page body never scrolls sideways (a table
may scroll inside itself), no text sticks out of the screen, is cut by its box, or lies
on another text.
"""
from __future__ import annotations

import re

import pytest

from tests.clock import past_days
from tests.live import PageWatch
from tests.logins import log_in_context

TIMEOUT = 30_000
SIZES = {"1080p": (1920, 1080), "4k": (3840, 2160), "1366": (1366, 768)}

# The rendered size of texts (the height of their own text on screen, i.e. after any
# scaling), the layout's proportions, and what does not fit.
MEASURE = r"""(sel) => {
  const vw = document.documentElement.clientWidth;
  const ownText = el => [...el.childNodes].filter(n => n.nodeType === Node.TEXT_NODE &&
                                                        n.textContent.trim());
  const textHeight = el => {
    const range = document.createRange();
    const nodes = ownText(el);
    if (!nodes.length) return null;
    range.selectNodeContents(nodes[0]);
    return range.getBoundingClientRect().height;
  };
  const median = xs => { xs = xs.filter(x => x).sort((a, b) => a - b);
                         return xs.length ? xs[Math.floor(xs.length / 2)] : null; };
  const out = {vw, scrollWidth: document.documentElement.scrollWidth, text: {}, share: {},
               outside: [], clipped: [], overlaps: []};
  for (const [name, s] of Object.entries(sel.text))
    out.text[name] = median([...document.querySelectorAll(s)].map(textHeight));
  for (const [name, s] of Object.entries(sel.share)) {
    const el = document.querySelector(s);
    out.share[name] = el ? el.getBoundingClientRect().width / vw : null;
  }
  const clippers = el => {
    const out = [];
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement)
      if (getComputedStyle(a).overflow !== 'visible') out.push(a);
    return out;
  };
  const texts = [];
  for (const el of document.querySelectorAll('.gw-page *, .gw-page')) {
    const r = el.getBoundingClientRect();
    if (!r.width || !r.height || getComputedStyle(el).visibility === 'hidden') continue;
    const clips = clippers(el);
    const what = () => el.tagName.toLowerCase() + ' ' + (el.id || '') + ' ' +
                       (el.textContent || '').trim().slice(0, 30);
    // Sticking out of the screen sideways, unless a box that scrolls or clips holds it.
    if (!clips.length && (r.left < -1 || r.right > vw + 1)) out.outside.push(what());
    if (!ownText(el).length || el.closest('.hoverlayer')) continue;
    texts.push([el, r]);
    // Cut: partly outside a box that clips it, except in a table, which scrolls itself.
    if (el.closest('.ag-root-wrapper')) continue;
    for (const a of clips) {
      const c = a.getBoundingClientRect();
      const tol = 2;
      const inside = r.left >= c.left - tol && r.right <= c.right + tol &&
                     r.top >= c.top - tol && r.bottom <= c.bottom + tol;
      const outside = r.right <= c.left || r.left >= c.right || r.bottom <= c.top ||
                      r.top >= c.bottom;
      if (!inside && !outside) { out.clipped.push(what()); break; }
    }
  }
  for (let i = 0; i < texts.length; i++) for (let j = i + 1; j < texts.length; j++) {
    const [a, ra] = texts[i], [b, rb] = texts[j];
    if (a.contains(b) || b.contains(a)) continue;
    const w = Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left);
    const h = Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top);
    if (w > 2 && h > 2) out.overlaps.push(a.textContent.trim().slice(0, 20) + ' / ' +
                                           b.textContent.trim().slice(0, 20));
  }
  for (const k of ['outside', 'clipped', 'overlaps']) out[k] = out[k].slice(0, 20);
  return out;
}"""

PAGES = {
    "kpi": ("/kpi?period=this_week", ["#ranking-grid .ag-row"], {
        "text": {"body": "#kpi-table td", "heading": "h1", "table": "#ranking-grid .ag-cell",
                 "chart": "#kpi-trend .xtick text"},
        "share": {"ranking": "#ranking-panel", "indicators": "#kpi-panel",
                  "column": "#ranking-grid .ag-header-cell[col-id='score']"}}),
    # The seven whole days before today: its case list has rows at any hour CI runs ("this
    # month", the default, is minutes old just after midnight on the 1st).
    "region": ("/region/320500?period=custom&from={week[0]}&to={week[1]}",
               ["#children-grid .ag-row", "#case-grid .ag-row"], {
        "text": {"body": ".gw-stat-label", "heading": "h1", "table": "#case-grid .ag-cell",
                 "chart": "#breakdown-category .ytick text"},
        "share": {"summary": "#region-summary", "map": "#children-map",
                  "column": "#case-grid .ag-header-cell[col-id='reported_at']"}}),
    "case": ("/case/{case}", ["#case-timeline .ag-row"], {
        "text": {"body": "#case-fields dd", "heading": "h1", "table": "#case-timeline .ag-cell"},
        "share": {"timeline": "#timeline-panel",
                  "column": "#case-timeline .ag-header-cell[col-id='at']"}}),
}


def open_at(browser, live_server, path: str, size: tuple[int, int], ready: list[str]):
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    # /kpi is a leader's page, /region and /case staff's.
    log_in_context(context, live_server.url,
                   *live_server.accounts["leader" if path.startswith("/kpi") else "staff"])
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    watch = PageWatch(page, live_server.url)
    page.goto(live_server.url + path)
    for sel in ready:
        page.wait_for_selector(sel)
    page.wait_for_function("() => [...document.querySelectorAll('.dash-graph')].every("
                           "g => g.querySelector('.main-svg .xtick, .main-svg .ytick, "
                           ".main-svg .annotation, .main-svg .trace'))")
    page.evaluate("document.fonts.ready.then(() => true)")
    page.wait_for_timeout(500)  # charts' and grids' last sizing
    return context, page, watch


@pytest.mark.parametrize("name", PAGES)
def test_page_scales_at_4k_and_fits_a_1366_laptop(browser, live_server, case_id, name):
    path, ready, sel = PAGES[name]
    path = path.format(case=case_id, week=past_days(7))
    seen = {}
    for size_name, size in SIZES.items():
        context, page, watch = open_at(browser, live_server, path, size, ready)
        try:
            seen[size_name] = page.evaluate(MEASURE, sel)
        finally:
            context.close()
        assert watch.errors == [] and watch.foreign == [], (size_name, watch.errors, watch.foreign)
    for size_name, m in seen.items():
        where = f"{name} at {size_name}"
        assert m["scrollWidth"] <= m["vw"], (
            f"{where}: the page scrolls sideways ({m['scrollWidth']} > {m['vw']})")
        assert m["outside"] == [], f"{where}: sticks out of the screen: {m['outside']}"
        assert m["clipped"] == [], f"{where}: text cut by its box: {m['clipped']}"
        assert m["overlaps"] == [], f"{where}: texts on top of each other: {m['overlaps']}"
        assert all(v for v in m["text"].values()), f"{where}: a text was not found: {m['text']}"
    hd, uhd, laptop = seen["1080p"], seen["4k"], seen["1366"]
    for kind, size in hd["text"].items():
        # 4K: as large relative to the screen as at 1080p, i.e. twice as many pixels.
        assert uhd["text"][kind] / size == pytest.approx(2.0, rel=0.1), (
            f"{name}: {kind} text is {uhd['text'][kind]:.1f} px at 4K, {size:.1f} px at 1080p")
        # The laptop is not scaled down: its text is as readable as on a 1080p monitor.
        assert laptop["text"][kind] >= 0.9 * size, (
            f"{name}: {kind} text is {laptop['text'][kind]:.1f} px at 1366, {size:.1f} px at 1080p")
    for part, share in hd["share"].items():
        # The same layout: every part (a panel, a table's column) takes the same share of
        # the screen's width at 4K as at 1080p.
        assert share and uhd["share"][part] == pytest.approx(share, abs=0.01), (
            f"{name}: {part} takes {uhd['share'][part]:.3f} of the width at 4K, "
            f"{share:.3f} at 1080p")


def test_scaled_page_still_answers_the_pointer_at_4k(browser, live_server):
    """Clicks, chart hover labels and dropdown menus land where they are drawn on a page
    drawn twice as large."""
    context, page, watch = open_at(browser, live_server, "/region/320500", SIZES["4k"],
                                   ["#children-grid .ag-row"])
    try:
        # A dropdown's menu opens right under it.
        page.click("#metric-choice")
        trigger = page.locator("#metric-choice").bounding_box()
        menu = page.locator(".dash-dropdown-content").bounding_box()
        assert abs(menu["x"] - trigger["x"]) < 4
        assert 0 <= menu["y"] - (trigger["y"] + trigger["height"]) < 40
        page.keyboard.press("Escape")
        # The map's hover label is the region under the pointer.
        page.locator("#children-map").scroll_into_view_if_needed()
        names = page.eval_on_selector_all("#children-grid .ag-pinned-left-cols-container .ag-row",
                                          "rows => rows.map(r => r.textContent.trim())")
        box = page.locator("#children-map .nsewdrag").first.bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_selector("#children-map .hoverlayer .hovertext")
        label = page.text_content("#children-map .hoverlayer .hovertext")
        assert any(n in label for n in names), label
        # A click on a row of the table goes down to that region.
        page.click('#children-grid .ag-center-cols-container .ag-row[row-id="320506"] '
                   '[col-id="intake"]')
        page.wait_for_url(re.compile(r"/region/320506"))
        page.wait_for_selector('#breadcrumb span.gw-crumb-current >> text="吴中区"')
    finally:
        context.close()
    assert watch.errors == [] and watch.foreign == [], (watch.errors, watch.foreign)
