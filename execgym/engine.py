"""The engine: a problem's step, written once for one episode, run by the scalar env as it is and compiled by
numba over a batch of slots, each slot with its own market or all sharing one.

A problem declares (:class:`Dynamics`):

* its **market**, a ``NamedTuple`` record of the numbers (and per-period
  sequences) its step reads, made from its params object;
* its **episode state**, a ``NamedTuple`` record whose first field is
  ``elapsed`` (steps done, which indexes the step's noise), and whose other
  fields are numbers or fixed-length vectors (per-asset holdings, say);
* its **step** ``advance(variant, market, state, control, noise) ->
  (state', reward, report)``, plain Python on floats marked
  ``register_jitable``; ``report`` is a ``NamedTuple`` of what the step tells
  beside the state (its info); with vectors in the state, ``advance`` takes
  a sixth argument, ``out`` (see below);
* ``initial_state(variant, market, key)`` (``key``: the episode's uint64
  noise key, for what an episode draws as it starts), ``finished(market,
  state)`` and ``write_observation(variant, market, state, out, row)``,
  likewise;
* ``variant(params)``, the model choices the compiled step takes as
  compile-time constants (its other branches compiled out), and the step's
  noise: ``noise(variant, keys, elapsed)`` for a batch and
  ``episode_noise(variant, market, key)`` for one whole episode (a list
  indexed by ``elapsed``).

From these the engine compiles, once per problem and variant, the loops over
a batch (:func:`loops`): slot i reads its market (the shared record, or row i
of the market table), its state row, its control and its noise, and writes its
next state, reward, report, whether it finished and its observation, in one
pass. A batch's states are a table of the state record (:mod:`execgym.records`);
its markets are one record shared by every slot or a table with a row per slot.

A state with vectors (:mod:`execgym.records`) is stepped without allocating:
``advance(variant, market, state, control, noise, out)`` writes the next
state's vectors into those of the record ``out`` and returns the next state
holding them. The compiled loop passes row i of the next table as ``out``
(views of that row, so the current table stays as it was); the scalar env
passes its state itself, so ``advance`` reads each entry of a vector before it
writes that entry.

The scalar env runs the same functions in plain Python on one state record
(whose vectors are lists of its own, :func:`execgym.records.owned`), so
the two give the same bits (the tests check it for every env, slot by slot,
across autoresets, with one market and with a market per slot).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Hashable

import numba
import numpy as np
from numba.extending import register_jitable

from execgym.noise import episode_keys
from execgym.records import (empty_like, empty_table, market_row, market_table, row, sequence_fields, set_row,
                             shared_market)


@dataclass(frozen=True, eq=False)
class Dynamics:
    """What the engine needs of a problem's step (module docstring). Functions marked "jitable" are plain
    Python that numba compiles (``register_jitable``)."""

    State: type
    """The episode state record (a ``NamedTuple``; first field ``elapsed``)."""
    Report: type
    """What a step reports beside the state (a ``NamedTuple``)."""
    variant: Callable[[Any], Hashable]
    """params -> the model choices, compile-time constants of the compiled loops."""
    market: Callable[[Any], tuple]
    """params -> the market record compiled code reads (sequences as float64 arrays)."""
    scalar_market: Callable[[Any], tuple]
    """params -> the same market as plain Python reads it fastest (sequences as tuples)."""
    initial_state: Callable
    """jitable (variant, market, key) -> the state at the start of the episode whose noise key is ``key``
    (uint64; read by problems whose episodes draw something as they start)."""
    advance: Callable
    """jitable (variant, market, state, control, noise) -> (state', reward, report); with vectors in the state,
    (variant, market, state, control, noise, out) -> the same, state' holding the vectors of ``out``, which it
    wrote (module docstring)."""
    finished: Callable
    """jitable (market, state) -> True once the episode is over."""
    write_observation: Callable
    """jitable (variant, market, state, out, row) -> None: the observation into row ``row`` of ``out``."""
    noise: Callable[[Hashable, np.ndarray, np.ndarray], np.ndarray]
    """(variant, noise keys (n,), elapsed (n,)) -> the step's noise per slot, (n,) or (n, d)."""
    episode_noise: Callable[[Hashable, tuple, int], list]
    """(variant, scalar market, noise key) -> the noise of every step of one episode (indexed by
    ``elapsed``)."""
    observation_size: Callable[[Any], int]
    """params -> the number of entries of an observation."""


@dataclass(frozen=True)
class Batch:
    """The slots of a vector env: their noise streams (uint64 (n,) each: the seed a stream started from,
    the episode number within it and that episode's noise key), their states (a table) and the observation
    of each state ((n, size) float32, written in the same compiled pass as the state by :func:`start` and
    :func:`step`; None in a batch built by hand, whose observations :func:`observe` computes). ``finite``:
    whether every observation and reward that pass wrote is finite (checked as it wrote them; the envs look
    for the culprit only when it is not)."""

    seed: np.ndarray
    episode: np.ndarray
    key: np.ndarray
    state: tuple
    observation: np.ndarray | None = None
    finite: bool = True

    def __len__(self) -> int:
        return self.seed.shape[0]


@dataclass(frozen=True)
class Transition:
    """One step of a batch: the new batch (whose ``finite`` covers the rewards too), rewards (n,), which slots
    finished (n,) and the reports (a table)."""

    batch: Batch
    reward: np.ndarray
    terminated: np.ndarray
    report: tuple


@dataclass(frozen=True)
class Markets:
    """The markets of a batch's slots: ``params`` per slot (a tuple), their model ``variant`` (one for all)
    and the form compiled code reads (one record when every slot has the same market, else a table with a
    row per slot). ``features``: None, or float32 (n, F) appended to each slot's observation (the market's
    normalised features, :mod:`execgym.distributions`)."""

    params: tuple
    variant: Hashable
    compiled: tuple
    features: np.ndarray | None = None

    @property
    def per_slot(self) -> bool:
        """True when ``compiled`` is a table with a row per slot, False when it is one record."""
        return isinstance(self.compiled[0], np.ndarray)

    @classmethod
    def of(cls, dynamics: Dynamics, params: tuple) -> "Markets":
        """The markets ``params`` (one params object per slot, all of one variant) of a problem."""
        first = params[0]
        if all(p is first or p == first for p in params):
            return cls(params=params, variant=dynamics.variant(first), compiled=dynamics.market(first))
        return cls(params=params, variant=dynamics.variant(first),
                   compiled=market_table([dynamics.market(p) for p in params]))


def _markets(dynamics: Dynamics, markets) -> Markets:
    """``markets`` as :class:`Markets`: itself, or one params object for every slot."""
    return markets if isinstance(markets, Markets) else Markets.of(dynamics, (markets,))


_LOOPS = """
def restart(market, state, keys, slots, observation):
    {shared}
    for i in slots:
        {per_slot_market}
        fresh = initial_state(variant, m, keys[i])
        set_row(state, i, fresh)
        write_observation(variant, m, fresh, observation, i)
    return all_finite(observation)

def step(market, state, controls, noise, new_state, reward, report, done, observation):
    {shared}
    for i in range(reward.size):
        {per_slot_market}
        next_state, reward[i], told = advance(variant, m, row(state, i), controls[i], noise[i]{out})
        set_row(new_state, i, next_state)
        set_row(report, i, told)
        done[i] = finished(m, next_state)
        write_observation(variant, m, next_state, observation, i)
    return all_finite(reward) and all_finite(observation)

def observe(market, state, observation):
    {shared}
    for i in range(observation.shape[0]):
        {per_slot_market}
        write_observation(variant, m, row(state, i), observation, i)
"""
"""The loops over a batch, slot by slot. ``m`` is slot i's market: the shared record, bound once before the
loop (:func:`~execgym.records.shared_market`), or row i of the market table
(:func:`~execgym.records.market_row`). Either way its sequences are borrowed views: a sequence that holds a
reference costs reference counting for every slot that reads it (LimitOrMarket-v0's compiled step: 33 ns per
slot with the shared record's own arrays, 20 ns borrowed). With vectors in the state, ``advance`` writes the
next ones into row i of the next table (``out``)."""


@register_jitable
def all_finite(values) -> bool:
    """True when every entry of ``values`` (a C-contiguous float array) is finite: x − x is 0 for a finite x
    and NaN for an infinite or NaN one, tested without a branch, so the pass compiles to vector instructions
    (0.1 ns an entry; ``np.isfinite(values).all()`` takes twice as long and allocates)."""
    flat = values.reshape(values.size)
    finite = True
    for j in range(flat.size):
        finite &= flat[j] - flat[j] == 0.0
    return finite


@lru_cache(maxsize=None)
def loops(dynamics: Dynamics, variant: Hashable, per_slot: bool) -> tuple[Callable, Callable, Callable]:
    """(restart, step, observe): the problem's functions compiled over a batch for ``variant`` (one
    compilation each, about a second, per problem, variant, market form and process), for markets given as
    one record shared by every slot (``per_slot`` False) or as a table with a row per slot (True); restart and
    step write each slot's observation in the same pass as its state (:data:`_LOOPS`)::

        restart(market, state, keys, slots, observation)    initial states (noise keys ``keys``) into rows ``slots``
        step(market, state, controls, noise, new_state, reward, report, done, observation)
        observe(market, state, observation)                 the observation of every row of a state table
    """
    source = _LOOPS.format(shared="pass" if per_slot else "m = shared_market(market)",
                           per_slot_market="m = market_row(market, i)" if per_slot else "pass",
                           out=", row(new_state, i)" if sequence_fields(dynamics.State) else "")
    namespace = dict(variant=variant, advance=dynamics.advance, finished=dynamics.finished,
                     initial_state=dynamics.initial_state, write_observation=dynamics.write_observation,
                     row=row, market_row=market_row, shared_market=shared_market, set_row=set_row,
                     all_finite=all_finite)
    exec(source, namespace)
    return tuple(numba.njit(namespace[name]) for name in ("restart", "step", "observe"))


def _loops_of(dynamics: Dynamics, markets: Markets) -> tuple[Callable, Callable, Callable]:
    """:func:`loops` for the variant and form (one shared record or a table) of ``markets``."""
    return loops(dynamics, markets.variant, markets.per_slot)


def start(dynamics: Dynamics, markets, seeds: np.ndarray, episodes: np.ndarray) -> Batch:
    """Fresh episodes number ``episodes`` of the streams ``seeds`` (uint64 (n,)) in ``markets`` (a params
    object for every slot, or :class:`Markets`)."""
    markets = _markets(dynamics, markets)
    seeds, episodes = np.asarray(seeds, dtype=np.uint64), np.asarray(episodes, dtype=np.uint64)
    n, keys = seeds.shape[0], episode_keys(seeds, episodes)
    # an initial state gives the shapes of the state's vectors
    example = dynamics.initial_state(markets.variant, dynamics.scalar_market(markets.params[0]), keys[0])
    state, observation = empty_table(dynamics.State, n, example), _observations(dynamics, markets, n)
    finite = _loops_of(dynamics, markets)[0](markets.compiled, state, keys, np.arange(n), observation)
    return Batch(seed=seeds, episode=episodes, key=keys, state=state, observation=observation, finite=finite)


def step(dynamics: Dynamics, markets, batch: Batch, controls: np.ndarray) -> Transition:
    """Every slot of ``batch`` (none finished) advanced by one step under ``controls`` (n, ...) in ``markets``
    (a params object for every slot, or :class:`Markets`)."""
    markets = _markets(dynamics, markets)
    n = len(batch)
    new_state, report = empty_like(batch.state), empty_table(dynamics.Report, n)
    reward, done, observation = np.empty(n), np.empty(n, dtype=np.bool_), _observations(dynamics, markets, n)
    noise = dynamics.noise(markets.variant, batch.key, batch.state[0])
    finite = _loops_of(dynamics, markets)[1](markets.compiled, batch.state, np.ascontiguousarray(controls), noise,
                                             new_state, reward, report, done, observation)
    return Transition(batch=Batch(seed=batch.seed, episode=batch.episode, key=batch.key, state=new_state,
                                  observation=observation, finite=finite),
                      reward=reward, terminated=done, report=report)


def observe(dynamics: Dynamics, markets, batch: Batch) -> np.ndarray:
    """Observations (n, size) float32 of the states of ``batch`` in ``markets`` (a params object for every
    slot, or :class:`Markets`), computed afresh: for a batch whose states were set by hand (the envs read the
    observations ``batch.observation`` that starts and steps write)."""
    markets = _markets(dynamics, markets)
    observation = _observations(dynamics, markets, len(batch))
    _loops_of(dynamics, markets)[2](markets.compiled, batch.state, observation)
    return observation


def _observations(dynamics: Dynamics, markets: Markets, n: int) -> np.ndarray:
    """An (n, size) float32 array for the observations, its columns after the problem's own holding the markets'
    features (which the compiled loops leave as they are)."""
    size = dynamics.observation_size(markets.params[0])
    if markets.features is None:
        return np.empty((n, size), dtype=np.float32)
    observation = np.empty((n, size + markets.features.shape[1]), dtype=np.float32)
    observation[:, size:] = markets.features
    return observation


def next_episodes(dynamics: Dynamics, markets: Markets, batch: Batch, done: np.ndarray) -> Batch:
    """``batch`` with the slots ``done`` replaced by the next episode of their stream, in their market
    (autoreset); ``batch`` itself is left as it was."""
    episode = batch.episode.copy()
    episode[done] += np.uint64(1)
    key = batch.key.copy()
    key[done] = episode_keys(batch.seed[done], episode[done])
    state = type(batch.state)(*(column.copy() for column in batch.state))
    observation = batch.observation.copy()
    if markets.features is not None:     # the done slots' markets may have changed
        observation[done, observation.shape[1] - markets.features.shape[1]:] = markets.features[done]
    finite = _loops_of(dynamics, markets)[0](markets.compiled, state, key, np.flatnonzero(done), observation)
    return Batch(seed=batch.seed, episode=episode, key=key, state=state, observation=observation,
                 finite=batch.finite and finite)
