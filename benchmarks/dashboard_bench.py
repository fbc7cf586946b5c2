"""What watching a run costs: training speed with the dashboard open in headless Chromium vs the CLI,
Chromium's and the server's CPU, on a fresh run and on a resumed 100,000-step run, and the server
time of one live refresh at 1,000 vs 100,000 rows.

Rounds alternate (CLI, dashboard fresh, dashboard resumed) in one script; steps/s = steps / (end event
time - start event time) from each run's events.jsonl, so start-up is left out of all of them. CPU is
read from /proc (utime + stime of the server and of every Chromium process) over a window of the run.
--busy adds a CPU-bound neighbour process to every round (the machine is shared). --baseline-reruns adds
a side to every round: the fresh run watched on the page without the live feed (the way it refreshed
before: a fragment rerun each second). --variant-env KEY=VALUE adds a side: the fresh run watched with that
server environment (an A/B of a setting, e.g. GAN_WORKBENCH_PAGE_NICE=0). --variant-pace N adds a side: the
fresh run watched at the live refresh pace a user can pick (every N s; the page's default is 2).
Usage: .venv/bin/python benchmarks/dashboard_bench.py [--seconds 30] [--rounds 3] [--preset default] [--busy]
       [--skip-resumed] [--skip-refresh] [--baseline-reruns] [--variant-env KEY=VALUE] [--variant-pace N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gan_core.runs.paths import RunPaths, read_events  # noqa: E402
from tests.browser_support import launch_browser, status_step, status_word, streamlit_process, wait_until  # noqa: E402
from tests.test_browser import wait_for_script_done  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")
WARM_UP_S = 3.0  # the window for CPU starts after the page has settled
SERVER_ENV: dict[str, str] = {}  # --server-env KEY=VALUE: experiments with the server's environment


def _rate(run_dir: Path) -> float:
    events = read_events(RunPaths(run_dir).events)
    start = next(e for e in reversed(events) if e["kind"] in ("start", "resume"))
    end = next(e for e in reversed(events) if e["kind"] in ("finish", "stop"))
    return (end["step"] - start["step"]) / (end["time"] - start["time"])


def _cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime


def _chromium_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if b"chromium" in (entry / "cmdline").read_bytes().split(b"\0")[0]:
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


class CpuWindow:
    """CPU seconds per wall second of the server and of all Chromium processes over a window."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid
        self.started = time.monotonic()
        self.server0 = _cpu_ticks(server_pid)
        self.chromium0 = {pid: _cpu_ticks(pid) for pid in _chromium_pids()}

    def finish(self) -> tuple[float, float]:
        """(server cores, Chromium cores) used on average since the window opened."""
        wall = time.monotonic() - self.started
        server = (_cpu_ticks(self.server_pid) - self.server0) / TICKS / wall
        chromium = sum(_cpu_ticks(pid) - self.chromium0.get(pid, 0) for pid in _chromium_pids()) / TICKS / wall
        return server, chromium


