"""Dynamics of OptimalExecRegimes: one period of one episode.

Notation as :mod:`execgym.problems.optimal_exec.dynamics` (x shares still to trade, S the mid-price, s = +1 for
a sell and −1 for a buy), with the period's regime r (observed): v_r its volatility multiplier, ℓ_r its
liquidity multiplier. One period, with f ∈ [0, 1] the fraction of the remaining shares traded (all of them in
the last period), ξ ~ N(0, 1) the price shock and U ~ Uniform(0, 1) the regime's draw::

    n      = f·x                                        shares traded
    S̃      = S − s·(ε + ℓ_r·η·n/τ)                      execution price
    x'     = x − n
    ΔS     = v_r·σ√τ·ξ − s·γ·n                          mid-price move
    cost   = n·(ε + ℓ_r·η·n/τ) − s·ΔS·x'                implementation-shortfall increment, currency
    reward = −(cost + λ·v_r²σ²τ·x'²) · 10⁴/(X·S0)
    r'     = the first j with U < Σ_{i<=j} T[r, i]       the next period's regime

The expected reward given the state and the action is the reward without the shock's term s·v_r·σ√τ·ξ·x'
(``Report.expected_reward``). The step's noise is (ξ, U): streams 0 and 1 of :mod:`execgym.noise` at the
period's index, so the price shocks and the regime path of an episode are fixed by its seed, whatever the
policy.

The period is written once, for one episode, in plain Python on floats (:func:`advance`); the scalar env runs it
as it is and the engine compiles it over a batch, so the two give the same bits.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np
from numba.extending import register_jitable

from execgym.engine import Dynamics
from execgym.noise import episode_normals, normals_of, uniforms
from execgym.problems.regime_exec.params import RegimeExecParams

STREAMS = 2
PRICE, REGIME = range(STREAMS)


class Variant(NamedTuple):
    """The model's compile-time constants."""

    regimes: int    # R


class Market(NamedTuple):
    """The params as the period's arithmetic reads them: numbers, and per-regime sequences (R,) (the cumulative
    transition rows flattened row-major, (R·R,)); tuples for plain Python, float64 arrays for compiled code."""

    periods: int
    side: float               # s
    shares: float             # X
    arrival_price: float      # S0
    half_spread: float        # ε
    bps: float                # 10⁴/(X·S0)
    inverse_periods: float    # 1/N
    inverse_shares: float     # 1/X
    inverse_price_scale: float  # 1/(σ√T), σ of a regime of multiplier 1
    impact: tuple             # ℓ_r·η/τ, currency per share per share
    permanent: float          # γ, the same in every regime
    shock_scale: tuple        # v_r·σ√τ
    risk: tuple               # λ·v_r²σ²τ
    cumulative: tuple         # Σ_{i<=j} T[r, i] at [r·R + j], the last of each row exactly 1
    initial_regime: int       # r_0


class State(NamedTuple):
    """One episode's state after ``elapsed`` periods."""

    elapsed: int          # periods done, 0..N
    inventory: float      # x, shares
    price: float          # S, currency per share
    shortfall: float      # implementation shortfall so far, currency
    last_trade: float     # n of the last period (0 before the first)
    regime: int           # r of the next period (the regime the observation shows)


class Report(NamedTuple):
    """What a period reports beside the state."""

    execution_price: float    # S̃, currency per share
    expected_reward: float    # E[reward | state, action]: the reward without the shock's term


def variant(params: RegimeExecParams) -> Variant:
    """The :class:`Variant` of ``params``."""
    return Variant(regimes=params.regimes)


def _market(params: RegimeExecParams, sequence) -> Market:
    tau, volatility = params.tau, np.array(params.regime_volatility)
    liquidity = np.array(params.regime_liquidity)
    cumulative = np.cumsum(params.transition_matrix, axis=1)
    cumulative[:, -1] = 1.0                               # rows sum to 1 within 10⁻¹²: close them exactly
    return Market(
        periods=params.periods, side=float(params.side_sign), shares=params.shares,
        arrival_price=params.arrival_price, half_spread=params.half_spread, bps=params.bps_per_currency,
        inverse_periods=1.0 / params.periods, inverse_shares=1.0 / params.shares,
        inverse_price_scale=1.0 / (params.volatility * np.sqrt(params.horizon)),
        impact=sequence(liquidity * params.temporary_impact / tau),
        permanent=params.permanent_impact,
        shock_scale=sequence(volatility * params.volatility * np.sqrt(tau)),
        risk=sequence(params.risk_aversion * (volatility * params.volatility) ** 2 * tau),
        cumulative=sequence(cumulative.ravel()), initial_regime=params.initial_regime)


