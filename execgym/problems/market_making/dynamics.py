"""Dynamics of MarketMaking: one step of one episode, and of a whole batch of episodes.

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
probability that a quote at depth δ fills within the step.

The quotes rest from the start of the step at the mid S, fills come first and
the inventory after them, q', is held through the price move (and penalised).
Reward, objective "risk_neutral": ΔW − penalty, so Σ reward = Π, the penalised
profit X_N + q_N·S_N − (X_0 + q_0·S_0) − φ·Σ q²·dt − α·q_N². Objective
"cara": 0 until the last step, then u(Π) = (1 − e^{−γΠ})/γ (:func:`utility`). Currency units.
Where u(Π) is below the most negative float64 (Π < −min(709.78, ln(γ·1.8e308))/γ,
e.g. Π < −71 at γ = 10) both envs raise ValueError instead of returning −inf.

U_b, U_a, U_S are streams 0, 1, 2 of :func:`execgym.noise.uniforms` at step
n: functions of (seed, episode, step) only, never of the quotes, so two
strategies on one seed face the same order flow and prices, and a fill at depth
δ implies a fill at any smaller depth (the fill is monotone in the quote).

The step is written once, for one episode, in plain Python on floats
(:func:`advance`). The scalar env calls it as it is, with the episode's draws
taken at reset (:func:`episode_noise`); :func:`step` runs it over a batch
compiled by numba (``register_jitable``), drawing each episode's U_b, U_a and ξ
in the loop (:func:`fill_draws`, :func:`price_shock`, on
:func:`execgym.noise.uniform_draw`), so the two give the same bits. The fill
probabilities p(δ_b), p(δ_a) are the one input computed outside it, by
:meth:`~.params.MarketMakingParams.fill_probabilities` on the step's quotes (an
array of two in the scalar env, (b, 2) for a batch): numpy's vectorised exp and
expm1 take a third of the time of numba's calls of the C library's, and give
each element the same bits whatever the length of the (contiguous) array. The
functions read the params through :class:`Market`, the same numbers as plain
fields, and the model's choices through the flags of :class:`Variant`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import numba
import numpy as np
from numba.extending import register_jitable

from execgym.noise import episode_keys, normal_quantile, uniform_draw
from execgym.problems.market_making.params import MarketMakingParams

STREAMS = 3
BID_FILL, ASK_FILL, PRICE = range(STREAMS)
MAX_UTILITY_EXPONENT = 709.78
"""Largest −γΠ whose expm1 is taken (just below ln of the largest float64, 709.7827, beyond which Python's
math.expm1 raises OverflowError)."""


class Variant(NamedTuple):
    """Which model choices the params make. The compiled batch loop takes these flags as compile-time
    constants (:func:`_step_loop`), so the other choices' branches are compiled out."""

    gaussian: bool   # price_shocks="gaussian" (else "binomial")
    cara: bool       # objective="cara" (else "risk_neutral")


class Market(NamedTuple):
    """The params' numbers as the step's arithmetic reads them (plain scalars)."""

    steps: int                # N
    max_inventory: int        # Q̄, shares
    drift_step: float         # μ·dt, currency per share
    shock_scale: float        # σ·√dt, currency per share
    running_penalty: float    # φ·dt, currency per share²
    terminal_penalty: float   # α, currency per share²
    risk_aversion: float      # γ, per currency (0 under "risk_neutral")


@lru_cache(maxsize=64)
def market(params: MarketMakingParams) -> tuple[Variant, Market]:
    """(:class:`Variant`, :class:`Market`) of ``params``: the form both plain Python and numba read."""
    variant = Variant(gaussian=params.price_shocks == "gaussian", cara=params.objective == "cara")
    return variant, Market(
        steps=params.steps, max_inventory=params.max_inventory, drift_step=params.drift * params.dt,
        shock_scale=params.volatility * math.sqrt(params.dt), running_penalty=params.inventory_penalty * params.dt,
        terminal_penalty=params.terminal_penalty, risk_aversion=params.risk_aversion or 0.0)


@register_jitable(inline="always")
def quoted(m: Market, q: int) -> tuple[bool, bool]:
    """(bid quoted, ask quoted) at inventory q: no bid at Q̄, no ask at −Q̄."""
    return q < m.max_inventory, q > -m.max_inventory


