"""Parameters of single-asset liquidation in a market that switches regime.

The order, the price and the base market are OptimalExec-v0's Almgren–Chriss model (units, defaults and ranges of
:class:`~execgym.problems.optimal_exec.params.OptimalExecParams`: a random walk without drift, linear impact). In
each period the market is in one of R regimes (calm, stressed, ...), observed; regime r scales the volatility by v_r
and the temporary impact by ℓ_r (a less liquid market costs more to trade in; the permanent impact γ stays the same
in every regime, as it must for a round trip not to profit: Huberman & Stanzl 2004, "Price manipulation and
quasi-arbitrage", Econometrica 72(4)), and the regime of the next period is drawn from row r of a transition matrix,
as in Hamilton's (1989) regime-switching models ("A new approach to the economic analysis of nonstationary time
series and the business cycle", Econometrica 57(2)).

The default has two regimes: calm (v = 1, ℓ = 1) and stressed (twice the volatility, five times the temporary
impact), staying calm with probability 0.9 a half-hour period (a calm spell lasts 5 hours on average) and stressed
with 0.7 (a stress lasts 100 minutes), starting calm. Watching the regime is then worth 6.0 % of the optimal cost:
the best schedule that ignores it (``blind``) has that regret.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from execgym.problems.optimal_exec.params import OptimalExecParams
from execgym.validation import params_from_kwargs, real_array, require_entries, require_int, set_field

MAX_REGIMES = 16
"""Most regimes (the observation carries one indicator per regime)."""
MULTIPLIERS = (1e-3, 1e3)
"""Range of a regime's volatility or liquidity multiplier."""
STOCHASTIC_TOLERANCE = 1e-12
"""How far a transition row may sum from 1."""


