"""TwapVwapSwitch-v0's distribution of markets: an intraday order in stocks of more or less U-shaped days.

A market is a day's volume profile, the cost of trading in each bucket, the price's volatility and the
trader's risk aversion, in the family's units (fractions of the order, bps of its arrival notional). Five
uniforms u₀..u₄ set them:

| quantity | training range | how it is drawn |
|---|---|---|
| open/close volume ratio r | 1.5 – 5 | log-uniform (u₀): m_t ∝ 1 + (r − 1)·(2u_t − 1)², u_t the bucket's midpoint |
| daily volatility σ_d | 100 – 400 bps | log-uniform (u₁); per bucket σ = σ_d/√13 (28 – 111 bps) |
| impact level η̄ | 25 – 400 bps | k·σ_d, k log-uniform on 0.25 – 1 (u₂): impact grows with volatility |
| opening premium κ | 1.5 – 6 | uniform (u₃) |
| risk aversion λ | 10⁻⁴ – 10⁻² per bps | log-uniform (u₄): λσ² of 0.08 – 120 bps |

The profile is :func:`~.params.u_shaped_profile`'s (r = 3 there), whose U-shape, a few times the midday
volume at the open and the close, is that of Jain & Joh (1988), "The dependence between hourly prices and
trading volume", Journal of Financial and Quantitative Analysis 23(3), and of Admati & Pfleiderer (1988), "A
theory of intraday patterns: volume and price variability", Review of Financial Studies 1(1). The bucket's
impact is :func:`~.params.default_impact`'s form with the drawn level and premium,
η_t = η̄·(1 + (κ − 1)·2^{−(t/B)/h})/(B·m_t), h = 2/13 (the premium halves every hour): the cost per unit of
participation, dearest at the open, its level proportional to the daily volatility as in Almgren, Thum,
Hauptmann & Li (2005), "Direct estimation of equity market impact", Risk 18(7). The risk aversion's range
holds Almgren & Chriss (2000)'s example, λ = 10⁻⁶ per $ on a $50 M order, which is 5·10⁻³ per bps of the
order's notional, and the family's default, 2·10⁻⁴; over it the optimal paces go from TWAP through the
expensive open (then VWAP) to VWAP through the open (then TWAP). One day type (R = 1), B = 13 half-hour
buckets and the two paces (TWAP, VWAP; no POV) are the defaults, so every market has the same spaces.

**Out of distribution** (``"ood"``): far more skewed days and more volatile prices than any training market:
r of 8 – 16 and σ_d of 400 – 800 bps (so η̄ of 100 – 800 bps); the other quantities as in training.

**Features** (the observation's last five entries, each normalised to [−1, 1] over its training range,
:class:`~execgym.distributions.Feature`; computed from the params, so a user's own markets have them too,
over the day types' probability-weighted profile): the open's volume over the midday bucket's m_0/m_6, the
open's cost of participation over the close's η_0·m_0/(η_12·m_12), the close's cost of participation
B·η_12·m_12 (bps), the daily volatility σ·√B (bps, linear scale) and the risk aversion λ (per bps).
"""

from __future__ import annotations

import math

import numpy as np

from execgym.distributions import Feature, MarketDistribution, log_uniform, uniform
from execgym.problems.optimal_exec.variants import intraday_volume
from execgym.problems.twap_vwap.params import DEFAULT_BUCKETS, PREMIUM_HALF_LIFE, TwapVwapParams

BUCKETS = DEFAULT_BUCKETS
IMPACT_PER_VOLATILITY = (0.25, 1.0)
"""k = η̄/σ_d."""
PREMIUMS = (1.5, 6.0)
"""κ: the open's impact over the volume-linked impact."""
RISK_AVERSIONS = (1e-4, 1e-2)
"""λ, per bps."""
TRAINING = dict(ratio=(1.5, 5.0), volatility=(100.0, 400.0))
"""The training regime's open/close volume ratio r and daily volatility σ_d (bps)."""
OOD = dict(ratio=(8.0, 16.0), volatility=(400.0, 800.0))
"""The out-of-distribution regime's (same keys)."""


def premium_decay(buckets: int) -> np.ndarray:
    """2^{−(t/B)/h}, t = 0..B−1: the share of the opening premium κ − 1 left at each bucket's start."""
    return 2.0 ** (-(np.arange(buckets) / buckets) / PREMIUM_HALF_LIFE)


def bucket_impacts(volumes: np.ndarray, level: float, premium: float) -> np.ndarray:
    """η_t = η̄·(1 + (κ − 1)·2^{−(t/B)/h})/(B·m_t), bps, for volumes m (B,) in units of the day's volume."""
    buckets = volumes.shape[0]
    return level * (1.0 + (premium - 1.0) * premium_decay(buckets)) / (buckets * volumes)


