"""Parameters of TwapVwapSwitch: an intraday order, a market volume profile per day type and the costs of trading.

Units: the order is one unit (every quantity traded or held is a fraction of
the order, X = 1); prices and costs are in **bps of the order's arrival
notional**; market volumes are in units of a reference daily volume V (the
default profile is the day's volume, summing to 1), and ``order_size`` is X/V.

* The day has B buckets (default 13 half-hours of a 6.5-hour session). On a
  day of type r the market trades m_{r,t} in bucket t; the day type is drawn
  at reset with probabilities p_r and is known from then on. The default is
  one day type, the U-shaped profile of :func:`u_shaped_profile` (2.7× the
  midday volume in the first and last of 13 buckets).
* Trading a fraction v of the order in bucket t costs η_{r,t}·v² bps
  (temporary impact: the price concession η_{r,t}·v on the v traded). The
  default :func:`default_impact` is the cost per unit of participation,
  η̄/(B·m_{r,t}) (a bucket with a 1/B share of the volume costs η̄), raised
  by an opening premium that starts at κ = 4 and halves every hour
  (2/13 of the day): trading is dearest at the open, cheapest at the close.
* The price moves by σ·ξ_t bps in bucket t (ξ_t standard normal), after the
  bucket's trade; holding x' through the move risks σ²x'², penalised by
  λσ²x'² (mean–variance, risk aversion λ per bps).

The default (η̄ = 100 bps, σ = 50 bps per half-hour ≈ 1.8 % a day,
λ = 2·10⁻⁴ per bps) is seed 004's scenario: VWAP pace, which trades most in
the costly, busy opening buckets, costs more than TWAP pace, and switching
between the two beats both (:mod:`.oracle`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from numbers import Real

import numpy as np

from execgym.problems.optimal_exec.variants import intraday_volume
from execgym.validation import (params_from_kwargs, real_array, require_entries, require_int, require_per_period,
                                require_real, set_field)

DEFAULT_BUCKETS = 13
MAX_BUCKETS = 10_000
MAX_DAY_TYPES = 100
VOLUMES = (1e-9, 1e9)
"""Range of a bucket's market volume, units of the reference daily volume V."""
IMPACTS = (1e-9, 1e9)
"""Range of a bucket's impact η, bps of arrival notional (trading the whole order in a bucket: 10⁹ bps is
10⁵ times the order's value)."""
MAX_VOLATILITY = 1e6
"""Largest σ, bps per bucket (a price move of a hundred times the price)."""
MAX_RISK_AVERSION = 1e6
"""Largest λ, per bps."""
ORDER_SIZES = (1e-9, 1e9)
"""Range of X/V, the order in units of the reference daily volume."""
BASE_IMPACT = 100.0
"""η̄, bps: the impact of trading the whole order in a bucket with a 1/B share of the day's volume, away from
the open."""
OPEN_PREMIUM = 4.0
"""κ: the impact in the first bucket is κ times the volume-linked impact."""
PREMIUM_HALF_LIFE = 2.0 / 13.0
"""Fraction of the day over which the opening premium κ − 1 halves (one hour of a 6.5-hour session)."""
PROBABILITY_TOLERANCE = 1e-9


def u_shaped_profile(buckets: int = DEFAULT_BUCKETS) -> np.ndarray:
    """(B,) the default day's share of volume per bucket, summing to 1: m_t ∝ 1 + 2·(2u_t − 1)², u_t the bucket's
    midpoint as a fraction of the day, 3× the midday rate at the open and the close
    (:func:`~execgym.problems.optimal_exec.variants.intraday_volume`)."""
    return intraday_volume(buckets)


def default_impact(volumes: np.ndarray) -> np.ndarray:
    """(R, B) η_{r,t} = η̄·(1 + (κ − 1)·2^{−(t/B)/h}) / (B·m_{r,t}) bps for volumes (R, B) in units of V
    (η̄ = :data:`BASE_IMPACT`, κ = :data:`OPEN_PREMIUM`, h = :data:`PREMIUM_HALF_LIFE`, t/B the bucket's start
    as a fraction of the day)."""
    volumes = np.asarray(volumes, dtype=np.float64)
    buckets = volumes.shape[1]
    start = np.arange(buckets) / buckets
    premium = 1.0 + (OPEN_PREMIUM - 1.0) * 2.0 ** (-start / PREMIUM_HALF_LIFE)
    return BASE_IMPACT * premium / (buckets * volumes)


