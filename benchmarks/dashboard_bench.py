"""What watching a run costs, for each live view and each way of starting the page: training speed with the page
open in headless Chromium against its headless baseline, Chromium's CPU, and the server time of one refresh.

Scenarios (#26 item 6), each in alternating rounds (baseline and the page started each way, each round starting
with the next side) so the machine's drift hits every side alike; the median of the rounds is printed beside its goal:
  training    the Training view of the preset's run     vs `python -m gan_core train --preset P --seconds S`
  playground  the Training view of a toy-ring run (2D)  vs `python -m gan_core train --preset toy-ring ...`
  ab          the A/B view of a toy-ring pair (loss)    vs `python -m gan_core ab --preset toy-ring ...` (stopped
              by SIGINT after S seconds, as the page's Stop A/B stops it)
Ways of starting: `launcher` (`python -m dashboard`, what `make dashboard` runs) and `streamlit-run` (a plain
`streamlit run dashboard/app.py` from the repository root). Two rates per run (an A/B pair: the sum of its two
runs): "events" = steps / (end event time - start event time) from events.jsonl, and "steady" = the steps
metrics.csv logged from STEADY_AFTER_S after the first row to the last, over their wall time. The start event
comes before the page's own Start (the rerun that draws the running page and Chromium drawing it cost training
about half a second), so only the steady rate leaves every side's start-up out alike; a run of minutes trains at
that rate. The ratio is printed for both, and also as the median of the per-round ratios (each page round
against the baseline of its own round: on this host the CLI alone ranges 35-59 steps/s from one round to the
next, docs/benchmarks.md).
CPU is read from /proc (utime + stime of the server and of every Chromium process) over a window after the page
settled.
--refresh adds the server time of one live refresh at 1,000 vs 100,000 rows.

Usage: .venv/bin/python benchmarks/dashboard_bench.py [--scenario training|playground|ab|all] [--rounds 4]
       [--seconds 25] [--starts launcher,streamlit-run] [--preset default] [--busy] [--refresh]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gan_core.columns import METRIC_NAMES  # noqa: E402
from gan_core.control.snapshot import rows_from_csv  # noqa: E402
from gan_core.runs.paths import RunPaths, read_events  # noqa: E402
from tests.support.browser import (STARTS, VIEWPORT, choose_view, launch_browser, status_word,  # noqa: E402
                                   streamlit_process, wait_for_script_done, wait_until)

TICKS = os.sysconf("SC_CLK_TCK")
WARM_UP_S = 3.0  # the CPU window opens after the page has settled
# The goals: page / baseline steps/s at least this, Chromium at most 0.05 of a core.
GOALS = {("training", "launcher"): 0.95, ("training", "streamlit-run"): 0.9, ("playground", "launcher"): 0.95,
         ("playground", "streamlit-run"): 0.95, ("ab", "launcher"): 0.9, ("ab", "streamlit-run"): 0.9}
CHROMIUM_GOAL = 0.05
AB_STEPS = 1_000_000  # "steps each" for a timed pair (the field's maximum): it runs until stopped
STEADY_AFTER_S = 4.0  # the steady rate leaves out each run's first seconds (torch warm-up, the page's Start)


def _rate(run_dir: Path) -> float:
    """Steps per second of a run between its last start (or resume) and its end."""
    events = read_events(RunPaths(run_dir).events)
    start = next(e for e in reversed(events) if e["kind"] in ("start", "resume"))
    end = next(e for e in reversed(events) if e["kind"] in ("finish", "stop"))
    return (end["step"] - start["step"]) / (end["time"] - start["time"])


def _steady_rate(run_dir: Path) -> float:
    """Steps per second of a run's metrics.csv rows from STEADY_AFTER_S after its first row to its last."""
    rows = rows_from_csv(RunPaths(run_dir))
    step, wall = METRIC_NAMES.index("step"), METRIC_NAMES.index("wall_time")
    inside = [row for row in rows if row[wall] >= rows[0][wall] + STEADY_AFTER_S]
    assert len(inside) >= 2, f"{run_dir} logged too few rows after its first {STEADY_AFTER_S} s"
    return (inside[-1][step] - inside[0][step]) / (inside[-1][wall] - inside[0][wall])


def _rates(root: Path) -> dict[str, float]:
    """The summed steps/s of every run under root (one run; an A/B pair: both): events and steady rates."""
    runs = [path for path in root.iterdir() if (path / "events.jsonl").is_file()]
    assert runs, f"no run under {root}"
    return {"steps_per_s": sum(_rate(run) for run in runs), "steady_per_s": sum(_steady_rate(run) for run in runs)}


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


# ---- baselines ------------------------------------------------------------------------------------

