"""Dynamics of TwapVwapSwitch: one bucket of one episode, and of a whole batch of episodes.

Per episode, on a day of type r, in bucket t (x the fraction of the order
still to trade, P the price in bps of the arrival price, m = m_{r,t},
M_t = Σ_{s>=t} m_{r,s}, ξ the bucket's standard normal)::

    v  = x / (B − t)                  action 0, TWAP pace
       = x · m / M_t                  action 1, VWAP pace
       = min(x, ρ·m / order_size)     action 2, POV (with ``pov_rate`` ρ)
       = x                            in the last bucket t = B − 1, whatever the action
    x' = x − v
    the order sells v at P − η_{r,t}·v, the market trades m at P
    P' = P + σ·ξ
    reward = −(η_{r,t}·v² − x'·σξ + λσ²·x'²)

The bracket is the bucket's cost: the impact on the v traded, minus the price
move's P&L on the x' still held (a sell gains when the price rises), plus the
risk penalty. It telescopes: with P_0 = 0 and x'_{B−1} = 0,
Σ_t v_t·P_t = Σ_t x'_t·σξ_t, so Σ reward = −(IS + λσ²·Σ x'²) where
IS = Σ_t v_t·(P_0 − P_t + η_{r,t}·v_t) is the implementation shortfall.
For a buy order flip the sign of every price: nothing else changes.

ξ_t is stream 0 of :func:`execgym.noise.standard_normals` at step t and the
day type is drawn at reset from stream 1 at step 0 (the first r with
u < p_0 + … + p_r): functions of (seed, episode, step) only, never of the
actions, so two policies on one seed face the same day and the same prices.

The bucket is written once, for one episode, in plain Python on floats
(:func:`advance`, with :func:`trade` and :func:`bucket_costs`; :func:`day_type`,
:func:`tracking` and :func:`write_observation` beside it). The scalar env calls
them as they are; :func:`step` and the other batched functions run them over a
batch compiled by numba (``register_jitable``), so the two give the same bits.
They read the params through :class:`Market` (scalars) and :class:`Profiles`
(the per-(day type, bucket) lists, flattened to index r·B + t).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import NamedTuple

import numba
import numpy as np
from numba.extending import register_jitable

from execgym.noise import episode_keys, normal_quantile, standard_normals, uniform_draw, uniforms
from execgym.problems.twap_vwap.params import TwapVwapParams

STREAMS = 2
PRICE, DAY = range(STREAMS)
TWAP, VWAP, POV = range(3)


class Variant(NamedTuple):
    """Which model variants the params turn on. The compiled batch step takes these flags as compile-time
    constants (:func:`_step_loop`), so the other variants' branches are compiled out."""

    pov: bool           # pov_rate given: action 2, POV
    several_days: bool  # R > 1 day types: the day type's one-hot is observed


class Market(NamedTuple):
    """The params' numbers as the bucket's arithmetic reads them (plain scalars; the lists are :class:`Profiles`,
    kept apart because numba copies a tuple holding arrays on every call)."""

    buckets: int       # B
    day_types: int     # R
    volatility: float  # σ, bps per bucket
    risk: float        # λσ², per bps


class Profiles(NamedTuple):
    """The params' lists, entry r·B + t for day type r and bucket t: tuples for plain Python (the scalar env),
    float64 arrays for the compiled batch."""

    volumes: object     # m_{r,t}, units of V (R·B,)
    tails: object       # M_{r,t} = Σ_{s>=t} m_{r,s} (R·B,)
    impacts: object     # η_{r,t}, bps (R·B,)
    pov_caps: object    # ρ·m_{r,t}/order_size (R·B,); zeros without POV (read, never used)
    thresholds: object  # p_0 + … + p_r (R,)


def variant(params: TwapVwapParams) -> Variant:
    """The :class:`Variant` flags of ``params``."""
    return Variant(pov=params.pov_rate is not None, several_days=params.day_types > 1)


def _market(params: TwapVwapParams) -> Market:
    return Market(buckets=params.buckets, day_types=params.day_types, volatility=params.volatility,
                  risk=params.risk_aversion * params.volatility**2)


