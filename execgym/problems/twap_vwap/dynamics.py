"""Dynamics of TwapVwapSwitch: one bucket of one episode.

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
    expected reward = −(η_{r,t}·v² + λσ²·x'²)      E[reward | state, action]: ξ has mean 0

The bracket is the bucket's cost: the impact on the v traded, minus the price
move's P&L on the x' still held (a sell gains when the price rises), plus the
risk penalty. It telescopes: with P_0 = 0 and x'_{B−1} = 0,
Σ_t v_t·P_t = Σ_t x'_t·σξ_t, so Σ reward = −(IS + λσ²·Σ x'²) where
IS = Σ_t v_t·(P_0 − P_t + η_{r,t}·v_t) is the implementation shortfall.
For a buy order flip the sign of every price: nothing else changes.

ξ_t is stream 0 of :func:`execgym.noise.standard_normals` at step t and the
day type is drawn as the episode starts from stream 1 at step 0 (the first r
with u < p_0 + … + p_r): functions of (seed, episode, step) only, never of the
actions, so two policies on one seed face the same day and the same prices.

The bucket is written once, for one episode, in plain Python on floats
(:func:`advance` on a :class:`State` in a :class:`Market`); the scalar env
runs it as it is and the engine (:mod:`execgym.engine`) compiles it over a
batch, each slot with its own market (of any number of buckets) or all
sharing one, so the two give the same bits. The day type is drawn from
the episode's noise key by :func:`initial_state`. The model variants the
params turn on (:class:`Variant`) are compile-time constants of the compiled
loop, and the oracle's states and rewards come from the same :func:`advance`
(:func:`expected_buckets`).
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numba
import numpy as np
from numba.extending import register_jitable

from execgym.engine import Dynamics
from execgym.noise import episode_normals, normals_of, uniform_draw
from execgym.problems.twap_vwap.params import TwapVwapParams
from execgym.records import Lookup

STREAMS = 2
PRICE, DAY = range(STREAMS)
TWAP, VWAP, POV = range(3)


class Variant(NamedTuple):
    """Which model variants the params turn on: compile-time constants of the compiled loop, so the other
    variants' branches are compiled out."""

    pov: bool           # pov_rate given: action 2, POV
    several_days: bool  # R > 1 day types: the day type is drawn and its one-hot observed


class Market(NamedTuple):
    """The params' numbers as the bucket's arithmetic reads them, and the per-(day type, bucket) lists at
    entry r·B + t (tuples for plain Python, float64 arrays for compiled code)."""

    buckets: int        # B
    day_types: int      # R
    volatility: float   # σ, bps per bucket
    risk: float         # λσ², per bps
    volumes: Lookup     # m_{r,t}, units of V (R·B,)
    tails: Lookup       # M_{r,t} = Σ_{s>=t} m_{r,s}, units of V (R·B,)
    impacts: Lookup     # η_{r,t}, bps (R·B,)
    pov_caps: Lookup    # ρ·m_{r,t}/order_size, fraction of the order (R·B,); zeros without POV (never used)
    thresholds: tuple   # p_0 + … + p_r (R,)


class State(NamedTuple):
    """One episode's state after ``elapsed`` buckets (prices and costs in bps of the arrival notional)."""

    elapsed: int            # t: buckets done, 0..B
    day: int                # r: day type, 0..R−1
    remaining: float        # x: fraction of the order still to trade
    price: float            # P: bps of the arrival price
    impact_cost: float      # Σ η·v² so far
    shortfall: float        # Σ v·(P_0 − P + η·v) so far (implementation shortfall)
    market_value: float     # Σ m·P so far, bps × units of V
    market_volume: float    # Σ m so far, units of V
    market_vwap: float      # Σ m·P / Σ m, the market's VWAP so far (0, the arrival price, before the first bucket)
    vwap_shortfall: float   # (1 − x)·VWAP + shortfall: what is sold so far against the market VWAP


class Report(NamedTuple):
    """What a bucket reports beside the state."""

    traded: float         # v: fraction of the order traded
    bucket_price: float   # P_t: the price the bucket traded at, bps of the arrival price
    expected_reward: float   # E[reward | state, action] = −(η·v² + λσ²·x'²): the reward without x'·σξ


