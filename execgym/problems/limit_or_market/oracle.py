"""The oracle of LimitOrMarket: exact backward induction over (steps done, lots left).

With the mid x ticks from the arrival mid, c = tick_bps/N and p_m = p(d | ΔS = m)::

    V_t(n, x) = c·n·x + W_t(n)                                   (the price factors out)
    W_K(n)    = −c·(n·h + w(n))                                  the deadline's market order
    W_t(0)    = 0
    W_t(n)    = max( max_d Σ_m P(m) Σ_j Bin(j; n, p_m)·[c·(j·(h + d) + (n − j)·m) + W_{t+1}(n − j)],   limit at d
                     max_i c·(−m_i·h − w(m_i) + (n − m_i)·μ) + W_{t+1}(n − m_i) )                        market, m_i = ⌈f_i·n⌉

Why x drops out: sold lots earn x plus a known offset, and every lot still
held gains the step's move ΔS, whose law does not depend on x; so V − c·n·x
obeys a recursion free of x, and the optimal action depends on (t, n) alone,
the observation. The bracket is the expected reward of the env's step
(:mod:`.dynamics`), term for term. Adverse selection costs through the lots
left unfilled: each gains c·m on the move, and E[(1 − p_m)·m] =
μ − p(d)·(μ + a·π), so with μ = 0 a resting lot loses c·a·π·p(d) on average.

The recursion is a :class:`~execgym.solvers.dp.FiniteMDP` (stages t = 0..K−1,
states n = 0..N, successors n' = 0..N with the fill distribution summed over
the three moves) solved by :func:`~execgym.solvers.dp.backward_induction`:
O(K·N²·(L + 1 + F)) time, and ``expected_return`` = W_0(N) (x = 0 at arrival).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln, xlog1py, xlogy

from execgym.policy import Oracle, OracleCost
from execgym.problems.limit_or_market.dynamics import decode, market_costs
from execgym.problems.limit_or_market.params import LimitOrMarketParams
from execgym.solvers.dp import DPSolution, FiniteMDP, backward_induction, policy_values, state_distributions

MAX_ENTRIES = 20_000_000
"""Largest K·(N+1)²·(L+1+F) the oracle builds (the MDP's transition table, about 0.5 GB of arrays at the cap)."""
BUILD_OVERHEAD = 0.0005
"""Seconds of an oracle build that do not grow with the order (:func:`build_cost`)."""
SECONDS_PER_TRANSITION = 1.8e-7
"""Build seconds per entry (N+1)²·(L+1+F) of one step's transition table (fill distributions)."""
SECONDS_PER_ENTRY = 8.5e-9
"""Build seconds per entry K·(N+1)²·(L+1+F) of the backward induction (measured with the above: 10 steps × 400
lots in 0.29 s, 50 × 100 in 0.043 s, 20 × 200 in 0.14 s)."""


def _limit_step(params: LimitOrMarketParams) -> tuple[np.ndarray, np.ndarray]:
    """(expected reward (N+1, L+1), P(n' | n, d) (N+1, L+1, N+1)) of a limit order for the n lots left."""
    n = np.arange(params.lots + 1)
    moves = np.array([-1, 0, 1])
    chances = params.move_probabilities                                               # (3,)
    p = params.conditional_fill_probabilities(moves)                                  # (3, D)
    filled = n[:, None, None, None] - n[None, None, None, :]                          # (N+1, 1, 1, N+1): j = n − n'
    pmf = binomial_pmf(filled, n[:, None, None, None], p[None, :, :, None])           # (N+1, 3, D, N+1)
    transition = np.einsum("m,nmdk->ndk", chances, pmf)
    depth = np.arange(params.depths)
    sold = n[:, None, None] * p[None]                                                 # (N+1, 3, D): E[j]
    ticks = sold * (params.half_spread + depth) + (n[:, None, None] - sold) * moves[None, :, None]
    return np.einsum("m,nmd->nd", chances, ticks) * params.lot_bps, transition


def binomial_pmf(k: np.ndarray, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """P[Binomial(n, p) = k] (0 for k outside 0..n), in log space so that no n overflows and no p in [0, 1]
    (subnormal ones included, where scipy.stats.binom raises) does."""
    k, n, p = np.broadcast_arrays(k, n, p)
    inside = (k >= 0) & (k <= n)
    k_in, rest = np.where(inside, k, 0), np.where(inside, n - k, 0)
    log_pmf = gammaln(n + 1.0) - gammaln(k_in + 1.0) - gammaln(rest + 1.0) + xlogy(k_in, p) + xlog1py(rest, -p)
    return np.exp(np.where(inside, log_pmf, -np.inf))


def _market_step(params: LimitOrMarketParams) -> tuple[np.ndarray, np.ndarray]:
    """(expected reward (N+1, F), P(n' | n, i) (N+1, F, N+1)) of the market orders from n lots left."""
    n = np.arange(params.lots + 1)
    sold = np.where(n[:, None] > 0, params.market_lots(np.maximum(n, 1)), 0)            # (N+1, F)
    held = n[:, None] - sold
    ticks = held * params.drift - market_costs(params, sold)
    transition = (held[..., None] == n[None, None, :]).astype(np.float64)
    return ticks * params.lot_bps, transition


def _entries(params: LimitOrMarketParams) -> int:
    """K·(N+1)²·(L+1+F): the entries of the MDP's transition table."""
    return params.deadline * (params.lots + 1) ** 2 * params.num_actions


def _refusal(params: LimitOrMarketParams) -> str | None:
    """Why the oracle refuses ``params`` (a transition table past :data:`MAX_ENTRIES`), or None."""
    if _entries(params) <= MAX_ENTRIES:
        return None
    return (f"the oracle's transition table would hold deadline·(lots + 1)²·(max_depth + 1 + len(market_fractions)) "
            f"= {_entries(params):,} entries, more than {MAX_ENTRIES:,}: lower lots or deadline")


def build_cost(params: LimitOrMarketParams) -> OracleCost:
    """What :func:`make_oracle` would take: one step's transition table, (N+1)²·(L+1+F) entries, and K stages of
    backward induction over it."""
    step = (params.lots + 1) ** 2 * params.num_actions
    return OracleCost(size=_entries(params), unit="transition entries K·(N+1)²·(L+1+F)",
                      seconds=BUILD_OVERHEAD + SECONDS_PER_TRANSITION * step + SECONDS_PER_ENTRY * _entries(params),
                      refusal=_refusal(params))


def mdp(params: LimitOrMarketParams) -> FiniteMDP:
    """The problem as a finite MDP (module docstring): stages t = 0..K−1, states n = 0..N lots left, actions
    as the env's, successors n' = 0..N; rewards the expected reward of each step with the price term of
    the lots held, terminal values the deadline's market order. n = 0 earns 0 whatever the action."""
    refusal = _refusal(params)
    if refusal is not None:
        raise ValueError(refusal)
    limit_reward, limit_next = _limit_step(params)
    market_reward, market_next = _market_step(params)
    rewards = np.concatenate([limit_reward, market_reward], axis=1)
    transition = np.concatenate([limit_next, market_next], axis=1)
    n = np.arange(params.lots + 1)
    stages = (params.deadline,) + transition.shape
    return FiniteMDP(rewards=np.broadcast_to(rewards, stages[:3]),
                     next_states=np.broadcast_to(n, stages),
                     probabilities=np.broadcast_to(transition, stages),
                     terminal_values=-market_costs(params, n) * params.lot_bps)


class ActionTablePolicy:
    """Acts ``table[t, n]`` at the observed (steps done t, lots left n): a policy of the env from a (K, N+1)
    table of actions (the action at t = K, after the episode, is never used)."""

    def __init__(self, params: LimitOrMarketParams, table: np.ndarray) -> None:
        self.params = params
        self.table = checked_table(params, table)

    def __call__(self, observations: np.ndarray) -> np.ndarray:
        elapsed, lots_left = decode(self.params, observations)
        return self.table[np.minimum(elapsed, self.params.deadline - 1), lots_left]


def checked_table(params: LimitOrMarketParams, table) -> np.ndarray:
    """``table`` as a (K, N+1) int64 array of actions in 0..L+F; ValueError otherwise."""
    table = np.asarray(table)
    shape = (params.deadline, params.lots + 1)
    if table.shape != shape or table.dtype.kind not in "iu":
        raise ValueError(f"a policy table must be integers of shape (deadline, lots + 1) = {shape}, got "
                         f"{table.dtype} of shape {table.shape}")
    if (table < 0).any() or (table >= params.num_actions).any():
        raise ValueError(f"a policy table's actions must lie in 0..{params.num_actions - 1}, got "
                         f"{table.min()}..{table.max()}")
    return table.astype(np.int64)


def policy_value(params: LimitOrMarketParams, table) -> float:
    """The exact E[Σ reward] (bps) of acting ``table[t, n]`` (K, N+1) at (steps done t, lots left n)."""
    return float(policy_values(mdp(params), checked_table(params, table))[0, params.lots])


@dataclass(frozen=True)
class LimitOrMarketOracle(Oracle):
    """:class:`~execgym.policy.Oracle` with the solved recursion: ``solution.values`` (K+1, N+1) = W_t(n)
    (bps), ``solution.policy`` (K, N+1) the optimal actions (lowest index on ties)."""

    solution: DPSolution | None = None


def make_oracle(params: LimitOrMarketParams) -> LimitOrMarketOracle:
    """The optimal policy of ``params`` and its exact value (module docstring)."""
    solution = backward_induction(mdp(params))
    return LimitOrMarketOracle(policy=ActionTablePolicy(params, solution.policy),
                               expected_return=float(solution.values[0, params.lots]), solution=solution)


def expected_lots_left(params: LimitOrMarketParams, table) -> np.ndarray:
    """(K+1,): E[lots left after t steps], t = 0..K, acting ``table[t, n]`` (K, N+1) from the start (N lots);
    0 after step K, whose deadline market order sells what is left."""
    distributions = state_distributions(mdp(params), checked_table(params, table), params.lots)
    return np.append(distributions[:-1] @ np.arange(params.lots + 1), 0.0)
