"""Dynamics of MarketMaking: one step of one episode.

Per episode, at step n (q inventory, X cash, S mid-price; depths δ_b, δ_a >= 0
of the bid S − δ_b and the ask S + δ_a; U_b, U_a, U_S uniforms of the step)::

    bid quoted iff q < Q̄,  ask quoted iff q > −Q̄
    fill_b = bid quoted and U_b < p(δ_b),   fill_a = ask quoted and U_a < p(δ_a)
    q'  = q + fill_b − fill_a
    X'  = X − (S − δ_b)·fill_b + (S + δ_a)·fill_a
    S'  = S + μ·dt + σ·√dt·ξ,   ξ = Φ⁻¹(U_S) ("gaussian") or sign(U_S − ½) ("binomial")
    ΔW  = δ_b·fill_b + δ_a·fill_a + q'·(S' − S)              change in wealth W = X + q·S
    penalty = φ·q'²·dt  (+ α·q'² at the last step)

with p(δ) = 1 − exp(−A·e^{−kδ}·dt) ("poisson") or A·e^{−kδ}·dt ("linear"), the
probability that a quote at depth δ fills within the step (:func:`fill_probability`).

The step also reports E[reward | state, action] (``Report.expected_reward``,
:func:`expected_reward`): the reward averaged over the step's fills and price
move, whose sum over an episode has the same expectation for every policy that
does not see the future (:mod:`execgym.wrappers`).

The quotes rest from the start of the step at the mid S, fills come first and
the inventory after them, q', is held through the price move (and penalised).
Reward, objective "risk_neutral": ΔW − penalty, so Σ reward = Π, the penalised
profit X_N + q_N·S_N − (X_0 + q_0·S_0) − φ·Σ q²·dt − α·q_N². Objective
"cara": 0 until the last step, then u(Π) = (1 − e^{−γΠ})/γ (:func:`utility`). Currency units.
Where u(Π) is below the most negative float64 (Π < −min(709.78, ln(γ·1.8e308))/γ,
e.g. Π < −71 at γ = 10) both envs raise ValueError instead of returning −inf (:func:`check_utility`).

U_b, U_a, U_S are streams 0, 1, 2 of :func:`execgym.noise.uniforms` at step
n: functions of (seed, episode, step) only, never of the quotes, so two
strategies on one seed face the same order flow and prices, and a fill at depth
δ implies a fill at any smaller depth (the fill is monotone in the quote).

The step is written once, for one episode, in plain Python on numbers
(:func:`advance` on a :class:`State` in a :class:`Market`); the scalar env runs
it as it is, with the episode's draws taken at reset (:func:`episode_noise`),
and the engine (:mod:`execgym.engine`) compiles it over a batch, each slot with
its own market or all sharing one, with the draws of each slot's step
(:func:`step_noise`), so the two give the same bits. The step maps the controls
to depths and the depths to fill probabilities itself, in the slot's market
(Python's math.exp and math.expm1 and numba's call the same C library functions).
The model choices the params make (:class:`Variant`) are compile-time constants
of the compiled loop.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import NamedTuple

import numba
import numpy as np
from numba.extending import register_jitable

from execgym.engine import Dynamics
from execgym.noise import normal_quantile, uniform_draw
from execgym.problems.market_making.params import MarketMakingParams

STREAMS = 3
BID_FILL, ASK_FILL, PRICE = range(STREAMS)
MAX_UTILITY_EXPONENT = 709.78
"""Largest −γΠ whose expm1 is taken (just below ln of the largest float64, 709.7827, beyond which Python's
math.expm1 raises OverflowError)."""


class Variant(NamedTuple):
    """Which model choices the params make: compile-time constants of the compiled loop, so the other
    choices' branches are compiled out."""

    gaussian: bool   # price_shocks="gaussian" (else "binomial")
    cara: bool       # objective="cara" (else "risk_neutral")
    poisson: bool    # fill_probability="poisson" (else "linear")
    discrete: bool   # tick_size set: the controls are tick counts (else actions in [−1, 1])


class Market(NamedTuple):
    """The params' numbers as the step's arithmetic reads them (plain scalars, the same for plain Python and
    compiled code)."""

    steps: int                # N
    max_inventory: int        # Q̄, shares
    initial_inventory: int    # q_0, shares
    mid_price: float          # S_0, currency per share
    max_depth: float          # δ_max, currency
    tick_size: float          # h, currency (0 for continuous depths)
    arrival_rate: float       # A, market orders per unit time at depth 0
    depth_decay: float        # k, per currency
    dt: float                 # T/N, units of time
    drift_step: float         # μ·dt, currency per share
    shock_scale: float        # σ·√dt, currency per share
    running_penalty: float    # φ·dt, currency per share²
    terminal_penalty: float   # α, currency per share²
    risk_aversion: float      # γ, per currency (0 under "risk_neutral")