@register_jitable(inline="always")
def quote_depth(max_depth: float, action: float) -> float:
    """δ = (clip(a, −1, 1) + 1)/2·δ_max, currency: the depth a continuous action a asks for (NaN for NaN)."""
    a = -1.0 if action < -1.0 else (1.0 if action > 1.0 else action)
    return 0.5 * (a + 1.0) * max_depth


@register_jitable(inline="always")
def advance(v: Variant, m: Market, n: int, q: int, cash: float, mid: float, profit: float, depth_b: float,
            depth_a: float, p_b: float, p_a: float, u_b: float, u_a: float, shock: float):
    """Step n of one episode (module docstring) from inventory q (shares), cash X, mid S and penalised profit
    Π so far (currency), quoting depths δ_b, δ_a that fill with probabilities p_b = p(δ_b), p_a = p(δ_a),
    with the step's fill draws U_b, U_a and price shock ξ. Returns (bid filled, ask filled, q', X', S', Π',
    reward, terminated)."""
    bid_quoted, ask_quoted = quoted(m, q)
    bid_filled = bid_quoted and u_b < p_b
    ask_filled = ask_quoted and u_a < p_a
    bid, ask = (1.0 if bid_filled else 0.0), (1.0 if ask_filled else 0.0)
    q = q + int(bid_filled) - int(ask_filled)
    cash = cash - (mid - depth_b) * bid + (mid + depth_a) * ask
    spread = depth_b * bid + depth_a * ask
    move = m.drift_step + m.shock_scale * shock
    terminated = n + 1 >= m.steps
    penalty = (m.running_penalty + m.terminal_penalty if terminated else m.running_penalty) * (q * q)
    gain = spread + q * move - penalty
    profit += gain
    reward = gain
    if v.cara:
        reward = utility(m.risk_aversion, profit) if terminated else 0.0
    return bid_filled, ask_filled, q, cash, mid + move, profit, reward, terminated


@register_jitable(inline="always")
def utility(gamma: float, profit: float) -> float:
    """u(Π) = (1 − e^{−γΠ})/γ = −expm1(−γΠ)/γ, currency; −inf where it is below the most negative float64
    (Π < −min(709.78, ln(γ·1.8e308))/γ), which the envs refuse (:func:`check_utility`)."""
    exponent = -gamma * profit
    return -math.expm1(exponent) / gamma if exponent <= MAX_UTILITY_EXPONENT else -math.inf


def check_utility(params: MarketMakingParams, reward, profit) -> None:
    """ValueError where a reward (any shape) is not finite: the utility of an episode's penalised profit
    ``profit`` (same shape) below the most negative float64."""
    reward, profit = np.asarray(reward), np.asarray(profit)
    if np.isfinite(reward).all():
        return
    gamma = params.risk_aversion
    worst = float(profit[~np.isfinite(reward)].min())
    raise ValueError(
        f"the utility u(Π) = (1 − e^{{−γΠ}})/γ of an episode's penalised profit Π = {worst:.6g} is below the "
        f"most negative float64 at risk_aversion = {gamma:g} (u is finite for Π >= {_lowest_profit(gamma):.6g} "
        "there): lower risk_aversion for strategies that can lose this much")


def _lowest_profit(gamma: float) -> float:
    """About the lowest Π whose utility :func:`utility` returns finite: −min(709.78, ln(γ·F))/γ, F the largest
    float64."""
    return -min(MAX_UTILITY_EXPONENT, float(np.log(gamma) + np.log(np.finfo(np.float64).max))) / gamma


@register_jitable(inline="always")
def observation(m: Market, n: int, q: int) -> tuple[float, float]:
    """[time remaining (N − n)/N, inventory q/Q̄] after n steps at inventory q (the envs store it as float32)."""
    return (m.steps - n) / m.steps, q / m.max_inventory


@register_jitable(inline="always")
def fill_draws(key, n) -> tuple[float, float]:
    """(U_b, U_a) of step n under the episode's noise key (uint64): streams 0 and 1 of
    :func:`execgym.noise.uniforms`. Compiled code only (the scalar env takes them from :func:`episode_noise`)."""
    counter = np.uint64(n) * np.uint64(STREAMS)
    return uniform_draw(key, counter + np.uint64(BID_FILL)), uniform_draw(key, counter + np.uint64(ASK_FILL))


