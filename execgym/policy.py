"""The one policy protocol of the suite, and the oracle record every problem returns.

A policy is anything callable on a batch of observations (shape (n, *obs))
returning a batch of actions (shape (n, *action)). Oracles, baselines, trained
agents (through an adapter) and Q-tables all meet it, so :func:`execgym.score`
treats them alike.
"""

from __future__ import annotations

from dataclasses import dataclass
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
    """

    policy: Policy
    expected_return: float
    schedule: np.ndarray | None = None
    expected_shortfall: float | None = None
    variance: float | None = None
    clip_probability: float = 0.0
    grid_refinement_gain: float | None = None