class State(NamedTuple):
    """One episode's state after ``elapsed`` steps."""

    elapsed: int      # steps done, 0..N
    inventory: int    # q, shares
    cash: float       # X, currency
    mid: float        # S, currency per share
    profit: float     # penalised profit so far, W − W_0 − penalties, currency


class Report(NamedTuple):
    """What a step reports beside the state."""

    bid_filled: bool
    ask_filled: bool
    expected_reward: float   # E[reward | state, action] (:func:`expected_reward`)


def variant(params: MarketMakingParams) -> Variant:
    """The :class:`Variant` flags of ``params``."""
    return Variant(gaussian=params.price_shocks == "gaussian", cara=params.objective == "cara",
                   poisson=params.fill_probability == "poisson", discrete=params.discrete)


@lru_cache(maxsize=256)
def market(params: MarketMakingParams) -> Market:
    """The :class:`Market` of ``params``: the form both plain Python and numba read."""
    return Market(
        steps=params.steps, max_inventory=params.max_inventory, initial_inventory=params.initial_inventory,
        mid_price=params.mid_price, max_depth=params.max_depth, tick_size=params.tick_size or 0.0,
        arrival_rate=params.arrival_rate, depth_decay=params.depth_decay, dt=params.dt,
        drift_step=params.drift * params.dt, shock_scale=params.volatility * math.sqrt(params.dt),
        running_penalty=params.inventory_penalty * params.dt, terminal_penalty=params.terminal_penalty,
        risk_aversion=params.risk_aversion or 0.0)


@register_jitable(inline="always")
def quoted(m: Market, q: int) -> tuple[bool, bool]:
    """(bid quoted, ask quoted) at inventory q: no bid at Q̄, no ask at −Q̄."""
    return q < m.max_inventory, q > -m.max_inventory


@register_jitable
def quote_depth(v: Variant, m: Market, control) -> float:
    """δ, currency, of one side's control: i·h for a tick count i, else (clip(a, −1, 1) + 1)/2·δ_max for an
    action a (NaN for NaN)."""
    if v.discrete:
        return control * m.tick_size
    a = -1.0 if control < -1.0 else (1.0 if control > 1.0 else control)
    return 0.5 * (a + 1.0) * m.max_depth


@register_jitable
def fill_probability(v: Variant, m: Market, depth: float) -> float:
    """p(δ), the probability that a quote at depth δ fills within the step: 1 − exp(−x) ("poisson") or x
    ("linear") with x = A·e^{−kδ}·dt, the bits of :meth:`~.params.MarketMakingParams.fill_probabilities`."""
    rate_dt = m.arrival_rate * math.exp(-m.depth_decay * depth) * m.dt
    return -math.expm1(-rate_dt) if v.poisson else rate_dt


@register_jitable
def expected_reward(v: Variant, m: Market, q: int, profit: float, depth_b: float, depth_a: float, p_b: float,
                    p_a: float, last: bool) -> float:
    """E[reward | state, quotes], currency: the reward averaged over the step's four fill outcomes (bid and ask
    fill independently with probabilities p_b, p_a, 0 for a side not quoted) and its price move (mean μ·dt).

    "risk_neutral": Σ_outcomes P·(δ_b·1_b + δ_a·1_a + q'·μ·dt − φ·dt·q'² (− α·q'² at the last step)).
    "cara": 0 before the last step; at it E[u(Π')] = −expm1(ln E[e^{−γΠ'}])/γ with Π' = Π + the step's gain and,
    per outcome, E[e^{−γq'·ΔS}] = e^{−γq'μdt}·e^{γ²q'²σ²dt/2} ("gaussian") or e^{−γq'μdt}·cosh(γq'σ√dt)
    ("binomial"), summed in logs; −inf where E[u] is below the most negative float64 (as :func:`utility`)."""
    if v.cara and not last:
        return 0.0
    penalty_rate = m.running_penalty + m.terminal_penalty if last else m.running_penalty
    mean = 0.0
    top, total = -math.inf, 0.0   # ln E[e^{−γΠ'}] = top + ln(total), accumulated without overflow
    for outcome in range(4):
        bid, ask = outcome // 2, outcome % 2
        probability = (p_b if bid else 1.0 - p_b) * (p_a if ask else 1.0 - p_a)
        after = q + bid - ask
        gain = depth_b * bid + depth_a * ask + after * m.drift_step - penalty_rate * (after * after)
        mean += probability * gain
        if v.cara and probability > 0.0:
            exposure = m.risk_aversion * after * m.shock_scale     # γ·q'·σ√dt: ln E[e^{−γq'σ√dt·ξ}] below
            if v.gaussian:
                log_moment = 0.5 * exposure * exposure
            else:
                log_moment = abs(exposure) + math.log1p(math.exp(-2.0 * abs(exposure))) - math.log(2.0)
            term = math.log(probability) + log_moment - m.risk_aversion * (profit + gain)
            if term > top:
                total, top = total * math.exp(top - term) + 1.0, term
            else:
                total += math.exp(term - top)
    if not v.cara:
        return mean
    exponent = top + math.log(total)
    return -math.expm1(exponent) / m.risk_aversion if exponent <= MAX_UTILITY_EXPONENT else -math.inf


