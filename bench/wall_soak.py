"""Soak test of the wall: /wall in headless Chromium for a long time, JS heap and DOM sampled.

    python3 -m uv pip install --python .venv/bin/python matplotlib   # bench-only
    .venv/bin/python -m bench.wall_soak --minutes 30 --refresh 1 --docs

It builds an installation of its own (a fresh data directory with a SQLite database,
`GRIDWATCH_KEY_PREFIX=gwbench:<random>:` on the Redis at --redis-url), seeds --days of history
at --scale, starts `gridwatch simulate --speed 20` (a busy stream) and `gridwatch serve
--workers 2` with GRIDWATCH_REFRESH_SECONDS=--refresh, opens /wall at 1920×1080 in Debian's
Chromium (Playwright) with the URL of a wall device it enrols and every --every seconds, after a forced garbage collection
(CDP HeapProfiler.collectGarbage), records:

  JS heap used/total (CDP Performance.getMetrics), DOM nodes (the CDP `Nodes` metric, which
  also counts detached nodes still alive, and document.getElementsByTagName('*').length),
  event listeners, ticker rows, live map points, live events received
  (window.gwWall.received()), Dash callbacks answered, whether the page still shows data
  (wall root present, KPI numbers shown, not marked stale, live feed "live") and the
  resident memory of the gunicorn workers.

The quiet-hour reload of the wall (GRIDWATCH_WALL_RELOAD_HOUR) is disabled so that the page
is never reset during the soak. Samples are written to --out (JSON) after each one; at the
end the trend (least-squares slope per hour over the second half, after warm-up) is
computed, and with --docs docs/wall-soak.png and docs/wall-soak.md are written.
`--report FILE` re-renders plot and doc from a saved JSON without running anything.
At exit it stops its processes and deletes its Redis keys and data directory.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.live import Deployment, chromium_path, make_env, stop_process  # noqa: E402
from tests.logins import wall_device  # noqa: E402

DOCS = ROOT / "docs"
RESULTS = ROOT / "bench" / "results"

PAGE_PROBE = """() => {
  const root = document.getElementById('wall-root');
  const ticker = document.getElementById('wall-ticker');
  const layer = document.querySelector('#wall-map .gw-w-points');
  const kpis = Array.from(document.querySelectorAll('[id^="wall-kpi-"]'))
      .filter(e => e.id !== 'wall-kpi-data').map(e => (e.textContent || '').trim());
  const feed = document.getElementById('wall-feed');
  const w = window.gwWall;
  return {
    elements: document.getElementsByTagName('*').length,
    ticker_rows: ticker ? ticker.childElementCount : -1,
    map_points: layer ? layer.childElementCount : 0,
    received: w ? w.received() : -1,
    last_id: w ? w.lastId() : null,
    wall_root: !!root,
    stale: root ? root.classList.contains('gw-is-stale') : null,
    feed: feed ? feed.getAttribute('data-status') : null,
    kpis_shown: kpis.filter(v => v && v !== '—' && v !== '-').length,
    kpis_total: kpis.length,
    plots: document.querySelectorAll('.js-plotly-plot').length,
    same_page: window.__soakMarker === 1,
    callbacks: window.__soakCallbacks || 0,
  };
}"""


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(x) for x in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def _descendants(pid: int) -> list[int]:
    todo, seen = [pid], []
    while todo:
        p = todo.pop()
        for c in _children(p):
            seen.append(c)
            todo.append(c)
    return seen


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def gunicorn_rss(serve_pid: int) -> dict:
    """RSS of the gunicorn master's worker processes (the master itself excluded)."""
    pids = [p for p in _descendants(serve_pid) if "gunicorn" in _cmdline(p)]
    masters = [p for p in pids if any(c in pids for c in _children(p))]
    workers = [p for p in pids if p not in masters]
    return {"workers": len(workers), "rss_mb": round(sum(_rss_mb(p) for p in workers), 1)}


