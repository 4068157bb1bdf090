"""Parameters of BasketSequence: the order in which n basket trades are executed, and what each order costs.

Each trade i is a whole order in one name: notional N_i (currency), side
s_i = +1 (buy) or −1 (sell), price impact b_i (bps of price: what trading it
alone costs per unit notional, and how far it pushes its name's price). Names
are correlated (ρ). Costs are in **bps of the basket's notional W = Σ N_i**;
w_i = N_i/W is trade i's weight.

## The cost matrix

Executing trade j right after trade i costs::

    d_ij = c_j + κ·b_i·w_j·x_ij,      c_j = b_j·w_j,
    x_ij = ρ_ij·s_i·s_j               if ρ_ij·s_i·s_j >= 0 (adverse)
         = h·ρ_ij·s_i·s_j             otherwise (favourable, a hedge)

and the first trade j costs a_j = c_j (nothing before it). Reading:

* c_j, the base cost: trade j alone pays its impact b_j on its notional, w_j of the basket.
* When trade j starts, a fraction κ (``cross_impact``, in [0, 1]) of trade i's impact is
  still in the prices, and trading i moved name j's price by κ·ρ_ij·b_i bps in i's
  direction (cross-impact aligned with correlation). Trade j pays that move on its
  notional when it trades the same way (same side on positively correlated names,
  or opposite sides on negatively correlated ones) and earns it otherwise: a sell
  right after a correlated buy sells into the lifted price. h (``hedge_credit``,
  in [0, 1]) is the share of that favourable move it captures.
* Only the previous trade's impact is felt (it has decayed by the trade after),
  which is what makes the cost of an order a sum over consecutive pairs.

d is asymmetric: the cross term of (i, j) scales with b_i·w_j, that of (j, i)
with b_j·w_i. Under the square-root law b ∝ √N, so among same-way correlated
trades the big one should go first (the small one then pays its leftover) and
among hedges the small one first (the big one then earns more). Every order
pays Σ_j c_j; the order changes only the cross terms. The diagonal of d is
unused (set to 0).

A user-supplied ``cost_matrix`` (and optionally ``start_costs``, default 0)
replaces the construction: any finite numbers, in bps.

The default basket is ``market.random_basket(8, 0)``: eight names with
log-normal notionals around 10 M, random sides, one-factor-plus-sector
correlations and square-root impact (:mod:`.market`); ``instance_seed`` draws
another, and any input given explicitly replaces the drawn one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from functools import cached_property

import numpy as np

from execgym.problems.basket_sequence.market import random_basket
from execgym.solvers.sequencing import MAX_EXACT
from execgym.validation import (params_from_kwargs, real_array, require_bool, require_entries, require_int,
                                require_real, set_field)

DEFAULT_TRADES = 8
MAX_TRADES = 256
CORRELATION_TOLERANCE = 1e-10
"""Tolerance on the correlation's symmetry, unit diagonal and smallest eigenvalue (rounding)."""
CONSTRUCTION = ("notionals", "sides", "correlation", "impact_bps")
NOTIONALS = (1e-6, 1e15)
"""Range of a trade's notional, currency: from a millionth of a currency unit to a quadrillion."""
MAX_COST_BPS = 1e9
"""Largest magnitude of a cost or of its noise, bps of the basket's notional (10⁵ times the notional): the
costs of an order of 256 trades then add up far inside float64."""
MAX_SEED = 2**63 - 1


def _array(name: str, value, shape: tuple[int, ...], what: str, low: float = -math.inf,
           high: float = math.inf) -> np.ndarray:
    """``value`` as a float64 array of ``shape`` with every entry finite and in [low, high], else ValueError
    naming ``name`` (and the first offending entry)."""
    array = real_array(name, value, what)
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {shape} ({what}), got {array.shape}")
    require_entries(name, array, low=low, high=high)
    return array


def _vector(name: str, value, n: int, low: float = -math.inf, high: float = math.inf) -> tuple[float, ...]:
    return tuple(_array(name, value, (n,), f"{n} numbers, one per trade (trades = {n})", low, high).tolist())


def _matrix(name: str, value, n: int, low: float = -math.inf, high: float = math.inf
            ) -> tuple[tuple[float, ...], ...]:
    array = _array(name, value, (n, n), f"an n×n matrix with n = trades = {n}", low, high)
    return tuple(tuple(row) for row in array.tolist())


def _length(value) -> int | None:
    try:
        return len(value)
    except TypeError:
        return None


