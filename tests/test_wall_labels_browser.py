"""The wall's labels in a real browser (Debian Chromium via Playwright): on the map and
under the 满意率 chart, no label's box overlaps another's and none is cut by the edge of
its plot, at 1920×1080, 3840×2160 and 5760×1620 (32:9), for the province and for the
city with the most districts (南京市, 11). Boxes are the rendered SVG text elements (and
the background boxes of labels led out with a line), in design pixels."""
from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from layouts.wall_parts import short_name
from tests.live import Deployment, PageWatch
from tests.logins import enter_wall

pytestmark = pytest.mark.slow

# Each label's box in design pixels (the canvas is scaled to the screen by wall.js), and
# the plot area it must stay inside. Map labels are the scatter trace's text points and
# the annotations (text and background box) of labels led out of small areas; the
# satisfaction chart's are its x tick labels.
LABEL_BOXES = """() => {
  const canvas = document.getElementById('wall-canvas');
  const k = canvas.getBoundingClientRect().width / canvas.offsetWidth;
  const c0 = canvas.getBoundingClientRect();
  const box = r => [(r.left - c0.left) / k, (r.top - c0.top) / k,
                    (r.right - c0.left) / k, (r.bottom - c0.top) / k];
  const shown = el => {
    const s = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    return s.display !== 'none' && s.visibility !== 'hidden' && r.width > 0 && r.height > 0 &&
           (el.textContent || '').trim().length > 0;
  };
  const graph = id => {
    const gd = document.querySelector('#' + id + ' .js-plotly-plot');
    const r = gd.getBoundingClientRect(), s = gd._fullLayout._size;
    const plot = [r.left + s.l * k, r.top + s.t * k, r.left + (s.l + s.w) * k,
                  r.top + (s.t + s.h) * k];
    return {gd: gd, plot: box({left: plot[0], top: plot[1], right: plot[2], bottom: plot[3]}),
            svg: box(r)};
  };
  const out = {};
  const m = graph('wall-map');
  const labels = [];
  for (const el of m.gd.querySelectorAll('g.textpoint text')) {
    if (shown(el)) labels.push({text: el.textContent, box: box(el.getBoundingClientRect())});
  }
  for (const g of m.gd.querySelectorAll('g.annotation')) {
    const t = g.querySelector('.annotation-text');
    if (!t || !shown(t)) continue;
    const b = box(t.getBoundingClientRect());
    const bg = g.querySelector('rect.bg');
    if (bg) {
      const r = box(bg.getBoundingClientRect());
      b[0] = Math.min(b[0], r[0]); b[1] = Math.min(b[1], r[1]);
      b[2] = Math.max(b[2], r[2]); b[3] = Math.max(b[3], r[3]);
    }
    labels.push({text: t.textContent, box: b});
  }
  out.map = {labels: labels, area: m.plot, gap: 0};
  const s = graph('wall-sat');
  const ticks = 'g.xtick text, g.x2tick text, g.x3tick text, g.x4tick text';  // rows
  out.sat = {labels: Array.from(s.gd.querySelectorAll(ticks)).filter(shown)
               .map(el => ({text: el.textContent, box: box(el.getBoundingClientRect())})),
             area: s.svg, gap: 4};
  return out;
}"""

TOLERANCE = 1.0  # design px


