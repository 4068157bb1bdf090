"""Parameters of single-asset liquidation in the discrete-time Almgren–Chriss model.

Units follow Almgren & Chriss, "Optimal execution of portfolio transactions"
(2000), so that paper's worked example can be entered as it stands: prices in
currency per share, time in days, volatility in currency per share per √day,
impacts in currency per share per share (per share/day for the temporary one).
:meth:`OptimalExecParams.from_market_data` converts quantities a trader knows
(annual % volatility, daily volume, spread) into these units.

The default is a liquid large-cap stock: $100, 25 % annual volatility, 10 M
shares of daily volume, a 2-cent spread; the order sells 1 M shares (10 % of
daily volume) over one trading day in 13 half-hour periods with risk aversion
λ = 5·10⁻⁷ per $. Impacts follow the paper's rules of thumb (see
:meth:`~OptimalExecParams.from_market_data`).

The fields after ``price_mean`` are the model variants (all off by default):
a per-period impact profile, power-law impact or an impact table, per-period
trade caps, a smoothness penalty, a soft completion target, two-way
trading and transient impact that decays (Obizhaeva–Wang); see :mod:`execgym.problems.optimal_exec.env` and, for which
combinations have an exact oracle, :mod:`execgym.problems.optimal_exec.oracle`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from execgym.validation import (params_from_kwargs, real_array, require_bool, require_choice, require_entries,
                                require_int, require_per_period, require_real, require_scaled, set_field)

SIDES = ("sell", "buy")
IMPACT_EXPONENTS = (0.5, 1.5)
"""The range of α, the temporary impact's exponent."""

# The ranges below keep every quantity the envs, the oracles and the baselines compute (prices, costs,
# rewards in bps, observations in float32) finite, and are far wider than any market: each is stated, with
# its reason, in the docstring of the field it bounds.
SHARES = (1e-6, 1e12)
"""Range of an order (and of a finite trade cap), shares: from a millionth of a share (fractional units)
to 10¹², more than the shares outstanding of any listed company."""
PRICES = (1e-6, 1e9)
"""Range of a price, currency per share: from a millionth of a currency unit to a billion."""
HORIZONS = (1e-6, 1e4)
"""Range of a horizon, days: from about a tenth of a second to forty years."""
PRICE_SCALES = (1e-8, 1e2)
"""Range of σ√T/S0, the price's standard deviation over the horizon relative to the arrival price: the
observed price move is divided by σ√T, so a smaller ratio would overflow float32 observations; a larger
one is a price expected to move a hundred times its level."""
MAX_RELATIVE_COST = 1e3
"""Largest price move or cost per share that one parameter may cause, as a multiple of the arrival price
(impacts on the whole order, the half spread, the drift over the horizon): a thousand times the price."""
MIN_RELATIVE_IMPACT = 1e-12
"""Smallest temporary cost per share at the average trading rate, relative to the arrival price (10⁻⁸ bps):
the convexity the solvers rest on comes from the temporary impact, which must not vanish below the
precision of the other costs."""
MAX_RELATIVE_PENALTY = 1e12
"""Largest penalty weight relative to the order (λ·X·S0, c·X/S0, ρ·X/S0): penalties this strong already
act as hard constraints, and larger ones overflow the rewards of extreme trades."""
IMPACT_MULTIPLIERS = (1e-6, 1e6)
"""Range of an ``impact_profile`` multiplier."""
MAX_REVERSION = 1e6
"""Largest mean-reversion speed θ, per day (a half-life of 0.06 s)."""
TWO_WAY_TRADES = (1e-6, 1e3)
"""Range of ``max_trade``: two-way trades of up to a millionth to a thousand times the order per period."""
MAX_RESILIENCE = 1e6
"""Largest resilience ρ of transient impact, per day (a half-life of 0.06 s, as :data:`MAX_REVERSION`)."""


