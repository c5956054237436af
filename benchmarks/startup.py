"""Start-up and first-render times in a real browser (Playwright + Debian Chromium, loopback only).

1. `streamlit run app.py` to the home page fully rendered: from starting the server process until
   the home page's script run has finished and its sandglass chart is drawn; each run starts a fresh
   server (the browser is launched beforehand and not counted). Median of --runs.
2. With a model trained on Build & Train, each page in the sidebar is opened once: click to its
   script run finished and every Plotly chart on it drawn ("first render once a model exists").
3. --importtime: what dominates the imports of the first script run (python -X importtime).
4. --first-visit (issue 16): on each of --runs fresh servers, the home page drawn, then a click on Build & Train:
   seconds to its Train button on screen ("first visit to Build & Train on a fresh server", median); then, once the
   page is idle, Train pressed: seconds to the first loss point and reconstructions painted ("Train -> first curve
   on a fresh server", median), timed in the page itself as tests/test_browser_train.py does.

Run: python benchmarks/startup.py [--runs 5] [--importtime] [--first-visit]
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from browser_util import CHROMIUM, CHROMIUM_ARGS, streamlit_server  # noqa: E402
from test_browser_train import press_train_and_time  # noqa: E402 - Train click -> first update painted, in the page
TARGETS = {"startup_s": 3.0, "page_s": 1.5, "first_visit_s": 1.5, "first_curve_s": 1.0}  # issues 8 and 16

# Counts finished script runs: Streamlit's root element carries data-test-script-state.
OBSERVE_RUNS = """() => {
  const el = document.querySelector('[data-test-script-state]');
  if (!el || window.__aelabRuns) return !!el;
  window.__aelabRuns = {done: 0};
  new MutationObserver(() => {
    if (el.getAttribute('data-test-script-state') === 'notRunning') window.__aelabRuns.done += 1;
  }).observe(el, {attributes: true, attributeFilter: ['data-test-script-state']});
  return true;
}"""
RUNS_DONE = "() => window.__aelabRuns.done"
IDLE = "() => document.querySelector('[data-test-script-state]')?.getAttribute('data-test-script-state') === 'notRunning'"
CHARTS_DRAWN = """() => {
  const charts = [...document.querySelectorAll('[data-testid="stPlotlyChart"]')];
  return charts.length > 0 && charts.every(c => c.querySelector('.main-svg'));
}"""
ALL_CHARTS_DRAWN = """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
  .every(c => c.querySelector('.main-svg'))"""


CHART_STATES = """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
  .map(c => [!!c.querySelector('.main-svg'), c.offsetParent !== null, c.getBoundingClientRect().height])"""


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process has used (a figure that other load on the machine barely moves)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def no_exception(page) -> list[str]:
    return [e.inner_text()[:300] for e in page.locator('[data-testid="stException"]').all()]


def startup_once(browser, log: Path, timeout_ms: int) -> dict:
    """One cold start: server process spawned -> home page idle with its sandglass drawn."""
    page = browser.new_context(viewport={"width": 1500, "height": 1000}).new_page()
    try:
        with streamlit_server(log_path=log) as (url, proc, t_spawn, t_healthy):
            pid = proc.pid
            page.goto(url)
            page.wait_for_function(CHARTS_DRAWN, timeout=timeout_ms)
            page.wait_for_function(IDLE, timeout=timeout_ms)
            t_home = time.perf_counter()
            return {"healthy_s": t_healthy - t_spawn, "home_s": t_home - t_spawn,
                    "browser_s": t_home - t_healthy, "server_cpu_s": cpu_seconds(pid),
                    "errors": no_exception(page)}
    finally:
        page.context.close()


def open_page(page, click, timeout_ms: int) -> float:
    """Seconds from `click()` to the next finished script run with every Plotly chart drawn."""
    page.wait_for_function(OBSERVE_RUNS, timeout=timeout_ms)
    before = page.evaluate(RUNS_DONE)
    t0 = time.perf_counter()
    click()
    page.wait_for_function(f"() => window.__aelabRuns.done > {before}", timeout=timeout_ms)
    page.wait_for_function(ALL_CHARTS_DRAWN, timeout=timeout_ms)
    return time.perf_counter() - t0


def first_visit_once(browser, log: Path, timeout_ms: int) -> dict:
    """A fresh server: the home page drawn, then Build & Train clicked -> its Train button on screen; once the page is
    idle, Train pressed -> the first loss point and reconstructions painted."""
    page = browser.new_context(viewport={"width": 1500, "height": 1000}).new_page()
    try:
        with streamlit_server(log_path=log) as (url, *_):
            page.goto(url)
            page.wait_for_function(CHARTS_DRAWN, timeout=timeout_ms)
            page.wait_for_function(IDLE, timeout=timeout_ms)
            t0 = time.perf_counter()
            page.get_by_role("link", name="Build & Train").first.click()
            page.get_by_role("button", name="🚀 Train").wait_for(timeout=timeout_ms)
            button = time.perf_counter() - t0
            page.wait_for_function(IDLE, timeout=timeout_ms)
            idle = time.perf_counter() - t0
            curve = press_train_and_time(page)
            return {"button_s": button, "idle_s": idle, "curve_s": curve, "errors": no_exception(page)}
    finally:
        page.context.close()


def train_model(page, epochs: int, timeout_ms: int) -> None:
    page.get_by_role("link", name="Build & Train").first.click()
    page.get_by_role("button", name="🚀 Train").wait_for(timeout=timeout_ms)
    box = page.get_by_label("Epochs", exact=True)
    box.fill(str(epochs))
    box.press("Enter")
    page.wait_for_function(IDLE, timeout=timeout_ms)
    page.get_by_role("button", name="🚀 Train").click()
    page.get_by_text(f"Finished {epochs} epochs.").first.wait_for(timeout=timeout_ms)
    page.wait_for_function(IDLE, timeout=timeout_ms)


def page_renders(browser, log: Path, epochs: int, timeout_ms: int, page_timeout_ms: int) -> dict:
    """Train once, then open every sidebar page once (Build & Train last, coming from Home)."""
    page = browser.new_context(viewport={"width": 1500, "height": 1000}).new_page()
    try:
        with streamlit_server(log_path=log) as (url, *_):
            page.goto(url)
            page.wait_for_function(CHARTS_DRAWN, timeout=timeout_ms)
            train_model(page, epochs, timeout_ms)
            more = page.locator('[data-testid="stSidebarNavViewButton"]')
            if more.count() and "more" in more.first.inner_text().lower():
                more.first.click()  # the sidebar folds long page lists behind "View more"
            links = page.locator('[data-testid="stSidebarNavLink"]')
            # a link's text is "<material icon name>\n\n<title>": keep the title
            hrefs = [(a.inner_text().strip().split("\n")[-1].strip(), a.get_attribute("href")) for a in links.all()]
            hrefs = [h for h in hrefs if h[0] != "Build & Train"] + [h for h in hrefs if h[0] == "Build & Train"]
            times, errors = {}, {}
            for name, href in hrefs:
                link = page.locator(f'[data-testid="stSidebarNavLink"][href="{href}"]').first
                print(f"  opening {name} ...", file=sys.stderr, flush=True)
                try:
                    times[name] = open_page(page, link.click, page_timeout_ms)
                except Exception as exc:  # noqa: BLE001 - one slow or broken page must not hide the others
                    times[name] = float("nan")
                    errors[name] = [f"did not finish rendering: {type(exc).__name__}", "charts (drawn, visible, height): "
                                    + str(page.evaluate(CHART_STATES))]
                    shot = Path(tempfile.gettempdir()) / f"aelab-startup-{re.sub(r'[^a-z]+', '-', name.lower())}.png"
                    page.screenshot(path=str(shot), full_page=True)
                    errors[name].append(f"screenshot: {shot}")
                    continue
                errors[name] = no_exception(page)
            return {"pages": times, "errors": errors}
    finally:
        page.context.close()


def import_profile(top: int = 12) -> list[tuple[str, float]]:
    """Modules with the largest cumulative import time in a process importing what app.py's first run does."""
    code = "import streamlit, plotly.graph_objects; from aelab import jobs, ui, figures"
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    rows = []
    for line in out.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            name = parts[2].rstrip()
            depth = (len(name) - len(name.lstrip())) // 2
            if depth <= 1:
                rows.append((name.strip(), int(parts[1]) / 1e6))
    return sorted(rows, key=lambda r: -r[1])[:top]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=3, help="cold starts to take the median of")
    p.add_argument("--epochs", type=int, default=5, help="epochs of the model trained before the page timings")
    p.add_argument("--no-pages", action="store_true", help="skip the per-page first renders")
    p.add_argument("--importtime", action="store_true", help="also profile the imports of the first run")
    p.add_argument("--first-visit", action="store_true",
                   help="only time the first visit to Build & Train and its first Train on --runs fresh servers")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds any one wait may take")
    p.add_argument("--page-timeout", type=float, default=30.0, help="give up on one page's render after this")
    args = p.parse_args(argv)
    if not 1 <= args.runs <= 20:
        p.error("--runs must be 1..20")
    from playwright.sync_api import sync_playwright

    timeout_ms = int(args.timeout * 1000)
    if args.first_visit:
        return first_visit(args, timeout_ms)
    ok = True
    with tempfile.TemporaryDirectory(prefix="aelab-startup-") as tmp, sync_playwright() as pw:
        log = Path(tmp) / "server.log"
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            runs = [startup_once(browser, log, timeout_ms) for _ in range(args.runs)]
            pages = None if args.no_pages else page_renders(browser, log, args.epochs, timeout_ms,
                                                            int(args.page_timeout * 1000))
        finally:
            browser.close()
    home = statistics.median(r["home_s"] for r in runs)
    print(f"aelab start-up ({args.runs} cold starts, {os.cpu_count()} cores)")
    print(f"  {'run':<5}{'server healthy':>16}{'home rendered':>16}{'(browser part)':>16}{'server CPU':>12}")
    for i, r in enumerate(runs, 1):
        print(f"  {i:<5}{r['healthy_s']:>15.2f}s{r['home_s']:>15.2f}s{r['browser_s']:>15.2f}s"
              f"{r['server_cpu_s']:>11.2f}s")
    verdict = "ok" if home <= TARGETS["startup_s"] else "MISSED"
    print(f"  median: streamlit run -> home page rendered {home:.2f} s (target <= {TARGETS['startup_s']} s: {verdict})")
    errors = [e for r in runs for e in r["errors"]]
    if pages:
        print("first render of each page with a trained model (click -> run finished, charts drawn):")
        for name, sec in pages["pages"].items():
            mark = "ok" if sec <= TARGETS["page_s"] else "MISSED"
            print(f"  {name:<32}{sec:>7.2f} s  (target <= {TARGETS['page_s']} s: {mark})")
            ok = ok and sec == sec  # a page that never finished rendering fails the run
        errors += [f"{n}: {e}" for n, es in pages["errors"].items() for e in es]
    if errors:
        ok = False
        print("exceptions on the pages:\n  " + "\n  ".join(errors))
    if args.importtime:
        print("largest imports of the first script run (cumulative, one process, python -X importtime):")
        for name, sec in import_profile():
            print(f"  {name:<40}{sec:>7.2f} s")
    return 0 if ok else 1


