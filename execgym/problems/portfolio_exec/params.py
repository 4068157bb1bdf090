"""Parameters of multi-asset liquidation: the Almgren–Chriss model with m assets.

Units as in :mod:`execgym.problems.optimal_exec.params` (prices in currency
per share, time in days), per asset i and pair (i, j):

* holdings X_i (signed shares: positive to sell, negative to buy back a short);
* covariance Σ_ij of the price changes, currency²/(share²·day);
* temporary impact H_ij: trading n_j shares of asset j in a period of length τ
  moves asset i's execution price by H_ij·n_j/τ (currency per share per share/day);
* permanent impact Γ_ij: the same trade moves asset i's mid-price by Γ_ij·n_j for good;
* half spreads ε_i, currency per share.

The default is a three-stock book from :meth:`PortfolioExecParams.from_market_data`:
sell 1 M shares of a $100 stock and 500 k of a $50 stock, buy back a 400 k
short of an $80 stock, over one day in 13 periods, with one-factor correlations
and 30 % cross-impact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from execgym.validation import params_from_kwargs, require_int, require_real

TRADING_DAYS = 250.0
SYMMETRY_TOLERANCE = 1e-10
"""Relative asymmetry of the covariance tolerated, and relative negative eigenvalue of the covariance and of
the permanent impact's symmetric part (rounding)."""


def _matrix(name: str, value, size: int) -> tuple[tuple[float, ...], ...]:
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an m×m matrix of numbers, got {value!r}") from None
    if array.shape != (size, size):
        raise ValueError(f"{name} must have shape (m, m) = ({size}, {size}), got {array.shape}")
    if not np.isfinite(array).all():
        i, j = np.argwhere(~np.isfinite(array))[0]
        raise ValueError(f"{name} must be finite, got {float(array[i, j])!r} at [{i}][{j}]")
    return tuple(tuple(float(v) for v in row) for row in array)


def _vector(name: str, value, size: int | None, low: float | None = None, low_open: bool = False
            ) -> tuple[float, ...]:
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a sequence of numbers, got {value!r}") from None
    if array.ndim != 1 or array.size == 0 or (size is not None and array.size != size):
        expected = "a non-empty sequence" if size is None else f"{size} numbers (one per asset)"
        raise ValueError(f"{name} must be {expected}, got shape {array.shape}")
    for i, v in enumerate(array):
        if not math.isfinite(v) or (low is not None and (v <= low if low_open else v < low)):
            bound = "" if low is None else (f" and > {low:g}" if low_open else f" and >= {low:g}")
            raise ValueError(f"{name}[{i}] must be finite{bound}, got {float(v)!r}")
    return tuple(float(v) for v in array)


def _min_eigenvalue(matrix: np.ndarray) -> float:
    return float(np.linalg.eigvalsh(0.5 * (matrix + matrix.T))[0])


