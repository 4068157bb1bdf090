"""The one policy protocol of the suite, and the oracle record every problem returns.

A policy is anything callable on a batch of observations (shape (n, *obs))
returning a batch of actions (shape (n, *action)). Oracles, baselines, trained
agents (through an adapter) and Q-tables all meet it, so :func:`execgym.score`
treats them alike.
"""

from __future__ import annotations

import functools
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, fields
from typing import Any, Callable, NamedTuple, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Policy(Protocol):
    """Batch of observations in, batch of actions out."""

    def __call__(self, observations: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class Oracle:
    """A problem's provably optimal policy and its exact value.

    ``expected_return`` is E[Σ reward] under ``policy`` from the initial state,
    in the env's reward units. Execution problems also fill ``schedule`` (the
    optimal holdings per period, shares, length N + 1: along the expected price
    path where the optimum adapts to prices), and those whose optimum is a
    deterministic schedule ``expected_shortfall`` and ``variance`` (currency and
    currency²). ``clip_probability`` bounds the probability that the optimal
    policy needs an action outside the action space (then clipped): 0 where it
    never does. ``grid_refinement_gain`` is set by oracles exact on a discrete
    grid: how much their expected return improves when the grid is refined
    twice (a lower bound on the grid's error against the continuous optimum).

    Every number an oracle reports is finite: a float or float array field
    (here or in a subclass) holding NaN or ±inf raises ValueError on
    construction, naming it.
    """

    policy: Policy
    expected_return: float
    schedule: np.ndarray | None = None
    expected_shortfall: float | None = None
    variance: float | None = None
    clip_probability: float = 0.0
    grid_refinement_gain: float | None = None

    def __post_init__(self) -> None:
        for name in _field_names(type(self)):
            value = getattr(self, name)
            if isinstance(value, (float, np.floating)):
                finite = math.isfinite(value)
            elif isinstance(value, np.ndarray) and value.dtype.kind == "f":
                finite = bool(np.isfinite(value).all())
            else:
                continue
            if not finite:
                raise ValueError(f"{type(self).__name__}.{name} must be finite, got {_describe(value)}")


@functools.cache
def _field_names(cls: type) -> tuple[str, ...]:
    """The names of a dataclass's fields (:func:`dataclasses.fields` costs microseconds a call)."""
    return tuple(field.name for field in fields(cls))


def _describe(value) -> str:
    """A float as it is; of an array, its shape and its first non-finite entry."""
    if not isinstance(value, np.ndarray):
        return repr(float(value))
    index = tuple(int(i) for i in np.argwhere(~np.isfinite(value))[0])
    return f"an array of shape {value.shape} with {float(value[index])} at index {index}"


@dataclass(frozen=True)
class OracleCost:
    """What building a problem's oracle would take, estimated from its params in a few milliseconds.

    ``size`` is the count the oracle's work grows with, what ``unit`` names (e.g.
    reachable state–action pairs, n²·2ⁿ for Held–Karp); ``seconds`` is the
    estimated build time in CPU seconds of one core, overhead + rate × size with
    rates measured on the oracle itself (``tests/test_oracle_cost.py`` holds
    them within a factor of 3 of the measured CPU time; on a busy machine the
    wall time is longer). Each problem's oracle module has its
    ``build_cost(params)`` (:attr:`execgym.registry.Problem.oracle_cost`).
    """

    size: float
    unit: str
    seconds: float
    refusal: str | None = None
    """Why the oracle refuses these params (past a size it caps, or no exact solver for them); None if it
    builds them. Without a solver ``size`` and ``seconds`` are nan."""

    def __str__(self) -> str:
        if math.isnan(self.seconds):
            return f"no exact oracle: {self.refusal}"
        size = f"{self.size:,.0f}" if self.size < 1e9 else f"{self.size:.3g}" if self.size < math.inf else "over 1e308"
        when = f"about {duration(self.seconds)}" if self.seconds < math.inf else "longer than 1e300 years"
        text = f"{when} ({size} {self.unit})"
        return text if self.refusal is None else f"{text}; it refuses these parameters: {self.refusal}"


def duration(seconds: float) -> str:
    """``seconds`` in the largest unit that keeps it readable: "12 ms", "3.4 s", "2.1 hours", "4.5e+98 years"."""
    for unit, length in (("years", 365.25 * 86_400), ("days", 86_400), ("hours", 3_600), ("min", 60), ("s", 1)):
        if seconds >= length:
            return f"{seconds / length:.3g} {unit}"
    return f"{seconds * 1e3:.3g} ms"


ORACLE_CACHE_SIZE = 1024
"""How many oracles :data:`ORACLE_CACHE` keeps: the least recently used one is dropped past it."""


class CacheInfo(NamedTuple):
    hits: int
    misses: int
    maxsize: int
    currsize: int


class OracleCache:
    """A bounded, thread-safe least-recently-used cache of oracles keyed on (oracle factory, params).

    Params classes are frozen dataclasses whose fields are numbers, strings and (nested) tuples, so equal
    params hash and compare equal; params that cannot be hashed are built every time, uncached. Only built
    oracles are kept (a factory's ValueError is raised again on the next call). A cached oracle is shared by
    every caller that asks for equal params, so :meth:`put` makes the numpy arrays of the record and the
    arrays held as attributes of its policy read-only; do not mutate any other state of a cached oracle.
    """

    def __init__(self, maxsize: int = ORACLE_CACHE_SIZE) -> None:
        if isinstance(maxsize, bool) or not isinstance(maxsize, int) or maxsize < 0:
            raise ValueError(f"maxsize must be an integer >= 0, got {maxsize!r}")
        self.maxsize = maxsize
        self._entries: OrderedDict[tuple, Oracle] = OrderedDict()
        self._lock = threading.Lock()
        self._hits = self._misses = 0

    @staticmethod
    def key(factory: Callable[[Any], Oracle], params) -> tuple | None:
        """The cache key of ``params`` built by ``factory``, or None when ``params`` cannot be hashed."""
        try:
            hash(params)
        except TypeError:
            return None
        return (factory, type(params), params)

    def get(self, factory: Callable[[Any], Oracle], params) -> Oracle | None:
        """The cached oracle of ``params`` (counted as a hit), or None (a miss)."""
        key = self.key(factory, params)
        with self._lock:
            oracle = None if key is None else self._entries.get(key)
            if oracle is None:
                self._misses += 1
            else:
                self._hits += 1
                self._entries.move_to_end(key)
            return oracle

    def put(self, factory: Callable[[Any], Oracle], params, oracle: Oracle) -> Oracle:
        """Keep ``oracle`` (made read-only) as that of ``params``; returns the oracle the cache holds for them
        (one kept before, if another thread built it meanwhile)."""
        read_only(oracle)
        key = self.key(factory, params)
        if key is None or self.maxsize == 0:
            return oracle
        with self._lock:
            held = self._entries.setdefault(key, oracle)
            self._entries.move_to_end(key)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)
            return held

    def build(self, factory: Callable[[Any], Oracle], params) -> Oracle:
        """The oracle of ``params``: from the cache, else ``factory(params)``, kept."""
        oracle = self.get(factory, params)
        return oracle if oracle is not None else self.put(factory, params, factory(params))

    def info(self) -> CacheInfo:
        """Hits, misses, the maximum size and the current size (as ``functools.lru_cache``'s ``cache_info``)."""
        with self._lock:
            return CacheInfo(self._hits, self._misses, self.maxsize, len(self._entries))

    def clear(self) -> None:
        """Drop every oracle and reset the counts."""
        with self._lock:
            self._entries.clear()
            self._hits = self._misses = 0


def read_only(oracle: Oracle) -> Oracle:
    """``oracle`` with its numpy array fields and its policy's numpy array attributes made read-only (in place)."""
    arrays = [getattr(oracle, name) for name in _field_names(type(oracle))]
    arrays += list(getattr(oracle.policy, "__dict__", {}).values())
    for array in arrays:
        if isinstance(array, np.ndarray):
            array.flags.writeable = False
    return oracle


ORACLE_CACHE = OracleCache()
"""The cache behind :func:`execgym.make_oracle`, :func:`execgym.make_oracles` and :func:`execgym.score`: at most
:data:`ORACLE_CACHE_SIZE` oracles, keyed on (oracle factory, params). ``ORACLE_CACHE.clear()`` empties it,
``ORACLE_CACHE.info()`` counts its hits and misses."""
