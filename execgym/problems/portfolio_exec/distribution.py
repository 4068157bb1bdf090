"""PortfolioExec-v0's distribution of markets: unwinding a book of four stocks in two sectors.

A market is a book of m = 4 positions (assets 0, 1 in one sector, 2, 3 in the other), each long (to sell) or
short (to buy back), unwound over one day (T = 1) in N = 13 half-hour periods. Eight uniforms per asset
(asset i's at 8i..8i+7) and four for the book (32..35) set what a desk knows of it:

| quantity | training range | how it is drawn |
|---|---|---|
| liquidity rank z_i | 0 – 1 | 0.7·z + 0.3·u_i: the book's rank z (u₃₂) plus the asset's own |
| daily volume D_i | 5·10⁷ – 2.5·10⁹ (currency) | 5·10⁷·50^{z_i}; in shares V_i = D_i/S_i |
| price S_i | 10 – 300 | log-uniform |
| annual volatility | 15 – 60 % | 15 %·4^{0.6(1 − z_i) + 0.4u}: less liquid names are more volatile |
| full spread | 1.4 – 80 bps | 0.15·σ_d·√(5·10⁷/D_i)·2^{u − ½}, σ_d = annual/√250 |
| position | 0.35 – 7.1 % of V_i | p̄·2^{u − ½}, the book's participation p̄ log-uniform on 0.5 – 5 % (u₃₃) |
| side | long (sell) or short (buy back) | probability ½ each: long for u <= ½ |
| market loading β_i | 0.2 – 0.6 | uniform |
| sector loading s_i | 0.1 – 0.4 | uniform |
| cross-impact c | 0.1 – 0.5 | uniform (u₃₄) |
| urgency K | 0.1 – 2 | log-uniform (u₃₅): from TWAP (K → 0) to twice TWAP's pace in the first period |

Returns are β_i·M + s_i·F_sector + idiosyncratic noise, so the correlations are ρ_ij = β_iβ_j + s_is_j within
a sector (0.05 – 0.52) and β_iβ_j across (0.04 – 0.36). The spread, wider with volatility and narrower with
volume, follows the relation of Wyart, Bouchaud, Kockelkoren, Potters & Vettorazzo (2008), "Relation between
bid–ask spread, impact and volatility in order-driven markets", Quantitative Finance 8(1): proportional to
the volatility per trade σ_d/√(trades per day), the trades taken proportional to the daily volume and the
constant set so that the most liquid names trade at about 2 bps and the least liquid at about 60, as across
US equities. The book is then :meth:`~.params.PortfolioExecParams.from_market_data`'s, with Almgren &
Chriss (2000)'s rules of thumb: temporary impact η_i = spread_i/(1 %·V_i) and permanent γ_i =
spread_i/(10 %·V_i) (so impact grows with volatility through the spread), half spreads spread_i/2, and
cross-impacts c·ρ_ij·√(η_iη_j) and c·ρ_ij·√(γ_iγ_j), aligned with the correlations of the market factor;
the sector factor adds s_is_j to the correlation of a same-sector pair and, by the same rule,
c·s_is_j·√(η_iη_j) (√(γ_iγ_j)) to its cross-impacts.

The risk aversion λ is set by the urgency K = T·√(λ·XᵀΣX/XᵀHX), the book's analogue of Almgren & Chriss's
κT (κ² = λσ²/η for one asset): λ = K²·XᵀHX/(T²·XᵀΣX). An urgent book in correlated names may be best
unwound by trading a position away from zero to hedge the others, which the action space cannot express
and the oracle refuses; comparable positions in names of one liquidity tier (notionals within a factor of
6.5) keep that rare, and urgencies up to 2 avoid it (none of 8,000 books drawn with K in 1.5 – 2; with
K up to 3, about 2 in 10,000 books hedge).

**Out of distribution** (``"ood"``): more correlated, more cross-impacted and less liquid than any training
book: β_i of 0.6 – 0.8 and s_i of 0.3 – 0.5 (correlations 0.45 – 0.89 within a sector, 0.36 – 0.64 across),
c of 0.5 – 0.8, D_i of 10⁷ – 5·10⁷ with annual volatilities of 60 – 100 % (full spreads of 40 – 300 bps)
and participations p̄ of 5 – 10 %, urgencies K of 0.1 – 1.5 (at these correlations books hedge from
K ≈ 1.8 on); the other quantities as in training.

**Features** (the observation's last seven entries, each normalised to [−1, 1] over its training range,
:class:`~execgym.distributions.Feature`; computed from the params, so a user's own books have them too, with
W = Σ_i |X_i|·S0_i the book's notional): its daily volatility √(XᵀΣX)/W, the mean correlation and the mean
cross-impact ratio H_ij/√(H_iiH_jj) of its pairs, the temporary cost of trading each position alone at its
average rate Σ_i H_ii·X_i²/(T·W) (bps), the half spreads' cost Σ_i ε_i|X_i|/W (bps), the urgency K and the
net exposure Σ_i X_iS0_i/W (−1: all short, 1: all long).
"""