def cli_train(preset: str, seconds: float, root: Path) -> dict:
    """The headless run: `python -m gan_core train` for `seconds`."""
    subprocess.run([sys.executable, "-m", "gan_core", "train", "--preset", preset, "--seconds", str(seconds),
                    "--run-dir", str(root / "cli"), "--quiet"], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return _rates(root)


def cli_ab(preset: str, seconds: float, root: Path) -> dict:
    """The headless pair: `python -m gan_core ab` on the loss, stopped by SIGINT after `seconds`."""
    process = subprocess.Popen([sys.executable, "-m", "gan_core", "ab", "--preset", preset, "--field", "loss.loss",
                                "--values", "minimax", "non_saturating", "--steps", str(AB_STEPS),
                                "--runs-root", str(root), "--quiet"], cwd=ROOT, stdout=subprocess.DEVNULL)
    time.sleep(seconds)
    process.send_signal(signal.SIGINT)
    process.wait(timeout=120)
    return _rates(root)


# ---- the page -----------------------------------------------------------------------------------

def page_round(scenario: str, preset: str, seconds: float, root: Path, start: str) -> dict:
    """One run (or pair) started and watched in its view for `seconds`: steps/s, CPU of server and browser."""
    from playwright.sync_api import sync_playwright

    result: dict = {}
    with streamlit_process(root, start=start) as (url, server), sync_playwright() as playwright:
        browser = launch_browser(playwright)
        page = browser.new_page(viewport=VIEWPORT)
        requests: list[float] = []
        page.on("request", lambda request: requests.append(time.monotonic()) if "/_gw/live/" in request.url else None)
        page.goto(url)
        start_button = page.get_by_role("button", name="Start", exact=True)
        start_button.wait_for(timeout=90_000)
        if preset != "default":
            page.get_by_label("Preset", exact=True).click()
            page.get_by_role("option", name=preset, exact=True).click()
        wait_until(lambda: start_button.is_enabled(), 90, "Start enabled")
        wait_for_script_done(page)
        if scenario == "ab":
            choose_view(page, "A/B")
            steps = page.get_by_label("Steps each", exact=True)
            steps.fill(str(AB_STEPS))
            steps.press("Enter")
            wait_for_script_done(page)
            page.get_by_role("button", name="Run A/B").click()
            page.locator(".gw-progress-text:not([hidden])").wait_for(timeout=60_000)
        else:
            start_button.click()
            wait_until(lambda: status_word(page) == "running", 60, "running")
        page.wait_for_timeout(1000 * WARM_UP_S)  # not time.sleep: request events arrive while Playwright waits
        window = CpuWindow(server.pid)
        fetched = len(requests)
        page.wait_for_timeout(1000 * max(1.0, seconds - WARM_UP_S))
        result["server_cores"], result["chromium_cores"] = window.finish()
        result["requests_per_s"] = (len(requests) - fetched) / max(1.0, seconds - WARM_UP_S)
        if scenario == "ab":
            page.get_by_role("button", name="Stop A/B").click()
            wait_until(lambda: not page.get_by_role("button", name="Run A/B").is_disabled(), 120, "the pair stopped")
        else:
            page.get_by_role("button", name="Stop", exact=True).click()
            wait_until(lambda: status_word(page) == "finished", 120, "finished")
        browser.close()
    result.update(_rates(root))
    return result


def run_scenario(scenario: str, preset: str, rounds: int, seconds: float, starts: list[str], folder: Path) -> dict:
    """Alternating rounds: the baseline, then the page started each way; {side: [round results]}."""
    baseline = cli_ab if scenario == "ab" else cli_train
    preset = "toy-ring" if scenario in ("playground", "ab") else preset
    sides: dict[str, list[dict]] = {"baseline": [], **{start: [] for start in starts}}
    order = list(sides)
    for index in range(rounds):
        # Each round starts with the next side, so no side always follows the same one (a baseline's
        # leftovers, the page cache) and drift over the rounds hits every side alike.
        for side in order[index % len(order):] + order[:index % len(order)]:
            root = folder / f"{scenario}-{side}-{index}"
            root.mkdir(parents=True)
            if side == "baseline":
                sides[side].append(baseline(preset, seconds, root))
            else:
                sides[side].append(page_round(scenario, preset, seconds, root, side))
            shutil.rmtree(root, ignore_errors=True)
            print(f"  {scenario} round {index + 1} {side}: "
                  f"{json.dumps({key: round(value, 3) for key, value in sides[side][-1].items()})}", flush=True)
    return sides


def report(scenario: str, sides: dict[str, list[dict]]) -> list[str]:
    """Per side: median steps/s (rounds) by both measures, ratios to the baseline with the goal, Chromium and
    server CPU, feed requests per second."""
    def rounds(results: list[dict], key: str) -> str:
        return ", ".join(f"{result[key]:.1f}" for result in results)

    baseline = sides["baseline"]
    lines = [f"{scenario}: baseline median {statistics.median(r['steady_per_s'] for r in baseline):.1f} steps/s "
             f"steady ({rounds(baseline, 'steady_per_s')}), {statistics.median(r['steps_per_s'] for r in baseline):.1f}"
             f" by events ({rounds(baseline, 'steps_per_s')})"]
    for side, results in sides.items():
        if side == "baseline":
            continue
        goal = GOALS.get((scenario, side))
        ratios = {}
        for key in ("steady_per_s", "steps_per_s"):
            ratios[key] = (statistics.median(r[key] for r in results) / statistics.median(r[key] for r in baseline),
                           statistics.median(r[key] / b[key] for r, b in zip(results, baseline)))
        chromium = statistics.median(r["chromium_cores"] for r in results)
        steady = ratios["steady_per_s"][0]
        lines.append(
            f"  {side:<14} steady: median {statistics.median(r['steady_per_s'] for r in results):.1f} steps/s "
            f"({rounds(results, 'steady_per_s')}), {steady:.3f}x of the baseline (goal >= {goal}x: "
            f"{'met' if steady >= goal else 'NOT met'}), per-round ratios' median {ratios['steady_per_s'][1]:.3f}x\n"
            f"  {'':<14} events: median {statistics.median(r['steps_per_s'] for r in results):.1f} steps/s "
            f"({rounds(results, 'steps_per_s')}), {ratios['steps_per_s'][0]:.3f}x, per-round ratios' median "
            f"{ratios['steps_per_s'][1]:.3f}x\n"
            f"  {'':<14} Chromium {chromium:.3f} of a core (goal <= {CHROMIUM_GOAL}: "
            f"{'met' if chromium <= CHROMIUM_GOAL else 'NOT met'}); "
            f"server {statistics.median(r['server_cores'] for r in results):.2f} of a core; "
            f"{statistics.median(r['requests_per_s'] for r in results):.2f} feed requests/s")
    return lines


def refresh_cost(rows: int, repeats: int = 50) -> float:
    """Median server seconds of one live refresh (status, charts and images in one request, as the page's hub
    asks) with `rows` rows held and 20 new ones since the last refresh."""
    from dashboard.live import feed
    from gan_core.control.session import TrainingSession
    from tests.support.configs import TINY_CLI_ARGS
    from tests.support.runs import make_long_run

    folder = Path(tempfile.mkdtemp())
    try:
        run_dir = make_long_run(folder, rows, TINY_CLI_ARGS)
        session = TrainingSession(runs_root=folder)
        feed.register(session, lambda data: "")
        session.resume_run(run_dir, paused=True)
        session.wait_for(lambda s: s.status == "paused", 30)
        host = "127.0.0.1:8501"
        parts = feed.answer("all", {"parts": "status,charts,images"}, host)["parts"]
        timings = []
        for _ in range(repeats):
            target = session.snapshot(since=None).step + 20
            session.step(20)
            session.wait_for(lambda s: s.snapshot(since=None).steps_pending == 0, 30)
            started = time.perf_counter()
            parts = feed.answer("all", {"parts": "status,charts,images", "charts": json.dumps(parts["charts"]["state"]),
                                        "images": json.dumps(parts["images"]["state"])}, host)["parts"]
            timings.append(time.perf_counter() - started)
            assert parts["status"]["message"]["step"] == target and parts["charts"]["message"]["n"] == 20
        session.shutdown()
        feed.register(None, None)
        return statistics.median(timings)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=("training", "playground", "ab", "all"), default="all")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds (the issue asks for >= 4)")
    parser.add_argument("--seconds", type=float, default=25.0, help="seconds each side trains per round")
    parser.add_argument("--starts", default=",".join(STARTS), help=f"ways of starting the page: {', '.join(STARTS)}")
    parser.add_argument("--preset", default="default", help="the training scenario's preset")
    parser.add_argument("--busy", action="store_true", help="a CPU-bound neighbour process during every round")
    parser.add_argument("--refresh", action="store_true", help="also time one live refresh at 1,000 and 100,000 rows")
    args = parser.parse_args()
    starts = [start for start in args.starts.split(",") if start]
    unknown = sorted(set(starts) - set(STARTS))
    if unknown:
        sys.stderr.write(f"error: --starts={','.join(unknown)} is invalid: allowed {', '.join(STARTS)}\n")
        return 2
    scenarios = ["training", "playground", "ab"] if args.scenario == "all" else [args.scenario]
    neighbour = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if args.busy else None
    lines = [f"dashboard bench: {args.rounds} alternating rounds of {args.seconds:.0f} s"
             + (", with a CPU-bound neighbour" if args.busy else "")]
    try:
        with tempfile.TemporaryDirectory() as folder:
            for scenario in scenarios:
                sides = run_scenario(scenario, args.preset, args.rounds, args.seconds, starts, Path(folder))
                lines += report(scenario, sides)
    finally:
        if neighbour is not None:
            neighbour.kill()
    if args.refresh:
        small, large = refresh_cost(1_000), refresh_cost(100_000)
        lines.append(f"one live refresh, server side: {1000 * small:.2f} ms at 1,000 rows, "
                     f"{1000 * large:.2f} ms at 100,000 rows")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