@lru_cache(maxsize=64)
def market(params: RegimeExecParams) -> Market:
    """The :class:`Market` of ``params`` as compiled code reads it (sequences as float64 arrays)."""
    return _market(params, lambda values: np.ascontiguousarray(values, dtype=np.float64))


@lru_cache(maxsize=64)
def scalar_market(params: RegimeExecParams) -> Market:
    """The :class:`Market` of ``params`` as plain Python reads it fastest (sequences as tuples of floats)."""
    return _market(params, lambda values: tuple(np.asarray(values, dtype=np.float64).tolist()))


@register_jitable(inline="always")
def initial_state(v: Variant, market: Market, key) -> State:
    """Nothing traded yet, in the initial regime."""
    return State(0, market.shares, market.arrival_price, 0.0, 0.0, market.initial_regime)


@register_jitable(inline="always")
def next_regime(v: Variant, market: Market, regime: int, draw: float) -> int:
    """The first regime j with ``draw`` < Σ_{i<=j} T[regime, i]."""
    row = regime * v.regimes
    for j in range(v.regimes - 1):
        if draw < market.cumulative[row + j]:
            return j
    return v.regimes - 1


@register_jitable(inline="always")
def advance(v: Variant, market: Market, state: State, fraction: float, noise):
    """One period from ``state`` with noise (ξ, U) = ``noise``, trading ``fraction`` of the remaining shares
    (all of them in the last period; module docstring). Returns (next state, reward, :class:`Report`)."""
    k, x, r = state.elapsed, state.inventory, state.regime
    traded = x if k >= market.periods - 1 else fraction * x
    cost_per_share = market.half_spread + market.impact[r] * traded
    remaining = x - traded
    permanent = market.side * market.permanent * traded
    move = market.shock_scale[r] * noise[0] - permanent
    penalty = market.risk[r] * (remaining * remaining)
    cost = traded * cost_per_share - market.side * move * remaining
    expected_cost = traded * cost_per_share + market.side * permanent * remaining
    next_state = State(k + 1, remaining, state.price + move, state.shortfall + cost, traded,
                       next_regime(v, market, r, noise[1]))
    return (next_state, -(cost + penalty) * market.bps,
            Report(state.price - market.side * cost_per_share, -(expected_cost + penalty) * market.bps))


@register_jitable(inline="always")
def finished(market: Market, state: State) -> bool:
    """True after the N-th period."""
    return state.elapsed >= market.periods


@register_jitable(inline="always")
def write_observation(v: Variant, market: Market, state: State, out, row: int) -> None:
    """The observation into row ``row`` of ``out`` (float32, 3 + R): [time remaining (N−k)/N, inventory
    remaining x/X, price move since arrival (S − S0)/(σ√T), then one indicator per regime (1 for the next
    period's)]."""
    out[row, 0] = (market.periods - state.elapsed) * market.inverse_periods
    out[row, 1] = state.inventory * market.inverse_shares
    out[row, 2] = (state.price - market.arrival_price) * market.inverse_price_scale
    for j in range(v.regimes):
        out[row, 3 + j] = 1.0 if j == state.regime else 0.0


def step_noise(v: Variant, keys: np.ndarray, elapsed: np.ndarray) -> np.ndarray:
    """(n, 2): the price shock ξ (stream PRICE) and the regime's uniform U (stream REGIME) of period ``elapsed``
    of each episode: functions of (noise key, period) only."""
    noise = np.empty((keys.size, 2))
    noise[:, 0] = normals_of(keys, elapsed.astype(np.int64), PRICE, STREAMS)
    noise[:, 1] = uniforms(keys, elapsed, REGIME, STREAMS)
    return noise


def episode_noise(v: Variant, market: Market, key) -> list[list[float]]:
    """(ξ, U) of each period of the episode with noise key ``key``: :func:`step_noise` of its periods."""
    periods = market.periods
    shocks = episode_normals(key, 0, periods, PRICE, STREAMS)
    draws = uniforms(np.full(periods, key, dtype=np.uint64), np.arange(periods), REGIME, STREAMS)
    return np.column_stack([shocks, draws]).tolist()


DYNAMICS = Dynamics(
    State=State, Report=Report, variant=variant, market=market, scalar_market=scalar_market,
    initial_state=initial_state, advance=advance, finished=finished, write_observation=write_observation,
    noise=step_noise, episode_noise=episode_noise, observation_size=lambda params: params.observation_size)


def decode(params: RegimeExecParams, observations: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(periods elapsed k in 0..N−1, shares remaining x, regime r) from a batch of observations."""
    observations = np.asarray(observations, dtype=np.float64)
    elapsed = np.clip(np.rint(params.periods * (1.0 - observations[:, 0])).astype(np.int64), 0, params.periods - 1)
    return elapsed, observations[:, 1] * params.shares, np.argmax(observations[:, 3:3 + params.regimes], axis=1)
