"""Baseline quoting strategies of MarketMaking, as tables of depths per (step, inventory).

Each is a :class:`~.oracle.QuotePolicy` (acting from observations like the
oracle), so :func:`~.oracle.policy_value` gives its exact expected return and
:func:`execgym.score` its regret against the optimum on common random numbers.
Depths are clipped to [0, δ_max] (the env's action range); on a tick grid they
are rounded to the nearest tick (an exact half tick to the even one, numpy's
``rint``).

| strategy | bid depth δ_b | ask depth δ_a |
|---|---|---|
| :func:`symmetric` | ψ/2 | ψ/2 |
| :func:`avellaneda_stoikov` | ψ_t/2 + q·γσ²(T − t) | ψ_t/2 − q·γσ²(T − t) |

Avellaneda–Stoikov (2008): quotes centred on the reservation price
r = S − q·γσ²(T − t) with total spread ψ_t = γσ²(T − t) + (2/γ)·ln(1 + γ/k),
t = n·dt the time at the step's start. ``time_dependent_spread=False`` drops
the γσ²(T − t) term from the spread (ψ = (2/γ)·ln(1 + γ/k), the average
spread the paper's simulation tables report).
"""

from __future__ import annotations

import numpy as np

from execgym.problems.market_making.oracle import QuotePolicy
from execgym.problems.market_making.params import MarketMakingParams
from execgym.validation import require_real

DEFAULT_RISK_AVERSION = 0.1
"""γ of the named baselines (:func:`baselines`) when the params have none (objective "risk_neutral")."""


def _policy(params: MarketMakingParams, bid: np.ndarray, ask: np.ndarray) -> QuotePolicy:
    shape = (params.steps, params.levels)
    bid = np.clip(np.broadcast_to(bid, shape), 0.0, params.max_depth)
    ask = np.clip(np.broadcast_to(ask, shape), 0.0, params.max_depth)
    if params.discrete:
        bid, ask = (np.rint(side / params.tick_size) * params.tick_size for side in (bid, ask))
    return QuotePolicy(params, bid, ask)


def symmetric(params: MarketMakingParams, spread: float) -> QuotePolicy:
    """Quote at ``spread``/2 on each side of the mid at every step and inventory (currency)."""
    spread = require_real("spread", spread, low=0.0)
    return _policy(params, np.full(1, spread / 2.0), np.full(1, spread / 2.0))


def avellaneda_stoikov_spread(params: MarketMakingParams, risk_aversion: float,
                              time_dependent_spread: bool = True) -> np.ndarray:
    """ψ_t (N,) of the Avellaneda–Stoikov strategy at each step's start (currency)."""
    gamma = require_real("risk_aversion", risk_aversion, low=0.0, low_open=True)
    time_left = params.horizon - params.dt * np.arange(params.steps)
    base = 2.0 / gamma * np.log1p(gamma / params.depth_decay)
    return base + (gamma * params.volatility**2 * time_left if time_dependent_spread else np.zeros(params.steps))


def avellaneda_stoikov_depths(params: MarketMakingParams, risk_aversion: float, time_dependent_spread: bool = True
                              ) -> tuple[np.ndarray, np.ndarray]:
    """The Avellaneda–Stoikov (bid, ask) depths (N, 2Q̄+1) before the clip to [0, δ_max]:
    ψ_t/2 ± q·γσ²(T − t), negative where the reservation price is beyond the mid by more than ψ_t/2."""
    gamma = require_real("risk_aversion", risk_aversion, low=0.0, low_open=True)
    time_left = (params.horizon - params.dt * np.arange(params.steps))[:, None]
    skew = params.inventories[None, :] * gamma * params.volatility**2 * time_left
    half = avellaneda_stoikov_spread(params, gamma, time_dependent_spread)[:, None] / 2.0
    return half + skew, half - skew


def avellaneda_stoikov(params: MarketMakingParams, risk_aversion: float | None = None,
                       time_dependent_spread: bool = True) -> QuotePolicy:
    """The Avellaneda–Stoikov quotes (module docstring) with risk aversion γ = ``risk_aversion``
    (default: the params' own, under objective "cara")."""
    gamma = params.risk_aversion if risk_aversion is None else risk_aversion
    if gamma is None:
        raise ValueError("avellaneda_stoikov needs risk_aversion (γ > 0) unless the params use objective='cara'")
    return _policy(params, *avellaneda_stoikov_depths(params, gamma, time_dependent_spread))


def baselines(params: MarketMakingParams) -> dict[str, QuotePolicy]:
    """The named baselines, with γ the params' risk aversion (objective "cara") or :data:`DEFAULT_RISK_AVERSION`:
    ``avellaneda_stoikov`` and ``symmetric`` at their average spread (2/γ)·ln(1 + γ/k) (1.29 by default)."""
    gamma = DEFAULT_RISK_AVERSION if params.risk_aversion is None else params.risk_aversion
    spread = float(avellaneda_stoikov_spread(params, gamma, time_dependent_spread=False)[0])
    return {"avellaneda_stoikov": avellaneda_stoikov(params, gamma), "symmetric": symmetric(params, spread)}