def _rows(name: str, value, buckets: int, bounds: tuple[float, float]) -> tuple:
    """``value`` as B floats in ``bounds`` (a tuple) or 1 to :data:`MAX_DAY_TYPES` rows of B (a tuple of tuples),
    checked."""
    try:
        items = list(value)
    except TypeError:
        raise ValueError(f"{name} must be {buckets} numbers (one per bucket) or rows of {buckets} numbers (one row "
                         f"per day type), got {value!r}") from None
    if not items:
        raise ValueError(f"{name} must not be empty: give {buckets} numbers (one per bucket) or rows of them")
    flat = all(isinstance(item, Real) and not isinstance(item, bool) for item in items)
    rows = [items] if flat else items
    if len(rows) > MAX_DAY_TYPES:
        raise ValueError(f"{name} must have at most {MAX_DAY_TYPES} rows (day types), got {len(rows)}")
    checked = []
    for r, row in enumerate(rows):
        label = name if flat else f"{name}[{r}]"
        if isinstance(row, (str, bytes)) or not hasattr(row, "__len__"):
            raise ValueError(f"{label} must be a row of {buckets} numbers (one per bucket), got {row!r}")
        if len(row) != buckets:
            raise ValueError(f"{label} must have one entry per bucket (buckets = {buckets}), got {len(row)}")
        checked.append(require_per_period(label, row, buckets, low=bounds[0], high=bounds[1]))
    return checked[0] if flat else tuple(checked)


def _as_matrix(value: tuple, day_types: int) -> np.ndarray:
    """(R, B) array of a checked ``_rows`` value: one row repeated for every day type, or the rows."""
    array = np.array(value, dtype=np.float64)
    return np.broadcast_to(array, (day_types, array.shape[-1])).copy() if array.ndim == 1 else array


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