@register_jitable(inline="always")
def price_shock(v: Variant, key, n) -> float:
    """ξ of step n under the episode's noise key (uint64): Φ⁻¹(U_S) ("gaussian") or −1 if U_S < ½ else +1
    ("binomial"), U_S stream 2 of :func:`execgym.noise.uniforms`. Compiled code only (arrays:
    :func:`price_shocks`)."""
    u = uniform_draw(key, np.uint64(n) * np.uint64(STREAMS) + np.uint64(PRICE))
    if v.gaussian:
        return normal_quantile(u)
    return -1.0 if u < 0.5 else 1.0


@dataclass(frozen=True)
class Batch:
    """State of a batch of episodes, one row per episode."""

    seed: np.ndarray       # uint64 (b,)
    episode: np.ndarray    # uint64 (b,)
    key: np.ndarray        # uint64 (b,): noise key of the current episode
    elapsed: np.ndarray    # int64 (b,): steps done, 0..N
    inventory: np.ndarray  # int64 (b,): q, shares
    cash: np.ndarray       # float64 (b,): X, currency
    mid: np.ndarray        # float64 (b,): S, currency per share
    profit: np.ndarray     # float64 (b,): penalised profit so far, W − W_0 − penalties, currency

    def __len__(self) -> int:
        return self.elapsed.shape[0]

    @property
    def wealth(self) -> np.ndarray:
        """(b,) mark-to-market wealth X + q·S, currency."""
        return self.cash + self.inventory * self.mid


@dataclass(frozen=True)
class Transition:
    """One step of a batch: the new batch, rewards (b,), which episodes ended (b,), and the fills (b,) bool."""

    batch: Batch
    reward: np.ndarray
    terminated: np.ndarray
    bid_filled: np.ndarray
    ask_filled: np.ndarray


def start(params: MarketMakingParams, seeds: np.ndarray, episodes: np.ndarray) -> Batch:
    """Fresh episodes number ``episodes`` of the streams ``seeds``."""
    seeds = np.asarray(seeds, dtype=np.uint64)
    episodes = np.asarray(episodes, dtype=np.uint64)
    b = seeds.shape[0]
    return Batch(seed=seeds, episode=episodes, key=episode_keys(seeds, episodes),
                 elapsed=np.zeros(b, dtype=np.int64), inventory=np.full(b, params.initial_inventory, dtype=np.int64),
                 cash=np.zeros(b), mid=np.full(b, params.mid_price), profit=np.zeros(b))


def observe(params: MarketMakingParams, batch: Batch) -> np.ndarray:
    """Observations (b, 2) float32: :func:`observation` of every episode."""
    obs = np.empty((len(batch), 2), dtype=np.float32)
    _observe(market(params)[1], np.asarray(batch.elapsed, dtype=np.int64), np.asarray(batch.inventory, dtype=np.int64),
             obs)
    return obs


@numba.njit(cache=True)
def _observe(m, elapsed, inventory, out):
    for i in range(elapsed.size):
        out[i, 0], out[i, 1] = observation(m, elapsed[i], inventory[i])


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
    bid, ask = _quoted_sides(market(params)[1], inventory.ravel())
    return bid.reshape(inventory.shape), ask.reshape(inventory.shape)


@numba.njit(cache=True)
def _quoted_sides(m, inventory):
    bid, ask = np.empty(inventory.size, dtype=np.bool_), np.empty(inventory.size, dtype=np.bool_)
    for i in range(inventory.size):
        bid[i], ask[i] = quoted(m, inventory[i])
    return bid, ask


def quote_depths(params: MarketMakingParams, actions: np.ndarray) -> np.ndarray:
    """Depths of continuous actions (any shape, e.g. (b, 2)): :func:`quote_depth` elementwise; NaN raises
    ValueError."""
    actions = np.asarray(actions)
    depths, nans = _quote_depths(params.max_depth, np.ascontiguousarray(
        actions, dtype=np.float32 if actions.dtype == np.float32 else np.float64))
    if nans:
        raise ValueError("action contains NaN; actions must be numbers in [-1, 1]")
    return depths


