"""Parameters of market making with inventory risk (Avellaneda–Stoikov; Guéant–Lehalle–Fernandez-Tapia;
Cartea–Jaimungal).

Units: prices and depths in currency per share, time in the horizon's unit
(the default is the Avellaneda–Stoikov simulation: one unit of time, 200 steps),
inventory in shares (one share per fill).

* The mid-price moves by μ·dt + σ·√dt·ξ per step, ξ standard normal
  (``price_shocks="gaussian"``) or ±1 with probability ½ each (``"binomial"``,
  the random walk of Avellaneda–Stoikov's simulation).
* Market orders arrive on each side at rate λ(δ) = A·e^{−kδ} for a quote at
  depth δ from the mid. A quote rested for one step of length dt fills with
  probability ``fill_probability="poisson"``: 1 − exp(−A·e^{−kδ}·dt), the
  chance that at least one Poisson arrival reaches it, or ``"linear"``:
  A·e^{−kδ}·dt, Avellaneda–Stoikov's discrete rule (its first-order
  approximation, needing A·dt <= 1). Each side fills at most once per step;
  both sides may fill in the same step.
* Inventory stays in [−Q̄, Q̄]: at q = Q̄ the bid is not quoted, at q = −Q̄ the ask.

Objective ``"risk_neutral"`` (Cartea–Jaimungal): maximise
E[X_T + q_T·S_T − α·q_T² − φ·Σ_n q_{n+1}²·dt], terminal wealth minus a
terminal liquidation penalty and a running inventory penalty.
``"cara"`` (Avellaneda–Stoikov): maximise E[u(Π)] for the same penalised
profit Π = X_T + q_T·S_T − (X_0 + q_0·S_0) − α·q_T² − φ·Σ q²·dt with the
exponential utility u(Π) = (1 − e^{−γΠ})/γ (γ = ``risk_aversion``; u → Π as
γ → 0, and it ranks outcomes as −e^{−γΠ} does).

The default market is that of Avellaneda–Stoikov's simulation (s = 100, T = 1,
σ = 2, dt = 0.005, A = 140, k = 1.5) with φ = 0.2 = γσ²/2 at their γ = 0.1
(the running penalty that matches their risk aversion to first order),
α = 0.5 and Q̄ = 50 (101 inventory levels).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from execgym.validation import params_from_kwargs, require_choice, require_int, require_real, require_scaled, set_field

FILL_PROBABILITIES = ("poisson", "linear")
PRICE_SHOCKS = ("gaussian", "binomial")
OBJECTIVES = ("risk_neutral", "cara")
TICK_TOLERANCE = 1e-9
"""Relative tolerance for max_depth to be a whole number of ticks."""
MAX_TICKS = 100
"""Most ticks per side: the oracle searches (ticks + 1)² pairs per inventory level and step."""

# The ranges below keep every quantity the envs, the oracle and the baselines compute finite, and are far
# wider than any market; each field's docstring states its range and reason.
MAX_PRICE = 1e9
"""Largest |mid_price|, currency per share."""
MAX_MOVE = 1e9
"""Largest σ·√T and |μ|·T: the price's standard deviation and drift over the horizon, currency per share."""
TIMES = (1e-9, 1e9)
"""Range of the horizon, in its own unit of time."""
ARRIVALS = (1e-9, 1e12)
"""Range of A·T, the market orders expected at the mid over the horizon (per side)."""
DEPTHS = (1e-9, 1e9)
"""Range of max_depth, currency."""
DEPTH_DECAYS = (1e-6, 1e6)
"""Range of k·δ_max, the decay of the arrival rate across the quotable depths: below it the depth barely
changes the fills, above it no quote beyond the touch ever fills."""
MAX_PENALTY = 1e12
"""Largest φ·T and α, currency per share²."""
RISK_AVERSIONS = (1e-9, 700.0)
"""Range of γ·δ_max, the exponent of the utility e^{γδ} of a fill's spread at the deepest quote: below it
the utility is the risk-neutral objective to float64 precision (and 1 − e^{−γδ} cancels), above it
e^{γδ} leaves float64."""