@dataclass(frozen=True)
class BasketSequenceParams:
    """One basket to sequence; every field is validated on construction, and after it every input of the
    construction is filled (drawn from ``instance_seed`` where not given) unless ``cost_matrix`` is set."""

    trades: int | None = None
    """n: number of trades (2 to 256). Default: the length of the arrays given, else 8. The exact oracle
    handles up to 16 (see ``heuristic``)."""
    notionals: tuple[float, ...] | None = None
    """N_i: each trade's notional, currency, in :data:`NOTIONALS` = [10⁻⁶, 10¹⁵]."""
    sides: tuple[int, ...] | None = None
    """s_i: +1 buy, −1 sell."""
    correlation: tuple[tuple[float, ...], ...] | None = None
    """ρ: correlation of the names' returns (n×n, symmetric, unit diagonal, positive semi-definite)."""
    impact_bps: tuple[float, ...] | None = None
    """b_i: price impact of trade i alone, bps of price, in [0, 10⁹] (:data:`MAX_COST_BPS`): its cost per unit
    notional and the move it causes."""
    cross_impact: float = 0.5
    """κ: fraction of the previous trade's impact still in prices when the next trade starts (0 to 1)."""
    hedge_credit: float = 1.0
    """h: share of a favourable leftover move the next trade captures (0 to 1)."""
    cost_matrix: tuple[tuple[float, ...], ...] | None = None
    """d: user-supplied cost of trade j right after trade i, bps (n×n, each in [−10⁹, 10⁹]:
    :data:`MAX_COST_BPS`; diagonal unused). Replaces the
    construction: leave ``notionals``, ``sides``, ``correlation``, ``impact_bps`` unset and ``cross_impact``,
    ``hedge_credit``, ``instance_seed`` at their defaults."""
    start_costs: tuple[float, ...] | None = None
    """a: user-supplied cost of each trade when it goes first, bps (each in [−10⁹, 10⁹]). Only with ``cost_matrix``
    (default then: 0 for every trade)."""
    cost_noise: float = 0.1
    """σ: standard deviation of the Gaussian noise added to each step's cost, bps, in [0, 10⁹]. Zero mean and the
    same draws for every policy on a seed, so it changes neither expected costs nor paired differences."""
    heuristic: bool = False
    """Oracle option (no effect on the env): with more than 16 trades, True makes the oracle the
    nearest-neighbour + 2-opt order, labelled a bound (``bound_only``), instead of raising."""
    instance_seed: int = 0
    """Seed of :func:`~.market.random_basket` for the construction inputs not given (0 to 2⁶³ − 1)."""

    def __post_init__(self) -> None:
        n = self._resolved_trades()
        set_field(self, "trades", n)
        set_field(self, "cross_impact", require_real("cross_impact", self.cross_impact, low=0.0, high=1.0))
        set_field(self, "hedge_credit", require_real("hedge_credit", self.hedge_credit, low=0.0, high=1.0))
        set_field(self, "cost_noise", require_real("cost_noise", self.cost_noise, low=0.0, high=MAX_COST_BPS))
        set_field(self, "instance_seed", require_int("instance_seed", self.instance_seed, low=0, high=MAX_SEED))
        set_field(self, "heuristic", require_bool("heuristic", self.heuristic))
        if self.cost_matrix is not None:
            self._check_user_matrix(n)
            return
        if self.start_costs is not None:
            raise ValueError("start_costs can only be given with cost_matrix (otherwise a_j = c_j is constructed)")
        drawn = None
        if any(getattr(self, name) is None for name in CONSTRUCTION):
            drawn = random_basket(n, self.instance_seed)
        value = {name: drawn[name] if getattr(self, name) is None else getattr(self, name) for name in CONSTRUCTION}
        set_field(self, "notionals", _vector("notionals", value["notionals"], n, low=NOTIONALS[0], high=NOTIONALS[1]))
        set_field(self, "sides", self._checked_sides(value["sides"], n))
        set_field(self, "correlation", self._checked_correlation(value["correlation"], n))
        set_field(self, "impact_bps", _vector("impact_bps", value["impact_bps"], n, low=0.0, high=MAX_COST_BPS))

    def _resolved_trades(self) -> int:
        if self.trades is not None:
            return require_int("trades", self.trades, low=2, high=MAX_TRADES)
        for name in ("cost_matrix", "start_costs", *CONSTRUCTION):
            length = _length(getattr(self, name))
            if length is not None:
                return require_int(f"trades (the length of {name})", length, low=2, high=MAX_TRADES)
        return DEFAULT_TRADES

    def _check_user_matrix(self, n: int) -> None:
        given = [name for name in CONSTRUCTION if getattr(self, name) is not None]
        changed = [f.name for f in fields(self) if f.name in ("cross_impact", "hedge_credit", "instance_seed")
                   and getattr(self, f.name) != f.default]
        if given or changed:
            raise ValueError(f"cost_matrix replaces the construction: leave {', '.join(given + changed)} at the "
                             "default")
        set_field(self, "cost_matrix",
                  _matrix("cost_matrix", self.cost_matrix, n, low=-MAX_COST_BPS, high=MAX_COST_BPS))
        if self.start_costs is not None:
            set_field(self, "start_costs",
                      _vector("start_costs", self.start_costs, n, low=-MAX_COST_BPS, high=MAX_COST_BPS))

    @staticmethod
    def _checked_sides(value, n: int) -> tuple[int, ...]:
        sides = _array("sides", value, (n,), f"{n} sides, +1 (buy) or -1 (sell), one per trade")
        bad = np.flatnonzero(np.abs(sides) != 1)
        if bad.size:
            raise ValueError(f"sides[{bad[0]}] must be +1 (buy) or -1 (sell), got {float(sides[bad[0]])!r}")
        return tuple(int(v) for v in sides)

    @staticmethod
    def _checked_correlation(value, n: int) -> tuple[tuple[float, ...], ...]:
        rho = np.array(_matrix("correlation", value, n))
        tol = CORRELATION_TOLERANCE
        if np.abs(rho - rho.T).max() > tol:
            raise ValueError("correlation must be symmetric")
        if np.abs(np.diag(rho) - 1.0).max() > tol:
            raise ValueError(f"correlation must have a unit diagonal, got {np.diag(rho).tolist()}")
        if np.abs(rho).max() > 1.0 + tol:
            i, j = np.unravel_index(np.argmax(np.abs(rho)), rho.shape)
            raise ValueError(f"correlation[{i}][{j}] must lie in [-1, 1], got {float(rho[i, j])!r}")
        smallest = float(np.linalg.eigvalsh(rho)[0])
        if smallest < -tol:
            raise ValueError(f"correlation must be positive semi-definite; its smallest eigenvalue is {smallest:.3g}")
        return tuple(tuple(float(v) for v in row) for row in rho)

    @classmethod
    def from_kwargs(cls, params: "BasketSequenceParams | None" = None, **kwargs) -> "BasketSequenceParams":
        """``params`` as given, or built from keyword arguments; unknown names raise."""
        return params_from_kwargs(cls, params, kwargs, "BasketSequence")

    @property
    def user_costs(self) -> bool:
        """True when the costs are the user's ``cost_matrix`` rather than the construction."""
        return self.cost_matrix is not None

    @property
    def exact(self) -> bool:
        """True when the exact oracle applies (n <= 16)."""
        return self.trades <= MAX_EXACT

    @property
    def notional(self) -> float:
        """W = Σ N_i, currency (nan with a user ``cost_matrix``)."""
        return math.fsum(self.notionals) if self.notionals is not None else math.nan

    @cached_property
    def weights(self) -> np.ndarray:
        """w_i = N_i/W (n,) (construction only)."""
        return _frozen(np.array(self.notionals) / self.notional)

    @cached_property
    def base_costs(self) -> np.ndarray:
        """c_j = b_j·w_j (n,), bps of W: each trade's cost with nothing before it (construction only)."""
        return _frozen(np.array(self.impact_bps) * self.weights)

    @cached_property
    def costs(self) -> np.ndarray:
        """d (n, n), bps of W: cost of trade j (column) right after trade i (row); diagonal unused."""
        if self.user_costs:
            d = np.array(self.cost_matrix)
        else:
            sides = np.array(self.sides, dtype=np.float64)
            aligned = np.array(self.correlation) * np.outer(sides, sides)
            aligned = np.where(aligned >= 0.0, aligned, self.hedge_credit * aligned)
            cross = self.cross_impact * np.outer(np.array(self.impact_bps), self.weights) * aligned
            d = self.base_costs[None, :] + cross
            np.fill_diagonal(d, 0.0)
        return _frozen(d)

    @cached_property
    def first_costs(self) -> np.ndarray:
        """a (n,), bps of W: cost of each trade when it goes first (c_j, or the user's ``start_costs``, default 0)."""
        if not self.user_costs:
            return self.base_costs
        return _frozen(np.zeros(self.trades) if self.start_costs is None else np.array(self.start_costs))

    @cached_property
    def cost_table(self) -> np.ndarray:
        """(a, d row by row) as one (n + n²,) array, bps of W: a_j at j, d_ij at n·(i + 1) + j; the table the
        dynamics index (:func:`~.dynamics.cost_index`)."""
        return _frozen(np.concatenate([self.first_costs, self.costs.ravel()]))


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array