from __future__ import annotations

import math

import numpy as np

from execgym.distributions import Feature, MarketDistribution, log_uniform, uniform
from execgym.problems.portfolio_exec.params import TRADING_DAYS, PortfolioExecParams

ASSETS = 4
SECTORS = np.array([0, 0, 1, 1])
"""The sector of each asset."""
PER_ASSET = 8
"""Uniforms per asset: liquidity, price, volatility, spread, position, side, market and sector loadings."""
PERIODS = 13
HORIZON = 1.0
BOOK_LIQUIDITY_WEIGHT = 0.7
"""z_i = 0.7·z + 0.3·u_i: how much of an asset's liquidity rank is the book's."""
SPREAD_COEFFICIENT = 0.15
"""The full spread in units of σ_d·√(5·10⁷/D) (module docstring)."""
REFERENCE_VOLUME = 5e7
"""Daily volume (currency) at which the full spread is 0.15·σ_d (before its noise)."""
TEMPORARY_VOLUME_FRACTION = 0.01
"""from_market_data's rule of thumb (its default): η_i = spread_i/(1 %·V_i)."""
PRICES = (10.0, 300.0)
TRAINING = dict(volume=(5e7, 2.5e9), volatility=(0.15, 0.60), participation=(0.005, 0.05), market=(0.2, 0.6),
                sector=(0.1, 0.4), cross=(0.1, 0.5), urgency=(0.1, 2.0))
"""The training regime's ranges (module docstring): daily volume (currency), annual volatility, the book's
participation p̄ (fraction of daily volume), market and sector loadings, cross-impact c and urgency K."""
OOD = dict(volume=(1e7, 5e7), volatility=(0.60, 1.00), participation=(0.05, 0.10), market=(0.6, 0.8),
           sector=(0.3, 0.5), cross=(0.5, 0.8), urgency=(0.1, 1.5))
"""The out-of-distribution regime's ranges (same keys)."""


def _spread(annual_volatility, volume, u):
    """The full spread as a fraction of the price: 0.15·σ_d·√(5·10⁷/D)·2^{u − ½}, σ_d = annual volatility/√250,
    D the daily volume in currency."""
    daily = annual_volatility / math.sqrt(TRADING_DAYS)
    return SPREAD_COEFFICIENT * daily * np.sqrt(REFERENCE_VOLUME / volume) * 2.0 ** (u - 0.5)


def _with_sector(matrix: np.ndarray, sector_correlation: np.ndarray, scale: float) -> np.ndarray:
    """``matrix`` plus scale·s_is_j·√(M_iiM_jj) for each same-sector pair (``sector_correlation`` holds s_is_j
    there and 0 elsewhere, the diagonal included)."""
    diagonal = np.diag(matrix)
    return matrix + scale * sector_correlation * np.sqrt(np.outer(diagonal, diagonal))


def _nested(matrix: np.ndarray) -> tuple:
    """``matrix`` as a tuple of rows, each a tuple of floats (the params' form)."""
    return tuple(tuple(row) for row in matrix.tolist())


