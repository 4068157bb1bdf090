"""BasketSequence-v0's distribution of markets: ordering a basket of eight trades in correlated names.

A market is a basket of n = 8 trades, each a whole order in one name, and how long impact lingers between
them. Seven uniforms per trade (trade i's at 7i..7i+6) and three for the basket (56..58) set the inputs of
the cost construction of :mod:`.params`:

| quantity | training range | how it is drawn |
|---|---|---|
| daily volume V_i | 10⁸ – 10⁹ (currency) | 10⁸·10^{z_i}, z_i uniform: the name's liquidity rank |
| daily volatility σ_i | 100 – 400 bps | 100·4^{0.6(1 − z_i) + 0.4u} bps: less liquid names are more volatile |
| participation N_i/V_i | 1 – 5 % | log-uniform; the notional N_i = participation·V_i (10⁶ – 5·10⁷) |
| side s_i | buy or sell | probability ½ each: buy for u <= ½ |
| market loading β_i | 0.3 – 0.7 | uniform |
| sector loading γ_i | 0.3 – 0.6 | uniform |
| sector | 0, 1 or 2 | ⌊3u⌋ |
| impact prefactor Y | 0.5 – 1.5 | uniform (u₅₆), one per basket |
| leftover cross-impact κ | 0.2 – 0.6 | uniform (u₅₇) |
| hedge credit h | 0.5 – 1 | uniform (u₅₈) |

The impact of trade i is the square-root law b_i = Y·σ_i·√(N_i/V_i) (:func:`~.market.square_root_impact`;
5 – 134 bps), Y of order one as measured by Tóth, Lempérière, Deremble, de Lataillade, Kockelkoren &
Bouchaud (2011), "Anomalous price impact and the critical nature of liquidity in financial markets",
Physical Review X 1, 021006, and by Almgren, Thum, Hauptmann & Li (2005), "Direct estimation of equity
market impact", Risk 18(7). The correlations follow :func:`~.market.factor_correlation`: ρ_ij = β_iβ_j, plus
γ_iγ_j for names of one sector (0.09 – 0.49 across sectors, 0.18 – 0.85 within), the ranges of
:func:`~.market.random_basket`. The cost of each order is then d_ij = c_j + κ·b_i·w_j·x_ij as in
:mod:`.params` (cost noise σ = 0.1 bps, the default).

**Out of distribution** (``"ood"``): impact lingers more and names move together more than in any training
basket: κ of 0.7 – 1, β_i of 0.7 – 0.85 and γ_i of 0.3 – 0.5 (correlations 0.49 – 0.72 across sectors,
0.58 – 0.97 within); the other quantities as in training.

**Features** (the observation's last 58 entries, each normalised to [−1, 1] over its training range,
:class:`~execgym.distributions.Feature`; computed from the params, so a user's own baskets have them too):
the cost every order pays Σ_j c_j = Σ_j w_j·b_j (bps of the basket), the leftover cross-impact κ, the hedge
credit h, the mean correlation of the pairs of names, the net side Σ_i s_i·w_i (−1: all sells, 1: all buys)
and the largest weight max_i w_i; then, what a trader sees of each trade i (the action that executes it),
its weight w_i, side s_i and impact b_i, and the correlation ρ_ij of each pair of names: the order's costs
depend on them, so a policy that does not see them can only be blind to the basket. With a user's
``cost_matrix`` (no construction), or a basket of another number of trades, the features are not defined
(ValueError).
"""

from __future__ import annotations

import math

import numpy as np

from execgym.distributions import Feature, MarketDistribution, log_uniform, uniform
from execgym.problems.basket_sequence.market import SECTORS, factor_correlation, square_root_impact
from execgym.problems.basket_sequence.params import BasketSequenceParams

TRADES = 8
PER_TRADE = 7
"""Uniforms per trade: liquidity, volatility, participation, side, market and sector loadings, sector."""
VOLUMES = (1e8, 1e9)
"""Daily volume, currency."""
VOLATILITIES = (100.0, 400.0)
"""Daily volatility, bps."""
PARTICIPATIONS = (0.01, 0.05)
PREFACTORS = (0.5, 1.5)
"""Y of the square-root law."""
HEDGE_CREDITS = (0.5, 1.0)
TRAINING = dict(market=(0.3, 0.7), sector=(0.3, 0.6), cross=(0.2, 0.6))
"""The training regime's market and sector loadings and leftover cross-impact κ."""
OOD = dict(market=(0.7, 0.85), sector=(0.3, 0.5), cross=(0.7, 1.0))
"""The out-of-distribution regime's (same keys)."""


