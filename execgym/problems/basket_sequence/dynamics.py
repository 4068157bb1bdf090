"""Dynamics of BasketSequence: one trade of one episode.

State per episode (:class:`State`): the set D of trades done, the last trade ℓ
(−1 before the first) and the expected cost so far. Choosing trade j ∉ D::

    cost   = a_j if ℓ = −1 else d_{ℓ j}               expected cost of the trade, bps of W
    reward = −(cost + σ·ξ_t),   ξ_t = standard_normals(key, t)   t = |D| + 1, the trade's number
    D' = D ∪ {j},  ℓ' = j;  the episode ends when |D'| = n.

The noise ξ_t depends on the episode key and the step number only, never on
the actions, so every policy on a seed draws the same ξ_1..ξ_n: E[Σ reward] =
−E[C(order)], and two policies' returns on a seed differ by exactly their cost
difference.

The trade is written once, for one episode, in plain Python on floats and
ints (:func:`advance` on a :class:`State` in a :class:`Market`, the cost read
from the cost table ``params.cost_table`` at :func:`cost_index`); the scalar env
runs it as it is and the engine (:mod:`execgym.engine`) compiles it over a
batch, each slot with its own market or all sharing one, so the two give the
same bits.

D is a bit set kept in integer fields of the state (a record of scalars):
trade j is bit j mod 63 of word j // 63 (:func:`done_word`), 63 bits per
word so that no word ever sets the sign bit of int64 and the scalar env's
Python ints are the same numbers as a table's int64 columns. Five words hold
the 256 trades the params allow.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np
from numba.extending import register_jitable

from execgym.engine import Dynamics
from execgym.noise import standard_normals
from execgym.problems.basket_sequence.params import MAX_TRADES, BasketSequenceParams
from execgym.records import row
from execgym.validation import INTEGER_KINDS, action_array

WORD = 63
"""Trades per word of the done set (bits 0..62 of an int64)."""
WORDS = 5
"""Words of the done set: ⌈256/63⌉, enough for :data:`~.params.MAX_TRADES` trades."""
assert WORDS * WORD >= MAX_TRADES
BITS = np.int64(1) << np.arange(WORD, dtype=np.int64)
"""2^k for k = 0..62: the bit of each trade within its word."""


class Variant(NamedTuple):
    """Which model variants the params turn on: compile-time constants of the compiled loop, so the other
    variants' branches are compiled out."""

    noisy: bool   # σ > 0: a cost shock per trade


class Market(NamedTuple):
    """The params' numbers as the trade reads them, and the cost table (a tuple for plain Python, a float64
    array for compiled code)."""

    trades: int         # n
    cost_noise: float   # σ, bps of W
    table: tuple        # (a, d row by row) (n + n²,), bps of W: params.cost_table, indexed by cost_index


class State(NamedTuple):
    """One episode's state after ``elapsed`` trades."""

    elapsed: int     # trades done, |D|, 0..n
    left: int        # trades still to do, n − |D|
    last: int        # ℓ: the last trade done, −1 before the first
    cost: float      # expected cost of the trades done (noise excluded), bps of W
    done: int        # D: bit j set when trade j is done, trades 0..62
    done_63: int     # bit j − 63 for trades 63..125
    done_126: int    # bit j − 126 for trades 126..188
    done_189: int    # bit j − 189 for trades 189..251
    done_252: int    # bit j − 252 for trades 252..255


class Report(NamedTuple):
    """What a trade reports beside the state."""

    trade_cost: float   # expected cost of the trade, a_j or d_ℓj, bps of W (noise excluded)


def variant(params: BasketSequenceParams) -> Variant:
    """The :class:`Variant` flags of ``params``."""
    return Variant(noisy=params.cost_noise > 0.0)


def market(params: BasketSequenceParams) -> Market:
    """The :class:`Market` of ``params`` as compiled code reads it (the cost table as the params' float64
    array). Not cached: the table is the params' own (cached) array, and hashing the params of a large basket
    (every cost matrix entry) would cost far more than this."""
    return Market(trades=params.trades, cost_noise=params.cost_noise, table=params.cost_table)