@register_jitable(inline="always")
def utility(gamma: float, profit: float) -> float:
    """u(Π) = (1 − e^{−γΠ})/γ = −expm1(−γΠ)/γ, currency; −inf where it is below the most negative float64
    (Π < −min(709.78, ln(γ·1.8e308))/γ), which the envs refuse (:func:`check_utility`)."""
    exponent = -gamma * profit
    return -math.expm1(exponent) / gamma if exponent <= MAX_UTILITY_EXPONENT else -math.inf


@register_jitable(inline="always")
def initial_state(v: Variant, m: Market, key) -> State:
    """Nothing traded yet: inventory q_0, no cash, the mid at S_0."""
    return State(0, m.initial_inventory, 0.0, m.mid_price, 0.0)


@register_jitable(inline="always")
def advance(v: Variant, m: Market, state: State, control, noise):
    """One step from ``state`` (module docstring) quoting ``control`` = (bid, ask) (tick counts or actions,
    :func:`quote_depth`), with the step's draws ``noise`` = (U_b, U_a, ξ). Returns (next state, reward,
    :class:`Report`)."""
    q, mid = state.inventory, state.mid
    depth_b, depth_a = quote_depth(v, m, control[0]), quote_depth(v, m, control[1])
    bid_quoted, ask_quoted = quoted(m, q)
    p_b = fill_probability(v, m, depth_b) if bid_quoted else 0.0
    p_a = fill_probability(v, m, depth_a) if ask_quoted else 0.0
    bid_filled = noise[BID_FILL] < p_b
    ask_filled = noise[ASK_FILL] < p_a
    last = state.elapsed + 1 >= m.steps
    expected = expected_reward(v, m, q, state.profit, depth_b, depth_a, p_b, p_a, last)
    bid, ask = (1.0 if bid_filled else 0.0), (1.0 if ask_filled else 0.0)
    q = q + int(bid_filled) - int(ask_filled)
    cash = state.cash - (mid - depth_b) * bid + (mid + depth_a) * ask
    spread = depth_b * bid + depth_a * ask
    move = m.drift_step + m.shock_scale * noise[PRICE]
    penalty = (m.running_penalty + m.terminal_penalty if last else m.running_penalty) * (q * q)
    gain = spread + q * move - penalty
    profit = state.profit + gain
    reward = gain
    if v.cara:
        reward = utility(m.risk_aversion, profit) if last else 0.0
    return State(state.elapsed + 1, q, cash, mid + move, profit), reward, Report(bid_filled, ask_filled, expected)


@register_jitable(inline="always")
def finished(m: Market, state: State) -> bool:
    """True after the N-th step."""
    return state.elapsed >= m.steps


@register_jitable(inline="always")
def write_observation(v: Variant, m: Market, state: State, out, row: int) -> None:
    """The observation into row ``row`` of ``out`` (float32): [time remaining (N − n)/N, inventory q/Q̄]."""
    out[row, 0] = (m.steps - state.elapsed) / m.steps
    out[row, 1] = state.inventory / m.max_inventory


@register_jitable(inline="always")
def draws(v: Variant, key, n) -> tuple[float, float, float]:
    """(U_b, U_a, ξ) of step n under the episode's noise key (uint64): streams 0, 1 and 2 of
    :func:`execgym.noise.uniforms`, ξ = Φ⁻¹(U_S) ("gaussian") or −1 if U_S < ½ else +1 ("binomial")."""
    counter = np.uint64(n) * np.uint64(STREAMS)
    u = uniform_draw(key, counter + np.uint64(PRICE))
    if v.gaussian:
        shock = normal_quantile(u)
    else:
        shock = -1.0 if u < 0.5 else 1.0
    return uniform_draw(key, counter + np.uint64(BID_FILL)), uniform_draw(key, counter + np.uint64(ASK_FILL)), shock


