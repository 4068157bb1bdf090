"""MarketMaking-v0 calibrated from a stock's tape and quotes: the order flow a market maker's quotes meet.

| field | from |
|---|---|
| mid_price S0 | the last quoted mid |
| volatility σ | the quoted mid's two-scale realized variance (:func:`~.estimates.volatility`), per √day |
| arrival_rate A, depth_decay k | the depths the tape's market orders reached beyond the touch (:func:`~.estimates.fill_intensity`): λ(δ) = A·e^{−kδ} per side per day |
| max_depth | 7.5/k, as the family's distribution (a quote there fills e^{−7.5} as often as at the mid) |
| inventory_penalty φ | γσ²/2 for the desk's risk aversion γ (per currency), the exponential utility's first order |
| horizon T, steps N, terminal_penalty α, max_inventory Q̄ | the desk's choices (:class:`Quoting`) |

A fill is one unit (the model's: a market order reaching the quote takes one share, or one lot of the desk's
quote size). :func:`profit_interval` redraws σ, A and k from their sampling distributions and solves each
draw's optimum exactly (backward induction, :func:`execgym.make_oracle`).
"""

from __future__ import annotations

from dataclasses import dataclass

import execgym
from execgym.calibration.estimates import Estimate, FillIntensity
from execgym.calibration.uncertainty import Interval, over_draws
from execgym.problems.market_making.distribution import DEPTH_RANGE
from execgym.problems.market_making.params import MarketMakingParams


@dataclass(frozen=True)
class Quoting:
    """The desk's choices: horizon T (days), decision steps N, risk aversion γ (per currency: φ = γσ²/2),
    terminal penalty α (currency per unit²) and inventory bound Q̄ (units)."""

    horizon: float = 1.0
    steps: int = 200
    risk_aversion: float = 0.1
    terminal_penalty: float = 0.5
    max_inventory: int = 50


def quoting_params(mid: float, volatility: Estimate, intensity: FillIntensity, quoting: Quoting,
                   values: dict[str, float] | None = None) -> MarketMakingParams:
    """The :class:`MarketMakingParams` of the estimates (module docstring); ``values`` replaces volatility,
    arrival_rate or depth_decay by name (:func:`profit_interval`'s draws). ValueError names the field."""
    value = {"volatility": volatility.value, "arrival_rate": intensity.arrival_rate.value,
             "depth_decay": intensity.depth_decay.value, **(values or {})}
    return MarketMakingParams(
        mid_price=mid, volatility=value["volatility"], horizon=quoting.horizon, steps=quoting.steps,
        arrival_rate=value["arrival_rate"], depth_decay=value["depth_decay"],
        max_depth=DEPTH_RANGE / value["depth_decay"], max_inventory=quoting.max_inventory,
        inventory_penalty=quoting.risk_aversion * value["volatility"] ** 2 / 2.0,
        terminal_penalty=quoting.terminal_penalty)


def profit_interval(mid: float, volatility: Estimate, intensity: FillIntensity, quoting: Quoting, draws: int = 100,
                    seed: int = 0) -> Interval:
    """V_0 (currency) of the optimum at the estimates, and its 95 % interval over ``draws`` redraws of σ, A and k
    (:func:`~.uncertainty.over_draws`)."""
    named = {"volatility": volatility, "intensity": intensity}          # A and k drawn jointly
    return over_draws(named, lambda values: quoting_params(mid, volatility, intensity, quoting, values),
                      lambda params: execgym.make_oracle("MarketMaking-v0", params=params).expected_return,
                      draws, seed)