def scalar_market(params: BasketSequenceParams) -> Market:
    """The :class:`Market` of ``params`` as plain Python reads it fastest (the cost table as a tuple of
    floats)."""
    return Market(trades=params.trades, cost_noise=params.cost_noise, table=tuple(params.cost_table.tolist()))


@register_jitable(inline="always")
def cost_index(market: Market, last: int, j: int) -> int:
    """Where the cost of trade j right after trade ``last`` (−1: j goes first) sits in the cost table
    (``params.cost_table``): a_j at j, d_{last j} at n·(last + 1) + j."""
    return j if last < 0 else market.trades * (last + 1) + j


@register_jitable(inline="always")
def done_word(state: State, w: int) -> int:
    """Word ``w`` (0..4) of the done set: bit k set when trade 63·w + k is done."""
    if w == 0:
        return state.done
    if w == 1:
        return state.done_63
    if w == 2:
        return state.done_126
    if w == 3:
        return state.done_189
    return state.done_252


@register_jitable(inline="always")
def is_done(state: State, j: int) -> bool:
    """True when trade j is in the done set."""
    w = j // WORD
    return (done_word(state, w) >> (j - w * WORD)) & 1 == 1


@register_jitable(inline="always")
def initial_state(market: Market) -> State:
    """Nothing traded yet."""
    return State(0, market.trades, -1, 0.0, 0, 0, 0, 0, 0)


@register_jitable(inline="always")
def advance(v: Variant, market: Market, state: State, j: int, shock: float):
    """Trade j (not done) from ``state`` with cost shock ξ = ``shock`` (read only with noise; module
    docstring). Returns (next state, reward −(cost + σ·ξ) in bps of W, :class:`Report`)."""
    cost = market.table[cost_index(market, state.last, j)]
    reward = -cost
    if v.noisy:
        reward -= market.cost_noise * shock
    w = j // WORD
    bit = 1 << (j - w * WORD)
    next_state = State(state.elapsed + 1, state.left - 1, j, state.cost + cost,
                       state.done | bit if w == 0 else state.done,
                       state.done_63 | bit if w == 1 else state.done_63,
                       state.done_126 | bit if w == 2 else state.done_126,
                       state.done_189 | bit if w == 3 else state.done_189,
                       state.done_252 | bit if w == 4 else state.done_252)
    return next_state, reward, Report(cost)


@register_jitable(inline="always")
def finished(market: Market, state: State) -> bool:
    """True after the n-th trade."""
    return state.left <= 0


