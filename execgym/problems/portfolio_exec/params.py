"""Parameters of multi-asset liquidation: the Almgren–Chriss model with m assets.

Units as in :mod:`execgym.problems.optimal_exec.params` (prices in currency
per share, time in days), per asset i and pair (i, j):

* holdings X_i (signed shares: positive to sell, negative to buy back a short);
* covariance Σ_ij of the price changes, currency²/(share²·day);
* temporary impact H_ij: trading n_j shares of asset j in a period of length τ
  moves asset i's execution price by H_ij·n_j/τ (currency per share per share/day);
* permanent impact Γ_ij: the same trade moves asset i's mid-price by Γ_ij·n_j for good;
* half spreads ε_i, currency per share;
* optionally transient impact κ_i, currency per share per share, decaying at the resilience ρ_i per day
  (Obizhaeva–Wang per asset, as OptimalExec's ``transient_impact``).

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

from execgym.problems.optimal_exec.params import (HORIZONS, MAX_RELATIVE_COST, MAX_RELATIVE_PENALTY, MAX_RESILIENCE,
                                                  MIN_RELATIVE_IMPACT, PRICE_SCALES, PRICES, SHARES)
from execgym.validation import (interval, params_from_kwargs, real_array, require_entries, require_int, require_real,
                                require_scaled, set_field)

TRADING_DAYS = 250.0
SYMMETRY_TOLERANCE = 1e-10
"""Relative asymmetry of the covariance tolerated, and relative negative eigenvalue of the covariance and of
the permanent impact's symmetric part (rounding)."""
MAX_ASSETS = 1000
"""Most assets in a book."""
MAX_ORACLE_ENTRIES = 10**7
"""Largest periods·assets²: the oracle stores N m×m matrices (80 MB each at this size)."""


def _matrix(name: str, value, size: int) -> np.ndarray:
    """``value`` as a finite (m, m) float64 array, else ValueError naming ``name``."""
    array = real_array(name, value, "an m×m matrix of numbers")
    if array.shape != (size, size):
        raise ValueError(f"{name} must have shape (m, m) = ({size}, {size}), got {array.shape}")
    require_entries(name, array)
    return array


def _vector(name: str, value, size: int | None, low: float = -math.inf, high: float = math.inf,
            low_open: bool = False) -> np.ndarray:
    """``value`` as a non-empty float64 vector (of ``size`` entries unless None), each finite and in [low, high]
    ((low, high] with ``low_open``), else ValueError naming ``name`` (and the first offending entry)."""
    array = real_array(name, value, "a sequence of numbers")
    if array.ndim != 1 or array.size == 0 or (size is not None and array.size != size):
        expected = "a non-empty sequence" if size is None else f"{size} numbers (one per asset)"
        raise ValueError(f"{name} must be {expected}, got shape {array.shape}")
    require_entries(name, array, low=low, high=high, low_open=low_open)
    return array


def _rows(array: np.ndarray) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(row) for row in array.tolist())


def _require_at_most(name: str, values: np.ndarray, limits: np.ndarray, ratio: str) -> None:
    """Raise, naming the first entry of ``values`` whose magnitude exceeds its limit (``limits`` broadcast to
    ``values``; ``ratio`` states the bound for the message)."""
    limits = np.broadcast_to(limits, values.shape)
    bad = np.argwhere(np.abs(values) > limits)
    if bad.size:
        index = tuple(int(i) for i in bad[0])
        raise ValueError(f"{name}{''.join(f'[{i}]' for i in index)} must be at most {float(limits[index]):g} in "
                         f"magnitude ({ratio}), got {float(values[index])!r}")


def _min_eigenvalue(matrix: np.ndarray) -> float:
    return float(np.linalg.eigvalsh(0.5 * (matrix + matrix.T))[0])