def variant(params: TwapVwapParams) -> Variant:
    """The :class:`Variant` flags of ``params``."""
    return Variant(pov=params.pov_rate is not None, several_days=params.day_types > 1)


def _market(params: TwapVwapParams, sequence) -> Market:
    return Market(
        buckets=params.buckets, day_types=params.day_types, volatility=params.volatility,
        risk=params.risk_aversion * params.volatility**2, volumes=sequence(params.volumes.ravel()),
        tails=sequence(params.volume_tails.ravel()), impacts=sequence(params.impacts.ravel()),
        pov_caps=sequence(np.zeros(params.volumes.size) if params.pov_caps is None else params.pov_caps.ravel()),
        thresholds=sequence(np.cumsum(params.probabilities)))


@lru_cache(maxsize=256)
def market(params: TwapVwapParams) -> Market:
    """The :class:`Market` of ``params`` as compiled code reads it (lists as float64 arrays)."""
    return _market(params, lambda values: np.ascontiguousarray(values, dtype=np.float64))


@lru_cache(maxsize=256)
def scalar_market(params: TwapVwapParams) -> Market:
    """The :class:`Market` of ``params`` as plain Python reads it fastest (lists as tuples of floats)."""
    return _market(params, lambda values: tuple(np.asarray(values, dtype=np.float64).tolist()))


@register_jitable(inline="always")
def day_type(market: Market, u: float) -> int:
    """The day type of an episode whose day uniform is ``u``: the first r with u·(p_0 + … + p_{R−1}) <
    p_0 + … + p_r (R − 1 if none)."""
    target = u * market.thresholds[market.day_types - 1]
    for r in range(market.day_types - 1):
        if target < market.thresholds[r]:
            return r
    return market.day_types - 1


