"""Training speed with the dashboard open and refreshing in headless Chromium vs the same preset by the CLI.

Alternates CLI and dashboard rounds in one script; steps/s = steps / (end event time - start event time)
read from each run's events.jsonl, so start-up costs are left out of both.
Usage: .venv/bin/python benchmarks/dashboard_bench.py [--seconds 30] [--rounds 2] [--preset default]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gan_core.runs import read_events  # noqa: E402
from tests.browser_support import launch_browser, status_word, streamlit_server, wait_until  # noqa: E402


def _rate(run_dir: Path) -> float:
    events = read_events(run_dir / "events.jsonl")
    start = next(e for e in events if e["kind"] in ("start", "resume"))
    end = next(e for e in reversed(events) if e["kind"] in ("finish", "stop"))
    return (end["step"] - start["step"]) / (end["time"] - start["time"])


def cli_round(preset: str, seconds: float, runs_root: Path) -> float:
    run_dir = runs_root / f"cli-{time.monotonic_ns()}"
    subprocess.run([sys.executable, "-m", "gan_core", "train", "--preset", preset, "--seconds", str(seconds),
                    "--run-dir", str(run_dir), "--quiet"], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return _rate(run_dir)


def dashboard_round(preset: str, seconds: float, runs_root: Path) -> float:
    from playwright.sync_api import sync_playwright

    root = runs_root / f"dash-{time.monotonic_ns()}"
    with streamlit_server(root) as url, sync_playwright() as playwright:
        browser = launch_browser(playwright)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        page.get_by_role("button", name="Start", exact=True).wait_for(timeout=60_000)
        if preset != "default":
            page.get_by_label("Preset").click()
            page.get_by_role("option", name=preset, exact=True).click()
        page.get_by_role("button", name="Start", exact=True).click()
        wait_until(lambda: status_word(page) == "running", 60, "running")
        time.sleep(seconds)  # the page keeps refreshing its charts and grid once a second
        page.get_by_role("button", name="Stop", exact=True).click()
        wait_until(lambda: status_word(page) == "finished", 60, "finished")
        browser.close()
    return _rate(next(root.iterdir()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--preset", default="default")
    args = parser.parse_args()
    cli, dashboard = [], []
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.rounds):
            cli.append(cli_round(args.preset, args.seconds, Path(folder)))
            dashboard.append(dashboard_round(args.preset, args.seconds, Path(folder)))
    print(f"dashboard bench: preset {args.preset}, {args.rounds} alternating rounds of {args.seconds:.0f} s")
    print("CLI headless            median %.1f steps/s (rounds: %s)" % (statistics.median(cli), ", ".join(f"{r:.1f}" for r in cli)))
    print("dashboard + Chromium    median %.1f steps/s (rounds: %s)" % (statistics.median(dashboard), ", ".join(f"{r:.1f}" for r in dashboard)))
    print(f"ratio dashboard / CLI: {statistics.median(dashboard) / statistics.median(cli):.3f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
