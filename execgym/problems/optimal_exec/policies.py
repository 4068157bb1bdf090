"""Baselines of OptimalExec-v0 and its variants: deterministic schedules, as policies of the suite's protocol.

Each is a deterministic schedule of holdings x_0 = X, ..., x_N = 0 followed
through the env's action space: in period k it trades the planned fraction
(x_{k−1} − x_k)/x_{k−1} of what remains. Weights w_k (k = 1..N) give the
trades n_k = X·w_k/Σw:

| name | weights w_k | seed |
|---|---|---|
| ``twap`` | 1 (equal split) | 000, 002 ("naive") |
| ``vwap`` | volume profile m_k (default :func:`u_shaped_profile`) | 004 |
| ``pov`` | min(ρ·V·T·m_k, what remains): a fixed share ρ of the expected market volume; the rest at N | 003 |
| ``front_loaded`` | N − k + 1 (linear, decreasing: "aggressive") | 002, 003 |
| ``back_loaded`` | k (linear, increasing: "conservative") | 002 |
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from execgym.problems.optimal_exec import schedule
from execgym.problems.optimal_exec.params import OptimalExecParams
from execgym.problems.optimal_exec.schedule_policy import SchedulePolicy
from execgym.problems.optimal_exec.variants import intraday_volume
from execgym.validation import require_real


u_shaped_profile = intraday_volume
"""The default volume profile of ``vwap`` and ``pov``: :func:`~execgym.problems.optimal_exec.variants.intraday_volume`."""


def twap(params: OptimalExecParams) -> SchedulePolicy:
    """Equal shares every period."""
    return SchedulePolicy(params, schedule.holdings_from_trades(params, np.ones(params.periods)), "twap")


def vwap(params: OptimalExecParams, profile: np.ndarray | None = None) -> SchedulePolicy:
    """Shares in proportion to the market's volume profile (default :func:`u_shaped_profile`)."""
    weights = u_shaped_profile(params.periods) if profile is None else _check_profile(params, profile)
    return SchedulePolicy(params, schedule.holdings_from_trades(params, weights), "vwap")


def pov(params: OptimalExecParams, participation: float = 0.15, daily_volume: float = 10_000_000.0,
        profile: np.ndarray | None = None) -> SchedulePolicy:
    """Percent of volume: each period trade ``participation`` × the expected market volume
    daily_volume·T·m_k until done; whatever remains is traded in the last period. The default
    daily volume is the default stock's (10 M shares)."""
    participation = require_real("participation", participation, low=0.0, high=1.0, low_open=True)
    daily_volume = require_real("daily_volume", daily_volume, low=0.0, low_open=True)
    weights = u_shaped_profile(params.periods) if profile is None else _check_profile(params, profile)
    wanted = participation * daily_volume * params.horizon * weights
    done = np.minimum(np.cumsum(wanted), params.shares)
    holdings = params.shares - np.concatenate([[0.0], done])
    holdings[-1] = 0.0
    return SchedulePolicy(params, holdings, "pov")


def front_loaded(params: OptimalExecParams) -> SchedulePolicy:
    """Linearly decreasing trades ("aggressive"): w_k = N − k + 1."""
    weights = np.arange(params.periods, 0, -1, dtype=np.float64)
    return SchedulePolicy(params, schedule.holdings_from_trades(params, weights), "front_loaded")


def back_loaded(params: OptimalExecParams) -> SchedulePolicy:
    """Linearly increasing trades ("conservative"): w_k = k."""
    weights = np.arange(1, params.periods + 1, dtype=np.float64)
    return SchedulePolicy(params, schedule.holdings_from_trades(params, weights), "back_loaded")


def _check_profile(params: OptimalExecParams, profile: np.ndarray) -> np.ndarray:
    profile = np.asarray(profile, dtype=np.float64)
    if profile.shape != (params.periods,) or (profile < 0).any() or not profile.sum() > 0:
        raise ValueError(f"profile must be {params.periods} non-negative volume shares with a positive sum, "
                         f"got shape {profile.shape}")
    return profile / profile.sum()


BASELINES: dict[str, Callable[..., SchedulePolicy]] = {
    "twap": twap, "vwap": vwap, "pov": pov, "front_loaded": front_loaded, "back_loaded": back_loaded,
}


def make_baseline(name: str, params: OptimalExecParams, **options) -> SchedulePolicy:
    """The baseline ``name`` (one of :data:`BASELINES`) for ``params``; ``options`` go to its factory."""
    if name not in BASELINES:
        raise ValueError(f"unknown baseline {name!r}; choose from {sorted(BASELINES)}")
    if not isinstance(params, OptimalExecParams):
        raise ValueError(f"the baselines are single-asset schedules for OptimalExec-v0 and its variants; got "
                         f"{type(params).__name__} (BasketSequence-v0's baselines are in "
                         "execgym.problems.basket_sequence.policies)")
    return BASELINES[name](params, **options)


def baselines(params: OptimalExecParams) -> dict[str, SchedulePolicy]:
    """Every baseline of :data:`BASELINES` with its default options, by name."""
    return {name: factory(params) for name, factory in BASELINES.items()}
