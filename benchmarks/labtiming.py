"""Shared by the lab benchmarks: time each lab's default run (median wall and CPU) against a budget."""
from __future__ import annotations

import statistics
import time
from typing import Callable


def time_labs(labs: dict[str, Callable[[], str]], repeats: int, budget_s: float, width: int = 30) -> float:
    """Run every lab `repeats` times, print median wall/CPU seconds and its summary; return the slowest wall."""
    worst = 0.0
    for name, fn in labs.items():
        walls, cpus, summary = [], [], ""
        for _ in range(repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            summary = fn()
            walls.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
        wall = statistics.median(walls)
        worst = max(worst, wall)
        print(f"{name:{width}s} {wall:6.2f} s wall, {statistics.median(cpus):6.2f} s CPU  | {summary}")
    verdict = "within" if worst <= budget_s else "OVER"
    print(f"slowest lab {worst:.2f} s: {verdict} the {budget_s:.0f} s budget")
    return worst
