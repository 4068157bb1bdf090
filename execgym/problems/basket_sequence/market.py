"""Realistic basket data for BasketSequence: square-root impact, factor-model correlations, a seeded generator.

:func:`random_basket` draws the inputs of the cost construction in
:mod:`.params` for ``trades`` names from a seed (the default instance is
``random_basket(8, 0)``):

| input | distribution |
|---|---|
| notional N_i | log-normal, median 10 M, log-sd 0.75, rounded to 10 k (currency) |
| side s_i | +1 (buy) or −1 (sell), probability ½ each |
| correlation ρ | :func:`factor_correlation`: one market factor, loadings β_i ~ U(0.3, 0.7), and 3 sectors (drawn uniformly), loadings γ_i ~ U(0.3, 0.6) |
| impact b_i | :func:`square_root_impact` with daily volatility σ_i ~ U(120, 300) bps and daily volume V_i log-normal, median 300 M, log-sd 0.75 (currency) |

so a trade is typically 3 % of its name's daily volume and costs some 35 bps of its own notional.
"""

from __future__ import annotations

import numpy as np

MEDIAN_NOTIONAL = 10e6
MEDIAN_DAILY_VOLUME = 300e6
SECTORS = 3


def square_root_impact(notionals, daily_volumes, daily_volatilities_bps, y: float = 1.0) -> np.ndarray:
    """b_i = Y·σ_i·√(N_i/V_i), bps of price: the square-root law of market impact (Y of order 1), with
    N_i the trade's notional and V_i the name's daily volume (same currency), σ_i its daily volatility in bps."""
    notionals, volumes, vols = (np.asarray(v, dtype=np.float64) for v in (notionals, daily_volumes,
                                                                           daily_volatilities_bps))
    for name, array in (("notionals", notionals), ("daily_volumes", volumes),
                        ("daily_volatilities_bps", vols)):
        if not (np.isfinite(array).all() and (array > 0).all()):
            raise ValueError(f"{name} must be finite and > 0, got {array.tolist()}")
    if not (np.isfinite(y) and y > 0):
        raise ValueError(f"y must be finite and > 0, got {y!r}")
    return y * vols * np.sqrt(notionals / volumes)


def factor_correlation(market_loadings, sector_loadings, sectors) -> np.ndarray:
    """ρ_ij = β_iβ_j + γ_iγ_j·[sector_i = sector_j] for i ≠ j, ρ_ii = 1: the correlation of returns
    β_i·M + γ_i·F_{sector_i} + idiosyncratic noise with unit variance, valid (positive semi-definite)
    when every β_i² + γ_i² <= 1."""
    beta, gamma = np.asarray(market_loadings, dtype=np.float64), np.asarray(sector_loadings, dtype=np.float64)
    sectors = np.asarray(sectors)
    if beta.ndim != 1 or gamma.shape != beta.shape or sectors.shape != beta.shape:
        raise ValueError("market_loadings, sector_loadings and sectors must be 1-d of the same length, got shapes "
                         f"{beta.shape}, {gamma.shape}, {sectors.shape}")
    if not (np.isfinite(beta).all() and np.isfinite(gamma).all()) or (beta**2 + gamma**2 > 1).any():
        raise ValueError("loadings must be finite with market_loadings² + sector_loadings² <= 1 for every name")
    rho = np.outer(beta, beta) + np.outer(gamma, gamma) * (sectors[:, None] == sectors[None, :])
    np.fill_diagonal(rho, 1.0)
    return rho


def random_basket(trades: int, seed: int) -> dict[str, np.ndarray]:
    """Notionals, sides, correlation and impacts of a random basket of ``trades`` names (module docstring),
    a pure function of (trades, seed)."""
    rng = np.random.default_rng([int(seed), int(trades)])
    notionals = np.round(MEDIAN_NOTIONAL * np.exp(0.75 * rng.standard_normal(trades)), -4)
    notionals = np.maximum(notionals, 1e4)
    sides = rng.choice(np.array([-1, 1]), size=trades)
    correlation = factor_correlation(rng.uniform(0.3, 0.7, trades), rng.uniform(0.3, 0.6, trades),
                                     rng.integers(0, SECTORS, trades))
    volumes = MEDIAN_DAILY_VOLUME * np.exp(0.75 * rng.standard_normal(trades))
    impact = square_root_impact(notionals, volumes, rng.uniform(120.0, 300.0, trades))
    return {"notionals": notionals, "sides": sides, "correlation": correlation, "impact_bps": impact}
