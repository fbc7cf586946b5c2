"""The page's threads are lowered and training threads keep the process's starting priority (gan_core/runtime/priority.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from gan_core.runtime import priority

ROOT = Path(__file__).resolve().parents[2]

# Runs in a fresh process: lowering is once per process and cannot be undone without privileges.
CHILD = r"""
import json, os, threading, time
from gan_core.runtime import priority

def nice_of(tid):
    return os.getpriority(os.PRIO_PROCESS, tid)

base = nice_of(threading.get_native_id())
ready, done = threading.Event(), threading.Event()
server = threading.Thread(target=lambda: (ready.set(), done.wait()), daemon=True)  # a thread of the page's server
server.start(); ready.wait()
lowered = priority.lower_page_threads(5)
again = priority.lower_page_threads(5)
seen = {}
def report(name):
    seen[name] = nice_of(threading.get_native_id())
training = threading.Thread(target=report, args=("training",))
priority.start_thread(training); training.join()
later = threading.Thread(target=report, args=("made by a lowered thread",))
later.start(); later.join()
seen["server"] = nice_of(server.native_id)
seen["main"] = nice_of(threading.get_native_id())
done.set()
print(json.dumps({"base": base, "lowered": lowered, "again": again, **seen}))
"""


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="thread priorities are read from Linux's /proc")
def test_training_threads_keep_the_starting_priority_while_the_page_threads_are_lowered():
    result = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    base = seen["base"]
    assert seen["lowered"] >= 2 and seen["again"] == 0  # main and the server thread at least; once per process
    assert seen["training"] == base  # started by the launcher, which was made before the lowering
    assert seen["server"] == seen["main"] == seen["made by a lowered thread"] == min(19, base + 5)


def test_without_lowering_start_thread_just_starts_the_thread():
    ran = threading.Event()
    thread = threading.Thread(target=ran.set)
    priority.start_thread(thread)
    thread.join(5)
    assert ran.is_set()


def test_the_page_nice_comes_from_the_environment_and_rejects_bad_values():
    assert priority.page_nice_from_env({}) == priority.DEFAULT_PAGE_NICE == 5
    assert priority.page_nice_from_env({priority.ENV_NICE: "0"}) == 0
    assert priority.page_nice_from_env({priority.ENV_NICE: "5"}) == 5
    for bad in ("-3", "abc", "20", "1.5", ""):
        assert priority.page_nice_from_env({priority.ENV_NICE: bad}) == 0