def _profiles(params: TwapVwapParams) -> Profiles:
    return Profiles(volumes=params.volumes.ravel(), tails=params.volume_tails.ravel(), impacts=params.impacts.ravel(),
                    pov_caps=(np.zeros(params.volumes.size) if params.pov_caps is None
                              else params.pov_caps.ravel()),
                    thresholds=np.cumsum(params.probabilities))


@lru_cache(maxsize=64)
def scalar_market(params: TwapVwapParams) -> tuple[Variant, Market, Profiles]:
    """(:class:`Variant`, :class:`Market`, :class:`Profiles` of tuples): the fastest form for plain Python."""
    return variant(params), _market(params), Profiles(*(tuple(array.tolist()) for array in _profiles(params)))


@lru_cache(maxsize=64)
def batch_market(params: TwapVwapParams) -> tuple[Variant, Market, Profiles]:
    """(:class:`Variant`, :class:`Market`, :class:`Profiles` of float64 arrays): the form numba compiles (once
    per variant for the step, once for all params elsewhere)."""
    return variant(params), _market(params), Profiles(*(np.ascontiguousarray(array, dtype=np.float64)
                                                        for array in _profiles(params)))


@register_jitable(inline="always")
def day_type(m: Market, thresholds, u: float) -> int:
    """The day type of an episode whose day uniform is ``u``: the first r with u·(p_0 + … + p_{R−1}) <
    p_0 + … + p_r (R − 1 if none)."""
    target = u * thresholds[m.day_types - 1]
    for r in range(m.day_types - 1):
        if target < thresholds[r]:
            return r
    return m.day_types - 1


@register_jitable(inline="always")
def trade(v: Variant, m: Market, t: int, x: float, action: int, volume: float, tail: float, cap: float) -> float:
    """v, the fraction of the order traded in bucket t < B from x at pace ``action``, the bucket's market volume
    m_{r,t} = ``volume``, M_{r,t} = ``tail`` and POV cap ``cap`` (module docstring): x/(B − t), x·m/M,
    min(x, cap), or x in the last bucket."""
    if t == m.buckets - 1:
        return x
    if action == TWAP:
        return x / (m.buckets - t)
    if v.pov and action == POV:
        return x if x < cap else cap     # conditionals: numba's float min is slow
    return x * volume / tail


@register_jitable(inline="always")
def bucket_costs(m: Market, rate: float, traded: float, after: float) -> tuple[float, float]:
    """(η·v², η·v² + λσ²·x'²), bps: the impact cost of trading v in a bucket of impact η = ``rate``, and the
    bucket's expected cost, minus its expected reward (the price move has mean zero), x' held after."""
    impact = rate * (traded * traded)
    return impact, impact + m.risk * (after * after)


@register_jitable(inline="always")
def advance(v: Variant, m: Market, volumes, tails, impacts, pov_caps, r: int, t: int, x: float, price: float,
            impact_cost: float, shortfall: float, market_value: float, market_volume: float, shock: float,
            action: int):
    """Bucket t of one episode of day type r from x, P and the running sums Σ η·v², Σ v·(P_0 − P + η·v),
    Σ m·P, Σ m, with price shock ξ = ``shock``, at pace ``action`` (module docstring); ``volumes``, ``tails``,
    ``impacts``, ``pov_caps`` are the :class:`Profiles`. Returns (v, reward, x', P', and the four sums after
    the bucket); the bucket trades at P.

    The lists are read first, before any branch: compiled, an array still used past a branch is reference
    counted on every call, which made the batch loop 3x slower."""
    i = r * m.buckets + t
    volume, tail, rate, cap = volumes[i], tails[i], impacts[i], pov_caps[i]
    traded = trade(v, m, t, x, action, volume, tail, cap)
    after = x - traded
    impact, expected = bucket_costs(m, rate, traded, after)
    move = m.volatility * shock
    return (traded, -(expected - after * move), after, price + move, impact_cost + impact,
            shortfall + impact - traded * price, market_value + volume * price, market_volume + volume)