@register_jitable(inline="always")
def write_observation(v: Variant, market: Market, state: State, out, row: int) -> None:
    """The observation into row ``row`` of ``out`` (float32, 2n entries): [done flag of each trade (n),
    one-hot of the last trade (n; all 0 before the first)]."""
    n = market.trades
    for w in range((n + WORD - 1) // WORD):
        bits = done_word(state, w)
        first = w * WORD
        for j in range(first, min(n, first + WORD)):
            out[row, j] = (bits >> (j - first)) & 1
    for j in range(n, 2 * n):
        out[row, j] = 0.0
    if state.last >= 0:
        out[row, n + state.last] = 1.0


def cost_shocks(v: Variant, keys: np.ndarray, elapsed: np.ndarray) -> np.ndarray:
    """ξ_t of the next trade, t = elapsed + 1, of every episode: a function of (noise key, t) only; zeros
    without noise (σ = 0), where :func:`advance` does not read them."""
    if not v.noisy:
        return np.zeros(keys.shape[0])
    return standard_normals(keys, elapsed + 1)


def episode_shocks(v: Variant, market: Market, key) -> list[float]:
    """ξ_1, ..., ξ_n of the episode with noise key ``key`` (ξ_t at index t − 1): the scalar env draws them
    at reset. Without noise, zeros, nothing drawn."""
    n = market.trades
    if not v.noisy:
        return [0.0] * n
    return standard_normals(np.full(n, key, dtype=np.uint64), np.arange(1, n + 1)).tolist()


DYNAMICS = Dynamics(
    State=State, Report=Report, variant=variant, market=market, scalar_market=scalar_market,
    initial_state=initial_state, advance=advance, finished=finished, write_observation=write_observation,
    noise=cost_shocks, episode_noise=episode_shocks, observation_size=lambda params: 2 * params.trades)


def action_masks(state: State) -> np.ndarray:
    """The trades not yet done (all False once the episode is over): (n,) bool of a state record, (b, n) of a
    table (n = elapsed + left, the same in every row of a table)."""
    elapsed, left = np.asarray(state.elapsed), np.asarray(state.left)
    n = int(elapsed.flat[0] + left.flat[0]) if elapsed.size else 0
    words = [np.asarray(done_word(state, w))[..., None] & BITS for w in range((n + WORD - 1) // WORD)]
    done = words[0] if len(words) == 1 else np.concatenate(words, axis=-1)
    return done[..., :n] == 0


def trades_of(params: BasketSequenceParams, actions, n: int | None):
    """The trades ``actions`` ask for: one action when ``n`` is None (an int back), else ``n`` actions of
    shape (n,) (an int64 array back); ValueError for anything but integers in 0..trades − 1 of that shape.
    Whether a trade is already done is the state's to say (:func:`check_trades`)."""
    trades = params.trades
    if n is None and type(actions) is int and 0 <= actions < trades:
        return actions
    count = 1 if n is None else n
    actions = action_array(actions, f"Discrete({trades})", INTEGER_KINDS)
    if actions.size != count or actions.ndim > 1:
        raise ValueError(f"action must be {'an integer' if count == 1 else f'{count} integers (shape ({count},))'} "
                         f"in 0..{trades - 1}, got {actions!r}")
    actions = actions.reshape(count).astype(np.int64)
    if (actions < 0).any() or (actions >= trades).any():
        raise ValueError(f"action must be a trade in 0..{trades - 1} (trades - 1), got "
                         f"{actions.min()}..{actions.max()}")
    return int(actions[0]) if n is None else actions


def check_trades(state: State, trades) -> None:
    """ValueError naming the slot, the trade and the trades allowed unless no trade of ``trades`` (an int for
    a state record, (b,) int64 for a table) is already done."""
    if isinstance(trades, int):
        if not is_done(state, trades):
            return
        trade, allowed, where = trades, action_masks(state), ""
    else:
        slot = _first_done(state, trades)
        if slot < 0:
            return
        trade, allowed = int(trades[slot]), action_masks(state)[slot]
        where = f" in slot {slot}" if trades.size > 1 else ""
    raise ValueError(f"action {trade}{where} is masked: trade {trade} is already done; allowed: "
                     f"{np.flatnonzero(allowed).tolist()} (info['action_mask'], env.action_masks())")


@numba.njit(cache=True)
def _first_done(state, trades):
    """The first row of the state table ``state`` whose trade is already done, −1 if none."""
    for i in range(trades.size):
        if is_done(row(state, i), trades[i]):
            return i
    return -1


def decode(params: BasketSequenceParams, observations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(done flags (b, n) bool, last trade (b,) int64, −1 for none) from a batch of observations."""
    n = params.trades
    observations = np.asarray(observations)
    if observations.ndim != 2 or observations.shape[1] != 2 * n:
        raise ValueError(f"observations must have shape (batch, 2n) = (batch, {2 * n}), got {observations.shape}")
    one_hot = observations[:, n:] > 0.5
    return observations[:, :n] > 0.5, np.where(one_hot.any(axis=1), one_hot.argmax(axis=1), -1)


def observation_masks(params: BasketSequenceParams, observations: np.ndarray) -> np.ndarray:
    """(b, n) bool from observations: the trades not yet done, the same as :func:`action_masks` of the state."""
    done, _ = decode(params, observations)
    return ~done
