"""The one policy protocol of the suite, and the oracle record every problem returns.

A policy is anything callable on a batch of observations (shape (n, *obs))
returning a batch of actions (shape (n, *action)). Oracles, baselines, trained
agents (through an adapter) and Q-tables all meet it, so :func:`execgym.score`
treats them alike.
"""

from __future__ import annotations

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