def sample(u: np.ndarray, ood: bool) -> dict:
    """The keyword parameters of the book of uniforms ``u`` (36), training or out-of-distribution regime (module
    docstring)."""
    ranges = OOD if ood else TRAINING
    assets = np.asarray(u[:ASSETS * PER_ASSET], dtype=np.float64).reshape(ASSETS, PER_ASSET)
    own_liquidity, price_u, volatility_u, spread_u, size_u, side_u, market_u, sector_u = assets.T
    book_liquidity, participation_u, cross_u, urgency_u = u[ASSETS * PER_ASSET:]
    liquidity = BOOK_LIQUIDITY_WEIGHT * book_liquidity + (1.0 - BOOK_LIQUIDITY_WEIGHT) * own_liquidity
    volume = log_uniform(liquidity, *ranges["volume"])
    prices = log_uniform(price_u, *PRICES)
    annual = log_uniform(0.6 * (1.0 - liquidity) + 0.4 * volatility_u, *ranges["volatility"])
    participation = log_uniform(participation_u, *ranges["participation"]) * 2.0 ** (size_u - 0.5)
    shares_per_day = volume / prices
    holdings = np.where(side_u <= 0.5, 1.0, -1.0) * participation * shares_per_day
    cross = float(uniform(cross_u, *ranges["cross"]))
    book = PortfolioExecParams.from_market_data(
        shares=holdings, prices=prices, annual_volatilities=annual, daily_volumes=shares_per_day,
        spreads=_spread(annual, volume, spread_u) * prices, market_loadings=uniform(market_u, *ranges["market"]),
        cross_impact=cross, temporary_volume_fraction=TEMPORARY_VOLUME_FRACTION, risk_aversion=0.0, horizon=HORIZON,
        periods=PERIODS)
    sector = uniform(sector_u, *ranges["sector"])
    sector_correlation = np.outer(sector, sector) * (SECTORS[:, None] == SECTORS[None, :])
    np.fill_diagonal(sector_correlation, 0.0)
    covariance = _with_sector(book.sigma, sector_correlation, 1.0)
    temporary = _with_sector(book.eta, sector_correlation, cross)
    permanent = _with_sector(book.gamma, sector_correlation, cross)
    urgency = log_uniform(urgency_u, *ranges["urgency"])
    shares = book.shares
    return dict(
        holdings=book.holdings, arrival_prices=book.arrival_prices, covariance=_nested(covariance),
        temporary_impact=_nested(temporary), permanent_impact=_nested(permanent), half_spreads=book.half_spreads,
        horizon=HORIZON, periods=PERIODS,
        risk_aversion=float(urgency**2 * (shares @ temporary @ shares)
                            / (HORIZON**2 * (shares @ covariance @ shares))))


def _pair_mean(matrix: np.ndarray) -> float:
    """The mean of the off-diagonal entries of ``matrix`` (m×m), 0 for one asset."""
    m = matrix.shape[0]
    return float((matrix.sum() - np.trace(matrix)) / (m * (m - 1))) if m > 1 else 0.0


def _normalised(matrix: np.ndarray) -> np.ndarray:
    """M_ij/√(M_iiM_jj) (0 where a diagonal entry is 0)."""
    scale = np.sqrt(np.outer(np.diag(matrix), np.diag(matrix)))
    return np.divide(matrix, scale, out=np.zeros_like(matrix), where=scale > 0)


def mean_correlation(params: PortfolioExecParams) -> float:
    """The mean correlation of the book's pairs of assets."""
    return _pair_mean(_normalised(params.sigma))


def mean_cross_impact(params: PortfolioExecParams) -> float:
    """The mean of H_ij/√(H_iiH_jj) over the book's pairs (c·ρ_ij in this distribution)."""
    return _pair_mean(_normalised(params.eta))


def book_volatility(params: PortfolioExecParams) -> float:
    """√(XᵀΣX)/W: the book's daily volatility as a fraction of its notional W."""
    return math.sqrt(max(float(params.shares @ params.sigma @ params.shares), 0.0)) / params.notional


def temporary_cost_bps(params: PortfolioExecParams) -> float:
    """Σ_i H_ii·X_i²/(T·W) in bps: each position traded alone at its average rate X_i/T."""
    return float(np.diag(params.eta) @ params.shares**2) / params.horizon * params.bps_per_currency


def half_spread_bps(params: PortfolioExecParams) -> float:
    """Σ_i ε_i·|X_i|/W in bps: the half spreads paid on the whole book."""
    return float(params.spreads @ np.abs(params.shares)) * params.bps_per_currency


def urgency(params: PortfolioExecParams) -> float:
    """K = T·√(λ·XᵀΣX/XᵀHX), dimensionless."""
    shares = params.shares
    risk = max(float(shares @ params.sigma @ shares), 0.0)
    return params.horizon * math.sqrt(params.risk_aversion * risk / float(shares @ params.eta @ shares))


def net_exposure(params: PortfolioExecParams) -> float:
    """Σ_i X_i·S0_i/W: −1 for a book of shorts, 1 for a book of longs."""
    return float(params.shares @ params.prices) / params.notional