def _checked_holdings(value) -> tuple[float, ...]:
    """``holdings``: 1 to :data:`MAX_ASSETS` entries, each 0 or of magnitude in :data:`SHARES`, not all 0."""
    holdings = _vector("holdings", value, None)
    if holdings.size > MAX_ASSETS:
        raise ValueError(f"holdings must have at most {MAX_ASSETS} assets, got {holdings.size}")
    size = np.abs(holdings)
    bad = np.flatnonzero((size != 0.0) & ((size < SHARES[0]) | (size > SHARES[1])))
    if bad.size:
        raise ValueError(f"holdings[{bad[0]}] must be 0 or of magnitude in {interval(*SHARES)}, got "
                         f"{float(holdings[bad[0]])!r}")
    if not size.any():
        raise ValueError("holdings must have at least one nonzero entry")
    return tuple(holdings.tolist())


@dataclass(frozen=True)
class PortfolioExecParams:
    """One portfolio liquidation problem; every field is validated on construction.

    Per period k (trade vector n_k, holdings x_k = x_{k−1} − n_k, ξ_k ~ N(0, I))::

        S_k = S_{k−1} + √τ·L·ξ_k − Γ·n_k          (L·Lᵀ = Σ)
        S̃_k = S_{k−1} − H·n_k/τ − ε∘sign(n_k)      execution prices

    (with transient impact, S̃_k also carries the book's displacement D and half the book walked, κ∘n_k/2:
    :mod:`~execgym.problems.portfolio_exec.dynamics`).
    """

    holdings: tuple[float, ...] = (1_000_000.0, 500_000.0, -400_000.0)
    """X: signed shares per asset (> 0 sell, < 0 buy back), 1 to 1000 assets (:data:`MAX_ASSETS`); each 0 or
    of magnitude in [10⁻⁶, 10¹²] (the range of OptimalExec's ``shares``), at least one nonzero."""
    arrival_prices: tuple[float, ...] = (100.0, 50.0, 80.0)
    """S0: mid-prices at arrival, currency per share, each in [10⁻⁶, 10⁹] (OptimalExec's range)."""
    covariance: tuple[tuple[float, ...], ...] | None = None
    """Σ: covariance of daily price changes, currency²/(share²·day); symmetric positive semi-definite, with
    each asset's σ_i√T/S0_i (σ_i² = Σ_ii) 0 or in [10⁻⁸, 100] (OptimalExec's range: it normalises the
    observed price moves)."""
    temporary_impact: tuple[tuple[float, ...], ...] | None = None
    """H: temporary impact with cross-impact, currency per share per (share/day); see the class docstring.
    Each |H_ij|·X̄/(T·S0_i) <= 1000 (X̄ = max_i |X_i|: the cost per share of asset i when asset j trades
    the book's largest position at the average rate, relative to asset i's price; OptimalExec's bound), and
    the symmetric part of H − (τ/2)·Γ positive definite (the cost is then convex)."""
    permanent_impact: tuple[tuple[float, ...], ...] | None = None
    """Γ: permanent impact with cross-impact, currency per share per share. Each |Γ_ij|·X̄/S0_i <= 1000
    (as for OptimalExec's γ), and the symmetric part positive semi-definite: the permanent cost ½·XᵀΓX of
    any book is then >= 0, as OptimalExec's γ >= 0 (a negative one would pay the trader for moving prices
    against himself, a price-manipulation arbitrage). The oracle's convexity needs only the symmetric part
    of H − (τ/2)·Γ positive definite (checked too)."""
    half_spreads: tuple[float, ...] | None = None
    """ε: per asset, currency per share, each in [0, 1000·S0_i]."""
    risk_aversion: float = 5e-7
    """λ: weight of the shortfall's variance, per unit currency, >= 0 with λ·Σ_i|X_i|·S0_i <= 10¹²
    (OptimalExec's bound)."""
    horizon: float = 1.0
    """T: days, in [10⁻⁶, 10⁴] (OptimalExec's range)."""
    periods: int = 13
    """N: trading periods of length τ = T/N (1 to 100 000, and N·m² <= 10⁷: :data:`MAX_ORACLE_ENTRIES`)."""
    transient_impact: tuple[float, ...] | None = None
    """κ: per asset, transient impact (Obizhaeva & Wang 2013), currency per share per share: each 0 or with
    κ_i·max|holdings|/S0_i in [10⁻¹², 1000] (OptimalExec's range). None (default): none. A trade n_i walks asset
    i's book from its displaced price: it executes κ_i·n_i/2 beyond it and displaces it by κ_i·n_i more, a
    displacement that decays at the ``resilience``; the observation then carries it."""
    resilience: tuple[float, ...] | None = None
    """ρ: per asset, the speed at which its book recovers, per day, each in [0, 10⁶] (OptimalExec's range);
    with ``transient_impact`` only (None: 0, a displacement that never decays)."""

    def __post_init__(self) -> None:
        set_field(self, "holdings", _checked_holdings(self.holdings))
        assets = len(self.holdings)
        prices = _vector("arrival_prices", self.arrival_prices, assets, low=PRICES[0], high=PRICES[1])
        set_field(self, "arrival_prices", tuple(prices.tolist()))
        set_field(self, "horizon", require_real("horizon", self.horizon, low=HORIZONS[0], high=HORIZONS[1]))
        set_field(self, "periods", require_int("periods", self.periods, low=1, high=100_000))
        if self.periods * assets * assets > MAX_ORACLE_ENTRIES:
            raise ValueError(f"periods·assets² must be <= {MAX_ORACLE_ENTRIES:g} (the oracle stores N m×m "
                             f"matrices), got {self.periods}·{assets}² = {self.periods * assets * assets:g}")
        set_field(self, "risk_aversion", require_scaled("risk_aversion", self.risk_aversion, scale=1.0 / self.notional,
                                                        low=0.0, high=MAX_RELATIVE_PENALTY,
                                                        ratio="risk_aversion·Σ|holdings|·arrival_prices"))
        market = ("covariance", "temporary_impact", "permanent_impact", "half_spreads")
        if any(getattr(self, name) is None for name in market):
            defaults = default_market(self.arrival_prices)
            for name in market:
                if getattr(self, name) is None:
                    set_field(self, name, getattr(defaults, name))
        spreads = _vector("half_spreads", self.half_spreads, assets, low=0.0)
        _require_at_most("half_spreads", spreads, MAX_RELATIVE_COST * prices,
                         f"half_spreads[i]/arrival_prices[i] <= {MAX_RELATIVE_COST:g}")
        set_field(self, "half_spreads", tuple(spreads.tolist()))
        set_field(self, "covariance", _rows(self._checked_covariance(prices)))
        largest = float(np.abs(self.shares).max())
        for name, scale, ratio in (
                ("temporary_impact", self.horizon / largest, "|H_ij|·max|holdings|/(horizon·arrival_prices[i])"),
                ("permanent_impact", 1.0 / largest, "|Γ_ij|·max|holdings|/arrival_prices[i]")):
            matrix = _matrix(name, getattr(self, name), assets)
            _require_at_most(name, matrix, MAX_RELATIVE_COST * scale * prices[:, None],
                             f"{ratio} <= {MAX_RELATIVE_COST:g}")
            set_field(self, name, _rows(matrix))
        gamma = np.array(self.permanent_impact)
        if _min_eigenvalue(gamma) < -SYMMETRY_TOLERANCE * float(np.abs(gamma).max()):
            raise ValueError(f"the symmetric part of permanent_impact must be positive semi-definite (the permanent "
                             f"cost ½·XᵀΓX of a book must not be negative); its smallest eigenvalue is "
                             f"{_min_eigenvalue(gamma):.3g}")
        self._check_transient(prices)
        convexity = _min_eigenvalue(np.array(self.temporary_impact) - 0.5 * self.tau * gamma)
        if convexity <= 0:
            raise ValueError(
                "the symmetric part of temporary_impact − (tau/2)·permanent_impact must be positive definite for "
                f"the cost to be convex; its smallest eigenvalue is {convexity:.3g} (use more periods, a larger "
                "temporary impact or less cross-impact)")

    def _check_transient(self, prices: np.ndarray) -> None:
        """``transient_impact`` (each 0 or in range) and ``resilience`` (only with it)."""
        assets = len(prices)
        if self.transient_impact is None:
            if self.resilience is not None:
                raise ValueError("resilience needs transient_impact (the impact that recovers at that speed)")
            return
        kappa = _vector("transient_impact", self.transient_impact, assets, low=0.0)
        ratio = kappa * float(np.abs(self.shares).max()) / prices
        bad = np.flatnonzero((ratio != 0.0) & ((ratio < MIN_RELATIVE_IMPACT) | (ratio > MAX_RELATIVE_COST)))
        if bad.size:
            i = bad[0]
            raise ValueError(f"transient_impact[{i}] must be 0 or make transient_impact[i]·max|holdings|/"
                             f"arrival_prices[i] in {interval(MIN_RELATIVE_IMPACT, MAX_RELATIVE_COST)}, got "
                             f"{float(kappa[i])!r}")
        set_field(self, "transient_impact", tuple(kappa.tolist()))
        if self.resilience is not None:
            rates = _vector("resilience", self.resilience, assets, low=0.0, high=MAX_RESILIENCE)
            set_field(self, "resilience", tuple(rates.tolist()))

    def _checked_covariance(self, prices: np.ndarray) -> np.ndarray:
        """``covariance``: finite, symmetric and positive semi-definite up to rounding, each σ_i√T/S0_i 0 or in
        :data:`PRICE_SCALES`."""
        sigma = _matrix("covariance", self.covariance, len(prices))
        scale = max(float(np.abs(sigma).max()), np.finfo(float).tiny)
        asymmetry = np.abs(sigma - sigma.T)
        if asymmetry.max() > SYMMETRY_TOLERANCE * scale:
            i, j = np.unravel_index(np.argmax(asymmetry), asymmetry.shape)
            raise ValueError(f"covariance must be symmetric; covariance[{i}][{j}] = {sigma[i, j]:g} but "
                             f"covariance[{j}][{i}] = {sigma[j, i]:g}")
        smallest = _min_eigenvalue(sigma)
        if smallest < -SYMMETRY_TOLERANCE * scale:
            raise ValueError(f"covariance must be positive semi-definite; its smallest eigenvalue is {smallest:.3g}")
        ratio = np.sqrt(np.clip(np.diag(sigma), 0.0, None) * self.horizon) / prices
        bad = np.flatnonzero((ratio != 0.0) & ((ratio < PRICE_SCALES[0]) | (ratio > PRICE_SCALES[1])))
        if bad.size:
            i = bad[0]
            raise ValueError(f"covariance[{i}][{i}] must make √(covariance[i][i]·horizon)/arrival_prices[i] 0 or in "
                             f"{interval(*PRICE_SCALES)} (it normalises the observed price moves), got "
                             f"covariance[{i}][{i}] = {sigma[i, i]!r}, a ratio of {ratio[i]:.3g}")
        return sigma

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
        assets = prices.size
        vols = np.array(_vector("annual_volatilities", annual_volatilities, assets, low=0.0, low_open=True))
        volumes = np.array(_vector("daily_volumes", daily_volumes, assets, low=0.0, low_open=True))
        spreads = np.array(_vector("spreads", spreads, assets, low=0.0, low_open=True))
        loadings = (np.full(assets, 0.6) if market_loadings is None
                    else np.array(_vector("market_loadings", market_loadings, assets)))
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
    def observation_size(self) -> int:
        """1 + 2m, or 1 + 3m with transient impact (the books' displacements)."""
        return 1 + (3 if self.transient else 2) * self.assets

    @property
    def transient(self) -> bool:
        """True with transient impact on some asset."""
        return self.transient_impact is not None and any(self.transient_impact)

    @property
    def kappa(self) -> np.ndarray:
        """κ (m,): transient impact per asset (zeros without it)."""
        return np.zeros(self.assets) if self.transient_impact is None else np.array(self.transient_impact)

    @property
    def transient_decays(self) -> np.ndarray:
        """ψ_i = e^{−ρ_i·τ} (m,): the share of each book's displacement left after a period (1 for ρ_i = 0)."""
        rates = np.zeros(self.assets) if self.resilience is None else np.array(self.resilience)
        return np.exp(-rates * self.tau)

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
    assets = len(prices)
    cycle = np.arange(assets) % 3
    return PortfolioExecParams.from_market_data(
        shares=np.ones(assets), prices=prices, annual_volatilities=np.array([0.25, 0.30, 0.20])[cycle],
        daily_volumes=np.array([10e6, 5e6, 8e6])[cycle], spreads=np.full(assets, 0.02),
        market_loadings=np.array([0.7, 0.6, 0.5])[cycle])
