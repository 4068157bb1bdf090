"""Finite-horizon tabular dynamic programming by vectorised backward induction.

Problem (stages t = 0 .. T−1, states s = 0 .. S−1, actions a = 0 .. A−1 with
allowed set 𝒜_t(s), each (t, s, a) leading to one of K successors
s'_{t,s,a,k} with probability p_{t,s,a,k})::

    V_T(s)    = g(s)                                        terminal value
    Q_t(s, a) = r_t(s, a) + Σ_k p_{t,s,a,k} · V_{t+1}(s'_{t,s,a,k})
    V_t(s)    = max_{a ∈ 𝒜_t(s)} Q_t(s, a),      π_t(s) = argmax

V_t(s) is the largest expected total reward from stage t in state s over all
non-anticipating policies, and a deterministic Markov policy attains it
(the Bellman principle), so the recursion is exact. Each stage is one
vectorised gather over every (s, a, k): O(T·S·A·K) time, O(T·S·A) memory
(the Q-table returned) plus O(S·A·K) work space for one stage.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from execgym.validation import set_field

PROBABILITY_TOLERANCE = 1e-9
TIE_TOLERANCE = 1e-12


def _check_shape(name: str, array: np.ndarray, shape: tuple[int, ...], layout: str) -> None:
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {layout} = {shape}, got {array.shape}")


@dataclass(frozen=True)
class FiniteMDP:
    """Finite-horizon MDP, stages t = 0..T-1, states 0..S-1, actions 0..A-1.

    After construction every field is a numpy array: ``terminal_values``
    defaults to zeros and ``action_mask`` to all True. Rewards and values are
    in whatever unit the caller uses; the solver only adds and compares them.
    """

    rewards: np.ndarray
    """(T, S, A) float: expected reward of action a in state s at stage t (finite, also where masked)."""
    next_states: np.ndarray
    """(T, S, A, K) int: the K possible successors, each in 0..S-1."""
    probabilities: np.ndarray
    """(T, S, A, K) float: their probabilities (>= 0, summing to 1 over K within 1e-9)."""
    terminal_values: np.ndarray | None = None
    """(S,) value after the last stage; default zeros."""
    action_mask: np.ndarray | None = None
    """(T, S, A) bool, True = allowed; default all allowed. Every (t, s) needs an allowed action."""

    def __post_init__(self) -> None:
        rewards = np.asarray(self.rewards, dtype=np.float64)
        if rewards.ndim != 3 or min(rewards.shape) < 1:
            raise ValueError(f"rewards must have shape (T, S, A) with T, S, A >= 1, got {rewards.shape}")
        if not np.isfinite(rewards).all():
            raise ValueError("rewards must be finite (forbid actions with action_mask instead)")
        set_field(self, "rewards", rewards)
        set_field(self, "next_states", self._checked_next_states())
        set_field(self, "probabilities", self._checked_probabilities())
        set_field(self, "terminal_values", self._checked_terminal_values())
        set_field(self, "action_mask", self._checked_action_mask())

    @property
    def stages(self) -> int:
        """T: number of decision stages."""
        return self.rewards.shape[0]

    @property
    def states(self) -> int:
        """S: number of states."""
        return self.rewards.shape[1]

    @property
    def actions(self) -> int:
        """A: number of actions."""
        return self.rewards.shape[2]

    def _checked_next_states(self) -> np.ndarray:
        next_states = np.asarray(self.next_states)
        if next_states.dtype.kind not in "iu":
            raise ValueError(f"next_states must be integers, got dtype {next_states.dtype}")
        if next_states.ndim != 4 or next_states.shape[:3] != self.rewards.shape or next_states.shape[3] < 1:
            raise ValueError(f"next_states must have shape (T, S, A, K) = {self.rewards.shape + ('K',)} "
                             f"with K >= 1, got {next_states.shape}")
        if (next_states < 0).any() or (next_states >= self.states).any():
            raise ValueError(f"next_states must lie in 0..{self.states - 1} (S - 1), "
                             f"got values in {next_states.min()}..{next_states.max()}")
        return next_states.astype(np.int64)

    def _checked_probabilities(self) -> np.ndarray:
        probabilities = np.asarray(self.probabilities, dtype=np.float64)
        _check_shape("probabilities", probabilities, self.next_states.shape, "(T, S, A, K) of next_states")
        if not np.isfinite(probabilities).all() or (probabilities < 0).any():
            raise ValueError("probabilities must be finite and >= 0")
        error = np.abs(probabilities.sum(axis=-1) - 1.0)
        if (error > PROBABILITY_TOLERANCE).any():
            t, s, a = np.unravel_index(np.argmax(error), error.shape)
            raise ValueError(f"probabilities must sum to 1 over K (within {PROBABILITY_TOLERANCE:g}); "
                             f"at stage {t}, state {s}, action {a} they sum to {float(probabilities[t, s, a].sum())!r}")
        return probabilities

    def _checked_terminal_values(self) -> np.ndarray:
        if self.terminal_values is None:
            return np.zeros(self.states)
        terminal_values = np.asarray(self.terminal_values, dtype=np.float64)
        _check_shape("terminal_values", terminal_values, (self.states,), "(S,)")
        if not np.isfinite(terminal_values).all():
            raise ValueError("terminal_values must be finite")
        return terminal_values

    def _checked_action_mask(self) -> np.ndarray:
        if self.action_mask is None:
            return np.ones(self.rewards.shape, dtype=bool)
        mask = np.asarray(self.action_mask)
        if mask.dtype != np.bool_:
            raise ValueError(f"action_mask must be boolean, got dtype {mask.dtype}")
        _check_shape("action_mask", mask, self.rewards.shape, "(T, S, A)")
        stuck = ~mask.any(axis=-1)
        if stuck.any():
            t, s = np.argwhere(stuck)[0]
            raise ValueError(f"action_mask must allow at least one action in every state; "
                             f"stage {t}, state {s} has none")
        return mask


@dataclass(frozen=True)
class DPSolution:
    """Optimal values, Q-values and a deterministic optimal Markov policy."""

    values: np.ndarray
    """(T+1, S): optimal expected return-to-go; values[T] = terminal values."""
    q_values: np.ndarray
    """(T, S, A): expected return of taking a in s at stage t, then acting optimally; −inf where masked."""
    policy: np.ndarray
    """(T, S) int: an optimal action, the lowest index among those within 1e-12·|V_t(s)| of the best."""


def _continuation(mdp: FiniteMDP, stage: int, next_values: np.ndarray) -> np.ndarray:
    """Σ_k p·V_{t+1}(s') for every (s, a) of ``stage``: shape (S, A)."""
    return (mdp.probabilities[stage] * next_values[mdp.next_states[stage]]).sum(axis=-1)


def backward_induction(mdp: FiniteMDP) -> DPSolution:
    """Maximise the expected total reward of ``mdp`` (see the module docstring)."""
    T, S, A = mdp.rewards.shape
    values = np.empty((T + 1, S))
    q_values = np.empty((T, S, A))
    policy = np.empty((T, S), dtype=np.int64)
    values[T] = mdp.terminal_values
    for t in range(T - 1, -1, -1):
        q = mdp.rewards[t] + _continuation(mdp, t, values[t + 1])
        q_values[t] = np.where(mdp.action_mask[t], q, -np.inf)
        values[t] = q_values[t].max(axis=-1)
        near_best = q_values[t] >= (values[t] - TIE_TOLERANCE * np.abs(values[t]))[:, None]
        policy[t] = np.argmax(near_best, axis=-1)
    return DPSolution(values=values, q_values=q_values, policy=policy)


def _checked_policy(mdp: FiniteMDP, policy) -> np.ndarray:
    """``policy`` as a (T, S) integer array of allowed actions; ValueError otherwise."""
    T, S, A = mdp.rewards.shape
    policy = np.asarray(policy)
    if policy.dtype.kind not in "iu":
        raise ValueError(f"policy must hold integer actions, got dtype {policy.dtype}")
    _check_shape("policy", policy, (T, S), "(T, S)")
    if (policy < 0).any() or (policy >= A).any():
        raise ValueError(f"policy actions must lie in 0..{A - 1} (A - 1), got {policy.min()}..{policy.max()}")
    stage, state = np.indices((T, S))
    forbidden = ~mdp.action_mask[stage, state, policy]
    if forbidden.any():
        t, s = np.argwhere(forbidden)[0]
        raise ValueError(f"policy picks masked action {policy[t, s]} at stage {t}, state {s}")
    return policy


def policy_values(mdp: FiniteMDP, policy: np.ndarray) -> np.ndarray:
    """(T+1, S): exact expected return-to-go of the deterministic Markov policy ``policy`` (T, S)."""
    T, S, _ = mdp.rewards.shape
    policy = _checked_policy(mdp, policy)
    values = np.empty((T + 1, S))
    values[T] = mdp.terminal_values
    states = np.arange(S)
    for t in range(T - 1, -1, -1):
        chosen = policy[t]
        successors = mdp.next_states[t, states, chosen]
        values[t] = (mdp.rewards[t, states, chosen]
                     + (mdp.probabilities[t, states, chosen] * values[t + 1][successors]).sum(axis=-1))
    return values


def state_distributions(mdp: FiniteMDP, policy: np.ndarray, start: int) -> np.ndarray:
    """(T+1, S): the probability of each state at each stage t = 0..T (stage T: after the last decision)
    when the deterministic Markov policy ``policy`` (T, S) acts from state ``start`` at stage 0."""
    T, S, _ = mdp.rewards.shape
    policy = _checked_policy(mdp, policy)
    distributions = np.zeros((T + 1, S))
    distributions[0, start] = 1.0
    states = np.arange(S)
    for t in range(T):
        chosen = policy[t]
        np.add.at(distributions[t + 1], mdp.next_states[t, states, chosen],
                  distributions[t][:, None] * mdp.probabilities[t, states, chosen])
    return distributions