@dataclass(frozen=True)
class OptimalExecParams:
    """One liquidation problem. Every field is validated on construction.

    The price is observed once per period of length τ = T/N and moves as::

        S_k − μ̄ = φ·(S_{k−1} − μ̄) + μτ + σ_τ·ξ_k ∓ γ·n_k,    φ = e^{−θτ},  σ_τ² = σ²(1 − φ²)/(2θ)

    (ξ_k standard normal, n_k the shares traded in period k, ∓ pushing the
    price against the trader): the exact discretisation of an Ornstein–Uhlenbeck
    price reverting to μ̄ at speed θ, and for θ = 0 (the default) the arithmetic
    random walk S_k = S_{k−1} + μτ + σ√τ·ξ_k ∓ γ·n_k. Trades execute at
    ``S_{k-1} ∓ (ε + η·n_k/τ)``.
    """

    shares: float = 1_000_000.0
    """X: shares to trade over the horizon, in :data:`SHARES` = [10⁻⁶, 10¹²]."""
    side: str = "sell"
    """'sell' liquidates a long position, 'buy' acquires one."""
    arrival_price: float = 100.0
    """S0: mid-price when the order arrives, currency per share, in :data:`PRICES` = [10⁻⁶, 10⁹]."""
    volatility: float = 100.0 * 0.25 / 250**0.5
    """σ: currency per share per √day, with σ√T/S0 in :data:`PRICE_SCALES` = [10⁻⁸, 100] (it normalises the
    observed price move). Default: 25 % annual at $100, 250 trading days."""
    horizon: float = 1.0
    """T: days to complete the order, in :data:`HORIZONS` = [10⁻⁶, 10⁴]."""
    periods: int = 13
    """N: number of trading periods of length τ = T/N (1 to 100 000)."""
    permanent_impact: float = 0.02 / (0.1 * 10_000_000)
    """γ: permanent price move per share traded, currency per share per share, >= 0 with γX/S0 <= 1000
    (:data:`MAX_RELATIVE_COST`: the whole order moves the price by at most a thousand times its level)."""
    temporary_impact: float = 0.02 / (0.01 * 10_000_000)
    """η: temporary cost per share per unit trading rate, currency per share per (share/day), > γτ/2 and with
    ηX/(T·S0), the cost per share at the average rate v̄ = X/T relative to the price, in [10⁻¹², 1000]
    (:data:`MIN_RELATIVE_IMPACT`, :data:`MAX_RELATIVE_COST`)."""
    half_spread: float = 0.01
    """ε: fixed cost per share traded (half the bid-ask spread), currency per share, in [0, 1000·S0]."""
    risk_aversion: float = 5e-7
    """λ: weight of the shortfall's variance in the objective, per unit currency, >= 0 with λ·X·S0 <= 10¹²
    (:data:`MAX_RELATIVE_PENALTY`; the default is 50)."""
    drift: float = 0.0
    """μ: expected price change, currency per share per day, either sign with |μ|·T/S0 <= 1000
    (:data:`MAX_RELATIVE_COST`)."""
    mean_reversion: float = 0.0
    """θ: speed at which the price reverts to ``price_mean``, per day, in [0, 10⁶] (0 is the random walk;
    :data:`MAX_REVERSION`)."""
    price_mean: float | None = None
    """μ̄: the level the price reverts to, currency per share, in :data:`PRICES` (default: the arrival
    price)."""
    impact_profile: tuple[float, ...] | None = None
    """w_k: one multiplier of η per period, in :data:`IMPACT_MULTIPLIERS` = [10⁻⁶, 10⁶], so period k's
    temporary impact is η_k = η·w_k (None: constant η). Each η_k must exceed γτ/2."""
    impact_exponent: float = 1.0
    """α: temporary cost per share η_k·v̄·(v/v̄)^α at the trading rate v = |n|/τ, with v̄ = X/T the
    average rate (0.5 to 1.5). α = 1 is linear impact η_k·v; at v = v̄ every α costs the same."""
    impact_table: tuple[tuple[float, ...], ...] | None = None
    """g_k(j): a user-supplied temporary cost per share for each period k (rows, N) at trade sizes
    j·X/J, j = 0..J (columns, J >= 1), currency per share, in [0, 1000·S0]; linear in between, so period k's
    cost per share is ε + g_k(|n|). Replaces η, ``impact_profile`` and ``impact_exponent``
    (which must then be left at their defaults); trades above X are not allowed (one-way only)."""
    trade_caps: tuple[float, ...] | None = None
    """u_k: most shares period k may trade (one number per period in [0, 10¹²] (:data:`SHARES`) or +inf;
    Σu_k >= X). None: no caps. Not with ``two_way``."""
    smoothness: float = 0.0
    """c: penalty c·(n_k − n_{k−1})² on the change between consecutive trades, currency per share², >= 0
    with c·X/S0 <= 10¹² (:data:`MAX_RELATIVE_PENALTY`). When positive the observation carries the previous
    trade."""
    target_penalty: float | None = None
    """ρ: None (default) makes completion hard: the last period trades whatever is left. A number
    (currency per share², >= γ/2 with ρ·X/S0 <= 10¹², :data:`MAX_RELATIVE_PENALTY`) makes it soft: nothing
    is forced, and the x_N shares left after the last period cost ρ·x_N², valued at the final mid-price."""
    two_way: bool = False
    """Let trades go both ways (buying back during a sell, or selling more than is held): the
    action then maps to n = a·m·X (m = ``max_trade``). Needed by the exact adaptive policy under
    mean reversion. Not with ``trade_caps``."""
    max_trade: float = 1.0
    """m: in two-way mode the largest trade per period, as a multiple of X, in :data:`TWO_WAY_TRADES` =
    [10⁻⁶, 1000]."""
    transient_impact: float = 0.0
    """κ: transient impact (Obizhaeva & Wang 2013), currency per share per share: 0, or κX/S0 in [10⁻¹², 1000]
    (:data:`MIN_RELATIVE_IMPACT`, :data:`MAX_RELATIVE_COST`: the observed displacement is divided by κX). A trade of n shares walks a book of depth 1/κ: it executes on average κn/2
    beyond the displaced price and displaces it by κn more, a displacement D that then decays at the
    ``resilience`` (:mod:`~execgym.problems.optimal_exec.dynamics`). 0 (default): none. Linear impact only,
    without ``trade_caps`` or ``smoothness``; the observation then carries D."""
    resilience: float = 0.0
    """ρ: the speed at which the book recovers from transient impact, per day, in [0, 10⁶]
    (:data:`MAX_RESILIENCE`): D shrinks by e^{−ρτ} each period (0: the displacement never decays)."""

    def __post_init__(self) -> None:
        set_field(self, "shares", require_real("shares", self.shares, low=SHARES[0], high=SHARES[1]))
        set_field(self, "side", require_choice("side", self.side, SIDES))
        set_field(self, "arrival_price",
                  require_real("arrival_price", self.arrival_price, low=PRICES[0], high=PRICES[1]))
        set_field(self, "horizon", require_real("horizon", self.horizon, low=HORIZONS[0], high=HORIZONS[1]))
        set_field(self, "periods", require_int("periods", self.periods, low=1, high=100_000))
        price, per_share = self.arrival_price, self.arrival_price / self.shares    # S0 and S0/X
        set_field(self, "volatility",
                  require_scaled("volatility", self.volatility, scale=price / math.sqrt(self.horizon),
                                 low=PRICE_SCALES[0], high=PRICE_SCALES[1],
                                 ratio="volatility·√horizon/arrival_price"))
        set_field(self, "permanent_impact",
                  require_scaled("permanent_impact", self.permanent_impact, scale=per_share, low=0.0,
                                 high=MAX_RELATIVE_COST, ratio="permanent_impact·shares/arrival_price"))
        set_field(self, "temporary_impact", require_scaled(
            "temporary_impact", self.temporary_impact, scale=per_share * self.horizon, low=MIN_RELATIVE_IMPACT,
            high=MAX_RELATIVE_COST, ratio="temporary_impact·shares/(horizon·arrival_price)"))
        set_field(self, "half_spread", require_scaled("half_spread", self.half_spread, scale=price, low=0.0,
                                                      high=MAX_RELATIVE_COST, ratio="half_spread/arrival_price"))
        set_field(self, "risk_aversion", require_scaled("risk_aversion", self.risk_aversion, scale=1.0 / self.notional,
                                                        low=0.0, high=MAX_RELATIVE_PENALTY,
                                                        ratio="risk_aversion·shares·arrival_price"))
        set_field(self, "drift", require_scaled("drift", self.drift, scale=price / self.horizon, low=-MAX_RELATIVE_COST,
                                                high=MAX_RELATIVE_COST, ratio="drift·horizon/arrival_price"))
        set_field(self, "mean_reversion",
                  require_real("mean_reversion", self.mean_reversion, low=0.0, high=MAX_REVERSION))
        if self.price_mean is not None:
            set_field(self, "price_mean", require_real("price_mean", self.price_mean, low=PRICES[0], high=PRICES[1]))
        if self.eta_tilde <= 0.0:
            raise ValueError(
                f"temporary_impact must exceed permanent_impact * tau / 2 = {self.permanent_impact * self.tau / 2:g} "
                f"for the cost to be convex (got temporary_impact={self.temporary_impact:g}); "
                "use more periods or a larger temporary impact")
        self._check_variants()

    def _check_variants(self) -> None:
        """Validate the fields of the model variants (profile, exponent, caps, smoothness, target, two-way)."""
        if self.impact_profile is not None:
            set_field(self, "impact_profile", require_per_period("impact_profile", self.impact_profile, self.periods,
                                                                 low=IMPACT_MULTIPLIERS[0], high=IMPACT_MULTIPLIERS[1]))
            floor = 0.5 * self.permanent_impact * self.tau
            for k, eta in enumerate(self.impact_per_period):
                if eta <= floor:
                    raise ValueError(
                        f"impact_profile[{k}] makes period {k}'s temporary impact {eta:g} <= permanent_impact * "
                        f"tau / 2 = {floor:g}; every period's impact must exceed it for the cost to be convex")
        set_field(self, "impact_exponent", require_real("impact_exponent", self.impact_exponent,
                                                        low=IMPACT_EXPONENTS[0], high=IMPACT_EXPONENTS[1]))
        if self.impact_table is not None:
            set_field(self, "impact_table", self._checked_table())
        per_share = self.arrival_price / self.shares
        set_field(self, "smoothness",
                  require_scaled("smoothness", self.smoothness, scale=per_share, low=0.0,
                                 high=MAX_RELATIVE_PENALTY, ratio="smoothness·shares/arrival_price"))
        if self.target_penalty is not None:
            set_field(self, "target_penalty", require_real(
                "target_penalty", self.target_penalty, low=0.5 * self.permanent_impact,
                high=MAX_RELATIVE_PENALTY * per_share, reason=f"at least permanent_impact/2, and "
                f"target_penalty·shares/arrival_price at most {MAX_RELATIVE_PENALTY:g}"))
        set_field(self, "two_way", require_bool("two_way", self.two_way))
        set_field(self, "max_trade",
                  require_real("max_trade", self.max_trade, low=TWO_WAY_TRADES[0], high=TWO_WAY_TRADES[1]))
        if self.impact_table is not None and self.two_way:
            raise ValueError("impact_table cannot be combined with two_way=True (the table covers trades of 0..X)")
        if self.trade_caps is not None:
            if self.two_way:
                raise ValueError("trade_caps cannot be combined with two_way=True (caps bound one-way trades)")
            set_field(self, "trade_caps",
                      require_per_period("trade_caps", self.trade_caps, self.periods, high=SHARES[1],
                                         allow_inf=True))
            total = math.fsum(self.trade_caps)
            if total < self.shares:
                raise ValueError(f"trade_caps are infeasible: they sum to {total:g} shares, fewer than "
                                 f"shares = {self.shares:g}; raise the caps or lower shares")
        self._check_transient()

    def _check_transient(self) -> None:
        """Validate ``transient_impact`` and ``resilience``, and refuse the variants they do not combine with."""
        ratio = "transient_impact·shares/arrival_price"
        set_field(self, "transient_impact", require_scaled("transient_impact", self.transient_impact,
                                                           scale=self.arrival_price / self.shares, low=0.0,
                                                           high=MAX_RELATIVE_COST, ratio=ratio))
        if 0.0 < self.transient_impact * self.shares / self.arrival_price < MIN_RELATIVE_IMPACT:
            raise ValueError(f"transient_impact must be 0 or have {ratio} in [{MIN_RELATIVE_IMPACT:g}, "
                             f"{MAX_RELATIVE_COST:g}], got {self.transient_impact!r}")
        set_field(self, "resilience", require_real("resilience", self.resilience, low=0.0, high=MAX_RESILIENCE))
        if self.transient_impact > 0.0:
            others = [name for name, on in (("impact_exponent != 1", self.impact_exponent != 1.0),
                                            ("impact_table", self.impact_table is not None),
                                            ("trade_caps", self.trade_caps is not None),
                                            ("smoothness > 0", self.smoothness > 0.0)) if on]
            if others:
                raise ValueError(f"transient_impact > 0 needs linear impact without caps or smoothness (its exact "
                                 f"oracle is the LQ one); these params set {', '.join(others)}")

    def _checked_table(self) -> tuple[tuple[float, ...], ...]:
        """``impact_table`` validated: N rows of J + 1 >= 2 numbers in [0, 1000·S0], and no other impact shape
        set."""
        if self.impact_profile is not None or self.impact_exponent != 1.0:
            raise ValueError("impact_table replaces impact_profile and impact_exponent: leave those at their "
                             "defaults (None and 1)")
        table = real_array("impact_table", self.impact_table, "N rows of J + 1 numbers (costs per share)")
        if table.ndim != 2 or table.shape[0] != self.periods or table.shape[1] < 2:
            raise ValueError(f"impact_table must have shape (periods, J + 1) = ({self.periods}, J + 1) with J >= 1, "
                             f"got {table.shape}")
        require_entries("impact_table", table, low=0.0, high=MAX_RELATIVE_COST * self.arrival_price)
        return tuple(tuple(row) for row in table.tolist())

    @classmethod
    def from_market_data(cls, *, price: float, annual_volatility: float, daily_volume: float, spread: float,
                         trading_days_per_year: float = 250.0, permanent_volume_fraction: float = 0.1,
                         temporary_volume_fraction: float = 0.01, **other) -> "OptimalExecParams":
        """Parameters from market data, with Almgren & Chriss's rules of thumb.

        * σ = price · annual_volatility / √trading_days_per_year   (currency/share/√day)
        * ε = spread / 2
        * γ = spread / (permanent_volume_fraction · daily_volume): trading that fraction
          of a day's volume (10 % by default) moves the price by one spread, for good.
        * η = spread / (temporary_volume_fraction · daily_volume): trading at a rate of that
          fraction of daily volume (1 % by default) costs one spread per share.

        ``other`` sets the remaining fields (shares, horizon, periods, risk_aversion, ...).
        With price=50, annual_volatility=0.3, daily_volume=5e6, spread=0.125 this gives the
        paper's example: σ ≈ 0.95, ε = 0.0625, γ = 2.5e-7, η = 2.5e-6.
        """
        price = require_real("price", price, low=0.0, low_open=True)
        annual_volatility = require_real("annual_volatility", annual_volatility, low=0.0, low_open=True)
        daily_volume = require_real("daily_volume", daily_volume, low=0.0, low_open=True)
        spread = require_real("spread", spread, low=0.0, low_open=True)
        days = require_real("trading_days_per_year", trading_days_per_year, low=0.0, low_open=True)
        permanent_fraction = require_real("permanent_volume_fraction", permanent_volume_fraction,
                                          low=0.0, low_open=True)
        temporary_fraction = require_real("temporary_volume_fraction", temporary_volume_fraction,
                                          low=0.0, low_open=True)
        return cls(arrival_price=price,
                   volatility=price * annual_volatility / math.sqrt(days),
                   half_spread=spread / 2.0,
                   permanent_impact=spread / (permanent_fraction * daily_volume),
                   temporary_impact=spread / (temporary_fraction * daily_volume),
                   **other)

    @classmethod
    def from_kwargs(cls, params: "OptimalExecParams | None" = None, **kwargs) -> "OptimalExecParams":
        """``params`` as given, or built from keyword arguments; unknown names raise."""
        return params_from_kwargs(cls, params, kwargs, "OptimalExec")

    @property
    def tau(self) -> float:
        """τ = T/N: length of one period, days."""
        return self.horizon / self.periods

    @property
    def eta_tilde(self) -> float:
        """η̃ = η − γτ/2: the temporary impact net of the permanent impact's discreteness correction."""
        return self.temporary_impact - 0.5 * self.permanent_impact * self.tau

    @property
    def side_sign(self) -> int:
        """+1 for a sell, −1 for a buy: the direction in which the trader's own impact moves the price is −sign."""
        return 1 if self.side == "sell" else -1

    @property
    def order(self) -> str:
        """The order in words, e.g. "sell 1,000,000 shares"."""
        return f"{self.side} {self.shares:,.0f} shares"

    @property
    def notional(self) -> float:
        """X·S0: arrival notional, currency."""
        return self.shares * self.arrival_price

    @property
    def bps_per_currency(self) -> float:
        """Basis points of arrival notional per unit of currency: 10⁴ / (X·S0)."""
        return 1e4 / self.notional

    @property
    def long_run_price(self) -> float:
        """μ̄: ``price_mean``, or the arrival price when it is not set."""
        return self.arrival_price if self.price_mean is None else self.price_mean

    @property
    def reversion_factor(self) -> float:
        """φ = e^{−θτ}: the share of the price's deviation from μ̄ left after one period (1 for θ = 0)."""
        return math.exp(-self.mean_reversion * self.tau)

    @property
    def shock_scale(self) -> float:
        """σ_τ: standard deviation of one period's price shock, σ·√((1 − φ²)/(2θ)) (σ√τ for θ = 0)."""
        theta = self.mean_reversion
        if theta == 0.0:
            return self.volatility * math.sqrt(self.tau)
        return self.volatility * math.sqrt(-math.expm1(-2.0 * theta * self.tau) / (2.0 * theta))

    @property
    def period_risk(self) -> float:
        """λσ_τ²: the risk penalty per share² held through one period, currency per share² per period (λ per
        currency times σ_τ², the variance of one period's price shock, currency² per share²); the objective charges
        λσ_τ²·x² for x shares held after a period's trade."""
        return self.risk_aversion * self.shock_scale**2

    @property
    def price_scale(self) -> float:
        """σ√T: standard deviation of the unaffected price over the horizon; normalises the observed price move."""
        return self.volatility * math.sqrt(self.horizon)

    @property
    def impact_per_period(self) -> np.ndarray:
        """η_k (N,): each period's temporary impact, η·w_k (η when there is no profile)."""
        profile = np.ones(self.periods) if self.impact_profile is None else np.array(self.impact_profile)
        return self.temporary_impact * profile

    @property
    def linear_impact(self) -> bool:
        """True when the temporary cost per share is linear in the trade (α = 1, no table): the LQ and
        quadratic solvers apply."""
        return self.impact_exponent == 1.0 and self.impact_table is None

    @property
    def average_rate(self) -> float:
        """v̄ = X/T: the average trading rate, shares per day; the pivot of nonlinear impact."""
        return self.shares / self.horizon

    @property
    def caps(self) -> np.ndarray:
        """u_k (N,): per-period trade caps in shares (+inf where there are none)."""
        return np.full(self.periods, np.inf) if self.trade_caps is None else np.array(self.trade_caps)

    @property
    def completes(self) -> bool:
        """True when the order must be completed (no ``target_penalty``)."""
        return self.target_penalty is None

    @property
    def transient(self) -> bool:
        """True with transient impact (``transient_impact`` > 0)."""
        return self.transient_impact > 0.0

    @property
    def transient_decay(self) -> float:
        """e^{−ρτ}: the share of the transient displacement left after one period (1 for ρ = 0)."""
        return math.exp(-self.resilience * self.tau)

    @property
    def observation_size(self) -> int:
        """3, or 4 when ``smoothness`` > 0 (the previous trade is then part of the state) or with transient impact
        (the displacement is)."""
        return 4 if self.smoothness > 0.0 or self.transient else 3

    @property
    def features(self) -> tuple[str, ...]:
        """The model features in use beyond Almgren–Chriss (e.g. ("caps", "smoothness")); empty for the base model."""
        return tuple(name for name, on in (
            ("impact profile", self.impact_profile is not None), ("nonlinear impact", self.impact_exponent != 1.0),
            ("impact table", self.impact_table is not None),
            ("caps", self.trade_caps is not None), ("smoothness", self.smoothness > 0.0),
            ("soft target", not self.completes), ("two-way", self.two_way),
            ("mean reversion", self.mean_reversion > 0.0), ("transient impact", self.transient)) if on)

    @property
    def variant(self) -> str:
        """The features joined for messages, or "Almgren–Chriss" for the base model."""
        return ", ".join(self.features) or "Almgren–Chriss"
