"""CoreShare: train on the cores the other processes leave free."""

import torch

from palette_training import cpu_share


def test_threads_follow_the_cores_other_processes_use(monkeypatch) -> None:
    ticks = {"busy": 0, "own": 0}
    monkeypatch.setattr(cpu_share, "machine_busy_ticks", lambda: ticks["busy"])
    monkeypatch.setattr(cpu_share, "own_ticks", lambda: ticks["own"])
    set_to: list[int] = []
    monkeypatch.setattr(torch, "set_num_threads", set_to.append)
    share = cpu_share.CoreShare(cores=2)
    share.threads = 2
    hz = cpu_share.CLOCK_TICKS

    def second(own_cores: float, other_cores: float) -> int:
        ticks["own"] += round(own_cores * hz)
        ticks["busy"] += round((own_cores + other_cores) * hz)
        return share.update(1.0)

    assert second(2.0, 0.0) == 2 and set_to == []        # idle machine: both cores
    assert second(1.0, 1.0) == 1 and set_to == [1]       # a test run takes a core: one thread
    assert second(1.0, 0.9) == 1 and set_to == [1]
    assert second(1.0, 0.05) == 2 and set_to == [1, 2]   # our worker's few percent do not count
    assert second(0.5, 3.0) == 1                          # never below one thread


def test_reads_this_machines_counters() -> None:
    assert cpu_share.machine_busy_ticks() >= cpu_share.own_ticks() > 0
