"""Parameters of LimitOrMarket: sell a child order of N lots within K steps, by limit or market orders.

Units: prices in ticks from the arrival mid S_0 (one tick is ``tick_bps``
basis points of S_0), sizes in lots, time in steps.

* **The book.** The bid–ask spread is ``spread_ticks`` wide; h = spread/2 is
  the half spread. A sell limit order at depth d (ticks behind the best ask,
  d = 0 at the touch) rests at the price S + h + d. A market sell order of m
  lots hits the bid S − h for the first B lots (``book_lots``), the next level
  S − h − 1 for the next B, and so on: it pays w(m) = Σ_{j<m} ⌊j/B⌋ ticks
  beyond the half spread in total (w = 0 with ``book_lots=None``, an
  unlimited bid). The book refills every step; a market order does not move
  the mid.
* **The mid.** A random walk on the tick grid: per step it moves up one tick
  with probability (π + μ)/2 and down one with probability (π − μ)/2
  (π = ``move_probability``, μ = ``drift``, ticks per step, |μ| <= π).
* **Fills.** Each lot of a resting limit order fills within the step,
  independently of the other lots, with probability p(d): p_0·e^{−κ·d}
  (``touch_fill_probability`` p_0, ``fill_decay`` κ per tick), or a table
  ``fill_probabilities`` of the L + 1 depths. **Adverse selection**
  (``adverse_selection`` a in [0, 1]): given the step's price move ΔS in
  {−1, 0, +1} the fill probability is p(d)·(1 + a·ΔS), so a sell order fills
  more often when the price moves up through it (the fill was cheap) and less
  when it moves away (the lots left behind are now worth less). It needs
  p(0)·(1 + a) <= 1; the unconditional probability is p(d)·(1 + a·μ).

The default order: 20 lots in 10 steps, limit orders at 0..4 ticks, a
one-tick spread of 2 bps (a 50-currency stock with a 0.01 tick),
p(d) = 0.2·e^{−0.5·d}, a mid that moves one tick in half the steps, adverse
selection 0.5, four lots per price level of the bid, and market orders for
half or all of what is left. Its optimum improves on the arrival mid by
1.62 bps; resting one tick deep until the deadline gets 1.35, at the touch
0.33, and one market order −5.0.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cached_property

import numpy as np

from execgym.validation import params_from_kwargs, require_int, require_real, set_field

MAX_LOTS = 1000
MAX_DEADLINE = 10_000
MAX_DEPTH = 100
TICK_BPS = (1e-6, 1e4)
"""Range of one tick, bps of the arrival mid: from 10⁻¹⁰ of the price to the whole price."""
MAX_MARKET_ORDERS = 100
MAX_FILL_DECAY = 1e3
"""Largest κ, per tick: beyond it no order behind the touch ever fills (e^{−1000} underflows)."""
EXPONENTIAL_FILLS = ("touch_fill_probability", "fill_decay")


@dataclass(frozen=True)
class LimitOrMarketParams:
    """A child order to sell and the market it meets (module docstring). Frozen; validated on construction."""

    lots: int = 20
    """N: the child order, lots to sell (1 to 1000)."""
    deadline: int = 10
    """K: decision steps before the deadline (>= 1); what is left after step K is sold by a market order."""
    max_depth: int = 4
    """L: the deepest limit order, ticks behind the touch (0 to 100); limit orders rest at d = 0..L."""
    tick_bps: float = 2.0
    """One tick in bps of the arrival mid S_0, in :data:`TICK_BPS` = [10⁻⁶, 10⁴]."""
    spread_ticks: int = 1
    """The bid–ask spread, ticks (>= 1); the half spread h = spread/2 is what a market order pays."""
    book_lots: int | None = 4
    """B: lots at each price level of the bid a market order walks (1 to 1000: a level of 1000 lots or more
    absorbs any order, as None does); None: the bid absorbs any size."""
    market_fractions: tuple[float, ...] = (0.5, 1.0)
    """Market orders offered: each sells ⌈f·n⌉ of the n lots left (f in (0, 1], distinct, increasing; 1 to 100
    of them: :data:`MAX_MARKET_ORDERS`)."""
    touch_fill_probability: float = 0.2
    """p_0 in [0, 1]: a lot at the touch (d = 0) fills within a step with this probability (no adverse move)."""
    fill_decay: float = 0.5
    """κ, per tick, in [0, 1000] (:data:`MAX_FILL_DECAY`): p(d) = p_0·e^{−κ·d}."""
    fill_probabilities: tuple[float, ...] | None = None
    """A table of p(d) for d = 0..L (each in [0, 1], non-increasing), replacing p_0·e^{−κ·d}: leave
    ``touch_fill_probability`` and ``fill_decay`` at their defaults when giving it."""
    move_probability: float = 0.5
    """π in [0, 1]: the mid moves one tick in a step with this probability."""
    drift: float = 0.0
    """μ, ticks per step, |μ| <= π: the mean move; up with probability (π + μ)/2, down with (π − μ)/2."""
    adverse_selection: float = 0.5
    """a in [0, 1]: a limit order's fill probability given the move ΔS is p(d)·(1 + a·ΔS)."""

    def __post_init__(self) -> None:
        set_field(self, "lots", require_int("lots", self.lots, low=1, high=MAX_LOTS))
        set_field(self, "deadline", require_int("deadline", self.deadline, low=1, high=MAX_DEADLINE))
        set_field(self, "max_depth", require_int("max_depth", self.max_depth, low=0, high=MAX_DEPTH))
        set_field(self, "tick_bps", require_real("tick_bps", self.tick_bps, low=TICK_BPS[0], high=TICK_BPS[1]))
        set_field(self, "spread_ticks", require_int("spread_ticks", self.spread_ticks, low=1, high=MAX_DEPTH))
        if self.book_lots is not None:
            set_field(self, "book_lots", require_int("book_lots", self.book_lots, low=1, high=MAX_LOTS))
        set_field(self, "market_fractions", self._checked_fractions())
        set_field(self, "touch_fill_probability",
                  require_real("touch_fill_probability", self.touch_fill_probability, low=0.0, high=1.0))
        set_field(self, "fill_decay", require_real("fill_decay", self.fill_decay, low=0.0, high=MAX_FILL_DECAY))
        if self.fill_probabilities is not None:
            set_field(self, "fill_probabilities", self._checked_table())
        set_field(self, "move_probability", require_real("move_probability", self.move_probability, low=0.0, high=1.0))
        pi = self.move_probability
        set_field(self, "drift",
                  require_real(f"drift (|drift| <= move_probability = {pi:g})", self.drift, low=-pi, high=pi))
        set_field(self, "adverse_selection",
                  require_real("adverse_selection", self.adverse_selection, low=0.0, high=1.0))
        top = float(self.depth_fill_probabilities[0]) * (1.0 + self.adverse_selection)
        if top > 1.0 + 1e-12:
            raise ValueError(f"the fill probability at the touch after an adverse move, p(0)·(1 + adverse_selection)"
                             f" = {self.depth_fill_probabilities[0]:g}·{1 + self.adverse_selection:g} = {top:g}, "
                             "must be <= 1: lower touch_fill_probability (or the table's first entry) or "
                             "adverse_selection")

    def _checked_fractions(self) -> tuple[float, ...]:
        try:
            items = tuple(self.market_fractions)
        except TypeError:
            raise ValueError(f"market_fractions must be a sequence of fractions in (0, 1], got "
                             f"{self.market_fractions!r}") from None
        if isinstance(self.market_fractions, (str, bytes)) or not 1 <= len(items) <= MAX_MARKET_ORDERS:
            raise ValueError(f"market_fractions must offer at least one market order and at most "
                             f"{MAX_MARKET_ORDERS} (fractions in (0, 1], e.g. (1.0,)), got {self.market_fractions!r}")
        checked = tuple(require_real(f"market_fractions[{i}]", f, low=0.0, high=1.0, low_open=True)
                        for i, f in enumerate(items))
        if any(b <= a for a, b in zip(checked, checked[1:])):
            raise ValueError(f"market_fractions must be strictly increasing, got {checked}")
        return checked

    def _checked_table(self) -> tuple[float, ...]:
        changed = [f.name for f in fields(self) if f.name in EXPONENTIAL_FILLS and getattr(self, f.name) != f.default]
        if changed:
            raise ValueError(f"fill_probabilities replaces p_0·e^{{−κ·d}}: leave {', '.join(changed)} at the "
                             "default")
        try:
            items = tuple(self.fill_probabilities)
        except TypeError:
            raise ValueError(f"fill_probabilities must be a sequence of max_depth + 1 = {self.max_depth + 1} "
                             f"probabilities, got {self.fill_probabilities!r}") from None
        if len(items) != self.max_depth + 1:
            raise ValueError(f"fill_probabilities must have one entry per depth 0..max_depth, {self.max_depth + 1} "
                             f"in all, got {len(items)}")
        table = tuple(require_real(f"fill_probabilities[{d}]", p, low=0.0, high=1.0) for d, p in enumerate(items))
        if any(b > a for a, b in zip(table, table[1:])):
            raise ValueError(f"fill_probabilities must be non-increasing in the depth (a deeper order fills less "
                             f"often), got {table}")
        return table

    @classmethod
    def from_kwargs(cls, params: "LimitOrMarketParams | None" = None, **kwargs) -> "LimitOrMarketParams":
        """``params`` as given, or built from keyword arguments; unknown names raise."""
        return params_from_kwargs(cls, params, kwargs, "LimitOrMarket")

    @property
    def half_spread(self) -> float:
        """h = spread/2, ticks."""
        return 0.5 * self.spread_ticks

    @property
    def depths(self) -> int:
        """L + 1: the limit orders offered (depths 0..L)."""
        return self.max_depth + 1

    @cached_property
    def num_actions(self) -> int:
        """L + 1 + F: limit orders at depths 0..L, then the F market orders (computed once: the scalar env checks
        every action against it)."""
        return self.depths + len(self.market_fractions)

    @cached_property
    def depth_fill_probabilities(self) -> np.ndarray:
        """p(d), d = 0..L (L + 1,): the table, or p_0·e^{−κ·d}."""
        if self.fill_probabilities is not None:
            return _frozen(np.array(self.fill_probabilities))
        return _frozen(self.touch_fill_probability * np.exp(-self.fill_decay * np.arange(self.depths)))

    @property
    def move_probabilities(self) -> np.ndarray:
        """(3,) P(ΔS = −1), P(ΔS = 0), P(ΔS = +1)."""
        pi, mu = self.move_probability, self.drift
        return np.array([(pi - mu) / 2, 1.0 - pi, (pi + mu) / 2])

    def conditional_fill_probabilities(self, move) -> np.ndarray:
        """p(d)·(1 + a·ΔS) for moves ``move`` (any shape, in {−1, 0, 1}): shape (*move.shape, L + 1)."""
        move = np.asarray(move, dtype=np.float64)[..., None]
        return self.depth_fill_probabilities * (1.0 + self.adverse_selection * move)

    def market_lots(self, lots_left) -> np.ndarray:
        """(*lots_left.shape, F): the lots ⌈f·n⌉ each market order sells from n = ``lots_left`` (>= 1)."""
        lots_left = np.asarray(lots_left, dtype=np.int64)[..., None]
        fractions = np.array(self.market_fractions)
        # ⌈f·n⌉ with a guard against f·n landing a rounding error above a whole number
        return np.minimum(np.ceil(fractions * lots_left - 1e-9).astype(np.int64), lots_left)

    def walk_ticks(self, lots) -> np.ndarray:
        """w(m) = Σ_{j<m} ⌊j/B⌋: the ticks beyond the half spread that a market order of m = ``lots`` pays in
        total (0 with ``book_lots=None``)."""
        lots = np.asarray(lots, dtype=np.int64)
        if self.book_lots is None:
            return np.zeros(lots.shape)
        full, rest = np.divmod(lots, self.book_lots)
        return (self.book_lots * full * (full - 1) / 2 + rest * full).astype(np.float64)

    @property
    def lot_bps(self) -> float:
        """bps of the order's arrival value per (lot · tick): tick_bps/N. Σ reward is the order's average price
        improvement in bps, so one lot sold one tick above S_0 adds tick_bps/N."""
        return self.tick_bps / self.lots


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array