def sample(u: np.ndarray, ood: bool) -> dict:
    """The keyword parameters of the market of uniforms ``u`` (5), training or out-of-distribution regime
    (module docstring)."""
    ranges = OOD if ood else TRAINING
    volumes = intraday_volume(BUCKETS, float(log_uniform(u[0], *ranges["ratio"])))
    daily_volatility = float(log_uniform(u[1], *ranges["volatility"]))
    level = daily_volatility * float(log_uniform(u[2], *IMPACT_PER_VOLATILITY))
    return dict(
        buckets=BUCKETS, volume_profiles=tuple(volumes.tolist()),
        impact=tuple(bucket_impacts(volumes, level, float(uniform(u[3], *PREMIUMS))).tolist()),
        volatility=daily_volatility / math.sqrt(BUCKETS), risk_aversion=float(log_uniform(u[4], *RISK_AVERSIONS)))


def _mean_day(params: TwapVwapParams) -> tuple[np.ndarray, np.ndarray]:
    """(m̄, c̄) (B,): the day types' probability-weighted volumes and costs of participation η·m."""
    weights = params.probabilities
    return weights @ params.volumes, weights @ (params.impacts * params.volumes)


def volume_ratio(params: TwapVwapParams) -> float:
    """m̄_0/m̄_{⌊B/2⌋}: the open's volume over the midday bucket's."""
    volumes, _ = _mean_day(params)
    return float(volumes[0] / volumes[params.buckets // 2])


def premium_ratio(params: TwapVwapParams) -> float:
    """c̄_0/c̄_{B−1}: the open's cost of participation η·m over the close's."""
    _, costs = _mean_day(params)
    return float(costs[0] / costs[-1])


def close_impact_bps(params: TwapVwapParams) -> float:
    """B·c̄_{B−1}, bps: the close's impact of trading the whole order in a bucket with a 1/B share of the volume."""
    _, costs = _mean_day(params)
    return float(params.buckets * costs[-1])


def _features() -> tuple[Feature, ...]:
    """The features with their training ranges: each is monotone in one drawn quantity (the volume ratio in
    r, the premium ratio in κ; the close's impact, η̄·(1 + (κ − 1)·2^{−6}), in η̄ and κ), so its extremes are
    those of the quantities'."""
    ratio = TRAINING["ratio"]
    opening = (1.0 - 1.0 / BUCKETS) ** 2                       # (2u − 1)² of the first bucket, u = 1/(2B)
    decay = premium_decay(BUCKETS)
    premium_ratios = [(1.0 + (kappa - 1.0) * decay[0]) / (1.0 + (kappa - 1.0) * decay[-1]) for kappa in PREMIUMS]
    levels = [volatility * k for volatility, k in zip(TRAINING["volatility"], IMPACT_PER_VOLATILITY)]
    closes = [level * (1.0 + (kappa - 1.0) * decay[-1]) for level, kappa in zip(levels, PREMIUMS)]
    return (
        Feature("volume_ratio", "dimensionless", "m_0/m_6: the open's volume over the midday bucket's",
                volume_ratio, 1.0 + (ratio[0] - 1.0) * opening, 1.0 + (ratio[1] - 1.0) * opening),
        Feature("premium_ratio", "dimensionless", "η_0·m_0/(η_12·m_12): the open's cost of participation over the "
                "close's", premium_ratio, *premium_ratios),
        Feature("close_impact_bps", "bps", "B·η_12·m_12: the close's impact of the whole order in a 1/B share of "
                "the volume", close_impact_bps, *closes),
        Feature("daily_volatility_bps", "bps", "σ·√B", lambda p: p.volatility * math.sqrt(p.buckets),
                *TRAINING["volatility"], log=False),
        Feature("risk_aversion", "per bps", "λ", lambda p: p.risk_aversion, *RISK_AVERSIONS),
    )


FEATURES = _features()

DISTRIBUTION = MarketDistribution(
    env_id="TwapVwapSwitch-v0",
    description="U-shaped days (open and close 1.5–5 times the midday volume, after Jain & Joh 1988), daily "
                "volatility 100–400 bps, impact 0.25–1 times it (Almgren et al. 2005) with an opening premium of "
                "1.5–6, risk aversion 1e-4–1e-2 per bps; 13 buckets, one day type",
    ood_description="far more skewed days (open and close 8–16 times the midday volume) and more volatile prices "
                    "(400–800 bps a day) than training",
    dimensions=5, sample=sample, features=FEATURES)