@register_jitable(inline="always")
def tracking(x: float, shortfall: float, market_value: float, market_volume: float) -> tuple[float, float]:
    """(the market's VWAP so far Σ m·P / Σ m, bps (the arrival price, 0, before the first bucket); the shortfall
    of the fraction traded, 1 − x, against it: (1 − x)·VWAP + shortfall, bps; at the end, the tracking error
    VWAP − average sale price)."""
    vwap = market_value / market_volume if market_volume > 0.0 else 0.0
    return vwap, (1.0 - x) * vwap + shortfall


@register_jitable(inline="always")
def write_observation(v: Variant, m: Market, t: int, r: int, x: float, out, row: int) -> None:
    """The observation into row ``row`` of ``out`` (float32): [time remaining (B − t)/B, x, one-hot of r if
    R > 1]."""
    out[row, 0] = (m.buckets - t) / m.buckets
    out[row, 1] = x
    if v.several_days:
        for j in range(m.day_types):
            out[row, 2 + j] = 1.0 if j == r else 0.0


@dataclass(frozen=True)
class Batch:
    """State of a batch of episodes, one row per episode."""

    seed: np.ndarray           # uint64 (b,)
    episode: np.ndarray        # uint64 (b,)
    key: np.ndarray            # uint64 (b,): noise key of the current episode
    elapsed: np.ndarray        # int64 (b,): buckets done, 0..B
    day: np.ndarray            # int64 (b,): day type r, 0..R−1
    remaining: np.ndarray      # float64 (b,): x, fraction of the order still to trade
    price: np.ndarray          # float64 (b,): P, bps of the arrival price
    impact_cost: np.ndarray    # float64 (b,): Σ η·v² so far, bps
    shortfall: np.ndarray      # float64 (b,): Σ v·(P_0 − P + η·v) so far, bps (implementation shortfall)
    market_value: np.ndarray   # float64 (b,): Σ m·P so far, bps × units of V
    market_volume: np.ndarray  # float64 (b,): Σ m so far, units of V

    def __len__(self) -> int:
        return self.elapsed.shape[0]

    @cached_property
    def _tracking(self) -> tuple[np.ndarray, np.ndarray]:
        return _tracking_loop(self.remaining, self.shortfall, self.market_value, self.market_volume)

    @property
    def market_vwap(self) -> np.ndarray:
        """(b,) the market's VWAP so far, Σ m·P / Σ m, bps (:func:`tracking`; computed once per batch with
        :attr:`vwap_shortfall`)."""
        return self._tracking[0]

    @property
    def vwap_shortfall(self) -> np.ndarray:
        """(b,) shortfall of the fraction traded, 1 − x, against the market VWAP so far: (1 − x)·VWAP + shortfall,
        bps (:func:`tracking`); at the end, the tracking error VWAP − average sale price."""
        return self._tracking[1]


@numba.njit(cache=True)
def _tracking_loop(remaining, shortfall, market_value, market_volume):
    vwap, behind = np.empty(remaining.size), np.empty(remaining.size)
    for i in range(remaining.size):
        vwap[i], behind[i] = tracking(remaining[i], shortfall[i], market_value[i], market_volume[i])
    return vwap, behind


@dataclass(frozen=True)
class Transition:
    """One bucket of a batch: the new batch, rewards (b,), which episodes ended (b,), the fractions traded (b,)
    and the bucket's price P_t (b,) at which they and the market traded."""

    batch: Batch
    reward: np.ndarray
    terminated: np.ndarray
    traded: np.ndarray
    bucket_price: np.ndarray


def draw_days(params: TwapVwapParams, keys: np.ndarray) -> np.ndarray:
    """(b,) int64 day types of the episodes with noise ``keys``: :func:`day_type` of each episode's day
    uniform (stream 1 at step 0)."""
    _, m, profiles = batch_market(params)
    return _draw_days(m, profiles.thresholds, np.asarray(keys, dtype=np.uint64))


@numba.njit(cache=True)
def _draw_days(m, thresholds, keys):
    days = np.empty(keys.size, dtype=np.int64)
    for i in range(keys.size):
        days[i] = day_type(m, thresholds, uniform_draw(keys[i], np.uint64(DAY)))
    return days