@register_jitable(inline="always")
def state_at(elapsed: int, day: int, remaining: float) -> State:
    """The state after ``elapsed`` buckets on day type ``day`` with ``remaining`` x, at the arrival price and
    with the running sums at zero: all that the observation and the expected cost of a bucket read."""
    return State(elapsed, day, remaining, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


@register_jitable(inline="always")
def initial_state(v: Variant, market: Market, key) -> State:
    """Nothing traded yet: the whole order at the arrival price, on the day type the episode of noise key
    ``key`` (uint64) draws: :func:`day_type` of its uniform of stream DAY at step 0 (day type 0, nothing drawn,
    with one day type)."""
    day = day_type(market, uniform_draw(key, np.uint64(DAY))) if v.several_days else 0
    return state_at(0, day, 1.0)


@register_jitable(inline="always")
def advance(v: Variant, market: Market, state: State, action: int, shock: float):
    """Bucket t = ``state.elapsed`` at pace ``action`` with price shock ξ = ``shock`` (module docstring): the trade
    v (x/(B − t), x·m/M, min(x, ρ·m/order_size), or x in the last bucket), the bucket trading at P, and the
    reward −(η·v² + λσ²·x'² − x'·σξ). Returns (next state, reward, :class:`Report`).

    The lists are read first, before any branch: compiled, an array still used past a branch is reference
    counted on every call, which made the batch loop 3x slower."""
    t, day, x, price, impact_cost, shortfall, value, volume_so_far, _, _ = state
    buckets = market.buckets
    i = day * buckets + t
    volume, tail, rate, cap = market.volumes[i], market.tails[i], market.impacts[i], market.pov_caps[i]
    if t == buckets - 1:
        traded = x
    elif action == TWAP:
        traded = x / (buckets - t)
    elif v.pov and action == POV:
        traded = x if x < cap else cap     # conditionals: numba's float min is slow
    else:
        traded = x * volume / tail
    after = x - traded
    impact = rate * (traded * traded)
    expected = impact + market.risk * (after * after)       # the expected cost: the price move has mean zero
    move = market.volatility * shock
    shortfall += impact - traded * price
    value += volume * price
    volume_so_far += volume
    vwap = value / volume_so_far
    next_state = State(t + 1, day, after, price + move, impact_cost + impact, shortfall, value, volume_so_far, vwap,
                       (1.0 - after) * vwap + shortfall)
    return next_state, -(expected - after * move), Report(traded, price, -expected)


@register_jitable(inline="always")
def finished(market: Market, state: State) -> bool:
    """True after the B-th bucket."""
    return state.elapsed >= market.buckets


@register_jitable(inline="always")
def write_observation(v: Variant, market: Market, state: State, out, row: int) -> None:
    """The observation into row ``row`` of ``out`` (float32): [time remaining (B − t)/B, x, one-hot of r if
    R > 1]."""
    buckets = market.buckets
    out[row, 0] = (buckets - state.elapsed) / buckets
    out[row, 1] = state.remaining
    if v.several_days:
        for j in range(market.day_types):
            out[row, 2 + j] = 1.0 if j == state.day else 0.0


def price_shocks(v: Variant, keys: np.ndarray, elapsed: np.ndarray) -> np.ndarray:
    """ξ of bucket ``elapsed`` of every episode (noise keys (n,) uint64, buckets (n,) int64), stream PRICE of
    :func:`execgym.noise.standard_normals`: a function of (noise key, bucket) only."""
    return normals_of(keys, elapsed, PRICE, STREAMS)


def episode_shocks(v: Variant, market: Market, key) -> list[float]:
    """ξ_0, …, ξ_{B−1} of the episode with noise key ``key`` in ``market``: the scalar env draws them at reset."""
    buckets = market.buckets
    return episode_normals(key, 0, buckets, PRICE, STREAMS).tolist()


DYNAMICS = Dynamics(
    State=State, Report=Report, variant=variant, market=market, scalar_market=scalar_market,
    initial_state=initial_state, advance=advance, finished=finished, write_observation=write_observation,
    noise=price_shocks, episode_noise=episode_shocks, observation_size=lambda params: params.observation_size)


def observation(params: TwapVwapParams, elapsed, day, remaining) -> np.ndarray:
    """Observations (b, 2[+R]) float32 of the states (b,) after ``elapsed`` buckets on day types ``day`` with
    ``remaining`` x: :func:`write_observation` of each."""
    elapsed = np.asarray(elapsed, dtype=np.int64)
    out = np.empty((elapsed.shape[0], params.observation_size), dtype=np.float32)
    _observations(variant(params), market(params), elapsed, np.asarray(day, dtype=np.int64),
                  np.asarray(remaining, dtype=np.float64), out)
    return out


@numba.njit(cache=True)
def _observations(v, market, elapsed, day, remaining, out):
    for i in range(elapsed.size):
        write_observation(v, market, state_at(elapsed[i], day[i], remaining[i]), out, i)


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


def expected_buckets(params: TwapVwapParams, day, bucket, remaining,
                     actions) -> tuple[np.ndarray, np.ndarray]:
    """(v, the expected reward −(η_{r,t}·v² + λσ²·x'²), bps) of bucket ``bucket`` < B on day types ``day`` from
    the remaining fractions ``remaining`` at the paces ``actions`` (broadcast together): :func:`advance` with
    the price shock at its mean, ξ = 0. The oracle's reachable states and rewards come from this, the env's
    own step, so its remaining fractions equal the env's bit for bit."""
    shape = np.broadcast_shapes(np.shape(day), np.shape(bucket), np.shape(remaining), np.shape(actions))
    traded, reward = _expected_buckets(variant(params), market(params), *_broadcast(
        (day, np.int64), (bucket, np.int64), (remaining, np.float64), (actions, np.int64)))
    return traded.reshape(shape), reward.reshape(shape)


@numba.njit(cache=True)
def _expected_buckets(v, market, day, bucket, remaining, actions):
    traded, reward = np.empty(day.size), np.empty(day.size)
    for i in range(day.size):
        _, reward[i], report = advance(v, market, state_at(bucket[i], day[i], remaining[i]), actions[i], 0.0)
        traded[i] = report.traded
    return traded, reward
