"""Backward induction against brute force over every deterministic Markov policy, evaluated forward."""

import itertools

import numpy as np
import pytest
from hypothesis import assume, example, given, settings, strategies as st

from execgym.solvers.dp import FiniteMDP, backward_induction, policy_values, state_distributions


def random_mdp(rng, T, S, A, K, masked=True, integer_rewards=False):
    """A random MDP; integer rewards make ties between actions common."""
    rewards = rng.integers(-2, 3, (T, S, A)).astype(float) if integer_rewards else rng.normal(size=(T, S, A))
    weights = rng.random((T, S, A, K)) * (rng.random((T, S, A, K)) > 0.25)
    weights[..., 0] += weights.sum(axis=-1) == 0
    mask = None
    if masked:
        mask = rng.random((T, S, A)) < 0.6
        keep = rng.integers(0, A, (T, S))
        np.put_along_axis(mask, keep[..., None], True, axis=-1)
    return FiniteMDP(rewards=rewards, next_states=rng.integers(0, S, (T, S, A, K)),
                     probabilities=weights / weights.sum(axis=-1, keepdims=True),
                     terminal_values=rng.normal(size=S), action_mask=mask)


def forward_values(mdp, policy):
    """Return-to-go of ``policy`` from every (t, s), by pushing the state distribution forward in time."""
    T, S, _ = mdp.rewards.shape
    transition = np.zeros((T, S, S))
    reward = np.empty((T, S))
    for t, s in itertools.product(range(T), range(S)):
        a = policy[t, s]
        reward[t, s] = mdp.rewards[t, s, a]
        for successor, p in zip(mdp.next_states[t, s, a], mdp.probabilities[t, s, a]):
            transition[t, s, successor] += p
    values = np.empty((T + 1, S))
    for start in range(T + 1):
        distribution, total = np.eye(S), np.zeros(S)
        for t in range(start, T):
            total += distribution @ reward[t]
            distribution = distribution @ transition[t]
        values[start] = total + distribution @ mdp.terminal_values
    return values


def all_policies(mdp):
    T, S, _ = mdp.rewards.shape
    choices = [np.flatnonzero(mdp.action_mask[t, s]) for t in range(T) for s in range(S)]
    for actions in itertools.product(*choices):
        yield np.array(actions, dtype=np.int64).reshape(T, S)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 1_000_000), T=st.integers(1, 3), S=st.integers(1, 3), A=st.integers(1, 3),
       K=st.integers(1, 3), masked=st.booleans(), integer_rewards=st.booleans())
@example(seed=1, T=3, S=3, A=2, K=2, masked=False, integer_rewards=False)   # all 2^9 policies
@example(seed=2, T=3, S=3, A=2, K=2, masked=False, integer_rewards=True)
@example(seed=3, T=2, S=3, A=3, K=3, masked=True, integer_rewards=True)
def test_values_q_values_and_policy_equal_brute_force_over_all_policies(seed, T, S, A, K, masked, integer_rewards):
    assume(A ** (T * S) <= 729)
    mdp = random_mdp(np.random.default_rng(seed), T, S, A, K, masked, integer_rewards)
    best = np.full((T + 1, S), -np.inf)
    best_q = np.full((T, S, A), -np.inf)
    stage, state = np.indices((T, S))
    for policy in all_policies(mdp):
        values = forward_values(mdp, policy)
        best = np.maximum(best, values)
        np.maximum.at(best_q, (stage, state, policy), values[:T])
    solution = backward_induction(mdp)
    np.testing.assert_allclose(solution.values, best, rtol=1e-12, atol=1e-12)
    allowed = mdp.action_mask
    np.testing.assert_allclose(solution.q_values[allowed], best_q[allowed], rtol=1e-12, atol=1e-12)
    assert (solution.q_values[~allowed] == -np.inf).all()
    np.testing.assert_allclose(forward_values(mdp, solution.policy), best, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(policy_values(mdp, solution.policy), solution.values, rtol=1e-12, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 1_000_000), T=st.integers(1, 4), S=st.integers(1, 4), A=st.integers(1, 3),
       K=st.integers(1, 3))
def test_policy_values_and_state_distributions_of_any_policy_equal_forward_evaluation(seed, T, S, A, K):
    rng = np.random.default_rng(seed)
    mdp = random_mdp(rng, T, S, A, K, masked=False)
    policy = rng.integers(0, A, (T, S))
    values = policy_values(mdp, policy)
    np.testing.assert_allclose(values, forward_values(mdp, policy), rtol=1e-12, atol=1e-12)
    start = int(rng.integers(0, S))
    distributions = state_distributions(mdp, policy, start)
    expected = np.eye(S)[start]
    for t in range(T):
        np.testing.assert_allclose(distributions[t], expected, rtol=1e-12, atol=1e-15)
        transition = np.zeros((S, S))
        for s in range(S):
            np.add.at(transition[s], mdp.next_states[t, s, policy[t, s]], mdp.probabilities[t, s, policy[t, s]])
        expected = expected @ transition
    np.testing.assert_allclose(distributions[T], expected, rtol=1e-12, atol=1e-15)
    rewards = mdp.rewards[np.arange(T)[:, None], np.arange(S), policy]
    value = (distributions[:T] * rewards).sum() + distributions[T] @ mdp.terminal_values
    assert value == pytest.approx(values[0, start], rel=1e-12, abs=1e-12)


def test_on_a_larger_mdp_the_optimum_is_attained_and_beats_random_policies():
    rng = np.random.default_rng(7)
    mdp = random_mdp(rng, T=30, S=150, A=8, K=4)
    solution = backward_induction(mdp)
    np.testing.assert_allclose(policy_values(mdp, solution.policy), solution.values, rtol=1e-12)
    for _ in range(20):
        scores = rng.random(mdp.rewards.shape) * mdp.action_mask
        other = policy_values(mdp, scores.argmax(axis=-1))
        assert (other <= solution.values + 1e-12 * np.abs(solution.values)).all()
        assert (other < solution.values - 1e-9).any()


