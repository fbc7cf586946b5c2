"""Helper threads keep no OpenMP pool of their own (gan_core/runtime/serial_torch.py); the training thread keeps its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.support.browser import ROOT

# Run in a fresh process: libgomp's pools live as long as their threads, so the test's own process would not do.
PROBE = r"""
import json, os, threading
import torch
from gan_core.runtime.serial_torch import serial_torch, serial_torch_in_this_thread

def tasks():
    return len(os.listdir("/proc/self/task"))  # every native thread of this process, OpenMP workers included

def work():
    (torch.randn(4_000_000) * 2.0).sum()  # far above torch's grain size: a parallel region when allowed

torch.get_num_threads()
report = {"start": tasks()}
with serial_torch():
    report["inside"] = torch.get_num_threads()
    work()
report["serial"], report["restored"] = tasks(), torch.get_num_threads()

def helper():
    serial_torch_in_this_thread()
    report["helper_threads"] = torch.get_num_threads()
    work()
    report["during_helper"] = tasks()

thread = threading.Thread(target=helper)
thread.start()
thread.join()
work()  # the main thread may use its threads again: now a pool appears
report["parallel"] = tasks()
print(json.dumps(report))
"""


def test_serial_threads_make_no_openmp_pool_and_the_count_is_restored():
    environment = {**os.environ, "OMP_NUM_THREADS": "2", "PYTHONPATH": str(ROOT)}
    output = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120,
                            env=environment, cwd=ROOT, check=True).stdout
    report = json.loads(output.strip().splitlines()[-1])
    assert report["inside"] == 1 and report["restored"] == 2 and report["helper_threads"] == 1
    assert report["serial"] == report["start"], "a serial region made OpenMP threads"
    assert report["during_helper"] == report["start"] + 1, "the helper made threads beyond itself"
    # The same work with two threads allowed does make a pool worker: the count above can see one.
    assert report["parallel"] > report["start"]
