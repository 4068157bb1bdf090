"""OptimalExec-v0 calibrated from a stock's data: its estimates, the params they give an order, and the
oracle's cost under the estimates' uncertainty.

:func:`estimate_stock` reads the tape, the quotes and (if the desk has them) its executions
(:mod:`.estimates`); :func:`order_params` turns the estimates into :class:`OptimalExecParams` for an
:class:`Order`:

| field | from |
|---|---|
| arrival_price S0 | the last quoted mid of the data |
| volatility σ | the quoted mid's two-scale realized variance, net of the desk's own impact |
| half_spread ε | the time-weighted quoted half spread |
| permanent_impact γ | the desk's metaorders (their mid move on the desk's volume); without executions, Kyle's λ of the tape |
| temporary_impact η (impact "linear", the default) | the metaorders' shortfall c·(v/v_ref)^α at the order's average rate v̄ = X/T, c·(v̄/v_ref)^α/v̄, plus γτ/2: the metaorders paid the permanent impact of their own fills as they went, which Almgren & Chriss's discrete model leaves out within a period (its E[IS] has η̃ = η − γτ/2), so η̃ is the measured coefficient (with a profile, period k's η̃_k is w_k times it: the profile becomes w'_k = (w_k·η̃ + γτ/2)/η); without executions, Almgren & Chriss's rule of thumb η = 2ε/(1 % of the daily volume) |
| temporary_impact η, impact_exponent α (impact "power") | the fitted law itself: η = c·(v̄/v_ref)^α/v̄, so the env's cost per share η·v̄·(v/v̄)^α is the fit's at every rate; the own fills' permanent impact within a period is then left out, which favours trading in few periods where γ is large |
| impact_profile w_k | for a one-day order of N periods: (1/N)/f_k, f_k the mean fraction of the day's volume in period k (trading in a period with half the average volume costs twice as much) |

:func:`cost_interval` propagates the estimates' uncertainty to the oracle's expected cost: it redraws the
estimated numbers from their sampling distributions (Student t, independent) and prices the order's optimum
in each draw exactly (:mod:`.uncertainty`, :func:`execgym.make_oracle`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

import execgym
from execgym.calibration import estimates
from execgym.calibration.estimates import Estimate, FillIntensity, TemporaryImpact
from execgym.calibration.formats import REGULAR, Session
from execgym.calibration.uncertainty import Interval, over_draws
from execgym.problems.optimal_exec.params import IMPACT_EXPONENTS, OptimalExecParams

RULE_OF_THUMB_FRACTION = 0.01
"""Almgren & Chriss's temporary impact without executions: trading 1 % of the daily volume a day costs one
spread per share."""


@dataclass(frozen=True)
class StockEstimates:
    """What the data say of a stock (:func:`estimate_stock`)."""

    arrival_price: float                 # the last quoted mid, currency per share
    days: int
    volatility: Estimate                 # σ, currency per share per √day
    half_spread: Estimate                # ε, currency per share
    daily_volume: Estimate               # shares per day
    flow_impact: Estimate | None         # Kyle's λ of the tape, currency per share per share (None from bars)
    permanent_impact: Estimate           # γ: the metaorders', Kyle's λ without executions, a rule of thumb from bars
    temporary: TemporaryImpact | None    # from the metaorders (None without executions)
    fill_intensity: FillIntensity | None  # λ(δ) = A·e^{−kδ} of the tape's market orders (None if all print at the touch)
    volume_profile: np.ndarray           # (buckets,) mean fraction of the day's volume
    profile_errors: np.ndarray           # (buckets,) their standard errors
    daily_profiles: np.ndarray           # (days, buckets) each day's fractions
    daily_volumes: np.ndarray            # (days,) each day's shares
    metaorders: pd.DataFrame | None      # one row per metaorder (:func:`estimates.metaorder_table`)


@dataclass(frozen=True)
class Order:
    """The order to calibrate for: shares X, side, horizon T (days), periods N and risk aversion λ (per
    currency)."""

    shares: float
    side: str = "sell"
    horizon: float = 1.0
    periods: int = 13
    risk_aversion: float = 5e-7


def estimate_stock(trades: pd.DataFrame, quotes: pd.DataFrame, executions: pd.DataFrame | None = None,
                   buckets: int = 13, session: Session = REGULAR) -> StockEstimates:
    """Every estimate of the stock (module docstring), a day being the ``session`` (the data's rows within it);
    the tape's signs by Lee–Ready where it has no side."""
    signs = estimates.trade_signs(trades, quotes)
    flow = estimates.flow_impact(trades, signs, quotes)
    spread = estimates.quoted_half_spread(quotes)
    metaorders = temporary = None
    permanent = flow
    if executions is not None:
        metaorders = estimates.metaorder_table(executions, quotes, session)
        permanent = estimates.permanent_impact(metaorders)
        temporary = estimates.temporary_impact(metaorders, spread.value)
    daily = estimates.daily_volume_fractions(trades, buckets, session)
    fractions, errors = estimates.volume_profile(daily)
    _require_volume_in_every_bucket(fractions, session)
    try:
        intensity = estimates.fill_intensity(trades, signs, quotes)
    except ValueError:
        intensity = None
    last = quotes.iloc[-1]
    return StockEstimates(
        arrival_price=float((last["bid"] + last["ask"]) / 2.0), days=daily.shape[0],
        volatility=estimates.volatility(quotes, executions=executions, permanent=permanent.value,
                                         session=session),
        half_spread=spread, daily_volume=estimates.daily_volume(trades), flow_impact=flow,
        permanent_impact=permanent, temporary=temporary, fill_intensity=intensity, volume_profile=fractions,
        profile_errors=errors, daily_profiles=daily,
        daily_volumes=trades.groupby(trades["timestamp"].dt.normalize())["size"].sum().to_numpy(),
        metaorders=metaorders)


def _require_volume_in_every_bucket(fractions: np.ndarray, session: Session) -> None:
    """ValueError naming the first bucket of the ``session`` in which no day traded: the data does not cover the
    session (the schedule's per-period impact divides by each bucket's volume)."""
    empty = np.flatnonzero(fractions <= 0.0)
    if empty.size:
        width = session.seconds / fractions.size
        raise ValueError(f"no trade in {session.clock(width * empty[0])}–{session.clock(width * (empty[0] + 1))} "
                         f"(bucket {empty[0]} of the session {session}) on any day: the data does not cover the "
                         "session; give --session the hours it covers")


PERMANENT_RULE_FRACTION = 0.1
"""Almgren & Chriss's permanent impact from bars: trading 10 % of the daily volume moves the price one spread."""


def estimate_from_bars(bars: pd.DataFrame, session: Session = REGULAR) -> StockEstimates:
    """The estimates OHLCV bars allow (:func:`~.estimates.bar_volatility` and its siblings): σ, ε (the bars need
    a ``spread`` column), the daily volume and profile (a bucket per bar); bars carry no signed volume, so the
    permanent impact is Almgren & Chriss's rule of thumb, γ = 2ε/(10 % of the daily volume), without an
    interval, and the temporary impact theirs (:func:`order_params`)."""
    if "spread" not in bars:
        raise ValueError("bars without a spread column give no half spread: add spread (ask − bid, averaged over "
                         "each bar) or calibrate from trades and quotes")
    spread, volume = estimates.bar_half_spread(bars), estimates.bar_daily_volume(bars)
    daily = estimates.bar_volume_fractions(bars)
    fractions, errors = estimates.volume_profile(daily)
    permanent = Estimate(2.0 * spread.value / (PERMANENT_RULE_FRACTION * volume.value), math.nan,
                         "currency per share per share", "Almgren & Chriss's rule of thumb: trading 10 % of the "
                         "daily volume moves the price one spread (bars carry no signed volume)")
    return StockEstimates(
        arrival_price=float(bars["close"].iloc[-1]), days=daily.shape[0], volatility=estimates.bar_volatility(bars, session),
        half_spread=spread, daily_volume=volume, flow_impact=None, permanent_impact=permanent, temporary=None,
        fill_intensity=None, volume_profile=fractions, profile_errors=errors, daily_profiles=daily,
        daily_volumes=bars.groupby(bars["timestamp"].dt.normalize())["volume"].sum().to_numpy(), metaorders=None)


def estimate(data, buckets: int = 13) -> StockEstimates:
    """The estimates of a :class:`~.data.MarketData`: from its trades and quotes (and executions) where it has
    them (:func:`estimate_stock`, the volume profile in ``buckets``), else from its bars
    (:func:`estimate_from_bars`, a bucket per bar); a day is its session."""
    if data.trades is not None:
        return estimate_stock(data.trades, data.quotes, data.executions, buckets, data.session)
    return estimate_from_bars(data.bars, data.session)


def impact_profile(stock: StockEstimates, order: Order) -> tuple[float, ...] | None:
    """w_k = (1/N)/f_k for a one-day order whose N periods split the profile's buckets evenly (f_k the mean
    fraction of the day's volume in period k); None otherwise (a constant η)."""
    buckets = stock.volume_profile.size
    if order.horizon != 1.0 or buckets % order.periods:
        return None
    fractions = stock.volume_profile.reshape(order.periods, -1).sum(axis=1)
    return tuple((1.0 / order.periods / fractions).tolist())


IMPACT_MODELS = ("linear", "power")


def order_params(stock: StockEstimates, order: Order, values: dict[str, float] | None = None,
                 impact: str = "linear") -> OptimalExecParams:
    """The :class:`OptimalExecParams` of ``order`` in the estimated stock with ``impact`` "linear" or "power"
    (module docstring); ``values`` replaces estimates by name (volatility, half_spread, permanent_impact,
    temporary_cost, impact_exponent), as :func:`cost_interval`'s draws do. ValueError (from the params'
    validation, or for an exponent outside [0.5, 1.5]) names the field."""
    if impact not in IMPACT_MODELS:
        raise ValueError(f"impact must be one of {list(IMPACT_MODELS)}, got {impact!r}")
    value = {"volatility": stock.volatility.value, "half_spread": stock.half_spread.value,
             "permanent_impact": stock.permanent_impact.value, **(values or {})}
    permanent = max(value["permanent_impact"], 0.0)
    average_rate = order.shares / order.horizon
    exponent = 1.0
    profile = impact_profile(stock, order)
    if stock.temporary is None:
        temporary = 2.0 * value["half_spread"] / (RULE_OF_THUMB_FRACTION * stock.daily_volume.value)
    else:
        fitted = value.get("impact_exponent", stock.temporary.exponent.value)
        cost = value.get("temporary_cost", stock.temporary.cost.value)
        temporary = cost * (average_rate / stock.temporary.reference_rate) ** fitted / average_rate
        if impact == "power":
            if not IMPACT_EXPONENTS[0] <= fitted <= IMPACT_EXPONENTS[1]:
                raise ValueError(f"the fitted impact exponent α = {fitted:.3g} is outside OptimalExec's range "
                                 f"{list(IMPACT_EXPONENTS)}: the metaorders do not support a power law the env can "
                                 "model (too few, or rates too alike); use impact='linear'")
            exponent = fitted
        else:
            # η̃_k = η_k − γτ/2 must be the measured w_k·c_v̄: η_k = w_k·c_v̄ + γτ/2 = η·w'_k
            correction = 0.5 * permanent * order.horizon / order.periods
            if profile is not None:
                profile = tuple(((np.asarray(profile) * temporary + correction) / (temporary + correction)).tolist())
            temporary += correction
    return OptimalExecParams(
        shares=order.shares, side=order.side, arrival_price=stock.arrival_price, volatility=value["volatility"],
        horizon=order.horizon, periods=order.periods, permanent_impact=permanent, temporary_impact=temporary,
        half_spread=value["half_spread"], risk_aversion=order.risk_aversion, impact_exponent=exponent,
        impact_profile=profile)


def uncertain_estimates(stock: StockEstimates) -> dict[str, Estimate]:
    """The estimates :func:`order_params` takes by name, with their uncertainty."""
    named = {"volatility": stock.volatility, "half_spread": stock.half_spread,
             "permanent_impact": stock.permanent_impact}
    if stock.temporary is not None:
        named["temporary"] = stock.temporary.joint          # c and α, drawn jointly (they correlate)
    return named


def cost_interval(stock: StockEstimates, order: Order, draws: int = 200, seed: int = 0, impact: str = "linear"
                  ) -> Interval:
    """E[IS] (currency) of the order's optimum in the estimated stock, and its 95 % interval over ``draws``
    redraws of the estimates (:func:`~.uncertainty.over_draws`)."""
    return over_draws(uncertain_estimates(stock), lambda values: order_params(stock, order, values, impact),
                      lambda params: execgym.make_oracle("OptimalExec-v0", params=params).expected_shortfall,
                      draws, seed)


def bps(cost: float, params: OptimalExecParams) -> float:
    """A cost in currency as bps of the order's notional X·S0."""
    return cost / params.notional * 1e4


def annual_volatility(stock: StockEstimates, trading_days: float = 250.0) -> float:
    """σ as an annual fraction of the price: σ·√days/S0."""
    return stock.volatility.value * math.sqrt(trading_days) / stock.arrival_price
