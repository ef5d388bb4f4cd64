"""How many threads torch may use, and how they wait, chosen for a shared machine.

OpenMP threads that spin while waiting for work fight other processes for the cores:
with two threads on two cores that other processes keep busy, torch slowed about
tenfold (DESIGN.md). So the command takes only the cores other running processes
leave free (at least one), and where that is fewer than all, sets OpenMP's wait
policy to passive (threads sleep instead of spinning) unless the user set one; on a
quiet machine spinning is the faster way to wait (bench/threads.py measured both). Both must happen before torch starts its
thread pool; the command calls `configure_threads` first thing. PLURALIST_THREADS
overrides the count.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

THREADS_VARIABLE = "PLURALIST_THREADS"


def usable_cores() -> int:
    """Cores this process may run on (its affinity mask, where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:   # no affinity masks here
        return max(1, os.cpu_count() or 1)


def free_cores(cores: int, load: float) -> int:
    """Cores that `load` processes running elsewhere leave free, at least one."""
    return max(1, min(cores, cores - int(load + 0.5)))


def busy_elsewhere(samples: int = 5, pause_s: float = 0.01) -> float:
    """Processes running now besides this one: the median of a few readings of the
    kernel's count of runnable tasks (the load average lags by a minute), or the load
    average where the system has no such count."""
    readings = []
    for _ in range(samples):
        try:
            stat = Path("/proc/stat").read_text()
        except OSError:
            break
        running = [line.split()[1] for line in stat.splitlines() if line.startswith("procs_running")]
        readings.append(int(running[0]) - 1 if running else 0)
        time.sleep(pause_s)
    if readings:
        return float(statistics.median(readings))
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):   # neither: assume a quiet machine
        return 0.0


def chosen_threads() -> int:
    """PLURALIST_THREADS where set (a whole number >= 1), else the free cores."""
    raw = os.environ.get(THREADS_VARIABLE, "").strip()
    if raw.isdigit() and int(raw) >= 1:
        return int(raw)
    return free_cores(usable_cores(), busy_elsewhere())


def requested_threads() -> int:
    """OMP_NUM_THREADS where the user set it (a whole number >= 1), else chosen_threads()."""
    raw = os.environ.get("OMP_NUM_THREADS", "").strip()
    return int(raw) if raw.isdigit() and int(raw) >= 1 else chosen_threads()


def configure_threads() -> int:
    """The thread count (OMP_NUM_THREADS where the user set it, else the chosen one) for
    torch and the BLAS it uses, and passive waiting where it is below the cores; returns
    the count. Variables the user set are left as they are."""
    threads = requested_threads()
    if threads < usable_cores():   # sharing the machine: sleep, don't spin, while waiting
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(name, str(threads))
    return threads
