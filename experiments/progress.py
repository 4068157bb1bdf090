"""Training progress of one seed (a tqdm bar on a terminal, log lines elsewhere), and warnings.

tqdm draws nothing when its stream is not a terminal (``disable=None``: a log
file, a pipe, a batch job); there a line goes to standard error each time the
steps cross another :data:`LINE_EVERY` of the total, and once at the end::

    ppo seed 0: 150,000/3,000,000 steps (5 %), 2,345 steps/s, regret 3.210 ± 0.120 % (at 125,000 steps)

The regret is that of the latest evaluation, with its 95 % CI.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from tqdm import tqdm

from execgym.experiments.results import interval_text

LINE_EVERY = 0.05
"""Fraction of the total steps between two log lines (at most 20 lines per seed, whatever the budget)."""


class SeedProgress:
    """Progress of a seed's training towards ``total`` steps, from ``initial`` (a resumed run's steps, whose
    latest evaluation is ``latest``)."""

    def __init__(self, label: str, total: int, initial: int, latest: dict[str, Any] | None = None) -> None:
        self.label, self.total = label, total
        self.start_steps, self.started = initial, time.perf_counter()
        self.bar = tqdm(total=total, initial=min(initial, total), desc=label, unit="step", unit_scale=True,
                        disable=None)
        self.steps = initial
        self.next_line = self._line_after(initial)
        self.latest = latest

    def _line_after(self, steps: int) -> int:
        """The first step past ``steps`` at which a log line is due."""
        stride = max(1, round(self.total * LINE_EVERY))
        return (steps // stride + 1) * stride

    def update(self, steps: int) -> None:
        """The run has done ``steps`` steps."""
        self.steps = steps
        if not self.bar.disable:
            self.bar.update(min(steps, self.total) - self.bar.n)
        elif steps >= self.next_line and steps < self.total:
            self._line()
            self.next_line = self._line_after(steps)

    def evaluated(self, point: dict[str, Any]) -> None:
        """An evaluation (a point of the learning curve) is done."""
        self.latest = point
        self.bar.set_postfix(regret=f"{point['regret_pct']:.2f}%")

    def close(self) -> None:
        """Training is done: close the bar, or write the last line."""
        if self.bar.disable:
            self._line()
        self.bar.close()

    def _line(self) -> None:
        elapsed = time.perf_counter() - self.started
        rate = (self.steps - self.start_steps) / elapsed if elapsed > 0 else 0.0
        regret = "not evaluated yet" if self.latest is None else (
            f"regret {interval_text(self.latest['regret_pct'], self.latest['regret_pct_half_width'])} % "
            f"(at {self.latest['steps']:,} steps)")
        print(f"{self.label}: {self.steps:,}/{self.total:,} steps ({min(100, 100 * self.steps // self.total)} %), "
              f"{rate:,.0f} steps/s, {regret}", file=sys.stderr, flush=True)


def warn(message: str) -> None:
    """A warning line on standard error."""
    print(f"warning: {message}", file=sys.stderr, flush=True)
