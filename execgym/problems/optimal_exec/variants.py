"""The registered variants of OptimalExec-v0: each is OptimalExec-v0 with documented keyword arguments.

``gym.make("OptimalExecCapped-v0")`` equals ``gym.make("OptimalExec-v0", **VARIANTS["OptimalExecCapped-v0"].kwargs)``;
keyword arguments given to ``gym.make`` override the variant's. The default market is the
liquid stock of :mod:`.params` (10 M shares a day, 13 half-hour periods), whose intraday
volume follows the U-shaped profile m_k of :func:`intraday_volume` (3× the midday volume at
the open and the close).

| id | model (seed) | kwargs | oracle |
|---|---|---|---|
| ``OptimalExecCapped-v0`` | time-varying impact with per-period liquidity caps (001) | η_k = η/√(N·m_k) (thin periods cost more); u_k = 12 % of the period's expected volume; λ = 0 | water-filling, exact |
| ``OptimalExecBlended-v0`` | blended quadratic cost (000) | as Capped, plus smoothness c = 10⁻⁶ $/share² and a soft target ρ = 10⁻⁵ $/share² | blended quadratic, O(N) solves, exact |
| ``OptimalExecNonlinear-v0`` | square-root impact (002, 003) | α = 0.5, λ = 5·10⁻⁷ | DP on a 1,000-lot grid, exact for the grid |
| ``OptimalExecMeanReverting-v0`` | Ornstein–Uhlenbeck price (000, 004) | θ = 2 per day, two-way trades up to X per period, ε = 0 | adaptive LQ feedback in (x, d), exact |
| ``OptimalExecTransient-v0`` | transient impact (Obizhaeva & Wang 2013) | κ = 2·10⁻⁷ $/share² (1 % of the daily volume displaces the book by one spread), resilience ρ = 10 per day (half-life 27 minutes), η a tenth of the default | LQ feedback in (x, d, D), exact |
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from execgym.validation import require_int, require_real

DAILY_VOLUME = 10_000_000.0
"""Shares traded in the default stock on a day (the volume behind the default impacts)."""
PERIODS = 13
TRANSIENT = {"transient_impact": 0.02 / (0.01 * DAILY_VOLUME), "resilience": 10.0,
             "temporary_impact": 0.02 / (0.1 * DAILY_VOLUME)}
"""OptimalExecTransient-v0's kwargs: a book that 1 % of the daily volume displaces by one spread, recovering with
a half-life of ln 2/10 days, and a tenth of the default temporary impact."""
CAP_PARTICIPATION = 0.12
"""Caps of the Capped and Blended variants: this share of each period's expected market volume."""


def intraday_volume(periods: int = PERIODS, open_close_ratio: float = 3.0) -> np.ndarray:
    """Share m_k of the day's volume in each period, summing to 1: m_k ∝ 1 + (r − 1)·(2u_k − 1)²,
    u_k = (k − ½)/N, so the first and last periods trade about r times the midday volume."""
    periods = require_int("periods", periods, low=1)
    open_close_ratio = require_real("open_close_ratio", open_close_ratio, low=0.0, low_open=True)
    u = (np.arange(1, periods + 1) - 0.5) / periods
    weights = 1.0 + (open_close_ratio - 1.0) * (2.0 * u - 1.0) ** 2
    return weights / weights.sum()


@dataclass(frozen=True)
class Variant:
    """A registered id: a description for ``execgym list`` and the keyword arguments it sets."""

    env_id: str
    description: str
    kwargs: dict


def _volume_linked() -> dict:
    volume = intraday_volume()
    return {"impact_profile": tuple(float(w) for w in 1.0 / np.sqrt(PERIODS * volume)),
            "trade_caps": tuple(float(u) for u in CAP_PARTICIPATION * DAILY_VOLUME * volume),
            "risk_aversion": 0.0}


VARIANTS: dict[str, Variant] = {v.env_id: v for v in (
    Variant("OptimalExecCapped-v0",
            "Liquidation with time-varying impact and per-period liquidity caps (12 % of volume); oracle: "
            "water-filling, exact", _volume_linked()),
    Variant("OptimalExecBlended-v0",
            "Blended quadratic cost: caps, smoothness penalty, soft target; oracle: banded + rank-one "
            "active-set solver, exact", {**_volume_linked(), "smoothness": 1e-6, "target_penalty": 1e-5}),
    Variant("OptimalExecNonlinear-v0",
            "Square-root temporary impact (alpha = 0.5); oracle: schedule DP on a 1,000-lot grid, exact for "
            "the grid", {"impact_exponent": 0.5}),
    Variant("OptimalExecMeanReverting-v0",
            "Ornstein-Uhlenbeck price (theta = 2/day), two-way trades; oracle: adaptive LQ feedback in "
            "(inventory, price deviation), exact", {"mean_reversion": 2.0, "two_way": True, "half_spread": 0.0}),
    Variant("OptimalExecTransient-v0",
            "Transient impact decaying at resilience rho = 10/day (Obizhaeva-Wang); oracle: LQ feedback in "
            "(inventory, price deviation, book displacement), exact", TRANSIENT),
)}