def episode_noise(m: Market, thresholds, key) -> tuple[int, list[float]]:
    """(day type r, [ξ_0, …, ξ_{B−1}]) of the episode with noise key ``key``: what the scalar env draws at
    reset, the same numbers as :func:`draw_days` and :func:`step` draw for it."""
    keys = np.full(m.buckets, key, dtype=np.uint64)
    u = float(uniforms(keys[:1], np.zeros(1, dtype=np.uint64), DAY, STREAMS)[0])
    return day_type(m, thresholds, u), standard_normals(keys, np.arange(m.buckets), PRICE, STREAMS).tolist()


def start(params: TwapVwapParams, seeds: np.ndarray, episodes: np.ndarray) -> Batch:
    """Fresh episodes number ``episodes`` of the streams ``seeds``."""
    seeds = np.asarray(seeds, dtype=np.uint64)
    episodes = np.asarray(episodes, dtype=np.uint64)
    keys = episode_keys(seeds, episodes)
    b = seeds.shape[0]
    return Batch(seed=seeds, episode=episodes, key=keys, elapsed=np.zeros(b, dtype=np.int64),
                 day=draw_days(params, keys), remaining=np.ones(b), price=np.zeros(b), impact_cost=np.zeros(b),
                 shortfall=np.zeros(b), market_value=np.zeros(b), market_volume=np.zeros(b))


def observation(params: TwapVwapParams, elapsed, day, remaining) -> np.ndarray:
    """Observations (b, 2[+R]) float32 of states (b,): :func:`write_observation` of each."""
    elapsed = np.asarray(elapsed, dtype=np.int64)
    obs = np.empty((elapsed.shape[0], params.observation_size), dtype=np.float32)
    v, m, _ = batch_market(params)
    _observe(v, m, elapsed, np.asarray(day, dtype=np.int64), np.asarray(remaining, dtype=np.float64), obs)
    return obs


@numba.njit(cache=True)
def _observe(v, m, elapsed, day, remaining, out):
    for i in range(elapsed.size):
        write_observation(v, m, elapsed[i], day[i], remaining[i], out, i)


def observe(params: TwapVwapParams, batch: Batch) -> np.ndarray:
    """Observations (b, 2[+R]) float32 of the batch (:func:`observation`)."""
    return observation(params, batch.elapsed, batch.day, batch.remaining)


