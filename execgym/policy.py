"""The one policy protocol of the suite, and the oracle record every problem returns.

A policy is anything callable on a batch of observations (shape (n, *obs))
returning a batch of actions (shape (n, *action)). Oracles, baselines, trained
agents (through an adapter) and Q-tables all meet it, so :func:`execgym.score`
treats them alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Policy(Protocol):
    """Batch of observations in, batch of actions out."""

    def __call__(self, observations: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class Oracle:
    """A problem's provably optimal policy and its exact value.

    ``expected_return`` is E[Σ reward] under ``policy`` from the initial state,
    in the env's reward units. Execution problems also fill ``schedule`` (the
    optimal holdings per period, shares, length N + 1: along the expected price
    path where the optimum adapts to prices), and those whose optimum is a
    deterministic schedule ``expected_shortfall`` and ``variance`` (currency and
    currency²). ``clip_probability`` bounds the probability that the optimal
    policy needs an action outside the action space (then clipped): 0 where it
    never does. ``grid_refinement_gain`` is set by oracles exact on a discrete
    grid: how much their expected return improves when the grid is refined
    twice (a lower bound on the grid's error against the continuous optimum).

    Every number an oracle reports is finite: a float or float array field
    (here or in a subclass) holding NaN or ±inf raises ValueError on
    construction, naming it.
    """

    policy: Policy
    expected_return: float
    schedule: np.ndarray | None = None
    expected_shortfall: float | None = None
    variance: float | None = None
    clip_probability: float = 0.0
    grid_refinement_gain: float | None = None

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, (float, np.floating)) or (isinstance(value, np.ndarray) and value.dtype.kind == "f"):
                if not np.all(np.isfinite(value)):
                    raise ValueError(f"{type(self).__name__}.{field.name} must be finite, got {_describe(value)}")


def _describe(value) -> str:
    """A float as it is; of an array, its shape and its first non-finite entry."""
    if not isinstance(value, np.ndarray):
        return repr(float(value))
    index = tuple(int(i) for i in np.argwhere(~np.isfinite(value))[0])
    return f"an array of shape {value.shape} with {float(value[index])} at index {index}"


@dataclass(frozen=True)
class OracleCost:
    """What building a problem's oracle would take, estimated from its params in a few milliseconds.

    ``size`` is the count the oracle's work grows with, what ``unit`` names (e.g.
    reachable state–action pairs, n²·2ⁿ for Held–Karp); ``seconds`` is the
    estimated build time in CPU seconds of one core, overhead + rate × size with
    rates measured on the oracle itself (``tests/test_oracle_cost.py`` holds
    them within a factor of 3 of the measured CPU time; on a busy machine the
    wall time is longer). Each problem's oracle module has its
    ``build_cost(params)`` (:attr:`execgym.registry.Problem.oracle_cost`).
    """

    size: float
    unit: str
    seconds: float
    refusal: str | None = None
    """Why the oracle refuses these params (past a size it caps, or no exact solver for them); None if it
    builds them. Without a solver ``size`` and ``seconds`` are nan."""

    def __str__(self) -> str:
        if math.isnan(self.seconds):
            return f"no exact oracle: {self.refusal}"
        size = f"{self.size:,.0f}" if self.size < 1e9 else f"{self.size:.3g}" if self.size < math.inf else "over 1e308"
        when = f"about {duration(self.seconds)}" if self.seconds < math.inf else "longer than 1e300 years"
        text = f"{when} ({size} {self.unit})"
        return text if self.refusal is None else f"{text}; it refuses these parameters: {self.refusal}"


def duration(seconds: float) -> str:
    """``seconds`` in the largest unit that keeps it readable: "12 ms", "3.4 s", "2.1 hours", "4.5e+98 years"."""
    for unit, length in (("years", 365.25 * 86_400), ("days", 86_400), ("hours", 3_600), ("min", 60), ("s", 1)):
        if seconds >= length:
            return f"{seconds / length:.3g} {unit}"
    return f"{seconds * 1e3:.3g} ms"
