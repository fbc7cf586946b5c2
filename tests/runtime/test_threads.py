"""The threading policy: thread counts fitted to foreign load, with hysteresis, from /proc samples."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import torch

from gan_core.runtime import threads
from gan_core.runtime.threads import ThreadPolicy, prepare_openmp

TICKS = os.sysconf("SC_CLK_TCK")


@pytest.fixture
def two_threads():
    """torch at 2 intra-op threads for the test, restored after."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def _policy(cores: int, threads_now: int, ceiling: int) -> ThreadPolicy:
    policy = ThreadPolicy(enabled=False)
    policy.cpus, policy.threads, policy.ceiling = set(range(cores)), threads_now, ceiling
    return policy


def test_target_drops_a_thread_when_a_neighbour_takes_most_of_a_core():
    assert _policy(2, 2, 2).target(0.66) == 1  # a spinning pair leaves a neighbour ~2/3 of a core
    assert _policy(2, 2, 2).target(1.0) == 1
    assert _policy(4, 4, 4).target(2.0) == 2  # two busy cores of four: two threads
    assert _policy(2, 2, 2).target(2.0) == 1  # never below one


def test_target_holds_against_small_loads_and_hysteresis_stops_flapping():
    assert _policy(2, 2, 2).target(0.2) == 2  # a browser watching the page is not a reason to drop
    assert _policy(2, 2, 2).target(0.45) == 2
    assert _policy(2, 1, 2).target(0.45) == 1  # ... but once down, 0.45 of a core does not bring it back
    assert _policy(2, 1, 2).target(0.3) == 2  # the neighbour has gone
    assert _policy(2, 1, 1).target(0.0) == 1  # the user's ceiling (OMP_NUM_THREADS=1) is kept


def test_other_cores_subtracts_our_own_cpu():
    policy = _policy(2, 2, 2)
    # 1 s of wall time: the CPUs were busy for 1.8 s in all, 1.1 s of it ours -> 0.7 cores of others
    assert policy.other_cores((0.0, 0, 0), (1.0, round(1.8 * TICKS), round(1.1 * TICKS))) == pytest.approx(0.7)
    assert policy.other_cores((0.0, 0, 0), (1.0, 10, 20)) == 0.0  # jiffy rounding never goes negative


def test_tick_sets_torch_threads_from_samples_and_reports_the_change(two_threads, monkeypatch):
    policy = ThreadPolicy(interval_s=0.0, enabled=True)
    policy.cpus = {0, 1}
    samples = iter([(1.0, TICKS, TICKS), (2.0, 3 * TICKS, 2 * TICKS)])  # second window: 1 core of others
    monkeypatch.setattr(policy, "_sample", lambda: next(samples))
    policy._last = (0.0, 0, 0)
    assert policy.tick() is None  # first window: only our own CPU -> stays at 2
    change = policy.tick()
    assert (change.previous, change.threads, torch.get_num_threads()) == (2, 1, 1)
    assert "2 -> 1" in change.message() and "1.00 of 2 cores" in change.message()


def test_disabled_policy_never_changes_threads(two_threads, monkeypatch):
    monkeypatch.setenv(threads.ENV_SWITCH, "off")
    policy = ThreadPolicy(interval_s=0.0)
    assert not policy.enabled and policy.tick() is None and torch.get_num_threads() == 2


@pytest.mark.skipif(not os.path.exists("/proc/stat") or len(os.sched_getaffinity(0)) != 2,
                    reason="reads Linux /proc on a 2-core machine like CI's")
def test_a_real_busy_neighbour_is_detected_from_proc(two_threads):
    policy = ThreadPolicy(interval_s=0.5, enabled=True)
    neighbour = subprocess.Popen([sys.executable, "-c", "while True:\n    pass\n"])
    try:
        change, deadline = None, time.monotonic() + 20
        x = torch.randn(256, 256)
        while change is None and time.monotonic() < deadline:
            x = torch.tanh(x @ x.T / 256)  # our own work, on both threads, counted as ours
            change = policy.tick()
    finally:
        neighbour.kill()
        neighbour.wait()
    assert change is not None and change.threads == 1 and change.other_cores > 0.5


def test_prepare_openmp_bounds_the_spin_for_the_dashboard_only(monkeypatch):
    for name in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", threads.ENV_SWITCH):
        monkeypatch.delenv(name, raising=False)
    prepare_openmp("cli")
    assert "GOMP_SPINCOUNT" not in os.environ
    prepare_openmp("dashboard")
    assert os.environ["GOMP_SPINCOUNT"] == threads.DASHBOARD_SPINCOUNT
    monkeypatch.setenv("GOMP_SPINCOUNT", "7")  # a user's own setting wins
    prepare_openmp("dashboard")
    assert os.environ["GOMP_SPINCOUNT"] == "7"
    with pytest.raises(ValueError, match="role='gpu' is invalid"):
        prepare_openmp("gpu")


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/proc/stat") or len(os.sched_getaffinity(0)) != 2,
                    reason="reads Linux /proc on a 2-core machine like CI's")
def test_cli_training_beside_a_busy_neighbour_drops_to_one_thread_and_logs_it(tmp_path):
    from gan_core.runs.paths import read_events

    neighbour = subprocess.Popen([sys.executable, "-c", "while True:\n    pass\n"])
    try:
        subprocess.run([sys.executable, "-m", "gan_core", "train", "--preset", "seed-mlp", "--dataset", "digits",
                        "--seconds", "4", "--run-dir", str(tmp_path / "run"), "--quiet"], check=True,
                       env={**os.environ, "OMP_NUM_THREADS": "2"}, stdout=subprocess.DEVNULL)
    finally:
        neighbour.kill()
        neighbour.wait()
    changes = [e for e in read_events(tmp_path / "run" / "events.jsonl") if e["kind"] == "threads"]
    assert changes and changes[0]["threads"] == 1 and "torch threads 2 -> 1" in changes[0]["message"]
