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
trade j is bit j mod 56 of word j // 56 (:func:`done_word`). A word holds
7 whole bytes (plain Python writes the observation's flags a byte per lookup,
:func:`write_flags`) and never sets the sign bit of int64, so the scalar env's
Python ints are the same numbers as a table's int64 columns. Five words hold
the 256 trades the params allow.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np
from numba.extending import overload, register_jitable

from execgym.engine import Dynamics
from execgym.noise import episode_normals, standard_normals
from execgym.problems.basket_sequence.params import MAX_TRADES, BasketSequenceParams
from execgym.records import Lookup, row
from execgym.validation import INTEGER_KINDS, action_array

WORD = 56
"""Trades per word of the done set: bits 0..55 of an int64, 7 whole bytes."""
WORDS = 5
"""Words of the done set: ⌈256/56⌉, enough for :data:`~.params.MAX_TRADES` trades."""
assert WORDS * WORD >= MAX_TRADES
FLAGS = np.zeros((256, 16), dtype=np.float32)
"""(256, 16) float32: row b holds the bits of the byte b, lowest first (the done flags of 8 trades), then 8
zeros (:func:`write_flags`)."""
FLAGS[:, :8] = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1, bitorder="little")
NOT_DONE_OF_SIZE = [np.ascontiguousarray(FLAGS[:, :n] == 0.0) for n in range(9)]
"""For n = 0..8, (256, n) bool: row b is True where byte b's bit is clear (the action mask of n trades;
:func:`action_masks` indexes one row)."""


class Variant(NamedTuple):
    """Which model variants the params turn on: compile-time constants of the compiled loop, so the other
    variants' branches are compiled out."""

    noisy: bool   # σ > 0: a cost shock per trade


class Market(NamedTuple):
    """The params' numbers as the trade reads them, and the cost table (a tuple for plain Python, a float64
    array for compiled code)."""

    trades: int         # n
    cost_noise: float   # σ, bps of W
    table: Lookup       # (a, d row by row) (n + n²,), bps of W: params.cost_table, indexed by cost_index


class State(NamedTuple):
    """One episode's state after ``elapsed`` trades."""

    elapsed: int     # trades done, |D|, 0..n
    left: int        # trades still to do, n − |D|
    last: int        # ℓ: the last trade done, −1 before the first
    cost: float      # expected cost of the trades done (noise excluded), bps of W
    done: int        # D: bit j set when trade j is done, trades 0..55
    done_56: int     # bit j − 56 for trades 56..111
    done_112: int    # bit j − 112 for trades 112..167
    done_168: int    # bit j − 168 for trades 168..223
    done_224: int    # bit j − 224 for trades 224..255


class Report(NamedTuple):
    """What a trade reports beside the state."""

    trade_cost: float        # expected cost of the trade, a_j or d_ℓj, bps of W (noise excluded)
    expected_reward: float   # E[reward | state, action] = −trade_cost


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
    """Word ``w`` (0..4) of the done set: bit k set when trade 56·w + k is done."""
    if w == 0:
        return state.done
    if w == 1:
        return state.done_56
    if w == 2:
        return state.done_112
    if w == 3:
        return state.done_168
    return state.done_224


@register_jitable(inline="always")
def is_done(state: State, j: int) -> bool:
    """True when trade j is in the done set."""
    w = j // WORD
    return (done_word(state, w) >> (j - w * WORD)) & 1 == 1


@register_jitable(inline="always")
def initial_state(v: Variant, market: Market, key) -> State:
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
                       state.done_56 | bit if w == 1 else state.done_56,
                       state.done_112 | bit if w == 2 else state.done_112,
                       state.done_168 | bit if w == 3 else state.done_168,
                       state.done_224 | bit if w == 4 else state.done_224)
    return next_state, reward, Report(cost, -cost)


@register_jitable(inline="always")
def finished(market: Market, state: State) -> bool:
    """True after the n-th trade."""
    return state.left <= 0