def test_ties_go_to_the_lowest_allowed_index():
    # One stage, two states, three actions; state 0: actions 1 and 2 tie, state 1: all tie but action 0 is masked.
    mdp = FiniteMDP(rewards=np.array([[[0.0, 1.0, 1.0], [2.0, 2.0, 2.0]]]),
                    next_states=np.zeros((1, 2, 3, 1), dtype=int), probabilities=np.ones((1, 2, 3, 1)),
                    action_mask=np.array([[[True, True, True], [False, True, True]]]))
    solution = backward_induction(mdp)
    np.testing.assert_array_equal(solution.policy, [[1, 1]])
    np.testing.assert_array_equal(solution.values, [[1.0, 2.0], [0.0, 0.0]])


def test_expected_value_of_a_gamble_against_a_sure_thing():
    """Stage 0: a sure 1.0 (to state 0) or a coin flip to state 1 (worth 3) or state 2 (worth −0.5):
    the gamble is worth 0.5·3 − 0.5·0.5 = 1.25 and is chosen."""
    mdp = FiniteMDP(rewards=np.array([[[1.0, 0.0], [0.0, 0.0], [0.0, 0.0]]]),
                    next_states=np.array([[[[0, 0], [1, 2]]] * 3]),
                    probabilities=np.full((1, 3, 2, 2), 0.5), terminal_values=np.array([0.0, 3.0, -0.5]))
    solution = backward_induction(mdp)
    assert solution.values[0, 0] == 1.25 and solution.policy[0, 0] == 1
    np.testing.assert_array_equal(solution.q_values[0, 0], [1.0, 1.25])


def test_defaults_are_filled_and_sizes_reported():
    mdp = FiniteMDP(rewards=np.zeros((4, 3, 2)), next_states=np.zeros((4, 3, 2, 1), dtype=np.int32),
                    probabilities=np.ones((4, 3, 2, 1)))
    assert (mdp.stages, mdp.states, mdp.actions) == (4, 3, 2)
    np.testing.assert_array_equal(mdp.terminal_values, np.zeros(3))
    assert mdp.action_mask.shape == (4, 3, 2) and mdp.action_mask.all()
    assert mdp.next_states.dtype == np.int64


def valid_arrays():
    return dict(rewards=np.zeros((2, 3, 2)), next_states=np.zeros((2, 3, 2, 2), dtype=int),
                probabilities=np.full((2, 3, 2, 2), 0.5))


def modified(**changes):
    arrays = valid_arrays()
    for name, change in changes.items():
        arrays[name] = change(arrays.get(name))
    return arrays


def with_value(index, value):
    def change(array):
        array = array.copy()
        array[index] = value
        return array
    return change


def no_action_in_one_state(_):
    mask = np.ones((2, 3, 2), dtype=bool)
    mask[1, 2] = False
    return mask


@pytest.mark.parametrize("arrays, message", [
    (modified(rewards=lambda r: r[0]), r"rewards must have shape \(T, S, A\)"),
    (modified(rewards=with_value((0, 0, 0), np.nan)), "rewards must be finite"),
    (modified(next_states=lambda n: n.astype(float)), "next_states must be integers"),
    (modified(next_states=with_value((1, 1, 1, 1), 3)), r"next_states must lie in 0\.\.2"),
    (modified(next_states=with_value((1, 1, 1, 1), -1)), r"next_states must lie in 0\.\.2"),
    (modified(next_states=lambda n: n[:, :, :1]), r"next_states must have shape \(T, S, A, K\)"),
    (modified(probabilities=lambda p: p[..., :1]), r"probabilities must have shape"),
    (modified(probabilities=with_value((0, 1, 0, 0), -0.5)), "probabilities must be finite and >= 0"),
    (modified(probabilities=with_value((0, 1, 0, 0), 0.4)),
     r"probabilities must sum to 1 .* stage 0, state 1, action 0 they sum to 0\.9"),
    (modified(terminal_values=lambda _: np.zeros(2)), r"terminal_values must have shape \(S,\) = \(3,\)"),
    (modified(terminal_values=lambda _: np.array([0.0, np.inf, 0.0])), "terminal_values must be finite"),
    (modified(action_mask=lambda _: np.ones((2, 3, 2), dtype=int)), "action_mask must be boolean"),
    (modified(action_mask=lambda _: np.ones((2, 3), dtype=bool)), r"action_mask must have shape \(T, S, A\)"),
    (modified(action_mask=no_action_in_one_state), "stage 1, state 2 has none"),
])
def test_invalid_mdps_raise_naming_the_field(arrays, message):
    with pytest.raises(ValueError, match=message):
        FiniteMDP(**arrays)


def test_policy_values_rejects_invalid_policies():
    mask = np.ones((2, 3, 2), dtype=bool)
    mask[1, 0, 1] = False
    mdp = FiniteMDP(**valid_arrays(), action_mask=mask)
    with pytest.raises(ValueError, match=r"policy must have shape \(T, S\) = \(2, 3\)"):
        policy_values(mdp, np.zeros((3, 2), dtype=int))
    with pytest.raises(ValueError, match=r"policy actions must lie in 0\.\.1"):
        policy_values(mdp, np.full((2, 3), 2))
    with pytest.raises(ValueError, match="integer actions"):
        policy_values(mdp, np.zeros((2, 3)))
    with pytest.raises(ValueError, match="masked action 1 at stage 1, state 0"):
        policy_values(mdp, np.ones((2, 3), dtype=int))
