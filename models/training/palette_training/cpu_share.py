"""Training threads that follow what the rest of the machine is doing (Linux; a no-op elsewhere).

On a 2-core machine a 2-thread training step beside another busy process is much slower than a
1-thread step (measured: 7× slower steps): every parallel region waits at its barrier for the
thread that the scheduler has just taken off its core. So the background run checks, every few
steps, how many cores the other processes used meanwhile (/proc/stat minus our own /proc/self/stat)
and trains on the cores that are left: all of them on an idle machine, one when a test run is busy.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def machine_busy_ticks() -> int:
    """Busy jiffies of all CPUs since boot (user+nice+system+irq+softirq+steal)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return user + nice + system + irq + softirq + steal


def own_ticks() -> int:
    """This process's user+system jiffies, all its threads."""
    fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15])


class CoreShare:
    """Call `update()` every few steps; it sets torch's thread count to the cores others leave free."""

    def __init__(self, cores: int | None = None) -> None:
        self.cores = cores or os.cpu_count() or 1
        self.enabled = Path("/proc/stat").exists() and self.cores > 1
        self.last = self.sample() if self.enabled else (0, 0)
        self.threads = torch.get_num_threads()

    def sample(self) -> tuple[int, int]:
        return machine_busy_ticks(), own_ticks()

    def others_cores(self, seconds: float) -> float:
        """Cores the other processes used since the last call (averaged over `seconds`)."""
        now = self.sample()
        busy, own = now[0] - self.last[0], now[1] - self.last[1]
        self.last = now
        return max(0.0, (busy - own) / CLOCK_TICKS / max(seconds, 1e-3))

    def update(self, seconds: float) -> int:
        """Our DataLoader worker counts as "others" too: it uses a few percent of a core at 64², so it
        does not tip the rounding; a test run (a whole core or more) does."""
        if not self.enabled:
            return self.threads
        free = max(1, min(self.cores, round(self.cores - self.others_cores(seconds))))
        if free != self.threads:
            torch.set_num_threads(free)
            self.threads = free
        return free
