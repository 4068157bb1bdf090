"""The oracle of TwapVwapSwitch: exact backward induction over the reachable (day type, bucket, remaining) states.

| step | what | cost |
|---|---|---|
| reachable states | forward from x = 1 with the env's arithmetic, equal values merged (:mod:`.reachable`) | O(Σ_t S_t·A) |
| Bellman recursion | V_t(s) = max_a −(η_{r,t}·v² + λσ²·x'²) + V_{t+1}(s'), V_B = 0: :func:`~execgym.solvers.dp.backward_induction` on each bucket's one-stage MDP | O(Σ_t S_t·A) time and memory |
| policy | observation -> (t, r, nearest reachable x) -> the table's action (:class:`StatePolicy`) | O(b log S) per batch |

The price never enters the recursion: the move σ·ξ_t multiplies x', fixed
before it, and has mean zero, so E[Σ reward] = −E[Σ_t η·v² + λσ²·x'²] and
(day type, bucket, remaining) is the whole state. Default market: 13 buckets,
one day type, 8,192 reachable states (4,096 in the last bucket), solved in
7 ms; with ``pov_rate=0.1`` 393,795 states in 0.33 s.

Without POV both paces are linear in x (v = x/(B − t) or x·m_t/M_t), so
every return-to-go is x² times that of x = 1 and the optimal pace depends on
(day type, bucket) only: the optimum is then a fixed sequence of paces per day
type (:attr:`PaceOracle.paces`), and the 2^{B−1} sequences are a brute-force
check. POV trades min(x, cap), which is not linear: then the optimal pace
depends on x too.

Observations carry x in float32 (relative precision 6·10⁻⁸). The policy
reads a state as the reachable x nearest to the observed one, so two states
of one bucket closer than float32 can resolve are read alike.
:func:`make_oracle` counts the states read as another (``misread_states``) and
``expected_return`` is the exact value of the policy as it acts on the env's
observations (:func:`policy_value`: :func:`~execgym.solvers.dp.policy_values`
of the actions it takes from each state's observation); ``optimum`` is the DP
value from the exact states. They differ only if the policy reaches a state it
misreads as one with another pace: never when ``misread_states`` is 0 (the
default market), and not with ``pov_rate=0.1`` either (5,160 of 393,795
states misread, the two values equal).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from execgym.policy import Oracle, OracleCost, Policy
from execgym.problems.twap_vwap import dynamics
from execgym.problems.twap_vwap.params import TwapVwapParams
from execgym.problems.twap_vwap.reachable import (MAX_STATE_ACTIONS, TOO_LARGE_REMEDY, ReachableStates,
                                                  estimated_counts, reachable_states)
from execgym.solvers.dp import backward_induction, policy_values

BUILD_OVERHEAD = 0.01
"""Seconds of an oracle build that do not grow with the states (:func:`build_cost`)."""
SECONDS_PER_PAIR = 2.5e-7
"""Build seconds per reachable state–action pair (measured: 0.021 s for the default's 16,384 pairs, 0.13 s for
498,086 (20 buckets), 0.28 s for 1.18 M (POV))."""

Stages = tuple[np.ndarray, ...]
"""One array per stage t, of length S_t (the stage's reachable states)."""


def solve(states: ReachableStates) -> tuple[Stages, Stages]:
    """(return-to-go V_t (S_t,) for t = 0..B, an optimal action (S_t,) int64 for t = 0..B−1): backward
    induction a bucket at a time (:meth:`~.reachable.ReachableStates.stage_mdp`)."""
    buckets = states.params.buckets
    values: list[np.ndarray] = [np.zeros(0)] * buckets + [np.zeros(states.counts[buckets])]
    actions: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * buckets
    for t in range(buckets - 1, -1, -1):
        solution = backward_induction(states.stage_mdp(t, values[t + 1]))
        n = states.counts[t]
        values[t], actions[t] = solution.values[0, :n], solution.policy[0, :n]
    return tuple(values), tuple(actions)


def evaluate(states: ReachableStates, actions: Stages) -> Stages:
    """The return-to-go V_t (S_t,), t = 0..B, of taking ``actions`` (one array (S_t,) per bucket t < B) in the
    reachable states, by :func:`~execgym.solvers.dp.policy_values` a bucket at a time."""
    buckets = states.params.buckets
    values: list[np.ndarray] = [np.zeros(0)] * buckets + [np.zeros(states.counts[buckets])]
    for t in range(buckets - 1, -1, -1):
        mdp = states.stage_mdp(t, values[t + 1])
        table = np.zeros((1, mdp.states), dtype=np.int64)
        table[0, :states.counts[t]] = actions[t]
        values[t] = policy_values(mdp, table)[0, :states.counts[t]]
    return tuple(values)


def start_value(params: TwapVwapParams, values: Stages) -> float:
    """E over the day type of the return-to-go at the start (stage 0, state r = day type r), bps."""
    return float(params.probabilities @ values[0])


def acted(policy: Policy, states: ReachableStates) -> Stages:
    """The action ``policy`` takes from the observation of every reachable state of every bucket t < B."""
    return tuple(np.asarray(policy(states.observations(t))).astype(np.int64) for t in range(states.params.buckets))


def policy_value(params: TwapVwapParams, policy: Policy, states: ReachableStates | None = None) -> float:
    """The exact E[Σ reward] (bps) of ``policy``, any deterministic function of the observation (an oracle, a
    baseline, a trained agent acting deterministically): its actions from every reachable state's observation,
    priced by :func:`evaluate`. Actions outside 0..A−1 raise."""
    states = reachable_states(params) if states is None else states
    actions = acted(policy, states)
    for t, chosen in enumerate(actions):
        if chosen.size and (chosen.min() < 0 or chosen.max() >= params.num_actions):
            raise ValueError(f"the policy's actions must lie in 0..{params.num_actions - 1}, got "
                             f"{chosen.min()}..{chosen.max()} at bucket {t}")
    return start_value(params, evaluate(states, actions))


class StatePolicy:
    """Acts from observations by one action per reachable state (``actions``, one array (S_t,) per bucket):
    decodes (t, r, x), reads the reachable state of x nearest to the observed one and returns its action
    (int64). Terminal observations (t = B) get the last bucket's action (any action trades what is left)."""

    def __init__(self, states: ReachableStates, actions: Stages) -> None:
        self.states, self.actions = states, actions
        self._flat = np.concatenate(actions)
        self._starts = np.concatenate([[0], np.cumsum(states.counts[:-1])])

    def state_of(self, observations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(bucket t (b,) clipped to 0..B−1, the reachable state read within it (b,)) of observations."""
        elapsed, day, remaining = dynamics.decode(self.states.params, observations)
        elapsed = np.minimum(elapsed, self.states.params.buckets - 1)
        return elapsed, self.states.index(elapsed, day, remaining)

    def __call__(self, observations: np.ndarray) -> np.ndarray:
        elapsed, state = self.state_of(observations)
        return self._flat[self._starts[elapsed] + state]


@dataclass(frozen=True)
class PaceOracle(Oracle):
    """:class:`~execgym.policy.Oracle` with the reachable states, the DP solution on them and the optimal path.

    ``values`` and ``actions``: V_t and an optimal action per reachable state (one array per stage);
    ``optimum``: the DP value from the exact states (bps); ``misread_states``: reachable states the policy reads
    from their float32 observation as another state; ``paces`` (R, B): the action taken in each bucket on the
    optimal path of each day type; ``holdings`` (R, B+1): the remaining fraction x_t along it."""

    states: ReachableStates | None = None
    values: Stages = ()
    actions: Stages = ()
    optimum: float | None = None
    misread_states: int = 0
    paces: np.ndarray | None = None
    holdings: np.ndarray | None = None


def optimal_path(states: ReachableStates, actions: Stages) -> tuple[np.ndarray, np.ndarray]:
    """(paces (R, B) int64, holdings (R, B+1)) along the path of ``actions`` from each day type's start."""
    p = states.params
    paces = np.empty((p.day_types, p.buckets), dtype=np.int64)
    holdings = np.empty((p.day_types, p.buckets + 1))
    state = np.arange(p.day_types)
    for t in range(p.buckets):
        holdings[:, t] = states.remaining[t][state]
        paces[:, t] = actions[t][state]
        state = states.successors[t][state, paces[:, t]]
    holdings[:, p.buckets] = states.remaining[p.buckets][state]
    return paces, holdings


def build_cost(params: TwapVwapParams) -> OracleCost:
    """What :func:`make_oracle` would take: Σ_t S_t·A reachable state–action pairs, counted by
    :func:`~.reachable.estimated_counts` (exact up to 50,000 states, extrapolated past them)."""
    with np.errstate(over="ignore"):                      # past 1e308 states the estimate is inf
        pairs = float(estimated_counts(params).sum()) * params.num_actions
    refusal = None if pairs <= MAX_STATE_ACTIONS else (
        f"more than {MAX_STATE_ACTIONS:,} reachable state-action pairs: {TOO_LARGE_REMEDY}")
    return OracleCost(size=pairs, unit="reachable state–action pairs Σ_t S_t·A",
                      seconds=BUILD_OVERHEAD + SECONDS_PER_PAIR * pairs, refusal=refusal)


def make_oracle(params: TwapVwapParams) -> PaceOracle:
    """The optimal policy of ``params`` and its exact value (module docstring)."""
    states = reachable_states(params)
    values, actions = solve(states)
    policy = StatePolicy(states, actions)
    misread = sum(int((policy.state_of(states.observations(t))[1] != np.arange(n)).sum())
                  for t, n in enumerate(states.counts[:-1]))
    paces, holdings = optimal_path(states, actions)
    return PaceOracle(policy=policy, expected_return=policy_value(params, policy, states), states=states,
                      values=values, actions=actions, optimum=start_value(params, values), misread_states=misread,
                      paces=paces, holdings=holdings)
