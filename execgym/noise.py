"""Counter-based random numbers: exogenous noise as a pure function of (seed, episode, step).

Every environment of the suite draws its exogenous noise (price shocks, order
arrivals, fill uniforms) from this module, never from a stateful generator.
A draw is a hash of four integers::

    u = mix(episode_key(seed, episode) ^ mix(step * streams + stream))

where ``mix`` is the SplitMix64 finaliser, a bijection of 64-bit integers with
full avalanche. Three properties follow, and the suite's promises rest on them:

* **Common random numbers.** The noise of an episode never depends on the
  actions taken, so two policies run on the same seed face the same market.
* **Vector slot = scalar env.** Slot ``i`` of a vector env reset with seed
  ``s`` replays the episodes of a scalar env reset with seed ``s + i`` (the
  Gymnasium convention), and a batch of slots is drawn in one vectorised call,
  with no Python loop over slots and no generator object per slot.
* **Autoreset continues the stream.** After its first episode a slot (or a
  scalar env reset without a seed) plays episode 1, 2, ... of the same seed.

The hash and the normal quantile are compiled per element (numba ufuncs), so a
draw costs a few nanoseconds and the same element gives the same bits whatever
the batch it is drawn in. Normals invert the normal CDF with Wichura's AS241
(relative error below 1e-16, the algorithm of Python's
``statistics.NormalDist.inv_cdf``).
"""

from __future__ import annotations

import math

import numba
import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MUL1 = np.uint64(0xBF58476D1CE4E5B9)
_MUL2 = np.uint64(0x94D049BB133111EB)


@numba.njit(cache=True)
def _mix(z):
    """SplitMix64 finaliser of a uint64 (wrapping arithmetic)."""
    z = z + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MUL1
    z = (z ^ (z >> np.uint64(27))) * _MUL2
    return z ^ (z >> np.uint64(31))


@numba.vectorize(["uint64(uint64)"], cache=True)
def mix(z):
    """SplitMix64 finaliser, elementwise on uint64 arrays."""
    return _mix(z)


@numba.njit(cache=True)
def uniform_draw(key, counter):
    """The uniform draw of ``counter`` = step·streams + stream under ``key`` (uint64 scalars): the top 53 bits
    of the hash, as a float in (0, 1). Compiled code may call it per element; :func:`uniforms` is the
    same draw over arrays."""
    bits = _mix(key ^ _mix(counter))
    return (np.float64(bits >> np.uint64(11)) + 0.5) * 2.0**-53


@numba.njit(cache=True, error_model="numpy")
def _central_quantile(q):
    """Φ⁻¹(0.5 + q) for |q| <= 0.425: AS241's central rational function."""
    r = 0.180625 - q * q
    return q * (((((((2509.0809287301226727 * r + 33430.575583588128105) * r + 67265.770927008700853) * r
                    + 45921.953931549871457) * r + 13731.693765509461125) * r + 1971.5909503065514427) * r
                 + 133.14166789178437745) * r + 3.387132872796366608) / (
        ((((((5226.495278852545925 * r + 28729.085735721942674) * r + 39307.89580009271061) * r
             + 21213.794301586595867) * r + 5394.1960214247511077) * r + 687.1870074920579083) * r
         + 42.313330701600911252) * r + 1.0)


@numba.njit(cache=True)
def _tail_quantile(p, q):
    """Φ⁻¹(p) for |q| = |p − 0.5| > 0.425: AS241's tail rational functions in r = √(−log min(p, 1 − p))."""
    r = math.sqrt(-math.log(p if q < 0.0 else 1.0 - p))
    if r <= 5.0:
        r -= 1.6
        value = (((((((7.7454501427834140764e-4 * r + 0.0227238449892691845833) * r + 0.24178072517745061177) * r
                     + 1.27045825245236838258) * r + 3.64784832476320460504) * r + 5.7694972214606914055) * r
                  + 4.6303378461565452959) * r + 1.42343711074968357734) / (
            ((((((1.05075007164441684324e-9 * r + 5.475938084995344946e-4) * r + 0.0151986665636164571966) * r
                 + 0.14810397642748007459) * r + 0.68976733498510000455) * r + 1.6763848301838038494) * r
             + 2.05319162663775882187) * r + 1.0)
    else:
        r -= 5.0
        value = (((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r + 0.0012426609473880784386) * r
                     + 0.026532189526576123093) * r + 0.29656057182850489123) * r + 1.7848265399172913358) * r
                  + 5.4637849111641143699) * r + 6.6579046435011037772) / (
            ((((((2.04426310338993978564e-15 * r + 1.4215117583164458887e-7) * r + 1.8463183175100546818e-5) * r
                 + 7.868691311456132591e-4) * r + 0.0148753612908506148525) * r + 0.13692988092273580531) * r
             + 0.59983220655588793769) * r + 1.0)
    return -value if q < 0.0 else value


@numba.njit(cache=True)
def normal_quantile(p):
    """Φ⁻¹(p) for p in (0, 1): Wichura's AS241 (PPND16), relative error below 1e-16."""
    q = p - 0.5
    if abs(q) <= 0.425:
        return _central_quantile(q)
    return _tail_quantile(p, q)


@numba.vectorize(["float64(uint64, uint64)"], cache=True)
def _uniforms(keys, counters):
    return uniform_draw(keys, counters)