def decode(params: TwapVwapParams, observations: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(buckets done t (b,) int64 in 0..B, day type r (b,) int64, remaining x (b,) float64) of observations
    (b, 2[+R]): t by rounding, r the largest one-hot entry, x as observed (float32 precision)."""
    observations = np.asarray(observations)
    size = params.observation_size
    if observations.ndim != 2 or observations.shape[1] != size:
        raise ValueError(f"observations must have shape (batch, {size}), got {observations.shape}")
    observations = observations.astype(np.float64)
    elapsed = np.clip(np.rint(params.buckets * (1.0 - observations[:, 0])), 0, params.buckets).astype(np.int64)
    day = (np.argmax(observations[:, 2:], axis=1) if params.day_types > 1
           else np.zeros(observations.shape[0], dtype=np.int64))
    return elapsed, day, observations[:, 1]


def _broadcast(*arrays_and_dtypes) -> list[np.ndarray]:
    """The arrays broadcast together, each flattened to a contiguous array of its dtype."""
    arrays = np.broadcast_arrays(*(np.asarray(a, dtype=dtype) for a, dtype in arrays_and_dtypes))
    return [np.ascontiguousarray(a).ravel() for a in arrays]


def trades(params: TwapVwapParams, day, bucket, remaining, actions) -> np.ndarray:
    """v, :func:`trade` for day types ``day``, buckets ``bucket`` < B, remaining fractions ``remaining`` and
    actions ``actions`` (broadcast together). The oracle's reachable states come from this same function, so
    they equal the env's remaining fractions bit for bit."""
    shape = np.broadcast_shapes(np.shape(day), np.shape(bucket), np.shape(remaining), np.shape(actions))
    v, m, profiles = batch_market(params)
    return _trades(v, m, profiles.volumes, profiles.tails, profiles.pov_caps, *_broadcast(
        (day, np.int64), (bucket, np.int64), (remaining, np.float64), (actions, np.int64))).reshape(shape)


@numba.njit(cache=True)
def _trades(v, m, volumes, tails, pov_caps, day, bucket, remaining, actions):
    out = np.empty(day.size)
    for i in range(day.size):
        j = day[i] * m.buckets + bucket[i]
        out[i] = trade(v, m, bucket[i], remaining[i], actions[i], volumes[j], tails[j], pov_caps[j])
    return out


def expected_cost(params: TwapVwapParams, day, bucket, traded, remaining_after) -> np.ndarray:
    """η_{r,t}·v² + λσ²·x'², bps: minus the bucket's expected reward (:func:`bucket_costs`), broadcast."""
    shape = np.broadcast_shapes(np.shape(day), np.shape(bucket), np.shape(traded), np.shape(remaining_after))
    _, m, profiles = batch_market(params)
    return _expected_costs(m, profiles.impacts, *_broadcast(
        (day, np.int64), (bucket, np.int64), (traded, np.float64), (remaining_after, np.float64))).reshape(shape)


@numba.njit(cache=True)
def _expected_costs(m, impacts, day, bucket, traded, after):
    out = np.empty(day.size)
    for i in range(day.size):
        out[i] = bucket_costs(m, impacts[day[i] * m.buckets + bucket[i]], traded[i], after[i])[1]
    return out


def step(params: TwapVwapParams, batch: Batch, actions: np.ndarray) -> Transition:
    """Trade bucket ``batch.elapsed`` of every episode of ``batch`` (none finished) at the paces ``actions``
    (b,) int64 (0 TWAP, 1 VWAP, 2 POV): :func:`advance` of each, its price shock drawn in the loop."""
    v, m, profiles = batch_market(params)
    (traded, reward, remaining, price, impact_cost, shortfall, market_value, market_volume) = _step_loop(v)(
        m, profiles.volumes, profiles.tails, profiles.impacts, profiles.pov_caps, batch.key, batch.elapsed, batch.day,
        batch.remaining, batch.price, batch.impact_cost, batch.shortfall, batch.market_value, batch.market_volume,
        np.asarray(actions, dtype=np.int64))
    elapsed = batch.elapsed + 1
    new = Batch(seed=batch.seed, episode=batch.episode, key=batch.key, elapsed=elapsed, day=batch.day,
                remaining=remaining, price=price, impact_cost=impact_cost, shortfall=shortfall,
                market_value=market_value, market_volume=market_volume)
    return Transition(batch=new, reward=reward, terminated=elapsed >= params.buckets, traded=traded,
                      bucket_price=batch.price)


@lru_cache(maxsize=None)
def _step_loop(v: Variant):
    """:func:`advance` over a batch, compiled for variant ``v`` (its flags compile-time constants; one
    compilation, about a second, per variant and process). The shock of episode i is ξ of stream PRICE at
    its bucket, :func:`execgym.noise.standard_normals`' draw computed in place."""

    @numba.njit
    def loop(m, volumes, tails, impacts, pov_caps, key, elapsed, day, remaining, price, impact_cost, shortfall,
             market_value, market_volume, actions):
        n = elapsed.size
        traded, reward = np.empty(n), np.empty(n)
        new_remaining, new_price, new_impact_cost = np.empty(n), np.empty(n), np.empty(n)
        new_shortfall, new_value, new_volume = np.empty(n), np.empty(n), np.empty(n)
        for i in range(n):
            t = elapsed[i]
            shock = normal_quantile(uniform_draw(key[i], np.uint64(t) * np.uint64(STREAMS) + np.uint64(PRICE)))
            (traded[i], reward[i], new_remaining[i], new_price[i], new_impact_cost[i], new_shortfall[i],
             new_value[i], new_volume[i]) = advance(
                v, m, volumes, tails, impacts, pov_caps, day[i], t, remaining[i], price[i], impact_cost[i],
                shortfall[i], market_value[i], market_volume[i], shock, actions[i])
        return traded, reward, new_remaining, new_price, new_impact_cost, new_shortfall, new_value, new_volume

    return loop