@register_jitable(inline="always")
def write_observation(v: Variant, market: Market, state: State, out, row: int) -> None:
    """The observation into row ``row`` of ``out`` (float32, 2n entries): [done flag of each trade (n),
    one-hot of the last trade (n; all 0 before the first)]."""
    n = market.trades
    if n <= WORD:     # one word (the usual case, spelled out: plain Python pays for the loop)
        write_flags(out, row, 0, state.done, n, n)
    else:
        words = (n + WORD - 1) // WORD
        for w in range(words):
            first = w * WORD
            write_flags(out, row, first, done_word(state, w), min(WORD, n - first), n if w == words - 1 else 0)
    if state.last >= 0:
        out[row, n + state.last] = 1.0


def write_flags(out, row: int, first: int, bits: int, size: int, zeros: int) -> None:
    """out[row, first + k] = bit k of ``bits`` (0 or 1) for k < ``size``, then ``zeros`` zeros after them;
    ``bits`` has no bit set from ``size`` on. Plain Python writes up to 8 flags and 8 zeros per lookup in
    :data:`FLAGS`; compiled code (the overload below) loops over the entries: each the faster form where it
    runs."""
    if size <= 8 and zeros <= 8:
        out[row, first:first + size + zeros] = FLAGS[bits, :size + zeros]
        return
    for k in range(0, size, 8):
        out[row, first + k:first + min(k + 8, size)] = FLAGS[(bits >> k) & 255, :min(8, size - k)]
    out[row, first + size:first + size + zeros] = 0.0


@overload(write_flags, inline="always")
def _write_flags(out, row, first, bits, size, zeros):
    def loop(out, row, first, bits, size, zeros):
        for k in range(size):
            out[row, first + k] = (bits >> k) & 1
        for k in range(first + size, first + size + zeros):
            out[row, k] = 0.0
    return loop


def cost_shocks(v: Variant, keys: np.ndarray, elapsed: np.ndarray) -> np.ndarray:
    """ξ_t of the next trade, t = elapsed + 1, of every episode: a function of (noise key, t) only; zeros
    without noise (σ = 0), where :func:`advance` does not read them."""
    if not v.noisy:
        return np.zeros(keys.shape[0])
    return standard_normals(keys, elapsed + 1)


def episode_shocks(v: Variant, market: Market, key) -> list[float]:
    """ξ_1, ..., ξ_n of the episode with noise key ``key`` (ξ_t at index t − 1), the draws of
    :func:`cost_shocks`: the scalar env draws them at reset (:func:`~execgym.noise.episode_normals`). Without
    noise, zeros, nothing drawn."""
    n = market.trades
    if not v.noisy:
        return [0.0] * n
    return episode_normals(key, 1, n, 0, 1).tolist()


DYNAMICS = Dynamics(
    State=State, Report=Report, variant=variant, market=market, scalar_market=scalar_market,
    initial_state=initial_state, advance=advance, finished=finished, write_observation=write_observation,
    noise=cost_shocks, episode_noise=episode_shocks, observation_size=lambda params: 2 * params.trades)


def action_masks(state: State) -> np.ndarray:
    """The trades not yet done (all False once the episode is over): (n,) bool of a state record, (b, n) of a
    table (n = elapsed + left, the same in every row of a table)."""
    n = state.elapsed + state.left
    if type(n) is int and n <= 8:    # one lookup (a row of NOT_DONE_OF_SIZE[n], copied)
        return NOT_DONE_OF_SIZE[n][state.done].copy()
    if type(n) is not int:
        n = int(n[0]) if n.size else 0
    masks = np.empty((np.size(state.done), n), dtype=np.bool_)
    for w in range((n + WORD - 1) // WORD):
        _clear_bits(np.atleast_1d(done_word(state, w)), masks[:, w * WORD:(w + 1) * WORD])
    return masks.reshape(*np.shape(state.done), n)


@numba.njit(cache=True)
def _clear_bits(words, out):
    """out[i, k] = True where bit k of words[i] is clear (k < out.shape[1] <= 56)."""
    for i in range(words.size):
        bits = words[i]
        for k in range(out.shape[1]):
            out[i, k] = (bits >> k) & 1 == 0


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
    if type(trades) is int:
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