def first_visit(args, timeout_ms: int) -> int:
    """--first-visit: the table of fresh-server first visits to Build & Train and their first Train press."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="aelab-startup-") as tmp, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            runs = [first_visit_once(browser, Path(tmp) / "server.log", timeout_ms) for _ in range(args.runs)]
        finally:
            browser.close()
    print(f"first visit to Build & Train on a fresh server ({args.runs} fresh servers, {os.cpu_count()} cores)")
    print(f"  {'run':<5}{'Train shown':>14}{'page idle':>12}{'Train -> curve':>17}")
    for i, r in enumerate(runs, 1):
        print(f"  {i:<5}{r['button_s']:>13.2f}s{r['idle_s']:>11.2f}s{r['curve_s']:>16.2f}s")
    button = statistics.median(r["button_s"] for r in runs)
    curve = statistics.median(r["curve_s"] for r in runs)
    for what, value, target in (("click -> Train shown", button, TARGETS["first_visit_s"]),
                                ("Train -> first curve", curve, TARGETS["first_curve_s"])):
        print(f"  median {what}: {value:.2f} s (target <= {target} s: {'ok' if value <= target else 'MISSED'})")
    errors = [e for r in runs for e in r["errors"]]
    if errors:
        print("exceptions on the page:\n  " + "\n  ".join(errors))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