def cli_round(preset: str, seconds: float, runs_root: Path) -> float:
    run_dir = runs_root / f"cli-{time.monotonic_ns()}"
    subprocess.run([sys.executable, "-m", "gan_core", "train", "--preset", preset, "--seconds", str(seconds),
                    "--run-dir", str(run_dir), "--quiet"], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return _rate(run_dir)


def _view(page, name: str) -> None:
    page.get_by_test_id("stRadioGroup").get_by_text(name, exact=True).click()


def dashboard_round(preset: str, seconds: float, runs_root: Path, resume_from: Path | None = None,
                    env: dict[str, str] | None = None, script: str = "server.py", pace: int | None = None) -> dict:
    """One run watched in Chromium for `seconds`: steps/s, CPU of server and browser, first render time."""
    from playwright.sync_api import sync_playwright

    root = runs_root / f"dash-{time.monotonic_ns()}"
    root.mkdir()
    if resume_from is not None:
        shutil.copytree(resume_from, root / resume_from.name)
    result = {}
    with streamlit_process(root, SERVER_ENV if env is None else env, script) as (url, server), \
            sync_playwright() as playwright:
        browser = launch_browser(playwright)
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        if pace is not None:  # the live pace a user picks in the charts' toolbar (kept in localStorage)
            page.add_init_script(f"localStorage.setItem('ganWorkbench.livePace', '{int(pace)}')")
        page.goto(url)
        start = page.get_by_role("button", name="Start", exact=True)
        start.wait_for(timeout=60_000)
        if resume_from is not None:
            _view(page, "Runs")
            page.get_by_role("button", name="Resume this run").click()
            wait_until(lambda: status_word(page) == "running", 60, "running")
            clicked = time.monotonic()
            _view(page, "Training")
            wait_until(lambda: page.evaluate("() => +(document.querySelector('.gw-chart') || {dataset: {}})"
                                             ".dataset.points || 0") >= status_step(page) - 50, 30, "charts")
            result["render_s"] = time.monotonic() - clicked
        else:
            if preset != "default":
                page.get_by_label("Preset", exact=True).click()
                page.get_by_role("option", name=preset, exact=True).click()
            wait_until(lambda: start.is_enabled(), 60, "Start enabled")
            wait_for_script_done(page)
            clicked = time.monotonic()
            start.click()
            wait_until(lambda: page.evaluate("() => +(document.querySelector('.gw-chart') || {dataset: {}})"
                                             ".dataset.points || 0") > 0, 30, "a first point")
            result["first_point_s"] = time.monotonic() - clicked
        time.sleep(WARM_UP_S)
        window = CpuWindow(server.pid)
        time.sleep(max(1.0, seconds - WARM_UP_S))  # the page refreshes its live parts at its pace (2 s by default)
        result["server_cores"], result["chromium_cores"] = window.finish()
        page.get_by_role("button", name="Stop", exact=True).click()
        wait_until(lambda: status_word(page) == "finished", 60, "finished")
        browser.close()
    run_dir = next(p for p in root.iterdir() if p.is_dir())
    result["steps_per_s"] = _rate(run_dir)
    return result


def make_resumable_run(preset: str, folder: Path, steps: int = 100_000) -> Path:
    """A real run of the preset whose checkpoint and metrics.csv claim `steps` steps (synthetic rows)."""
    from tests.test_browser import make_long_run

    return make_long_run(folder, steps, ["--preset", preset, "--quiet"])


def refresh_cost(rows: int, repeats: int = 50) -> float:
    """Median server seconds of one live refresh (the feed's three answers a page fetches each second:
    charts, images, status line) with `rows` rows held and 20 new ones since the last refresh."""
    import json

    import streamlit as st  # noqa: F401  (the message builders live in a module that imports it)

    from dashboard import feed
    from gan_core.control.session import TrainingSession

    folder = Path(tempfile.mkdtemp())
    try:
        from tests.test_browser import make_long_run
        from tests.test_cli import TINY

        run_dir = make_long_run(folder, rows, TINY)
        session = TrainingSession(runs_root=folder)
        feed.register(session, lambda data: "")
        session.resume_run(run_dir, paused=True)
        session.wait_for(lambda s: s.status == "paused", 30)
        host = "127.0.0.1:8501"
        charts = feed.answer("charts", {}, host)["state"]
        images = feed.answer("images", {}, host)["state"]
        timings = []
        for _ in range(repeats):
            target = session.snapshot(since=None).step + 20
            session.step(20)
            session.wait_for(lambda s: s.snapshot(since=None).steps_pending == 0, 30)
            started = time.perf_counter()
            reply = feed.answer("charts", {"state": json.dumps(charts)}, host)
            charts = reply["state"]
            images = feed.answer("images", {"state": json.dumps(images)}, host)["state"]
            status = feed.answer("status", {}, host)["message"]
            timings.append(time.perf_counter() - started)
            assert status["step"] == target and reply["message"]["n"] == 20
        session.shutdown()
        return statistics.median(timings)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--preset", default="default")
    parser.add_argument("--busy", action="store_true", help="a CPU-bound neighbour process during every round")
    parser.add_argument("--skip-resumed", action="store_true", help="leave out the resumed 100,000-step rounds")
    parser.add_argument("--server-env", action="append", default=[], metavar="KEY=VALUE",
                        help="extra environment for the dashboard server (thread-policy experiments)")
    parser.add_argument("--skip-refresh", action="store_true", help="leave out the server-side refresh timing")
    parser.add_argument("--variant-env", action="append", default=[], metavar="KEY=VALUE",
                        help="add a round per round: the fresh run watched with this extra server environment")
    parser.add_argument("--variant-pace", type=int, choices=(1, 2, 5, 10), default=None,
                        help="add a round per round: the fresh run watched at this live refresh pace (seconds)")
    parser.add_argument("--baseline-reruns", action="store_true",
                        help="add a round per round: the fresh run watched on a page without the live feed "
                             "(`streamlit run dashboard/app.py`: fragments rerun once a second)")
    args = parser.parse_args()
    SERVER_ENV.update(item.split("=", 1) for item in args.server_env)
    variant_env = {**SERVER_ENV, **dict(item.split("=", 1) for item in args.variant_env)}
    cli, fresh, resumed, variant, reruns, paced = [], [], [], [], [], []
    neighbour = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if args.busy else None
    try:
        with tempfile.TemporaryDirectory() as folder:
            long_run = None if args.skip_resumed else make_resumable_run(args.preset, Path(folder) / "source")
            for _ in range(args.rounds):
                cli.append(cli_round(args.preset, args.seconds, Path(folder)))
                fresh.append(dashboard_round(args.preset, args.seconds, Path(folder)))
                if args.baseline_reruns:
                    reruns.append(dashboard_round(args.preset, args.seconds, Path(folder), script="app.py"))
                if args.variant_pace is not None:
                    paced.append(dashboard_round(args.preset, args.seconds, Path(folder), pace=args.variant_pace))
                if args.variant_env:
                    variant.append(dashboard_round(args.preset, args.seconds, Path(folder), env=variant_env))
                if long_run is not None:
                    resumed.append(dashboard_round(args.preset, args.seconds, Path(folder), long_run))
    finally:
        if neighbour is not None:
            neighbour.kill()
    small, large = (refresh_cost(1_000), refresh_cost(100_000)) if not args.skip_refresh else (0.0, 0.0)

    def line(label: str, results: list[dict]) -> None:
        rates = [r["steps_per_s"] for r in results]
        print(f"{label:<30} median {statistics.median(rates):6.1f} steps/s ({', '.join(f'{r:.1f}' for r in rates)}); "
              f"ratio to CLI {statistics.median(rates) / statistics.median(cli):.3f}x; "
              f"Chromium {100 * statistics.median(r['chromium_cores'] for r in results):.1f}% of a core; "
              f"server {100 * statistics.median(r['server_cores'] for r in results):.0f}% of a core"
              + (f"; charts drawn {statistics.median(r['render_s'] for r in results):.2f} s after opening"
                 if results and "render_s" in results[0] else "")
              + (f"; first point {statistics.median(r['first_point_s'] for r in results):.2f} s after Start"
                 if results and "first_point_s" in results[0] else ""))

    print(f"dashboard bench: preset {args.preset}, {args.rounds} alternating rounds of {args.seconds:.0f} s"
          + (", with a CPU-bound neighbour" if args.busy else ""))
    print(f"{'CLI headless':<30} median {statistics.median(cli):6.1f} steps/s ({', '.join(f'{r:.1f}' for r in cli)})")
    line("dashboard, fresh run", fresh)
    if reruns:
        line("fresh run, page by reruns", reruns)
    if paced:
        line(f"fresh run, refresh every {args.variant_pace} s", paced)
    if variant:
        line(f"fresh run, {' '.join(args.variant_env)}", variant)
    if resumed:
        line("dashboard, resumed 100k run", resumed)
    print(f"one live refresh, server side: {1000 * small:.2f} ms at 1,000 rows, {1000 * large:.2f} ms at 100,000 rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