def step_noise(v: Variant, keys: np.ndarray, elapsed: np.ndarray) -> np.ndarray:
    """(n, 3) float64: the draws (U_b, U_a, ξ) of step ``elapsed`` (n,) of the episodes with noise keys
    ``keys`` (n,) uint64 (:func:`draws`)."""
    return _step_noise(v, np.asarray(keys, dtype=np.uint64), np.asarray(elapsed, dtype=np.int64))


@numba.njit(cache=True)
def _step_noise(v, keys, elapsed):
    out = np.empty((keys.size, STREAMS))
    for i in range(keys.size):
        out[i, BID_FILL], out[i, ASK_FILL], out[i, PRICE] = draws(v, keys[i], elapsed[i])
    return out


def episode_noise(v: Variant, m: Market, key) -> list[list[float]]:
    """[U_b, U_a, ξ] of steps 0..N−1 of the episode with noise key ``key`` in market ``m``: the scalar env
    draws them at reset."""
    return step_noise(v, np.full(m.steps, key, dtype=np.uint64), np.arange(m.steps)).tolist()


DYNAMICS = Dynamics(
    State=State, Report=Report, variant=variant, market=market, scalar_market=market,
    initial_state=initial_state, advance=advance, finished=finished, write_observation=write_observation,
    noise=step_noise, episode_noise=episode_noise, observation_size=lambda params: 2)


def check_utility(markets: tuple, state, reward) -> None:
    """ValueError refusing a step under objective "cara" whose reward is not finite: the utility of the
    penalised profit ``state.profit`` below the most negative float64. ``markets`` are the params of each slot
    (one for the scalar env), ``state`` and ``reward`` the step's new state and reward (a record and a float,
    or a table and an (n,) array); the message names the slot (of several) with the lowest such profit."""
    if markets[0].objective != "cara":
        return
    reward, profit = np.atleast_1d(reward), np.atleast_1d(state.profit)
    refused = np.flatnonzero(~np.isfinite(reward))
    if refused.size == 0:
        return
    slot = int(refused[np.argmin(profit[refused])])
    gamma = markets[slot].risk_aversion
    where = f" in slot {slot}" if len(markets) > 1 else ""
    raise ValueError(
        f"the utility u(Π) = (1 − e^{{−γΠ}})/γ of an episode's penalised profit Π = {profit[slot]:.6g}{where} is "
        f"below the most negative float64 at risk_aversion = {gamma:g} (u is finite for Π >= "
        f"{_lowest_profit(gamma):.6g} there): lower risk_aversion for strategies that can lose this much")


def _lowest_profit(gamma: float) -> float:
    """About the lowest Π whose utility :func:`utility` returns finite: −min(709.78, ln(γ·F))/γ, F the largest
    float64."""
    return -min(MAX_UTILITY_EXPONENT, float(np.log(gamma) + np.log(np.finfo(np.float64).max))) / gamma


def decode(params: MarketMakingParams, observations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(steps done n (b,) int64, inventory q (b,) int64) from observations (b, 2)."""
    observations = np.asarray(observations, dtype=np.float64)
    if observations.ndim != 2 or observations.shape[1] != 2:
        raise ValueError(f"observations must have shape (batch, 2), got {observations.shape}")
    elapsed = np.rint(params.steps * (1.0 - observations[:, 0])).astype(np.int64)
    inventory = np.rint(observations[:, 1] * params.max_inventory).astype(np.int64)
    return elapsed, inventory


def quoted_sides(params: MarketMakingParams, inventory: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(bid quoted, ask quoted), bool arrays like ``inventory``: :func:`quoted` elementwise."""
    inventory = np.asarray(inventory, dtype=np.int64)
    bid, ask = _quoted_sides(market(params), inventory.ravel())
    return bid.reshape(inventory.shape), ask.reshape(inventory.shape)


@numba.njit(cache=True)
def _quoted_sides(m, inventory):
    bid, ask = np.empty(inventory.size, dtype=np.bool_), np.empty(inventory.size, dtype=np.bool_)
    for i in range(inventory.size):
        bid[i], ask[i] = quoted(m, inventory[i])
    return bid, ask


def quote_depths(params: MarketMakingParams, controls: np.ndarray) -> np.ndarray:
    """The depths, currency, that ``controls`` (any shape: tick counts or actions, as the envs' ``controls``
    give them) quote in ``params``: :func:`quote_depth` elementwise."""
    controls = np.asarray(controls)
    flat = np.ascontiguousarray(controls.ravel(), dtype=np.int64 if params.discrete else np.float64)
    return _quote_depths(variant(params), market(params), flat).reshape(controls.shape)


@numba.njit(cache=True)
def _quote_depths(v, m, controls):
    depths = np.empty(controls.size)
    for i in range(controls.size):
        depths[i] = quote_depth(v, m, controls[i])
    return depths