def slope_per_hour(xs_s: list[float], ys: list[float]) -> tuple[float, float]:
    """Least-squares slope (units per hour) and the mean of ys."""
    n = len(xs_s)
    if n < 3:
        return float("nan"), float("nan")
    mx, my = sum(xs_s) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs_s)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs_s, ys))
    return (sxy / sxx) * 3600 if sxx else float("nan"), my


TRENDS = (("heap_used_mb", "JS heap used", "MB"), ("nodes", "DOM nodes (CDP Nodes)", "nodes"),
          ("elements", "DOM elements in the document", "elements"),
          ("listeners", "JS event listeners", "listeners"),
          ("server_rss_mb", "gunicorn workers RSS", "MB"))


def trends(samples: list[dict]) -> dict:
    """Slope per hour over the second half of the run (the first half is warm-up)."""
    if not samples:
        return {}
    end = samples[-1]["t"]
    half = [s for s in samples if s["t"] >= end / 2]
    out = {}
    for key, _label, _unit in TRENDS:
        pts = [(s["t"], s[key]) for s in half if s.get(key) is not None]
        if len(pts) < 3:
            continue
        slope, mean = slope_per_hour([p[0] for p in pts], [p[1] for p in pts])
        ys = [p[1] for p in pts]
        pairs = [(b[1] - a[1]) / (b[0] - a[0]) * 3600 for i, a in enumerate(pts)
                 for b in pts[i + 1:] if b[0] > a[0]]
        theil_sen = statistics.median(pairs)
        out[key] = {"slope_per_hour": slope, "mean": mean, "min": min(ys), "max": max(ys),
                    "theil_sen_per_hour": theil_sen,
                    "theil_sen_pct_of_mean_per_hour": 100 * theil_sen / mean if mean else None,
                    "slope_pct_of_mean_per_hour": 100 * slope / mean if mean else None,
                    "n": len(pts), "from_s": pts[0][0], "to_s": pts[-1][0]}
    return out