@numba.njit(cache=True)
def _quote_depths(max_depth, actions):
    depths = np.empty(actions.shape)
    flat_actions, flat_depths = actions.ravel(), depths.ravel()
    nans = 0
    for i in range(flat_actions.size):
        flat_depths[i] = quote_depth(max_depth, flat_actions[i])
        nans += flat_depths[i] != flat_depths[i]
    return depths, nans


def price_shocks(params: MarketMakingParams, key: np.ndarray, step: np.ndarray) -> np.ndarray:
    """ξ of step ``step`` under noise keys ``key`` (broadcast together): :func:`price_shock` elementwise."""
    key, step = np.broadcast_arrays(np.asarray(key, dtype=np.uint64), np.asarray(step, dtype=np.uint64))
    return _price_shocks(market(params)[0], key.ravel(), step.ravel()).reshape(key.shape)


@numba.njit(cache=True)
def _price_shocks(v, keys, steps):
    out = np.empty(keys.size)
    for i in range(keys.size):
        out[i] = price_shock(v, keys[i], steps[i])
    return out


def episode_noise(params: MarketMakingParams, key) -> list[list[float]]:
    """[U_b, U_a, ξ], each a list over steps 0..N−1, of the episode with noise key ``key``: the draws
    :func:`step` takes in its loop, which the scalar env takes at reset."""
    return _episode_noise(market(params)[0], np.uint64(key), params.steps).tolist()


@numba.njit(cache=True)
def _episode_noise(v, key, steps):
    noise = np.empty((3, steps))
    for n in range(steps):
        noise[0, n], noise[1, n] = fill_draws(key, n)
        noise[2, n] = price_shock(v, key, n)
    return noise


def step(params: MarketMakingParams, batch: Batch, depths: np.ndarray) -> Transition:
    """Quote ``depths`` (b, 2) = [bid depth, ask depth] in [0, δ_max] for every episode of ``batch``
    (none finished): :func:`advance` of each."""
    v, m = market(params)
    depths = np.ascontiguousarray(depths, dtype=np.float64)
    (bid_filled, ask_filled, inventory, cash, mid, profit, reward, terminated) = _step_loop(v)(
        m, batch.key, batch.elapsed, batch.inventory, batch.cash, batch.mid, batch.profit, depths,
        params.fill_probabilities(depths))
    if v.cara:
        check_utility(params, reward, profit)
    new = Batch(seed=batch.seed, episode=batch.episode, key=batch.key, elapsed=batch.elapsed + 1, inventory=inventory,
                cash=cash, mid=mid, profit=profit)
    return Transition(batch=new, reward=reward, terminated=terminated, bid_filled=bid_filled, ask_filled=ask_filled)


@lru_cache(maxsize=None)
def _step_loop(v: Variant):
    """:func:`advance` over a batch with the draws of each episode's step, compiled for variant ``v`` (its
    flags compile-time constants; one compilation, about a second, per variant and process)."""

    @numba.njit
    def loop(m, key, elapsed, inventory, cash, mid, profit, depths, probabilities):
        b = elapsed.size
        bid_filled, ask_filled = np.empty(b, dtype=np.bool_), np.empty(b, dtype=np.bool_)
        new_inventory, new_cash, new_mid = np.empty(b, dtype=np.int64), np.empty(b), np.empty(b)
        new_profit, reward, terminated = np.empty(b), np.empty(b), np.empty(b, dtype=np.bool_)
        for i in range(b):
            n = elapsed[i]
            u_b, u_a = fill_draws(key[i], n)
            (bid_filled[i], ask_filled[i], new_inventory[i], new_cash[i], new_mid[i], new_profit[i], reward[i],
             terminated[i]) = advance(v, m, n, inventory[i], cash[i], mid[i], profit[i], depths[i, 0], depths[i, 1],
                                      probabilities[i, 0], probabilities[i, 1], u_b, u_a, price_shock(v, key[i], n))
        return bid_filled, ask_filled, new_inventory, new_cash, new_mid, new_profit, reward, terminated

    return loop