def sample(u: np.ndarray, ood: bool) -> dict:
    """The keyword parameters of the basket of uniforms ``u`` (59), training or out-of-distribution regime
    (module docstring)."""
    ranges = OOD if ood else TRAINING
    trades = np.asarray(u[:TRADES * PER_TRADE], dtype=np.float64).reshape(TRADES, PER_TRADE)
    liquidity, volatility_u, participation_u, side_u, market_u, sector_loading_u, sector_u = trades.T
    prefactor_u, cross_u, hedge_u = u[TRADES * PER_TRADE:]
    volumes = log_uniform(liquidity, *VOLUMES)
    volatilities = log_uniform(0.6 * (1.0 - liquidity) + 0.4 * volatility_u, *VOLATILITIES)
    notionals = log_uniform(participation_u, *PARTICIPATIONS) * volumes
    correlation = factor_correlation(uniform(market_u, *ranges["market"]),
                                     uniform(sector_loading_u, *ranges["sector"]),
                                     np.minimum(np.floor(SECTORS * sector_u), SECTORS - 1).astype(np.int64))
    impact = square_root_impact(notionals, volumes, volatilities, y=float(uniform(prefactor_u, *PREFACTORS)))
    return dict(trades=TRADES, notionals=tuple(notionals.tolist()),
                sides=tuple(int(side) for side in np.where(side_u <= 0.5, 1, -1)),
                correlation=tuple(tuple(row) for row in correlation.tolist()), impact_bps=tuple(impact.tolist()),
                cross_impact=float(uniform(cross_u, *ranges["cross"])),
                hedge_credit=float(uniform(hedge_u, *HEDGE_CREDITS)))


def _constructed(params: BasketSequenceParams) -> BasketSequenceParams:
    """``params``, or ValueError if its costs are a user's ``cost_matrix`` (no trades, sides or correlations)."""
    if params.user_costs:
        raise ValueError("a basket given by its cost_matrix has no notionals, sides or correlations: the "
                         "distribution's features are defined for constructed baskets only")
    return params


def base_cost_bps(params: BasketSequenceParams) -> float:
    """Σ_j c_j = Σ_j w_j·b_j, bps of the basket: what every order pays before the cross terms."""
    return float(_constructed(params).base_costs.sum())


def mean_correlation(params: BasketSequenceParams) -> float:
    """The mean correlation of the basket's pairs of names."""
    rho = np.array(_constructed(params).correlation)
    n = params.trades
    return float((rho.sum() - np.trace(rho)) / (n * (n - 1)))


def net_side(params: BasketSequenceParams) -> float:
    """Σ_i s_i·w_i: −1 for a basket of sells, 1 for one of buys."""
    return float(np.array(_constructed(params).sides) @ params.weights)


def largest_weight(params: BasketSequenceParams) -> float:
    """max_i w_i: the largest trade's share of the basket's notional."""
    return float(_constructed(params).weights.max())


def _per_trade(params: BasketSequenceParams) -> BasketSequenceParams:
    """``params`` (constructed), or ValueError if it has another number of trades than the distribution's: its
    per-trade features are the distribution's eight."""
    if _constructed(params).trades != TRADES:
        raise ValueError(f"the distribution's per-trade features are of {TRADES} trades, this basket has "
                         f"{params.trades}: make the env with observe_market=False (or 'index')")
    return params


def trade_weight(i: int):
    """w_i = N_i/Σ N of trade ``i``."""
    return lambda params: float(_per_trade(params).weights[i])


def trade_side(i: int):
    """s_i of trade ``i`` (+1 buy, −1 sell)."""
    return lambda params: float(_per_trade(params).sides[i])


def trade_impact(i: int):
    """b_i of trade ``i``, bps."""
    return lambda params: float(_per_trade(params).impact_bps[i])


def pair_correlation(i: int, j: int):
    """ρ_ij of the names of trades ``i`` and ``j``."""
    return lambda params: float(_per_trade(params).correlation[i][j])