@dataclass(frozen=True)
class MarketMakingParams:
    """A market maker's market and objective (module docstring). Frozen; validated on construction."""

    mid_price: float = 100.0
    """S_0, currency per share, in [−10⁹, 10⁹] (:data:`MAX_PRICE`; nothing needs it positive)."""
    volatility: float = 2.0
    """σ, currency per share per √time, >= 0 with σ·√T <= 10⁹ (:data:`MAX_MOVE`)."""
    drift: float = 0.0
    """μ, currency per share per unit time, with |μ|·T <= 10⁹ (:data:`MAX_MOVE`)."""
    horizon: float = 1.0
    """T, units of time, in :data:`TIMES` = [10⁻⁹, 10⁹]."""
    steps: int = 200
    """N, decision steps of length dt = T/N (1 to 10⁶)."""
    arrival_rate: float = 140.0
    """A, market orders per unit time reaching a quote at the mid (depth 0), per side, with A·T in
    :data:`ARRIVALS` = [10⁻⁹, 10¹²]."""
    depth_decay: float = 1.5
    """k, per currency: the arrival rate at depth δ is A·e^{−kδ}; k·δ_max in :data:`DEPTH_DECAYS` =
    [10⁻⁶, 10⁶]."""
    max_inventory: int = 50
    """Q̄, shares: inventory stays in [−Q̄, Q̄] (1 to 10⁵)."""
    initial_inventory: int = 0
    """q_0, shares, in [−Q̄, Q̄]."""
    inventory_penalty: float = 0.2
    """φ, currency per share² per unit time: the running penalty φ·q²·dt per step; >= 0 with
    φ·T <= 10¹² (:data:`MAX_PENALTY`)."""
    terminal_penalty: float = 0.5
    """α, currency per share²: the liquidation penalty α·q_T² at the end, in [0, 10¹²] (:data:`MAX_PENALTY`)."""
    max_depth: float = 5.0
    """δ_max, currency: quotes lie at depths [0, δ_max] from the mid on each side; in :data:`DEPTHS` =
    [10⁻⁹, 10⁹]."""
    tick_size: float | None = None
    """None: continuous depths (Box actions); a tick h: depths 0, h, ..., δ_max (MultiDiscrete actions;
    δ_max must be a whole number of ticks, 1 to 100: :data:`MAX_TICKS`)."""
    fill_probability: str = "poisson"
    """"poisson": 1 − exp(−A·e^{−kδ}·dt); "linear": A·e^{−kδ}·dt (needs A·dt <= 1)."""
    price_shocks: str = "gaussian"
    """"gaussian" or "binomial" (±σ√dt, Avellaneda–Stoikov's random walk)."""
    objective: str = "risk_neutral"
    """"risk_neutral" (expected penalised profit) or "cara" (expected exponential utility of it)."""
    risk_aversion: float | None = None
    """γ, per currency: required with objective="cara", not accepted otherwise. γ·δ_max in
    :data:`RISK_AVERSIONS` = [10⁻⁹, 700] (the utility e^{γδ} of a fill's spread stays within float64), and
    An episode whose penalised profit Π falls below about −709.78/γ has a utility beyond float64: its last step
    raises ValueError (:func:`.dynamics.check_utility`); where the oracle's E[u] itself is beyond float64,
    :func:`~.oracle.make_oracle` raises ValueError naming the risk aversions at which it is not."""

    def __post_init__(self) -> None:
        set_field(self, "mid_price", require_real("mid_price", self.mid_price, low=-MAX_PRICE, high=MAX_PRICE))
        set_field(self, "horizon", require_real("horizon", self.horizon, low=TIMES[0], high=TIMES[1]))
        horizon = self.horizon
        set_field(self, "volatility",
                  require_scaled("volatility", self.volatility, scale=1.0 / math.sqrt(horizon), low=0.0,
                                 high=MAX_MOVE, ratio="volatility·√horizon"))
        set_field(self, "drift", require_scaled("drift", self.drift, scale=1.0 / horizon, low=-MAX_MOVE, high=MAX_MOVE,
                                                ratio="drift·horizon"))
        set_field(self, "steps", require_int("steps", self.steps, low=1, high=10**6))
        set_field(self, "arrival_rate",
                  require_scaled("arrival_rate", self.arrival_rate, scale=1.0 / horizon,
                                 low=ARRIVALS[0], high=ARRIVALS[1], ratio="arrival_rate·horizon"))
        set_field(self, "max_depth", require_real("max_depth", self.max_depth, low=DEPTHS[0], high=DEPTHS[1]))
        set_field(self, "depth_decay",
                  require_scaled("depth_decay", self.depth_decay, scale=1.0 / self.max_depth,
                                 low=DEPTH_DECAYS[0], high=DEPTH_DECAYS[1], ratio="depth_decay·max_depth"))
        set_field(self, "max_inventory", require_int("max_inventory", self.max_inventory, low=1, high=10**5))
        set_field(self, "initial_inventory", require_int("initial_inventory", self.initial_inventory,
                                                         low=-self.max_inventory, high=self.max_inventory))
        set_field(self, "inventory_penalty",
                  require_scaled("inventory_penalty", self.inventory_penalty, scale=1.0 / horizon,
                                 low=0.0, high=MAX_PENALTY, ratio="inventory_penalty·horizon"))
        set_field(self, "terminal_penalty",
                  require_real("terminal_penalty", self.terminal_penalty, low=0.0, high=MAX_PENALTY))
        set_field(self, "fill_probability",
                  require_choice("fill_probability", self.fill_probability, FILL_PROBABILITIES))
        set_field(self, "price_shocks", require_choice("price_shocks", self.price_shocks, PRICE_SHOCKS))
        set_field(self, "objective", require_choice("objective", self.objective, OBJECTIVES))
        self._check_tick_size()
        self._check_risk_aversion()
        if self.fill_probability == "linear" and self.arrival_rate * self.dt > 1.0:
            raise ValueError(f"fill_probability='linear' needs arrival_rate·dt <= 1 (a probability), got "
                             f"arrival_rate·horizon/steps = {self.arrival_rate * self.dt:g}; raise steps to at least "
                             f"{math.ceil(self.arrival_rate * self.horizon)} or use fill_probability='poisson'")

    def _check_tick_size(self) -> None:
        if self.tick_size is None:
            return
        tick = require_real("tick_size", self.tick_size, low=self.max_depth / MAX_TICKS * (1.0 - TICK_TOLERANCE),
                            high=self.max_depth, reason=f"max_depth / tick_size must be a whole number of ticks in "
                                                        f"1..{MAX_TICKS}")
        ticks = self.max_depth / tick
        if abs(ticks - round(ticks)) > TICK_TOLERANCE * ticks or round(ticks) > MAX_TICKS:
            raise ValueError(f"max_depth / tick_size must be a whole number of ticks in 1..{MAX_TICKS}, got "
                             f"{self.max_depth:g} / {tick:g} = {ticks:g}")
        set_field(self, "tick_size", tick)

    def _check_risk_aversion(self) -> None:
        if self.objective == "cara":
            if self.risk_aversion is None:
                raise ValueError("objective='cara' needs risk_aversion (γ > 0, per currency)")
            set_field(self, "risk_aversion",
                      require_scaled("risk_aversion", self.risk_aversion, scale=1.0 / self.max_depth,
                                     low=RISK_AVERSIONS[0], high=RISK_AVERSIONS[1],
                                     ratio="risk_aversion·max_depth"))
        elif self.risk_aversion is not None:
            raise ValueError(f"risk_aversion is used only with objective='cara', got risk_aversion = "
                             f"{self.risk_aversion!r} with objective = {self.objective!r}; for risk aversion under "
                             "the risk-neutral objective set inventory_penalty (φ ≈ γσ²/2)")

    @classmethod
    def from_kwargs(cls, params: "MarketMakingParams | None" = None, **kwargs) -> "MarketMakingParams":
        """``params`` as given, or built from keyword arguments; unknown names raise."""
        return params_from_kwargs(cls, params, kwargs, "MarketMaking")

    @property
    def dt(self) -> float:
        """Step length T/N."""
        return self.horizon / self.steps

    @property
    def levels(self) -> int:
        """2Q̄ + 1 inventory levels."""
        return 2 * self.max_inventory + 1

    @property
    def inventories(self) -> np.ndarray:
        """(2Q̄+1,) int64: the inventory levels −Q̄..Q̄."""
        return np.arange(-self.max_inventory, self.max_inventory + 1)

    @property
    def discrete(self) -> bool:
        """True when quotes are on a tick grid (MultiDiscrete actions)."""
        return self.tick_size is not None

    @property
    def ticks(self) -> int | None:
        """δ_max / tick_size: the largest depth in ticks (None for continuous depths)."""
        return None if self.tick_size is None else round(self.max_depth / self.tick_size)

    @property
    def depth_grid(self) -> np.ndarray | None:
        """(ticks + 1,) the quotable depths 0, h, ..., δ_max (None for continuous depths)."""
        return None if self.tick_size is None else np.arange(self.ticks + 1) * self.tick_size

    def fill_probabilities(self, depths) -> np.ndarray:
        """Probability that a quote at ``depths`` (any shape) fills within one step."""
        rate_dt = self.arrival_rate * np.exp(-self.depth_decay * np.asarray(depths, dtype=np.float64)) * self.dt
        return -np.expm1(-rate_dt) if self.fill_probability == "poisson" else rate_dt