@dataclass(frozen=True)
class RegimeExecParams:
    """One liquidation in a regime-switching market; every field is validated on construction (the base
    fields as OptimalExecParams validates them, in every regime).

    Period k in regime r_k: trade n_k at S_{k−1} ∓ (ε + ℓ_r·η·n_k/τ); the price moves by
    v_r·σ√τ·ξ_k ∓ γ·n_k; the risk penalty is λ·v_r²σ²τ·x_k²; then r_{k+1} ~ ``transitions[r_k]``.
    """

    shares: float = 1_000_000.0
    """X, shares (OptimalExecParams.shares)."""
    side: str = "sell"
    """'sell' or 'buy'."""
    arrival_price: float = 100.0
    """S0, currency per share."""
    volatility: float = 100.0 * 0.25 / 250**0.5
    """σ of the calm regime (v = 1), currency per share per √day."""
    horizon: float = 1.0
    """T, days."""
    periods: int = 13
    """N periods of τ = T/N."""
    permanent_impact: float = 0.02 / (0.1 * 10_000_000)
    """γ, currency per share per share, the same in every regime."""
    temporary_impact: float = 0.02 / (0.01 * 10_000_000)
    """η of a regime of liquidity multiplier 1, currency per share per (share/day)."""
    half_spread: float = 0.01
    """ε, currency per share, the same in every regime."""
    risk_aversion: float = 5e-7
    """λ, per unit currency."""
    regime_volatility: tuple[float, ...] = (1.0, 2.0)
    """v_r: each regime's volatility as a multiple of σ, in [10⁻³, 10³]; one entry per regime (1 to 16)."""
    regime_liquidity: tuple[float, ...] = (1.0, 5.0)
    """ℓ_r: each regime's temporary impact as a multiple of η, in [10⁻³, 10³]."""
    transitions: tuple[tuple[float, ...], ...] = ((0.9, 0.1), (0.3, 0.7))
    """T: R×R, T[r][r'] the probability that a period in regime r is followed by one in r'; entries >= 0, rows
    summing to 1 (within 10⁻¹²)."""
    initial_regime: int = 0
    """r_0: the regime of the first period, 0..R−1."""

    def __post_init__(self) -> None:
        volatility = _multipliers("regime_volatility", self.regime_volatility)
        regimes = volatility.size
        liquidity = _multipliers("regime_liquidity", self.regime_liquidity)
        if liquidity.size != regimes:
            raise ValueError(f"regime_liquidity must have one entry per regime ({regimes}, as regime_volatility), "
                             f"got {liquidity.size}")
        set_field(self, "regime_volatility", tuple(volatility.tolist()))
        set_field(self, "regime_liquidity", tuple(liquidity.tolist()))
        set_field(self, "transitions", _transitions(self.transitions, regimes))
        set_field(self, "initial_regime", require_int("initial_regime", self.initial_regime, low=0,
                                                      high=regimes - 1))
        base = OptimalExecParams(**{name: getattr(self, name) for name in BASE_FIELDS})
        for name in BASE_FIELDS:
            set_field(self, name, getattr(base, name))
        for regime in range(regimes):
            try:
                self.regime_params(regime)
            except ValueError as error:
                raise ValueError(f"regime {regime} (regime_volatility[{regime}] = {volatility[regime]:g}, "
                                 f"regime_liquidity[{regime}] = {liquidity[regime]:g}): {error}") from None

    @classmethod
    def from_kwargs(cls, params: "RegimeExecParams | None" = None, **kwargs) -> "RegimeExecParams":
        """``params`` as given, or built from keyword arguments; unknown names raise."""
        return params_from_kwargs(cls, params, kwargs, "OptimalExecRegimes")

    def regime_params(self, regime: int) -> OptimalExecParams:
        """The OptimalExec market of regime ``regime`` (its volatility and temporary impact scaled)."""
        scaled = {"volatility": self.volatility * self.regime_volatility[regime],
                  "temporary_impact": self.temporary_impact * self.regime_liquidity[regime]}
        return OptimalExecParams(**{**{name: getattr(self, name) for name in BASE_FIELDS}, **scaled})

    @property
    def base(self) -> OptimalExecParams:
        """The OptimalExec market of a regime with both multipliers 1 (its observation's scales)."""
        return OptimalExecParams(**{name: getattr(self, name) for name in BASE_FIELDS})

    @property
    def regimes(self) -> int:
        """R: the number of regimes."""
        return len(self.regime_volatility)

    @property
    def transition_matrix(self) -> np.ndarray:
        """T (R, R) as an array."""
        return np.array(self.transitions)

    @property
    def regime_probabilities(self) -> np.ndarray:
        """(N, R): the probability of each regime in each period, from r_0 (row k = e_{r0}·T^k)."""
        probabilities = np.zeros((self.periods, self.regimes))
        probabilities[0, self.initial_regime] = 1.0
        for k in range(1, self.periods):
            probabilities[k] = probabilities[k - 1] @ self.transition_matrix
        return probabilities

    @property
    def observation_size(self) -> int:
        """3 + R: OptimalExec's three entries and one indicator per regime."""
        return 3 + self.regimes

    @property
    def tau(self) -> float:
        """τ = T/N, days."""
        return self.horizon / self.periods

    @property
    def side_sign(self) -> int:
        """+1 for a sell, −1 for a buy."""
        return 1 if self.side == "sell" else -1

    @property
    def order(self) -> str:
        """The order in words, e.g. "sell 1,000,000 shares"."""
        return self.base.order

    @property
    def bps_per_currency(self) -> float:
        """10⁴/(X·S0)."""
        return 1e4 / (self.shares * self.arrival_price)


BASE_FIELDS = ("shares", "side", "arrival_price", "volatility", "horizon", "periods", "permanent_impact",
               "temporary_impact", "half_spread", "risk_aversion")
"""The fields shared with OptimalExecParams (validated by it)."""


def _multipliers(name: str, value) -> np.ndarray:
    """``value`` as 1 to :data:`MAX_REGIMES` multipliers in :data:`MULTIPLIERS`, else ValueError naming it."""
    array = real_array(name, value, "a sequence of numbers, one per regime")
    if array.ndim != 1 or not 1 <= array.size <= MAX_REGIMES:
        raise ValueError(f"{name} must be 1 to {MAX_REGIMES} numbers (one per regime), got shape {array.shape}")
    require_entries(name, array, low=MULTIPLIERS[0], high=MULTIPLIERS[1])
    return array


def _transitions(value, regimes: int) -> tuple[tuple[float, ...], ...]:
    """``value`` as an R×R row-stochastic matrix, else ValueError naming ``transitions`` (and the row)."""
    matrix = real_array("transitions", value, "an R×R matrix of probabilities")
    if matrix.shape != (regimes, regimes):
        raise ValueError(f"transitions must have shape (R, R) = ({regimes}, {regimes}), got {matrix.shape}")
    require_entries("transitions", matrix, low=0.0, high=1.0)
    sums = matrix.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1.0) > STOCHASTIC_TOLERANCE)
    if bad.size:
        raise ValueError(f"transitions[{bad[0]}] must sum to 1 (a probability distribution of the next regime), "
                         f"sums to {sums[bad[0]]!r}")
    return tuple(tuple(row) for row in matrix.tolist())