# -- run ---------------------------------------------------------------------------------
def run(args) -> dict:
    import redis
    from playwright.sync_api import sync_playwright

    prefix = f"gwbench:{secrets.token_hex(4)}:"
    data_dir = Path(tempfile.mkdtemp(prefix="gw-soak-"))
    db_url = args.database_url or f"sqlite:///{data_dir / 'gridwatch.db'}"
    env = make_env(data_dir, db_url, args.redis_url, prefix,
                   GRIDWATCH_REFRESH_SECONDS=str(args.refresh), GRIDWATCH_WALL_RELOAD_HOUR="-1")
    dep = Deployment(env=env, data_dir=data_dir)
    sim = None
    meta = {"started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "minutes": args.minutes, "refresh_seconds": args.refresh, "every_s": args.every,
            "speed": args.speed, "days": args.days, "scale": args.scale,
            "database": "sqlite" if not args.database_url else "postgresql",
            "machine": machine(), "key_prefix": prefix}
    result = {"meta": meta, "samples": [], "errors": []}
    r = redis.Redis.from_url(args.redis_url)
    try:
        print(f"[soak] data dir {data_dir}, keys {prefix}*", flush=True)
        dep.cli("db", "init")
        out = dep.cli("seed", "--days", str(args.days), "--scale", str(args.scale),
                      "--stream-hours", "2", timeout=1800)
        print("[soak]", out.strip().splitlines()[-1], flush=True)
        meta["seed"] = out.strip().splitlines()[-1]
        sim_log = open(data_dir / "simulate.log", "ab")
        sim = subprocess.Popen([sys.executable, "-m", "dashboard.app.cli", "simulate", "--speed",
                                str(args.speed)], env=env, cwd=ROOT, stdout=sim_log,
                               stderr=sim_log)
        dep.start(workers=2)
        meta["cases"] = _cases(dep)
        print(f"[soak] serving {dep.url}/wall, {meta['cases']} cases", flush=True)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium_path(),
                                         args=["--no-sandbox"], headless=True)
            page = browser.new_page(viewport={"width": 1920, "height": 1080})
            page.on("pageerror", lambda e: result["errors"].append(
                {"t": round(time.monotonic() - t0, 1), "error": str(e)[:300]}))
            page.on("console", lambda m: m.type == "error" and result["errors"].append(
                {"t": round(time.monotonic() - t0, 1), "console": m.text[:300]}))
            t0 = time.monotonic()
            # The wall URL `gridwatch walls add` prints: its token becomes the device cookie.
            page.goto(dep.url + wall_device(db_url, "320000", name="soak"), wait_until="load")
            page.wait_for_selector("#wall-root", timeout=60_000)
            page.wait_for_selector("#wall-map .js-plotly-plot", timeout=60_000)
            # Count the refresh callbacks answered, and mark the document to detect reloads.
            page.evaluate("""() => { window.__soakMarker = 1; window.__soakCallbacks = 0;
                const f = window.fetch; window.fetch = function (u, o) {
                  const p = f.apply(this, arguments);
                  if (String(u).indexOf('_dash-update-component') >= 0)
                    p.then(r => { if (r.ok) window.__soakCallbacks += 1; }, () => {});
                  return p; }; }""")
            cdp = page.context.new_cdp_session(page)
            cdp.send("Performance.enable")
            deadline = t0 + args.minutes * 60
            next_at = t0
            while True:
                now = time.monotonic()
                if now >= deadline + 1:
                    break
                if now < next_at:
                    time.sleep(min(next_at - now, 5))
                    continue
                next_at += args.every
                s = sample(cdp, page, round(now - t0, 1))
                s.update(gunicorn_rss(dep.proc.pid))
                s["server_rss_mb"] = s.pop("rss_mb")
                s["server_alive"] = dep.proc.poll() is None
                s["sim_alive"] = sim.poll() is None
                result["samples"].append(s)
                _save(args.out, result)
                print(f"[soak] t={s['t']:7.0f}s heap={s['heap_used_mb']:.2f}MB "
                      f"nodes={s['nodes']} elems={s['elements']} ticker={s['ticker_rows']} "
                      f"points={s['map_points']} recv={s['received']} cb={s['callbacks']} "
                      f"ok={s['shows_data']} rss={s['server_rss_mb']}MB", flush=True)
            browser.close()
        meta["finished"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    finally:
        stop_process(sim)
        dep.stop()
        keys = list(r.scan_iter(match=prefix + "*", count=1000))
        if keys:
            r.delete(*keys)
        meta["redis_keys_deleted"] = len(keys)
        shutil.rmtree(data_dir, ignore_errors=True)
        _save(args.out, result)
    return result


def sample(cdp, page, t: float) -> dict:
    cdp.send("HeapProfiler.collectGarbage")
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    probe = page.evaluate(PAGE_PROBE)
    shows = (probe["wall_root"] and probe["kpis_shown"] > 0 and probe["kpis_shown"] ==
             probe["kpis_total"] and not probe["stale"] and probe["feed"] == "live"
             and probe["ticker_rows"] > 0 and probe["same_page"])
    return {"t": t, "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "heap_used_mb": round(metrics.get("JSHeapUsedSize", 0) / 2**20, 3),
            "heap_total_mb": round(metrics.get("JSHeapTotalSize", 0) / 2**20, 3),
            "nodes": int(metrics.get("Nodes", 0)),
            "listeners": int(metrics.get("JSEventListeners", 0)),
            "documents": int(metrics.get("Documents", 0)),
            "layout_count": int(metrics.get("LayoutCount", 0)),
            **probe, "shows_data": bool(shows)}


def _cases(dep: Deployment):
    try:
        return dep.health(timeout=10).get("cases")
    except Exception:  # noqa: BLE001
        return None


def _save(path: Path, result: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, ensure_ascii=False, indent=1))
    tmp.replace(path)


def machine() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        chromium = subprocess.run([chromium_path() or "chromium", "--version"],
                                  capture_output=True, text=True, timeout=20).stdout.strip()
    except Exception:  # noqa: BLE001
        chromium = ""
    return {"nproc": os.cpu_count(), "cpu": model, "python": platform.python_version(),
            "chromium": chromium}


