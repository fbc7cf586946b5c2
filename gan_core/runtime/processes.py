"""Whether a process still runs on this host: for stale locks and the staging folders of killed imports."""

from __future__ import annotations

import os

MAX_PID = 2**31 - 1  # pid_t is a signed 32-bit int: 0, negative or larger pids belong to no process


def process_exists(pid: int) -> bool:
    """Whether a process of this pid runs on this host (False for 0, negative or out-of-range pids)."""
    if type(pid) is not int or not 0 < pid <= MAX_PID:
        return False  # os.kill(0 or -1, 0) would signal a whole group and always succeed
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # PermissionError: it exists, as another user's; anything else: cannot tell, assume so
    return True
