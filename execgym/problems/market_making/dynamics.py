"""Batched dynamics of MarketMaking: one step for a whole batch of episodes, in pure numpy.

Per episode, at step n (q inventory, X cash, S mid-price; depths δ_b, δ_a >= 0
of the bid S − δ_b and the ask S + δ_a; U_b, U_a, U_S uniforms of the step)::

    bid quoted iff q < Q̄,  ask quoted iff q > −Q̄
    fill_b = bid quoted and U_b < p(δ_b),   fill_a = ask quoted and U_a < p(δ_a)
    q'  = q + fill_b − fill_a
    X'  = X − (S − δ_b)·fill_b + (S + δ_a)·fill_a
    S'  = S + μ·dt + σ·√dt·ξ,   ξ = Φ⁻¹(U_S) ("gaussian") or sign(U_S − ½) ("binomial")
    ΔW  = δ_b·fill_b + δ_a·fill_a + q'·(S' − S)              change in wealth W = X + q·S
    penalty = φ·q'²·dt  (+ α·q'² at the last step)

The quotes rest from the start of the step at the mid S, fills come first and
the inventory after them, q', is held through the price move (and penalised).
Reward, objective "risk_neutral": ΔW − penalty, so Σ reward = Π, the penalised
profit X_N + q_N·S_N − (X_0 + q_0·S_0) − φ·Σ q²·dt − α·q_N². Objective
"cara": 0 until the last step, then u(Π) = (1 − e^{−γΠ})/γ. Currency units.

U_b, U_a, U_S are streams 0, 1, 2 of :func:`execgym.noise.uniforms` at step
n: functions of (seed, episode, step) only, never of the quotes, so two
strategies on one seed face the same order flow and prices, and a fill at depth
δ implies a fill at any smaller depth (the fill is monotone in the quote).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

from execgym.noise import episode_keys, uniforms
from execgym.problems.market_making.params import MarketMakingParams

STREAMS = 3
BID_FILL, ASK_FILL, PRICE = range(STREAMS)


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
    """Observations (b, 2) float32: [time remaining (N − n)/N, inventory q/Q̄]."""
    obs = np.empty((len(batch), 2), dtype=np.float32)
    obs[:, 0] = (params.steps - batch.elapsed) / params.steps
    obs[:, 1] = batch.inventory / params.max_inventory
    return obs


def decode(params: MarketMakingParams, observations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(steps done n (b,) int64, inventory q (b,) int64) from observations (b, 2)."""
    observations = np.asarray(observations, dtype=np.float64)
    if observations.ndim != 2 or observations.shape[1] != 2:
        raise ValueError(f"observations must have shape (batch, 2), got {observations.shape}")
    elapsed = np.rint(params.steps * (1.0 - observations[:, 0])).astype(np.int64)
    inventory = np.rint(observations[:, 1] * params.max_inventory).astype(np.int64)
    return elapsed, inventory


def quoted_sides(params: MarketMakingParams, inventory: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(bid quoted, ask quoted), each like ``inventory``: no bid at Q̄, no ask at −Q̄."""
    return inventory < params.max_inventory, inventory > -params.max_inventory


def price_shocks(params: MarketMakingParams, key: np.ndarray, step: np.ndarray) -> np.ndarray:
    """ξ (b,) of step ``step``: standard normal ("gaussian") or ±1 ("binomial"), from uniform stream 2."""
    u = uniforms(key, step, PRICE, STREAMS)
    return ndtri(u) if params.price_shocks == "gaussian" else np.where(u < 0.5, -1.0, 1.0)


def step(params: MarketMakingParams, batch: Batch, depths: np.ndarray) -> Transition:
    """Quote ``depths`` (b, 2) = [bid depth, ask depth] in [0, δ_max] for every episode of ``batch``
    (none finished)."""
    n = batch.elapsed.astype(np.uint64)
    q = batch.inventory
    bid_quoted, ask_quoted = quoted_sides(params, q)
    probabilities = params.fill_probabilities(depths)
    bid_filled = bid_quoted & (uniforms(batch.key, n, BID_FILL, STREAMS) < probabilities[:, 0])
    ask_filled = ask_quoted & (uniforms(batch.key, n, ASK_FILL, STREAMS) < probabilities[:, 1])
    inventory = q + bid_filled - ask_filled
    mid = batch.mid
    cash = batch.cash - (mid - depths[:, 0]) * bid_filled + (mid + depths[:, 1]) * ask_filled
    move = params.drift * params.dt + params.volatility * np.sqrt(params.dt) * price_shocks(params, batch.key, n)
    elapsed = batch.elapsed + 1
    terminated = elapsed >= params.steps
    penalty = (params.inventory_penalty * params.dt + params.terminal_penalty * terminated) * inventory**2
    gain = depths[:, 0] * bid_filled + depths[:, 1] * ask_filled + inventory * move - penalty
    profit = batch.profit + gain
    if params.objective == "risk_neutral":
        reward = gain
    else:
        gamma = params.risk_aversion
        reward = np.where(terminated, -np.expm1(-gamma * profit) / gamma, 0.0)
    new = Batch(seed=batch.seed, episode=batch.episode, key=batch.key, elapsed=elapsed, inventory=inventory,
                cash=cash, mid=mid + move, profit=profit)
    return Transition(batch=new, reward=reward, terminated=terminated, bid_filled=bid_filled, ask_filled=ask_filled)