@dataclass(frozen=True)
class TwapVwapParams:
    """An intraday order's market and objective (module docstring). Frozen; validated on construction."""

    buckets: int = DEFAULT_BUCKETS
    """B, decision buckets (time steps) in the day, 1..10,000."""
    volume_profiles: tuple | None = None
    """Market volume m_{r,t} in each bucket, in units of the reference daily volume V: B numbers in
    :data:`VOLUMES` = [10⁻⁹, 10⁹] (one day type) or R rows of B (R = 1 to 100 day types). None: one day type,
    :func:`u_shaped_profile` (summing to 1)."""
    day_probabilities: tuple | None = None
    """p_r, probability of each day type (R numbers in [0, 1] summing to 1). None: 1/R each."""
    impact: tuple | None = None
    """η_{r,t}, bps of arrival notional: trading a fraction v of the order in bucket t costs η·v². B numbers in
    :data:`IMPACTS` = [10⁻⁹, 10⁹] (every day type alike) or R rows of B. None: :func:`default_impact` of the
    volume profiles."""
    volatility: float = 50.0
    """σ, bps of the arrival price per bucket: the standard deviation of a bucket's price move, in [0, 10⁶]
    (:data:`MAX_VOLATILITY`)."""
    risk_aversion: float = 2e-4
    """λ, per bps: the risk penalty λσ²x'² for holding x' through a bucket's price move, in [0, 10⁶]
    (:data:`MAX_RISK_AVERSION`)."""
    pov_rate: float | None = None
    """ρ in (0, 1]: adds action 2, POV, trading min(x, ρ·m_{r,t}/order_size) (ρ times the bucket's market
    volume, as a fraction of the order). None: two actions, TWAP and VWAP."""
    order_size: float = 0.1
    """X/V, the order in units of the reference daily volume, in :data:`ORDER_SIZES` = [10⁻⁹, 10⁹] (used by
    POV)."""

    def __post_init__(self) -> None:
        set_field(self, "buckets", require_int("buckets", self.buckets, low=1, high=MAX_BUCKETS))
        if self.volume_profiles is not None:
            set_field(self, "volume_profiles", _rows("volume_profiles", self.volume_profiles, self.buckets, VOLUMES))
        day_types = self.day_types
        if self.day_probabilities is not None:
            set_field(self, "day_probabilities", self._checked_probabilities(day_types))
        if self.impact is not None:
            impact = _rows("impact", self.impact, self.buckets, IMPACTS)
            rows = len(impact) if isinstance(impact[0], tuple) else None
            if rows is not None and rows != day_types:
                raise ValueError(f"impact must have one row per day type ({day_types}, the rows of volume_profiles) "
                                 f"or be one row of {self.buckets} numbers, got {rows} rows")
            set_field(self, "impact", impact)
        set_field(self, "volatility", require_real("volatility", self.volatility, low=0.0, high=MAX_VOLATILITY))
        set_field(self, "risk_aversion",
                  require_real("risk_aversion", self.risk_aversion, low=0.0, high=MAX_RISK_AVERSION))
        if self.pov_rate is not None:
            set_field(self, "pov_rate", require_real("pov_rate", self.pov_rate, low=0.0, high=1.0, low_open=True))
        set_field(self, "order_size",
                  require_real("order_size", self.order_size, low=ORDER_SIZES[0], high=ORDER_SIZES[1]))

    def _checked_probabilities(self, day_types: int) -> tuple[float, ...]:
        items = real_array("day_probabilities", self.day_probabilities,
                           f"{day_types} numbers in [0, 1] (one per day type)")
        if items.ndim != 1 or len(items) != day_types:
            raise ValueError(f"day_probabilities must have one entry per day type ({day_types}, the rows of "
                             f"volume_profiles), got shape {items.shape}")
        require_entries("day_probabilities", items, low=0.0, high=1.0)
        items = items.tolist()
        if abs(math.fsum(items) - 1.0) > PROBABILITY_TOLERANCE:
            raise ValueError(f"day_probabilities must sum to 1 (within {PROBABILITY_TOLERANCE:g}), got "
                             f"{math.fsum(items)!r}")
        return tuple(items)

    @classmethod
    def from_kwargs(cls, params: "TwapVwapParams | None" = None, **kwargs) -> "TwapVwapParams":
        """``params`` as given, or built from keyword arguments; unknown names raise."""
        return params_from_kwargs(cls, params, kwargs, "TwapVwapSwitch")

    @property
    def day_types(self) -> int:
        """R: the rows of ``volume_profiles`` (1 by default)."""
        if self.volume_profiles is None or not isinstance(self.volume_profiles[0], tuple):
            return 1
        return len(self.volume_profiles)

    @cached_property
    def volumes(self) -> np.ndarray:
        """(R, B) m_{r,t}, units of V."""
        if self.volume_profiles is None:
            return _frozen(u_shaped_profile(self.buckets)[None, :])
        return _frozen(_as_matrix(self.volume_profiles, self.day_types))

    @cached_property
    def volume_tails(self) -> np.ndarray:
        """(R, B) Σ_{s>=t} m_{r,s}: the market volume still to come from bucket t on, units of V."""
        return _frozen(np.cumsum(self.volumes[:, ::-1], axis=1)[:, ::-1].copy())

    @cached_property
    def probabilities(self) -> np.ndarray:
        """(R,) p_r."""
        if self.day_probabilities is None:
            return _frozen(np.full(self.day_types, 1.0 / self.day_types))
        return _frozen(np.array(self.day_probabilities))

    @cached_property
    def impacts(self) -> np.ndarray:
        """(R, B) η_{r,t}, bps."""
        return _frozen(default_impact(self.volumes) if self.impact is None else _as_matrix(self.impact, self.day_types))

    @cached_property
    def pov_caps(self) -> np.ndarray | None:
        """(R, B) ρ·m_{r,t}/order_size: the most POV trades in bucket t, fraction of the order (None without POV)."""
        return None if self.pov_rate is None else _frozen(self.pov_rate * self.volumes / self.order_size)

    @cached_property
    def num_actions(self) -> int:
        """2 (TWAP, VWAP) or 3 (and POV, with ``pov_rate``)."""
        return 2 if self.pov_rate is None else 3

    @property
    def observation_size(self) -> int:
        """2 (time remaining, remaining fraction), plus a one-hot of the day type when R > 1."""
        return 2 if self.day_types == 1 else 2 + self.day_types