def _fewest_pairs_within_sectors() -> int:
    """The fewest pairs of the n names that share a sector: the names spread as evenly as the sectors allow."""
    sizes = [TRADES // SECTORS + (sector < TRADES % SECTORS) for sector in range(SECTORS)]
    return sum(size * (size - 1) // 2 for size in sizes)


def _features() -> tuple[Feature, ...]:
    """The features with their training ranges.

    Σ_j w_j·b_j lies between the smallest and largest impact, Y·σ·√participation at its extremes (σ is
    smallest for the most liquid names and largest for the least: both extremes are reached). The mean
    correlation is β² + γ²·(the share of pairs within a sector) with every loading at its extreme: at most
    β_max² + γ_max² (one sector), at least β_min² + γ_min²·(the fewest such pairs)/(n(n−1)/2). The largest
    weight is at least 1/n, and at most r/(r + n − 1) with r the largest ratio of two notionals,
    (V_max·p_max)/(V_min·p_min)."""
    market, sector, cross = TRAINING["market"], TRAINING["sector"], TRAINING["cross"]
    ratio = VOLUMES[1] * PARTICIPATIONS[1] / (VOLUMES[0] * PARTICIPATIONS[0])
    within = _fewest_pairs_within_sectors() / (TRADES * (TRADES - 1) / 2)
    impacts = (PREFACTORS[0] * VOLATILITIES[0] * math.sqrt(PARTICIPATIONS[0]),
               PREFACTORS[1] * VOLATILITIES[1] * math.sqrt(PARTICIPATIONS[1]))
    per_trade = tuple(feature for i in range(TRADES) for feature in (
        Feature(f"weight_{i}", "dimensionless", f"w_{i}: trade {i}'s share of the basket", trade_weight(i),
                1.0 / (1.0 + (TRADES - 1) * ratio), ratio / (ratio + TRADES - 1)),
        Feature(f"side_{i}", "dimensionless", f"s_{i}: +1 buy, −1 sell", trade_side(i), -1.0, 1.0, log=False),
        Feature(f"impact_{i}", "bps of price", f"b_{i}: trade {i}'s impact alone", trade_impact(i), *impacts)))
    pairs = tuple(Feature(f"correlation_{i}_{j}", "dimensionless", f"ρ_{i}{j}", pair_correlation(i, j),
                          market[0] ** 2, market[1] ** 2 + sector[1] ** 2, log=False)
                  for i in range(TRADES) for j in range(i + 1, TRADES))
    return (
        Feature("base_cost_bps", "bps of the basket's notional", "Σ_j w_j·b_j", base_cost_bps,
                PREFACTORS[0] * VOLATILITIES[0] * math.sqrt(PARTICIPATIONS[0]),
                PREFACTORS[1] * VOLATILITIES[1] * math.sqrt(PARTICIPATIONS[1])),
        Feature("cross_impact", "dimensionless", "κ: the share of a trade's impact left when the next starts",
                lambda p: p.cross_impact, *cross, log=False),
        Feature("hedge_credit", "dimensionless", "h: the share of a favourable leftover move captured",
                lambda p: p.hedge_credit, *HEDGE_CREDITS, log=False),
        Feature("mean_correlation", "dimensionless", "the mean correlation of the pairs of names", mean_correlation,
                market[0]**2 + within * sector[0]**2, market[1]**2 + sector[1]**2, log=False),
        Feature("net_side", "dimensionless", "Σ_i s_i·w_i (s = +1 buy, −1 sell)", net_side, -1.0, 1.0, log=False),
        Feature("largest_weight", "dimensionless", "max_i w_i", largest_weight, 1.0 / TRADES,
                ratio / (ratio + TRADES - 1)),
    ) + per_trade + pairs


FEATURES = _features()

DISTRIBUTION = MarketDistribution(
    env_id="BasketSequence-v0",
    description="baskets of eight trades of 1–5 % of daily volume (1e8–1e9) in names of daily volatility "
                "100–400 bps, buys and sells, square-root impact Y·σ·√(N/V) with Y 0.5–1.5 after Tóth et al. "
                "(2011), market-plus-sector correlations (0.09–0.85), leftover cross-impact κ 0.2–0.6, hedge "
                "credit 0.5–1",
    ood_description="impact lingers more (κ 0.7–1) and names move together more (correlations 0.49–0.97) than "
                    "in training",
    dimensions=TRADES * PER_TRADE + 3, sample=sample, features=FEATURES)
