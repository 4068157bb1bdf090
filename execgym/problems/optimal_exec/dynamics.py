"""Batched dynamics of OptimalExec: one period for a whole batch of episodes, in pure numpy.

Notation (all per episode of the batch): k periods elapsed, x shares still to
trade, S the mid-price, s = +1 for a sell and −1 for a buy, n⁻ the previous
period's trade (0 before the first). One period, with f ∈ [0, 1] the action's
position in the period's trade range [lo, hi] (see :func:`trade_range`) and
ξ ~ N(0, 1) the period's price shock::

    n      = lo + f·(hi − lo)                          shares traded (negative: against the order's side)
    g      = ε + η_k·v̄·(|n|/(τ·v̄))^α                    cost per share (η_k·|n|/τ + ε for α = 1)
    S̃      = S − s·sign(n)·g                            execution price
    x'     = x − n
    ΔS     = (φ − 1)(S − μ̄) + μτ + σ_τ·ξ − s·γ·n        mid-price move
    cost   = |n|·g − s·ΔS·x'                            implementation-shortfall increment, currency
    reward = −(cost + λσ_τ²·x'² + c·(n − n⁻)²·[k > 0] + ρ·x'²·[last, soft target]) · 10⁴/(X·S0)

with φ = e^{−θτ} and σ_τ the period's shock scale (φ = 1, σ_τ = σ√τ for the
random walk, θ = 0; see :class:`OptimalExecParams`). The bracket's penalties
are the risk term, the smoothness term and the soft target's penalty on what
is left.

The cost telescopes: summed over the episode it is the implementation
shortfall s·(X·S0 − Σ n·S̃ − x_N·S_N) (the last term is zero when the order
completes), and E[Σ reward] is minus the objective the oracle minimises (see
:mod:`execgym.problems.optimal_exec.env`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from execgym.noise import episode_keys, standard_normals
from execgym.problems.optimal_exec.params import OptimalExecParams



def action_to_fraction(actions: np.ndarray) -> np.ndarray:
    """The action's position in the trade range: f = (clip(a, −1, 1) + 1)/2, so a = −1 trades the range's
    low end and a = +1 its high end. Actions outside [−1, 1] are clipped; NaN raises."""
    actions = np.asarray(actions, dtype=np.float64)
    if np.isnan(actions).any():
        raise ValueError("action contains NaN; actions must be numbers in [-1, 1]")
    return 0.5 * (np.clip(actions, -1.0, 1.0) + 1.0)


def fraction_to_action(fractions: np.ndarray) -> np.ndarray:
    """Inverse of :func:`action_to_fraction` on [0, 1]: a = 2f − 1."""
    return 2.0 * np.asarray(fractions, dtype=np.float64) - 1.0


def trade_range(params: OptimalExecParams, elapsed: np.ndarray, inventory: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi): the trades period k = ``elapsed`` allows from ``inventory`` x, shares.

    * one-way (default): hi = min(x, u_k) and lo = max(0, x − Σ_{j>k} u_j), the least trade that
      leaves the later caps able to finish the order. Without caps that is [0, x] before the last
      period and [x, x] in it, so f is the fraction of the remaining shares traded. With a soft
      target (``target_penalty``) nothing is forced: lo = 0.
    * two-way: [−m·X, m·X] (m = ``max_trade``), and [x, x] in the last period unless the target is soft.
    """
    elapsed = np.asarray(elapsed)
    inventory = np.asarray(inventory, dtype=np.float64)
    last = elapsed >= params.periods - 1
    if params.two_way:
        bound = params.max_trade * params.shares
        lo, hi = np.full(inventory.shape, -bound), np.full(inventory.shape, bound)
        if params.completes:
            lo, hi = np.where(last, inventory, lo), np.where(last, inventory, hi)
        return lo, hi
    if params.trade_caps is None:
        return np.where(last & params.completes, inventory, 0.0), inventory
    caps = params.caps
    period = np.minimum(elapsed, params.periods - 1)
    hi = np.minimum(inventory, caps[period])
    if not params.completes:
        return np.zeros_like(inventory), hi
    later = np.append(np.cumsum(caps[::-1])[::-1][1:], 0.0)      # Σ_{j>k} u_j
    lo = np.clip(inventory - later[period], 0.0, None)
    return np.minimum(lo, hi), hi


def trade_to_action(params: OptimalExecParams, elapsed: np.ndarray, inventory: np.ndarray,
                    trades: np.ndarray) -> np.ndarray:
    """The actions (n,) that trade ``trades`` shares from (``elapsed``, ``inventory``): a = 2f − 1 with
    f = (n − lo)/(hi − lo), clipped to the trade range (and 0 where the range is a single point)."""
    lo, hi = trade_range(params, elapsed, inventory)
    width = hi - lo
    fraction = np.where(width > 0, (np.asarray(trades, dtype=np.float64) - lo) / np.where(width > 0, width, 1.0),
                        0.0)
    return fraction_to_action(np.clip(fraction, 0.0, 1.0))