@dataclass(frozen=True)
class PortfolioExecParams:
    """One portfolio liquidation problem; every field is validated on construction.

    Per period k (trade vector n_k, holdings x_k = x_{k−1} − n_k, ξ_k ~ N(0, I))::

        S_k = S_{k−1} + √τ·L·ξ_k − Γ·n_k          (L·Lᵀ = Σ)
        S̃_k = S_{k−1} − H·n_k/τ − ε∘sign(n_k)      execution prices
    """

    holdings: tuple[float, ...] = (1_000_000.0, 500_000.0, -400_000.0)
    """X: signed shares per asset (> 0 sell, < 0 buy back); at least one nonzero."""
    arrival_prices: tuple[float, ...] = (100.0, 50.0, 80.0)
    """S0: mid-prices at arrival, currency per share (> 0)."""
    covariance: tuple[tuple[float, ...], ...] | None = None
    """Σ: covariance of daily price changes, currency²/(share²·day); symmetric positive semi-definite."""
    temporary_impact: tuple[tuple[float, ...], ...] | None = None
    """H: temporary impact with cross-impact, currency per share per (share/day); see the class docstring."""
    permanent_impact: tuple[tuple[float, ...], ...] | None = None
    """Γ: permanent impact with cross-impact, currency per share per share; its symmetric part positive
    semi-definite: the permanent cost ½·XᵀΓX of any book is then >= 0, as OptimalExec's γ >= 0 (a negative
    one would pay the trader for moving prices against himself, a price-manipulation arbitrage). The
    oracle's convexity needs only the symmetric part of H − (τ/2)·Γ positive definite (checked too)."""
    half_spreads: tuple[float, ...] | None = None
    """ε: per asset, currency per share (>= 0)."""
    risk_aversion: float = 5e-7
    """λ: weight of the shortfall's variance, per unit currency (>= 0)."""
    horizon: float = 1.0
    """T: days (> 0)."""
    periods: int = 13
    """N: trading periods of length τ = T/N (1 to 100 000)."""

    def __post_init__(self) -> None:
        set_ = object.__setattr__.__get__(self)
        holdings = _vector("holdings", self.holdings, None)
        if not any(holdings):
            raise ValueError("holdings must have at least one nonzero entry")
        set_("holdings", holdings)
        m = len(holdings)
        set_("arrival_prices", _vector("arrival_prices", self.arrival_prices, m, low=0.0, low_open=True))
        set_("risk_aversion", require_real("risk_aversion", self.risk_aversion, low=0.0))
        set_("horizon", require_real("horizon", self.horizon, low=0.0, low_open=True))
        set_("periods", require_int("periods", self.periods, low=1, high=100_000))
        market = ("covariance", "temporary_impact", "permanent_impact", "half_spreads")
        if any(getattr(self, name) is None for name in market):
            defaults = default_market(self.arrival_prices)
            for name in market:
                if getattr(self, name) is None:
                    set_(name, getattr(defaults, name))
        set_("half_spreads", _vector("half_spreads", self.half_spreads, m, low=0.0))
        for name in ("covariance", "temporary_impact", "permanent_impact"):
            set_(name, _matrix(name, getattr(self, name), m))
        sigma = np.array(self.covariance)
        scale = max(float(np.abs(sigma).max()), np.finfo(float).tiny)
        asymmetry = np.abs(sigma - sigma.T)
        if asymmetry.max() > SYMMETRY_TOLERANCE * scale:
            i, j = np.unravel_index(np.argmax(asymmetry), asymmetry.shape)
            raise ValueError(f"covariance must be symmetric; covariance[{i}][{j}] = {sigma[i, j]:g} but "
                             f"covariance[{j}][{i}] = {sigma[j, i]:g}")
        if _min_eigenvalue(sigma) < -SYMMETRY_TOLERANCE * scale:
            raise ValueError(f"covariance must be positive semi-definite; its smallest eigenvalue is "
                             f"{_min_eigenvalue(sigma):.3g}")
        gamma = np.array(self.permanent_impact)
        if _min_eigenvalue(gamma) < -SYMMETRY_TOLERANCE * float(np.abs(gamma).max()):
            raise ValueError(f"the symmetric part of permanent_impact must be positive semi-definite (the permanent "
                             f"cost ½·XᵀΓX of a book must not be negative); its smallest eigenvalue is "
                             f"{_min_eigenvalue(gamma):.3g}")
        convexity = _min_eigenvalue(np.array(self.temporary_impact) - 0.5 * self.tau * gamma)
        if convexity <= 0:
            raise ValueError(
                "the symmetric part of temporary_impact − (tau/2)·permanent_impact must be positive definite for "
                f"the cost to be convex; its smallest eigenvalue is {convexity:.3g} (use more periods, a larger "
                "temporary impact or less cross-impact)")

    @classmethod
    def from_market_data(cls, *, shares, prices, annual_volatilities, daily_volumes, spreads,
                         market_loadings=None, cross_impact: float = 0.3, permanent_volume_fraction: float = 0.1,
                         temporary_volume_fraction: float = 0.01, **other) -> "PortfolioExecParams":
        """A book from market data with a one-factor model and Almgren–Chriss's rules of thumb per asset.

        * σ_i = price_i·annual_volatility_i/√250; correlations ρ_ij = β_i·β_j (i ≠ j) from
          ``market_loadings`` β_i ∈ [−1, 1] (default 0.6 each); Σ = diag(σ)·ρ·diag(σ).
        * η_i = spread_i/(temporary_volume_fraction·V_i), γ_i = spread_i/(permanent_volume_fraction·V_i),
          ε_i = spread_i/2 (as in :meth:`OptimalExecParams.from_market_data`).
        * Cross-impact: H_ij = c·ρ_ij·√(η_i η_j), Γ_ij = c·ρ_ij·√(γ_i γ_j) for i ≠ j, c = ``cross_impact``
          in [0, 1): correlated names move together under each other's trades.
        ``other`` sets risk_aversion, horizon and periods.
        """
        prices = np.array(_vector("prices", prices, None, low=0.0, low_open=True))
        m = prices.size
        vols = np.array(_vector("annual_volatilities", annual_volatilities, m, low=0.0, low_open=True))
        volumes = np.array(_vector("daily_volumes", daily_volumes, m, low=0.0, low_open=True))
        spreads = np.array(_vector("spreads", spreads, m, low=0.0, low_open=True))
        loadings = np.full(m, 0.6) if market_loadings is None else np.array(_vector("market_loadings",
                                                                                     market_loadings, m))
        if (np.abs(loadings) > 1).any():
            raise ValueError(f"market_loadings must lie in [-1, 1], got {loadings.tolist()}")
        cross = require_real("cross_impact", cross_impact, low=0.0, high=1.0, high_open=True)
        permanent_fraction = require_real("permanent_volume_fraction", permanent_volume_fraction, low=0.0,
                                          low_open=True)
        temporary_fraction = require_real("temporary_volume_fraction", temporary_volume_fraction, low=0.0,
                                          low_open=True)
        correlation = np.outer(loadings, loadings)
        np.fill_diagonal(correlation, 1.0)
        sigma = prices * vols / math.sqrt(TRADING_DAYS)
        eta = spreads / (temporary_fraction * volumes)
        gamma = spreads / (permanent_fraction * volumes)

        def with_cross(diagonal: np.ndarray) -> np.ndarray:
            matrix = cross * correlation * np.sqrt(np.outer(diagonal, diagonal))
            np.fill_diagonal(matrix, diagonal)
            return matrix

        return cls(holdings=shares, arrival_prices=tuple(prices), covariance=correlation * np.outer(sigma, sigma),
                   temporary_impact=with_cross(eta), permanent_impact=with_cross(gamma),
                   half_spreads=tuple(spreads / 2.0), **other)

    @classmethod
    def from_kwargs(cls, params: "PortfolioExecParams | None" = None, **kwargs) -> "PortfolioExecParams":
        """``params`` as given, or built from keyword arguments; unknown names raise."""
        return params_from_kwargs(cls, params, kwargs, "PortfolioExec")

    @property
    def assets(self) -> int:
        """m: number of assets."""
        return len(self.holdings)

    @property
    def tau(self) -> float:
        """τ = T/N, days."""
        return self.horizon / self.periods

    @cached_property
    def shares(self) -> np.ndarray:
        """X (m,) as an array."""
        return np.array(self.holdings)

    @cached_property
    def prices(self) -> np.ndarray:
        """S0 (m,) as an array."""
        return np.array(self.arrival_prices)

    @cached_property
    def sigma(self) -> np.ndarray:
        """Σ (m, m)."""
        return np.array(self.covariance)

    @cached_property
    def eta(self) -> np.ndarray:
        """H (m, m)."""
        return np.array(self.temporary_impact)

    @cached_property
    def gamma(self) -> np.ndarray:
        """Γ (m, m)."""
        return np.array(self.permanent_impact)

    @cached_property
    def spreads(self) -> np.ndarray:
        """ε (m,)."""
        return np.array(self.half_spreads)

    @cached_property
    def shock_loadings(self) -> np.ndarray:
        """L = V·√Λ (m, m) from Σ = V·Λ·Vᵀ, so L·Lᵀ = Σ (not symmetric; Σ may be singular)."""
        values, vectors = np.linalg.eigh(self.sigma)
        return vectors * np.sqrt(np.clip(values, 0.0, None))

    @property
    def volatilities(self) -> np.ndarray:
        """σ_i = √Σ_ii (m,), currency per share per √day."""
        return np.sqrt(np.diag(self.sigma))

    @property
    def order(self) -> str:
        """The order in words, e.g. "3 positions, 157,000,000 notional"."""
        return f"{self.assets} positions, {self.notional:,.0f} notional"

    @property
    def notional(self) -> float:
        """Σ_i |X_i|·S0_i: the book's arrival notional, currency."""
        return float(np.abs(self.shares) @ self.prices)

    @property
    def bps_per_currency(self) -> float:
        """10⁴ / notional."""
        return 1e4 / self.notional


def default_market(prices) -> PortfolioExecParams:
    """Covariance, impacts and half spreads of the default book (see the module docstring) for m assets:
    25 %/30 %/20 % annual volatility cycling, volumes 10 M/5 M/8 M cycling, 2-cent spreads, loadings 0.7/0.6/0.5."""
    m = len(prices)
    cycle = np.arange(m) % 3
    return PortfolioExecParams.from_market_data(
        shares=np.ones(m), prices=prices, annual_volatilities=np.array([0.25, 0.30, 0.20])[cycle],
        daily_volumes=np.array([10e6, 5e6, 8e6])[cycle], spreads=np.full(m, 0.02),
        market_loadings=np.array([0.7, 0.6, 0.5])[cycle])