# -- report ------------------------------------------------------------------------------
def plot(result: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ss = result["samples"]
    tm = [s["t"] / 60 for s in ss]
    fig, axes = plt.subplots(2, 2, figsize=(13, 7.5), sharex=True)
    half = ss[-1]["t"] / 60 / 2 if ss else 0

    def trendline(ax, key, colour):
        tr = trends(ss).get(key)
        if not tr:
            return
        pts = [s for s in ss if s["t"] >= ss[-1]["t"] / 2]
        xs = [p["t"] for p in pts]
        mx = sum(xs) / len(xs)
        my = sum(p[key] for p in pts) / len(pts)
        k = tr["slope_per_hour"] / 3600
        ax.plot([xs[0] / 60, xs[-1] / 60], [my + k * (xs[0] - mx), my + k * (xs[-1] - mx)],
                "--", color=colour, lw=1.2, label=f"trend {tr['slope_per_hour']:+.3g}/h")

    ax = axes[0][0]
    ax.plot(tm, [s["heap_used_mb"] for s in ss], "o-", ms=3, color="tab:blue", label="used")
    trendline(ax, "heap_used_mb", "tab:blue")
    ax.set_ylabel("JS heap after GC (MB)")
    ax.legend(loc="lower right")
    ax = axes[0][1]
    ax.plot(tm, [s["nodes"] for s in ss], "o-", ms=3, color="tab:red", label="CDP Nodes")
    ax.plot(tm, [s["elements"] for s in ss], "o-", ms=3, color="tab:orange",
            label="document elements")
    trendline(ax, "nodes", "tab:red")
    ax.set_ylabel("DOM nodes")
    ax.legend(loc="lower right")
    ax = axes[1][0]
    ax.plot(tm, [s["received"] for s in ss], "-", color="tab:green", label="live events received")
    ax.plot(tm, [s["callbacks"] for s in ss], "-", color="tab:purple", label="refresh callbacks")
    ax.set_ylabel("cumulative count")
    ax.set_xlabel("minutes")
    ax2 = ax.twinx()
    ax2.plot(tm, [s["ticker_rows"] for s in ss], ".", color="tab:gray", label="ticker rows")
    ax2.plot(tm, [s["map_points"] for s in ss], ".", color="tab:brown", label="map points")
    ax2.set_ylabel("ticker rows / map points")
    ax2.set_ylim(0, 220)
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], loc="upper left", fontsize=8)
    ax = axes[1][1]
    ax.plot(tm, [s["server_rss_mb"] for s in ss], "o-", ms=3, color="tab:cyan")
    trendline(ax, "server_rss_mb", "tab:cyan")
    ax.set_ylabel("gunicorn workers RSS (MB, both)")
    ax.set_xlabel("minutes")
    ax.legend(loc="lower right")
    for row in axes:
        for a in row:
            lo, hi = a.get_ylim()
            a.set_ylim(0, max(hi, 1) * 1.12)
            a.axvspan(0, half, color="0.92", zorder=0)
            a.grid(alpha=0.3)
    m = result["meta"]
    fig.suptitle(f"gridwatch /wall soak: {ss[-1]['t'] / 60:.0f} min, refresh {m['refresh_seconds']} s, "
                 f"simulator speed {m['speed']}, 1920×1080 headless Chromium "
                 "(grey: warm-up half, not used for the trend)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def markdown(result: dict, png_name: str, json_name: str) -> str:
    ss, m = result["samples"], result["meta"]
    tr = trends(ss)
    minutes = ss[-1]["t"] / 60 if ss else 0
    ok = sum(1 for s in ss if s["shows_data"])
    lines = [
        "# Wall soak test",
        "",
        f"`/wall` (region 320000 江苏省) ran for **{minutes:.0f} minutes** in headless Chromium at "
        f"1920×1080 with a **{m['refresh_seconds']:g} s** refresh interval while the simulator "
        f"played a busy stream (`--speed {m['speed']:g}`). Every {m['every_s']:g} s, after a "
        "forced garbage collection, the JS heap and the DOM were measured. Result: "
        + _summary(tr) + " (slopes, the bar and the reading below).",
        "",
        f"![JS heap, DOM nodes, live counters and server RSS over the soak]({png_name})",
        "",
        "## How to run it",
        "",
        "```bash",
        "bash scripts/setup.sh test                      # .venv with playwright",
        "python3 -m uv pip install --python .venv/bin/python matplotlib   # bench-only (the plot), not an app dependency",
        f".venv/bin/python -m bench.wall_soak --minutes {m['minutes']:g} --refresh {m['refresh_seconds']:g} --docs",
        "```",
        "",
        "It needs Redis (`--redis-url`, default `redis://127.0.0.1:6379/0`; it uses keys "
        "`gwbench:<random>:*` only and deletes them at the end) and Debian's `chromium` "
        "(`/usr/bin/chromium`). It seeds its own SQLite database "
        f"({m['days']} days at scale {m['scale']:g}: {_fmt(m.get('cases'))} cases) in a "
        "temporary data directory, starts `gridwatch simulate` and `gridwatch serve --workers 2`, "
        "and removes everything afterwards. `--report bench/results/FILE.json --docs` "
        "re-renders this page from a saved run. The wall's quiet-hour reload "
        "(`GRIDWATCH_WALL_RELOAD_HOUR`) is disabled during the soak, so one page lives "
        "through the whole run.",
        "",
        "## Trend (second half of the run, after warm-up)",
        "",
        "Least-squares slope over the samples of the second half "
        "(the first half is warm-up: the ticker and the map overlay fill up to their caps of 24 "
        "rows and 200 points, plotly and Dash finish their first allocations).",
        "",
        "| measure | mean | min – max | slope per hour (least squares) | % of mean per hour | "
        "robust slope per hour (Theil–Sen) | % of mean per hour |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for key, label, unit in TRENDS:
        t = tr.get(key)
        if not t:
            continue
        pct = t["slope_pct_of_mean_per_hour"]
        lines.append(f"| {label} ({unit}) | {_num(t['mean'])} | {_num(t['min'])} – {_num(t['max'])} | "
                     f"{_num(t['slope_per_hour'], True)} | {pct:+.2f}% | "
                     f"{_num(t['theil_sen_per_hour'], True)} | "
                     f"{t['theil_sen_pct_of_mean_per_hour']:+.2f}% |")
    heap, nodes = tr.get("heap_used_mb"), tr.get("nodes")
    lines += [""]
    if heap and nodes:
        verdict = _verdict(tr)
        lines += [verdict, ""]
        n = len(ss)
        quarters = [ss[q * n // 4:(q + 1) * n // 4] for q in range(4)]
        lines += ["Median of each quarter of the run (the same series, without a model):", "",
                  "| quarter | minutes | JS heap used (MB) | CDP Nodes | elements |",
                  "|---:|---|---:|---:|---:|"]
        for q, part in enumerate(quarters):
            if not part:
                continue
            lines.append(f"| {q + 1} | {part[0]['t'] / 60:.1f}–{part[-1]['t'] / 60:.1f} | "
                         f"{statistics.median(x['heap_used_mb'] for x in part):.2f} | "
                         f"{statistics.median(x['nodes'] for x in part):,.0f} | "
                         f"{statistics.median(x['elements'] for x in part):,.0f} |")
        lines += [""]
    first_full = next((s for s in ss if s["ticker_rows"] >= 24), None)
    if m.get("notes"):
        lines += ["## Reading of this run", "", *[f"- {n}" for n in m["notes"]], ""]
    lines += [
        "## Liveness",
        "",
        f"- The page showed data (wall present, every KPI filled, not marked stale, live feed "
        f"`live`, ticker non-empty, same document since load) in **{ok} of {len(ss)}** samples.",
        f"- Live events received by the page: {ss[-1]['received']:,} "
        f"({ss[-1]['received'] / max(ss[-1]['t'], 1) * 60:.0f} a minute); refresh callbacks "
        f"answered: {ss[-1]['callbacks']:,} (one per {ss[-1]['t'] / max(ss[-1]['callbacks'], 1):.2f} s).",
        f"- Ticker rows stayed ≤ {max(s['ticker_rows'] for s in ss)} (cap 24), map points "
        f"≤ {max(s['map_points'] for s in ss)} (cap 200)"
        + (f"; the ticker was full from {first_full['t'] / 60:.1f} min." if first_full else "."),
        f"- Page errors and console errors: {len(result['errors'])}"
        + (" (first: `" + json.dumps(result['errors'][0], ensure_ascii=False)[:200] + "`)."
           if result["errors"] else "."),
        f"- Both processes alive at the end: server {ss[-1]['server_alive']}, simulator "
        f"{ss[-1]['sim_alive']}.",
        "",
        "## Samples",
        "",
        f"Every {max(1, round(120 / m['every_s']))}th sample (every "
        f"{max(1, round(120 / m['every_s'])) * m['every_s'] / 60:g} min) and the last; the full "
        f"series is in `bench/results/{json_name}` (not committed).",
        "",
        "| min | JS heap used (MB) | heap total (MB) | CDP Nodes | elements | listeners | ticker rows | map points | events received | callbacks | shows data | server RSS (MB) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    step = max(1, round(120 / m["every_s"]))
    picked = [s for i, s in enumerate(ss) if i % step == 0]
    if ss and picked[-1] is not ss[-1]:
        picked.append(ss[-1])
    for s in picked:
        lines.append(f"| {s['t'] / 60:.1f} | {s['heap_used_mb']:.2f} | {s['heap_total_mb']:.2f} | "
                     f"{s['nodes']:,} | {s['elements']:,} | {s['listeners']:,} | "
                     f"{s['ticker_rows']} | {s['map_points']} | {s['received']:,} | "
                     f"{s['callbacks']:,} | {'yes' if s['shows_data'] else '**no**'} | "
                     f"{s['server_rss_mb']:.0f} |")
    mc = m["machine"]
    lines += [
        "",
        "## Setup of this run",
        "",
        f"- {m['started']} → {m.get('finished', '?')} (UTC); machine: {mc['nproc']} cores, "
        f"{mc['cpu']}; {mc['chromium']}; Python {mc['python']}.",
        f"- Data: {_fmt(m.get('cases'))} cases ({m['days']} days at scale {m['scale']:g}), "
        f"{m['database']}; Redis stream written by `gridwatch simulate --speed {m['speed']:g}`.",
        f"- `GRIDWATCH_REFRESH_SECONDS={m['refresh_seconds']:g}`, `gridwatch serve --workers 2` "
        "(gunicorn, gevent), one browser page on `/wall`.",
        "- JS heap: CDP `Performance.getMetrics` `JSHeapUsedSize` right after "
        "`HeapProfiler.collectGarbage`; `Nodes` is Blink's count of live DOM nodes (detached ones "
        "included, so a leak of removed rows would show there even when the document does not "
        "grow); elements: `document.getElementsByTagName('*').length`.",
        "",
    ]
    return "\n".join(lines)


def _num(v: float, sign: bool = False) -> str:
    s = "+" if sign else ""
    return f"{v:{s},.0f}" if abs(v) >= 100 else f"{v:{s}.2f}"


def _summary(tr: dict) -> str:
    if not tr.get("heap_used_mb") or not tr.get("nodes"):
        return "too few samples for a trend"
    if _flat(tr):
        return "**no growth trend** in the JS heap or the DOM"
    bad = [n for k, n in (("heap_used_mb", "JS heap"), ("nodes", "DOM nodes"))
           if tr[k]["slope_pct_of_mean_per_hour"] >= 5]
    good = [n for k, n in (("heap_used_mb", "JS heap"), ("nodes", "DOM nodes"))
            if tr[k]["slope_pct_of_mean_per_hour"] < 5]
    return ((f"**{' and '.join(good)} flat**; " if good else "")
            + f"**{' and '.join(bad)} above the growth bar**")


def _flat(tr: dict) -> bool:
    heap, nodes = tr.get("heap_used_mb"), tr.get("nodes")
    # One-sided: a falling trend is not growth.
    return bool(heap and nodes and heap["slope_pct_of_mean_per_hour"] < 5
                and nodes["slope_pct_of_mean_per_hour"] < 5)


def _verdict(tr: dict) -> str:
    """The bar, fixed before the run: least-squares slope over the second half below +5% of
    the mean per hour, for the JS heap and for the DOM nodes. For scale: a page that kept
    one ticker row per live event (~8 nodes) would add tens of thousands of nodes an hour
    at this event rate."""
    parts = []
    for key, name, unit in (("heap_used_mb", "JS heap", "MB"), ("nodes", "DOM nodes", "nodes")):
        t = tr[key]
        ok = t["slope_pct_of_mean_per_hour"] < 5
        parts.append(f"{name} {_num(t['slope_per_hour'], True)} {unit}/h "
                     f"({t['slope_pct_of_mean_per_hour']:+.2f}% of its mean per hour; robust "
                     f"{_num(t['theil_sen_per_hour'], True)} {unit}/h, "
                     f"{t['theil_sen_pct_of_mean_per_hour']:+.2f}%): "
                     + ("**below the bar**" if ok else "**above the bar**"))
    head = "**Verdict: no growth trend.**" if _flat(tr) else "**Verdict: not flat by the bar.**"
    return (head + " Bar (fixed before the run): least-squares slope over the second half "
            "below +5% of the mean per hour for both the JS heap and the DOM nodes. "
            + "; ".join(parts) + ".")


def _fmt(v) -> str:
    return f"{v:,}" if isinstance(v, (int, float)) else "?"


def write_docs(result: dict, out: Path) -> None:
    png = DOCS / "wall-soak.png"
    plot(result, png)
    (DOCS / "wall-soak.md").write_text(markdown(result, png.name, out.name), encoding="utf-8")
    print(f"[soak] wrote {png} and {DOCS / 'wall-soak.md'}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=30.0)
    p.add_argument("--refresh", type=float, default=1.0, help="GRIDWATCH_REFRESH_SECONDS")
    p.add_argument("--every", type=float, default=30.0, help="seconds between samples")
    p.add_argument("--speed", type=float, default=20.0, help="simulator speed")
    p.add_argument("--days", type=int, default=7)
    p.add_argument("--scale", type=float, default=0.02)
    p.add_argument("--redis-url", default=os.environ.get("GRIDWATCH_TEST_REDIS_URL",
                                                         "redis://127.0.0.1:6379/0"))
    p.add_argument("--database-url", help="default: SQLite in a temporary data directory")
    p.add_argument("--out", type=Path, help="JSON of samples (default bench/results/wall-soak-<time>.json)")
    p.add_argument("--docs", action="store_true", help="write docs/wall-soak.md and .png")
    p.add_argument("--report", type=Path, help="only re-render from this JSON")
    p.add_argument("--note", action="append", default=[],
                   help="a remark on the run for the doc (repeatable); kept in the JSON")
    args = p.parse_args(argv)
    if args.report:
        result = json.loads(args.report.read_text())
        out = args.report
    else:
        out = args.out or RESULTS / f"wall-soak-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.json"
        args.out = out
        result = run(args)
    if args.note:
        result["meta"]["notes"] = result["meta"].get("notes", []) + args.note
        _save(out, result)
    tr = trends(result["samples"])
    for key, t in tr.items():
        print(f"[soak] {key}: slope {t['slope_per_hour']:+.4g}/h over the second half "
              f"({t['slope_pct_of_mean_per_hour']:+.2f}% of mean {t['mean']:.4g} per hour)")
    if args.docs:
        write_docs(result, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