@numba.njit(cache=True, error_model="numpy")
def normals_of(keys, steps, stream, streams):
    """:func:`normal_quantile` of the draws of 1-D ``keys`` (uint64) at counters ``steps``·streams + stream
    (compiled code may call it; :func:`standard_normals` is the same over broadcastable arrays), in three
    passes: the draws, the central function on every draw (a loop without branches, which the compiler
    vectorises), then the tails (15 % of draws) over it; the bits are those of :func:`normal_quantile`,
    1.5x faster."""
    draws = np.empty(keys.size)
    for i in range(keys.size):
        draws[i] = uniform_draw(keys[i], np.uint64(steps[i]) * np.uint64(streams) + np.uint64(stream))
    normals = np.empty(keys.size)
    for i in range(keys.size):
        normals[i] = _central_quantile(draws[i] - 0.5)
    for i in range(keys.size):
        if abs(draws[i] - 0.5) > 0.425:
            normals[i] = _tail_quantile(draws[i], draws[i] - 0.5)
    return normals


def as_seed_array(seeds) -> np.ndarray:
    """Seeds (non-negative ints, any shape) as a uint64 array; negative or huge seeds raise."""
    seeds = np.asarray(seeds)
    if seeds.dtype.kind not in "iu":
        raise ValueError(f"seed must be an integer, got {seeds.dtype} values {seeds!r}")
    if seeds.dtype.kind == "i" and (seeds < 0).any():
        raise ValueError(f"seed must be >= 0, got {seeds.min()}")
    return seeds.astype(np.uint64)


def episode_keys(seeds: np.ndarray, episodes: np.ndarray) -> np.ndarray:
    """The 64-bit key of episode number ``episodes`` (0, 1, ...) played from ``seeds``."""
    return mix(mix(as_seed_array(seeds)) ^ np.asarray(episodes, dtype=np.uint64))


@numba.njit(cache=True)
def episode_key(seed, episode):
    """The key of one episode (uint64 scalars): :func:`episode_keys` of one stream, compiled (a scalar env's
    reset, where the array form's overhead is most of the cost)."""
    return _mix(_mix(seed) ^ episode)


@numba.njit(cache=True)
def episode_normals(key, first, count, stream, streams):
    """The standard normals of steps ``first`` .. ``first + count − 1`` of the episode with noise key ``key``
    (uint64): :func:`standard_normals` of those steps, in one compiled call (a scalar env's reset)."""
    return normals_of(np.full(count, key), np.arange(first, first + count), stream, streams)


def _counters(steps, stream: int, streams: int) -> np.ndarray:
    return np.asarray(steps, dtype=np.uint64) * np.uint64(streams) + np.uint64(stream)


def uniforms(keys: np.ndarray, steps: np.ndarray, stream: int = 0, streams: int = 1) -> np.ndarray:
    """Uniform(0, 1) draws, open at both ends, one per (key, step); ``stream`` < ``streams`` separates
    independent noise sources drawn at the same step (e.g. a price shock and a fill)."""
    return _uniforms(np.asarray(keys, dtype=np.uint64), _counters(steps, stream, streams))


def standard_normals(keys: np.ndarray, steps: np.ndarray, stream: int = 0, streams: int = 1) -> np.ndarray:
    """Standard normal draws, one per (key, step): Φ⁻¹ (:func:`normal_quantile`) of :func:`uniforms`."""
    keys, steps = np.broadcast_arrays(np.asarray(keys, dtype=np.uint64), np.asarray(steps, dtype=np.int64))
    return normals_of(keys.ravel(), steps.ravel(), stream, streams).reshape(keys.shape)


TRAINING_SEEDS_FROM = 2**40
"""Seeds at or above this are reserved for training episodes; scoring and evaluation use seeds below it,
so an agent is never evaluated on an episode it trained on."""
TRAINING_SEEDS_PER_RUN = 2**32
"""Training seeds of run seed ``s`` start at ``TRAINING_SEEDS_FROM + s * TRAINING_SEEDS_PER_RUN``: a run of
fewer steps (plus parallel envs) than this never reaches the next run seed's episodes."""


def fresh_seed(rng: np.random.Generator) -> int:
    """A seed drawn from ``rng``, for a reset without an explicit seed."""
    return int(rng.integers(0, 2**63))


def reset_streams(seed, num_envs: int, current: tuple[np.ndarray, np.ndarray] | None,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(seeds, episode numbers), each (num_envs,), of the episodes a ``reset(seed=seed)`` starts.

    An int seed s starts episode 0 of streams s, s + 1, ... (slot i plays s + i);
    a list gives one seed per slot. Without a seed, each slot plays the next
    episode of its current stream ``current = (seeds, episodes)``, or, before any
    stream exists, episode 0 of a fresh one drawn from ``rng``.
    """
    if seed is None and current is not None:
        return current[0], current[1] + np.uint64(1)
    if seed is None:
        seed = fresh_seed(rng)
    seeds = np.asarray(seed) + np.arange(num_envs) if np.ndim(seed) == 0 else np.asarray(seed)
    if seeds.shape != (num_envs,):
        raise ValueError(f"seed must be an int or a list of {num_envs} ints, got {seed!r}")
    return seeds, np.zeros(num_envs, dtype=np.uint64)