def overlaps(labels: list[dict], gap: float = 0.0) -> list[tuple[str, str]]:
    """Pairs of labels whose boxes, each grown by half of `gap`, overlap by more than
    TOLERANCE in both directions."""
    out = []
    for i, a in enumerate(labels):
        for b in labels[i + 1:]:
            (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = a["box"], b["box"]
            w = min(ax1, bx1) - max(ax0, bx0) + gap
            h = min(ay1, by1) - max(ay0, by0)
            if w > TOLERANCE and h > TOLERANCE:
                out.append((a["text"], b["text"]))
    return out


def outside(graph: dict) -> list[str]:
    """Labels cut by the edge of their area (the plot, or the chart's whole SVG)."""
    x0, y0, x1, y1 = graph["area"]
    return [lab["text"] for lab in graph["labels"]
            if lab["box"][0] < x0 - TOLERANCE or lab["box"][1] < y0 - TOLERANCE
            or lab["box"][2] > x1 + TOLERANCE or lab["box"][3] > y1 + TOLERANCE]


REFRESH = 2.0  # GRIDWATCH_REFRESH_SECONDS of the seeded installation
SIZES = [(1920, 1080), (3840, 2160), (5760, 1620)]


@pytest.fixture(scope="module")
def labels_server(seeded_env):
    """A server of its own on the seeded installation, for this module's pages."""
    dep = Deployment(env=seeded_env.env, data_dir=seeded_env.data_dir)
    dep.start()
    try:
        yield dep
    finally:
        dep.stop()


@pytest.fixture(scope="module")
def children(labels_server):
    """The province's children and those of its city with the most districts, as the
    wall names them (南京市 → 南京), from the seeded region table."""
    eng = sa.create_engine(labels_server.env["GRIDWATCH_DATABASE_URL"])
    with eng.connect() as conn:
        city = conn.execute(sa.text(
            "select parent_code from region where level = 2 group by parent_code "
            "order by count(*) desc, parent_code limit 1")).scalar()
        out = {code: [short_name(n) for (n,) in conn.execute(sa.text(
            "select name from region where parent_code = :p order by code"), {"p": code})]
            for code in ("320000", city)}
    eng.dispose()
    return out


def _labels_on(browser, seeded, url: str, size: tuple[int, int], region: str):
    page = browser.new_page(viewport={"width": size[0], "height": size[1]})
    enter_wall(page.context, seeded, url)      # the province's wall device
    watch = PageWatch(page, url)
    page.goto(f"{url}/wall?region={region}")
    page.wait_for_selector("#wall-map g.textpoint", timeout=30_000)
    page.wait_for_selector("#wall-sat g.xtick", timeout=30_000)
    time.sleep(REFRESH * 1.5)   # a tick has patched the map's labels since the first drawing
    result = page.evaluate(LABEL_BOXES)
    profile = page.get_attribute("#wall-root", "data-profile")
    page.close()
    return result, profile, watch


@pytest.mark.parametrize("size", SIZES, ids=["1080p", "4k", "32x9"])
@pytest.mark.parametrize("which", ["province", "city"])
def test_no_label_overlaps_another_or_leaves_its_plot(seeded_env, labels_server, browser, children,
                                                      size, which):
    region = "320000" if which == "province" else next(c for c in children if c != "320000")
    names = children[region]
    result, profile, watch = _labels_on(browser, seeded_env, labels_server.url, size, region)
    assert profile == ("32x9" if size[0] / size[1] >= 2.6 else "16x9")
    problems = {}
    for graph in ("map", "sat"):
        shown = result[graph]["labels"]
        # Every child is named, once; no two names touch; none is cut by its plot's edge.
        texts = [lab["text"] for lab in shown]
        missing = [n for n in names if not any(t.startswith(n) for t in texts)]
        found = {"missing": missing, "count": len(shown) if len(shown) != len(names) else None,
                 "overlapping": overlaps(shown, result[graph]["gap"]),
                 "cut": outside(result[graph])}
        problems.update({f"{graph} {k}": v for k, v in found.items() if v})
    assert problems == {}, (region, size)
    assert watch.errors == []


# The 24-hour chart's legend entries and its note on the unfinished hour, drawn in the
# wall's own chart (its size at this canvas) from a figure the test gives it: the note
# shows only from the hour's 10th minute, which a seeded server's clock may not be at.
HOURLY_BOXES = """(fig) => {
  const canvas = document.getElementById('wall-canvas');
  const k = canvas.getBoundingClientRect().width / canvas.offsetWidth;
  const c0 = canvas.getBoundingClientRect();
  const box = r => [(r.left - c0.left) / k, (r.top - c0.top) / k,
                    (r.right - c0.left) / k, (r.bottom - c0.top) / k];
  const gd = document.querySelector('#wall-hourly .js-plotly-plot');
  return Plotly.react(gd, fig.data, fig.layout).then(() => {
    const r = gd.getBoundingClientRect(), s = gd._fullLayout._size;
    const texts = sel => Array.from(gd.querySelectorAll(sel))
      .map(el => ({text: el.textContent, box: box(el.getBoundingClientRect())}));
    return {legend: texts('g.legend text.legendtext'), notes: texts('g.annotation text'),
            plot: box({left: r.left + s.l * k, top: r.top + s.t * k,
                       right: r.left + (s.l + s.w) * k, bottom: r.top + (s.t + s.h) * k}),
            svg: box(r)};
  });
}"""


@pytest.mark.parametrize("size", SIZES, ids=["1080p", "4k", "32x9"])
def test_the_hourly_charts_note_sits_beside_its_legend_not_over_its_lines(
        seeded_env, labels_server, browser, size):
    from layouts.wall_charts import hourly_figure
    today = [40] * 24
    today[10] = 20
    fig = hourly_figure({"now_hour": 10, "now_minute": 30, "today_intake": today,
                         "today_closed": [30] * 24, "yesterday_intake": [40] * 24,
                         "yesterday_closed": [30] * 24}, "zh")
    page = browser.new_page(viewport={"width": size[0], "height": size[1]})
    enter_wall(page.context, seeded_env, labels_server.url)
    watch = PageWatch(page, labels_server.url)
    page.goto(f"{labels_server.url}/wall")
    page.wait_for_selector("#wall-hourly g.legend", timeout=30_000)
    r = page.evaluate(HOURLY_BOXES, fig)
    page.close()
    assert [n["text"] for n in r["notes"]] == ["本小时按30分钟折算"]
    assert len(r["legend"]) == 4
    assert overlaps(r["legend"] + r["notes"]) == []
    x0, y0, x1, y1 = r["plot"]
    note = r["notes"][0]["box"]
    assert note[3] <= y0 + TOLERANCE, (note, r["plot"])     # above the plot, off its lines
    assert outside({"area": r["svg"], "labels": r["notes"] + r["legend"]}) == []
    assert watch.errors == []