def _training_extremes() -> dict:
    """The extremes over the training regime of the per-asset quantities the features average: daily
    volatility, full spread (fraction of the price), participation, correlation of a pair within and across
    sectors (module docstring)."""
    volume, annual = TRAINING["volume"], TRAINING["volatility"]
    participation = TRAINING["participation"]
    market, sector = TRAINING["market"], TRAINING["sector"]
    return dict(
        daily_volatility=(annual[0] / math.sqrt(TRADING_DAYS), annual[1] / math.sqrt(TRADING_DAYS)),
        spread=(float(_spread(annual[0], volume[1], 0.0)), float(_spread(annual[1], volume[0], 1.0))),
        participation=(participation[0] / math.sqrt(2.0), participation[1] * math.sqrt(2.0)),
        within=(market[0]**2 + sector[0]**2, market[1]**2 + sector[1]**2),
        across=(market[0]**2, market[1]**2))


def _features() -> tuple[Feature, ...]:
    """The features with their training ranges, from :func:`_training_extremes`.

    The book's volatility: at most the largest σ_d (perfectly correlated positions); at least
    √(1 − max(β² + s²))·σ_d,min/2, since XᵀΣX = aᵀρa (a_i = σ_d,i·X_i·S0_i) >= λ_min(ρ)·|a|² with
    λ_min(ρ) >= 1 − max(β_i² + s_i²) and |a|₂ >= |a|₁/2 >= σ_d,min·W/2. The mean correlation averages two pairs
    within a sector and four across; the cross-impact ratio is c times it; the temporary cost is the
    notional-weighted mean of (full spread)·participation/1 %, the half spreads' cost of half the spread."""
    x = _training_extremes()
    volatility, spread, participation = x["daily_volatility"], x["spread"], x["participation"]
    correlation = tuple((2.0 * x["within"][k] + 4.0 * x["across"][k]) / 6.0 for k in (0, 1))
    cross = TRAINING["cross"]
    floor = math.sqrt(1.0 - x["within"][1]) / 2.0
    return (
        Feature("book_volatility", "fraction of the notional per √day", "√(XᵀΣX)/W", book_volatility,
                floor * volatility[0], volatility[1]),
        Feature("mean_correlation", "dimensionless", "the mean correlation of the book's pairs", mean_correlation,
                correlation[0], correlation[1], log=False),
        Feature("cross_impact", "dimensionless", "the mean of H_ij/√(H_iiH_jj) over the book's pairs",
                mean_cross_impact, cross[0] * correlation[0], cross[1] * correlation[1]),
        Feature("temporary_cost_bps", "bps", "Σ_i H_ii·X_i²/(T·W): each position alone at its average rate",
                temporary_cost_bps, 1e4 * spread[0] * participation[0] / TEMPORARY_VOLUME_FRACTION,
                1e4 * spread[1] * participation[1] / TEMPORARY_VOLUME_FRACTION),
        Feature("half_spread_bps", "bps", "Σ_i ε_i·|X_i|/W", half_spread_bps, 0.5e4 * spread[0], 0.5e4 * spread[1]),
        Feature("urgency", "dimensionless", "K = T·√(λ·XᵀΣX/XᵀHX)", urgency, *TRAINING["urgency"]),
        Feature("net_exposure", "dimensionless", "Σ_i X_i·S0_i/W", net_exposure, -1.0, 1.0, log=False),
    )


FEATURES = _features()

DISTRIBUTION = MarketDistribution(
    env_id="PortfolioExec-v0",
    description="books of four stocks in two sectors (one liquidity tier per book: volume 5e7–2.5e9 a day, "
                "volatility 15–60 %/year, full spreads 1.4–80 bps after Wyart et al. 2008, positions of 0.35–7 % "
                "of volume, long or short), a market-plus-sector factor model (correlations 0.04–0.52), "
                "cross-impact 0.1–0.5 of the correlation, impacts by Almgren & Chriss's rules of thumb, urgency "
                "K 0.1–2 from nearly TWAP to front-loaded",
    ood_description="more correlated (0.36–0.89), more cross-impacted (0.5–0.8) and less liquid (volume 1e7–5e7 a "
                    "day, volatility 60–100 %/year, positions of 3.5–14 % of volume) than training, urgency K "
                    "0.1–1.5",
    dimensions=ASSETS * PER_ASSET + 4, sample=sample, features=FEATURES)
