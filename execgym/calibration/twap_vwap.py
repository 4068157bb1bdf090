"""TwapVwapSwitch-v0 calibrated from a stock's data: its day types, their volume profiles, and the costs of an
order's pace in each bucket.

| field | from |
|---|---|
| buckets B | the volume profile's buckets (13 half-hours by default; a bar per bucket with bars) |
| volume_profiles m_{r,t}, day_probabilities p_r | the days' volume fractions clustered into R day types by k-means (:func:`day_types`), each type's mean day in units of the mean daily volume V, and its share of the days |
| impact η_{r,t} | OptimalExec's linear temporary impact of the order (:func:`~.optimal_exec.order_params`) per bucket, η·X·B·10⁴/S0 bps, times (1/B)/f_{r,t} (f the type's fraction of the day's volume in the bucket: trading where the market is thin costs more) |
| volatility σ | σ/S0·10⁴/√B, bps per bucket |
| order_size | X/V |
| risk_aversion λ | the desk's, per bps |
"""

from __future__ import annotations

import numpy as np
import scipy.cluster.vq

import execgym
from execgym.calibration.optimal_exec import Order, StockEstimates, order_params, uncertain_estimates
from execgym.calibration.uncertainty import Interval, over_draws
from execgym.problems.twap_vwap.params import TwapVwapParams


def day_types(fractions: np.ndarray, volumes: np.ndarray, types: int, seed: int = 0
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(profiles (R, B) in units of the mean daily volume, probabilities (R,), each day's type (days,)): k-means
    (k-means++ starts, ``seed``) on the days' volume fractions (days, B), types sorted by their share of the
    days; ValueError for fewer days than types."""
    days = fractions.shape[0]
    if not 1 <= types <= days:
        raise ValueError(f"--day-types must be between 1 and the {days} days of data, got {types}")
    if types == 1:
        labels = np.zeros(days, dtype=int)
    else:
        _, labels = scipy.cluster.vq.kmeans2(fractions, types, minit="++", seed=seed)
    counts = np.bincount(labels, minlength=types)
    order = [t for t in np.argsort(-counts, kind="stable") if counts[t] > 0]
    relative = volumes / volumes.mean()
    profiles = np.array([(fractions[labels == t] * relative[labels == t, None]).mean(axis=0) for t in order])
    relabel = np.empty(types, dtype=int)
    relabel[order] = np.arange(len(order))
    return profiles, counts[order] / days, relabel[labels]


def switch_params(stock: StockEstimates, order: Order, types: int, risk_aversion: float,
                  values: dict[str, float] | None = None, seed: int = 0) -> TwapVwapParams:
    """The :class:`TwapVwapParams` of ``order`` over one day in the estimated stock (module docstring);
    ``values`` replaces estimates by name, as in :func:`~.optimal_exec.order_params`."""
    profiles, probabilities, _ = day_types(stock.daily_profiles, stock.daily_volumes, types, seed)
    buckets = profiles.shape[1]
    linear = order_params(stock, Order(shares=order.shares, side=order.side, horizon=1.0, periods=buckets,
                                       risk_aversion=order.risk_aversion), values)
    base = linear.temporary_impact * order.shares * buckets * 1e4 / stock.arrival_price
    shares = profiles / profiles.sum(axis=1, keepdims=True)
    return TwapVwapParams(
        buckets=buckets, volume_profiles=tuple(map(tuple, profiles.tolist())),
        day_probabilities=tuple(probabilities.tolist()), impact=tuple(map(tuple, (base / buckets / shares).tolist())),
        volatility=linear.volatility / stock.arrival_price * 1e4 / np.sqrt(buckets), risk_aversion=risk_aversion,
        order_size=order.shares / stock.daily_volume.value)


def switch_interval(stock: StockEstimates, order: Order, types: int, risk_aversion: float, draws: int = 100,
                    seed: int = 0) -> Interval:
    """The optimum's expected return (bps) at the estimates, and its 95 % interval over ``draws`` redraws of
    them (:func:`~.uncertainty.over_draws`; the day types stay)."""
    return over_draws(uncertain_estimates(stock),
                      lambda values: switch_params(stock, order, types, risk_aversion, values),
                      lambda params: execgym.make_oracle("TwapVwapSwitch-v0", params=params).expected_return,
                      draws, seed)