@dataclass(frozen=True)
class Batch:
    """State of a batch of episodes; every field has shape (n,)."""

    seed: np.ndarray       # uint64: the seed the episode stream was started from
    episode: np.ndarray    # uint64: episode number within that stream (0, 1, ...)
    key: np.ndarray        # uint64: noise key of the current episode
    elapsed: np.ndarray    # int64: periods done, 0..N
    inventory: np.ndarray  # float64: shares still to trade
    price: np.ndarray      # float64: mid-price S_k, currency per share
    shortfall: np.ndarray  # float64: implementation shortfall so far, currency
    last_trade: np.ndarray  # float64: shares traded in the previous period (0 before the first)

    def __len__(self) -> int:
        return self.elapsed.shape[0]


def start(params: OptimalExecParams, seeds: np.ndarray, episodes: np.ndarray) -> Batch:
    """Fresh episodes number ``episodes`` of the streams ``seeds``."""
    seeds = np.asarray(seeds, dtype=np.uint64)
    episodes = np.asarray(episodes, dtype=np.uint64)
    n = seeds.shape[0]
    return Batch(seed=seeds, episode=episodes, key=episode_keys(seeds, episodes),
                 elapsed=np.zeros(n, dtype=np.int64), inventory=np.full(n, params.shares),
                 price=np.full(n, params.arrival_price), shortfall=np.zeros(n), last_trade=np.zeros(n))



def observe(params: OptimalExecParams, batch: Batch) -> np.ndarray:
    """Observations (n, 3), float32: [time remaining (N−k)/N, inventory remaining x/X,
    price move since arrival (S − S0)/(σ√T)]; with ``smoothness`` > 0 a fourth column,
    the previous trade n⁻/X."""
    obs = np.empty((len(batch), params.observation_size), dtype=np.float32)
    obs[:, 0] = (params.periods - batch.elapsed) / params.periods
    obs[:, 1] = batch.inventory / params.shares
    obs[:, 2] = (batch.price - params.arrival_price) / params.price_scale
    if params.smoothness > 0.0:
        obs[:, 3] = batch.last_trade / params.shares
    return obs


def decode(params: OptimalExecParams, observations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(periods elapsed k, shares remaining x) from a batch of observations; k is clipped to
    0..N−1, the periods in which a decision is taken."""
    observations = np.asarray(observations, dtype=np.float64)
    periods = params.periods
    elapsed = np.clip(np.rint(periods * (1.0 - observations[:, 0])).astype(np.int64), 0, periods - 1)
    return elapsed, observations[:, 1] * params.shares


@dataclass(frozen=True)
class Transition:
    """What one period produced, per episode of the batch."""

    batch: Batch
    reward: np.ndarray           # bps of arrival notional
    traded: np.ndarray           # shares traded this period
    execution_price: np.ndarray  # currency per share
    terminated: np.ndarray       # bool: the horizon is reached


def price_shocks(batch: Batch) -> np.ndarray:
    """ξ for the current period of every episode: a function of (seed, episode, period) only."""
    return standard_normals(batch.key, batch.elapsed)


def unit_costs(params: OptimalExecParams, elapsed: np.ndarray, traded: np.ndarray) -> np.ndarray:
    """g = ε + η_k·v̄·(|n|/(τ·v̄))^α: the cost per share of trading n shares in period k (currency per share);
    with an ``impact_table``, ε plus the table's row k interpolated linearly at |n|."""
    size = np.abs(traded)
    if params.impact_table is not None:
        table = np.asarray(params.impact_table)
        rows, position = np.broadcast_arrays(elapsed, size / params.shares * (table.shape[1] - 1))
        left = np.minimum(position.astype(np.int64), table.shape[1] - 2)
        weight = position - left
        return params.half_spread + (1.0 - weight) * table[rows, left] + weight * table[rows, left + 1]
    eta = params.temporary_impact if params.impact_profile is None else params.impact_per_period[elapsed]
    if params.impact_exponent == 1.0:
        return params.half_spread + eta * size / params.tau
    rate = params.average_rate
    return params.half_spread + eta * rate * (size / (params.tau * rate)) ** params.impact_exponent


def step(params: OptimalExecParams, batch: Batch, fractions: np.ndarray) -> Transition:
    """Advance every episode of ``batch`` by one period, trading at position ``fractions`` of the trade range."""
    s = params.side_sign
    tau = params.tau
    last = batch.elapsed == params.periods - 1
    lo, hi = trade_range(params, batch.elapsed, batch.inventory)
    traded = lo + fractions * (hi - lo)
    unit_cost = unit_costs(params, batch.elapsed, traded)
    remaining = batch.inventory - traded
    reversion = (params.reversion_factor - 1.0) * (batch.price - params.long_run_price)
    move = (reversion + params.drift * tau + params.shock_scale * price_shocks(batch)
            - s * params.permanent_impact * traded)
    cost = np.abs(traded) * unit_cost - s * move * remaining
    penalty = params.risk_aversion * params.shock_scale**2 * remaining**2
    if params.smoothness > 0.0:
        penalty = penalty + np.where(batch.elapsed > 0, params.smoothness * (traded - batch.last_trade) ** 2, 0.0)
    if not params.completes:
        penalty = penalty + np.where(last, params.target_penalty * remaining**2, 0.0)
    new = replace(batch, elapsed=batch.elapsed + 1, inventory=remaining, price=batch.price + move,
                  shortfall=batch.shortfall + cost, last_trade=traded)
    direction = s * np.where(traded < 0, -1.0, 1.0)
    return Transition(batch=new, reward=-(cost + penalty) * params.bps_per_currency, traded=traded,
                      execution_price=batch.price - direction * unit_cost, terminated=last)
