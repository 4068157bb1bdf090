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
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MUL1 = np.uint64(0xBF58476D1CE4E5B9)
_MUL2 = np.uint64(0x94D049BB133111EB)


def _mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser on a uint64 array (wrapping arithmetic)."""
    z = z + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MUL1
    z = (z ^ (z >> np.uint64(27))) * _MUL2
    return z ^ (z >> np.uint64(31))


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
    return _mix(_mix(as_seed_array(seeds)) ^ np.asarray(episodes, dtype=np.uint64))


def uniforms(keys: np.ndarray, steps: np.ndarray, stream: int = 0, streams: int = 1) -> np.ndarray:
    """Uniform(0, 1) draws, open at both ends, one per (key, step); ``stream`` < ``streams`` separates
    independent noise sources drawn at the same step (e.g. a price shock and a fill)."""
    counter = np.asarray(steps, dtype=np.uint64) * np.uint64(streams) + np.uint64(stream)
    bits = _mix(np.asarray(keys, dtype=np.uint64) ^ _mix(counter))
    return ((bits >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53


def standard_normals(keys: np.ndarray, steps: np.ndarray, stream: int = 0, streams: int = 1) -> np.ndarray:
    """Standard normal draws, one per (key, step), by inverting the normal CDF of :func:`uniforms`."""
    return ndtri(uniforms(keys, steps, stream, streams))


TRAINING_SEEDS_FROM = 2**40
"""Seeds at or above this are reserved for training episodes; scoring and evaluation use seeds below it,
so an agent is never evaluated on an episode it trained on."""


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
