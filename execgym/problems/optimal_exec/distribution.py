"""OptimalExec-v0's distribution of markets: liquidating an order in a stock drawn from large to small caps.

A market is a stock and an order. Seven uniforms u₀..u₆ set what a desk knows of them:

| quantity | training range | how it is drawn |
|---|---|---|
| average daily volume V | 10⁵ – 5·10⁷ shares | log-uniform (u₀); z = u₀ is the stock's liquidity rank |
| price S₀ | 5 – 500 | log-uniform (u₁) |
| daily volatility σ_d | 1 – 5 % | σ_d = 1 %·5^{0.6(1−z) + 0.4u₂}: less liquid names are more volatile |
| half spread | 1 – 30 bps | 30^{1 − (0.8z + 0.2u₃)} bps: wider for less liquid names |
| order size X | 1 – 20 % of V | log-uniform (u₄) |
| daily turnover V/Θ (Θ shares outstanding) | 0.2 – 2 % | log-uniform (u₅) |
| risk aversion λ·X·S₀ | 0.01 – 100 | log-uniform (u₆): from nearly TWAP to strongly front-loaded optima |

The order is a sell over one day (T = 1) in N = 13 half-hour periods. Impact follows Almgren, Thum, Hauptmann &
Li (2005), "Direct estimation of equity market impact", Risk 18(7), whose fitted model for US large caps is a
permanent move I = γ_A·σ_d·(X/V)·(Θ/V)^{1/4} and a temporary cost per share J = η_A·σ_d·(v/V)^{3/5}, as
fractions of the price, at a trading rate v (shares per day), with γ_A = 0.314 and η_A = 0.142. The market's
linear coefficients match both at the order's own average rate v̄ = X/T:

    γ = γ_A·σ_d·S₀·(Θ/V)^{1/4} / V                   (currency per share per share)
    η = η_A·σ_d·S₀·(v̄/V)^{3/5} / v̄                   (currency per share per share/day)

so impact scales with volatility and participation as in the paper, and spread with liquidity as in the
cross-section of US equities (1 bp for the most liquid names, tens of bps for small caps).

**Out of distribution** (``"ood"``): less liquid and more volatile than any training stock, with larger orders:
V of 2·10⁴ – 10⁵ shares, σ_d of 5 – 10 %, half spreads of 30 – 100 bps, orders of 20 – 40 % of V; the other
quantities as in training.

**Features** (the observation's last seven entries, each normalised to [−1, 1] over its training range,
:class:`~execgym.distributions.Feature`; computed from the params, so a user's own markets have them too):
daily volatility σ/S₀, the temporary cost at the average rate η·v̄/S₀ (bps), the order's permanent impact
γ·X/S₀ (bps), the half spread ε/S₀ (bps), the risk aversion λ·X·S₀, the price S₀ and the notional X·S₀. The
optimal schedule (fractions of the order) depends on the market only through the urgency κ, κ² ≈ λσ²/η: the
agent must learn it from the features.
"""

from __future__ import annotations

import numpy as np

from execgym.distributions import Feature, MarketDistribution, log_uniform

PERMANENT_COEFFICIENT = 0.314
"""γ_A of Almgren, Thum, Hauptmann & Li (2005)."""
TEMPORARY_COEFFICIENT = 0.142
"""η_A of Almgren, Thum, Hauptmann & Li (2005)."""
TEMPORARY_EXPONENT = 0.6
"""β = 3/5, the temporary cost's exponent in the participation rate (ibid.)."""
TURNOVER_EXPONENT = 0.25
"""δ = 1/4, the permanent impact's exponent in Θ/V (ibid.)."""
PERIODS = 13
HORIZON = 1.0


def sample(u: np.ndarray, ood: bool) -> dict:
    """The keyword parameters of the market of uniforms ``u`` (7), training or out-of-distribution regime (module
    docstring)."""
    if ood:
        volume = log_uniform(u[0], 2e4, 1e5)
        daily_volatility = log_uniform(u[2], 0.05, 0.10)
        half_spread_bps = log_uniform(u[3], 30.0, 100.0)
        participation = log_uniform(u[4], 0.20, 0.40)
    else:
        liquidity = u[0]
        volume = log_uniform(liquidity, 1e5, 5e7)
        daily_volatility = 0.01 * 5.0 ** (0.6 * (1.0 - liquidity) + 0.4 * u[2])
        half_spread_bps = 30.0 ** (1.0 - (0.8 * liquidity + 0.2 * u[3]))
        participation = log_uniform(u[4], 0.01, 0.20)
    price = log_uniform(u[1], 5.0, 500.0)
    turnover = log_uniform(u[5], 0.002, 0.02)
    notional_risk_aversion = log_uniform(u[6], 0.01, 100.0)
    shares = participation * volume
    average_rate = shares / HORIZON
    return dict(
        shares=float(shares), side="sell", arrival_price=float(price), volatility=float(daily_volatility * price),
        horizon=HORIZON, periods=PERIODS,
        permanent_impact=float(PERMANENT_COEFFICIENT * daily_volatility * price * turnover ** -TURNOVER_EXPONENT
                               / volume),
        temporary_impact=float(TEMPORARY_COEFFICIENT * daily_volatility * price
                               * (average_rate / volume) ** TEMPORARY_EXPONENT / average_rate),
        half_spread=float(half_spread_bps * 1e-4 * price),
        risk_aversion=float(notional_risk_aversion / (shares * price)))


FEATURES = (
    Feature("daily_volatility", "fraction of the price per √day", "σ/S₀", lambda p: p.volatility / p.arrival_price,
            0.01, 0.05),
    Feature("temporary_cost_bps", "bps", "the temporary cost per share at the average rate, η·X/(T·S₀)",
            lambda p: 1e4 * p.temporary_impact * p.average_rate / p.arrival_price,
            1e4 * TEMPORARY_COEFFICIENT * 0.01 * 0.01**TEMPORARY_EXPONENT,
            1e4 * TEMPORARY_COEFFICIENT * 0.05 * 0.20**TEMPORARY_EXPONENT),
    Feature("permanent_impact_bps", "bps", "the order's permanent price impact, γ·X/S₀",
            lambda p: 1e4 * p.permanent_impact * p.shares / p.arrival_price,
            1e4 * PERMANENT_COEFFICIENT * 0.01 * 0.01 * 0.02**-TURNOVER_EXPONENT,
            1e4 * PERMANENT_COEFFICIENT * 0.05 * 0.20 * 0.002**-TURNOVER_EXPONENT),
    Feature("half_spread_bps", "bps", "ε/S₀", lambda p: 1e4 * p.half_spread / p.arrival_price, 1.0, 30.0),
    Feature("risk_aversion", "dimensionless", "λ·X·S₀", lambda p: p.risk_aversion * p.notional, 0.01, 100.0),
    Feature("price", "currency per share", "S₀", lambda p: p.arrival_price, 5.0, 500.0),
    Feature("notional", "currency", "X·S₀", lambda p: p.notional, 5e3, 5e9),
)

DISTRIBUTION = MarketDistribution(
    env_id="OptimalExec-v0",
    description="single stocks from large to small caps (volume 1e5–5e7 shares/day, volatility 1–5 %/day, "
                "half spread 1–30 bps, orders of 1–20 % of daily volume), impact after Almgren, Thum, Hauptmann "
                "& Li (2005), risk aversion from nearly TWAP to strongly front-loaded",
    ood_description="less liquid and more volatile than training (volume 2e4–1e5, volatility 5–10 %/day, half "
                    "spread 30–100 bps) with larger orders (20–40 % of daily volume)",
    dimensions=7, sample=sample, features=FEATURES)
