"""Tabular envs: Gymnasium compliance, vector = scalar = SyncVectorEnv, sampling frequencies, exact mean returns."""

import warnings

import numpy as np
from vector_checks import assert_equals_sync_vector_env
import pytest
from gymnasium.utils.env_checker import check_env
from scipy import stats

from execgym.solvers.dp import FiniteMDP, backward_induction, policy_values
from execgym.tabular import TabularEnv, TabularVectorEnv


def random_mdp(seed, T=4, S=3, A=3, K=2, masked=True):
    rng = np.random.default_rng(seed)
    weights = rng.random((T, S, A, K)) + 0.05
    mask = None
    if masked:
        mask = rng.random((T, S, A)) < 0.6
        mask[..., 0] |= ~mask.any(axis=-1)
    return FiniteMDP(rewards=rng.normal(size=(T, S, A)), next_states=rng.integers(0, S, (T, S, A, K)),
                     probabilities=weights / weights.sum(axis=-1, keepdims=True), action_mask=mask)


def allowed_random_actions(rng, masks):
    """One allowed action per row of ``masks`` (n, A), uniformly among the allowed."""
    scores = rng.random(masks.shape) * masks
    return scores.argmax(axis=1)


def test_check_env_passes_on_the_scalar_env():
    env = TabularEnv(random_mdp(0, masked=False), initial_states=[0.2, 0.3, 0.5], reward_noise=0.3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env, skip_render_check=True)


def test_vector_env_matches_scalar_envs_step_for_step_across_autoresets():
    n, mdp = 5, random_mdp(1)
    options = dict(initial_states=[0.5, 0.25, 0.25], reward_noise=0.7)
    venv = TabularVectorEnv(mdp, num_envs=n, **options)
    envs = [TabularEnv(mdp, **options) for _ in range(n)]
    obs, info = venv.reset(seed=21)
    for i, env in enumerate(envs):
        o, inf = env.reset(seed=21 + i)
        assert o == obs[i]
        np.testing.assert_array_equal(inf["action_mask"], info["action_mask"][i])
    rng = np.random.default_rng(0)
    ended = 0
    for _ in range(4 * mdp.stages):
        actions = allowed_random_actions(rng, info["action_mask"])
        obs, rewards, terminated, truncated, info = venv.step(actions)
        for i, env in enumerate(envs):
            o, r, term, trunc, inf = env.step(actions[i])
            assert r == rewards[i] and term == terminated[i] and not trunc and not truncated[i]
            if term:
                ended += 1
                assert info["final_obs"][i] == o
                np.testing.assert_array_equal(info["final_info"]["action_mask"][i], inf["action_mask"])
                o, inf = env.reset()
            assert obs[i] == o
            np.testing.assert_array_equal(info["action_mask"][i], inf["action_mask"])
    assert ended == 4 * n


def test_vector_env_equals_gymnasium_sync_vector_env_including_infos():
    mdp = random_mdp(2)
    rng = np.random.default_rng(1)
    assert_equals_sync_vector_env(TabularVectorEnv(mdp, num_envs=3, reward_noise=0.2),
                                  lambda: TabularEnv(mdp, reward_noise=0.2), 3 * mdp.stages,
                                  lambda info: allowed_random_actions(rng, info["action_mask"]))


def test_observation_layout_rewards_and_termination_on_a_deterministic_chain():
    """s' = (s + a) mod S, r_t(s, a) = 100·t + 10·s + a: every number is known."""
    T, S, A = 3, 4, 2
    t, s, a = np.indices((T, S, A))
    mdp = FiniteMDP(rewards=(100 * t + 10 * s + a).astype(float), next_states=((s + a) % S)[..., None],
                    probabilities=np.ones((T, S, A, 1)))
    env = TabularEnv(mdp, initial_states=[0.0, 0.0, 1.0, 0.0])
    assert env.observation_space.n == (T + 1) * S and env.action_space.n == A
    obs, info = env.reset(seed=0)
    assert obs == 2 and info["action_mask"].tolist() == [True, True]
    outcomes = [env.step(action) for action in (1, 1, 0)]
    assert [o[0] for o in outcomes] == [1 * S + 3, 2 * S + 0, 3 * S + 0]
    assert [o[1] for o in outcomes] == [21.0, 131.0, 200.0]
    assert [o[2] for o in outcomes] == [False, False, True]
    assert outcomes[-1][4]["action_mask"].tolist() == [False, False]


def test_successor_frequencies_match_probabilities_and_draws_are_independent():
    """Stage 0 from state 0: successors (1, 2, 3, 1) with p = (0.1, 0, 0.3, 0.6); stage 1 from any state:
    0 or 1 with p = (0.3, 0.7). The joint of (s1, s2) must be the product; state 2 never appears; the
    reward noise of stage 0 must not depend on the successor drawn at stage 0."""
    S, n = 4, 40_000
    next_states = np.zeros((2, S, 1, 4), dtype=int)
    probabilities = np.zeros((2, S, 1, 4))
    next_states[0, :, 0] = [1, 2, 3, 1]
    probabilities[0, :, 0] = [0.1, 0.0, 0.3, 0.6]
    next_states[1, :, 0] = [0, 1, 0, 1]
    probabilities[1, :, 0] = [0.3, 0.7, 0.0, 0.0]
    mdp = FiniteMDP(rewards=np.zeros((2, S, 1)), next_states=next_states, probabilities=probabilities)
    venv = TabularVectorEnv(mdp, num_envs=n, reward_noise=1.0)
    venv.reset(seed=123)
    obs, noise, *_ = venv.step(np.zeros(n, dtype=int))
    s1 = obs - S
    _, _, done, _, info = venv.step(np.zeros(n, dtype=int))
    assert done.all()
    s2 = info["final_obs"] - 2 * S
    assert not (s1 == 2).any()
    joint = np.array([[np.sum((s1 == a) & (s2 == b)) for b in (0, 1)] for a in (1, 3)])
    expected = n * np.outer([0.7, 0.3], [0.3, 0.7])
    assert stats.chisquare(joint.ravel(), expected.ravel()).pvalue > 1e-3
    for state in (1, 3):
        group = noise[s1 == state]
        assert abs(group.mean()) < 3.5 / np.sqrt(group.size)


def test_initial_state_frequencies_match_initial_states_and_are_independent_of_the_first_move():
    n, initial = 30_000, np.array([0.2, 0.0, 0.3, 0.5])
    mdp = FiniteMDP(rewards=np.zeros((1, 4, 1)), next_states=np.tile(np.arange(4), (1, 4, 1, 1)),
                    probabilities=np.full((1, 4, 1, 4), 0.25))
    venv = TabularVectorEnv(mdp, num_envs=n, initial_states=initial)
    s0, _ = venv.reset(seed=9)
    s1 = venv.step(np.zeros(n, dtype=int))[4]["final_obs"] - 4
    assert not (s0 == 1).any()
    joint = np.array([[np.sum((s0 == a) & (s1 == b)) for b in range(4)] for a in (0, 2, 3)])
    expected = n * np.outer(initial[[0, 2, 3]], np.full(4, 0.25))
    assert stats.chisquare(joint.ravel(), expected.ravel()).pvalue > 1e-3


def run_policy(venv, policy, stages, states):
    """Total reward of one episode per slot under a (T, S) table policy."""
    obs, _ = venv.reset(seed=0)
    total = np.zeros(venv.num_envs)
    for _ in range(stages):
        obs, reward, done, _, _ = venv.step(policy[obs // states, obs % states])
        total += reward
    assert done.all()
    return total


def test_mean_return_of_a_fixed_policy_equals_its_exact_value():
    mdp = random_mdp(4, T=5, S=4, A=3, K=3)
    rng = np.random.default_rng(4)
    policy = (rng.random(mdp.rewards.shape) * mdp.action_mask).argmax(axis=-1)
    initial = np.array([0.1, 0.2, 0.3, 0.4])
    n = 50_000
    total = run_policy(TabularVectorEnv(mdp, num_envs=n, initial_states=initial, reward_noise=0.5),
                       policy, mdp.stages, mdp.states)
    exact = initial @ policy_values(mdp, policy)[0]
    assert abs(total.mean() - exact) < 3.5 * total.std() / np.sqrt(n)
    optimum = initial @ backward_induction(mdp).values[0]
    assert exact < optimum - 10 * total.std() / np.sqrt(n)   # the fixed policy is clearly not optimal


def test_reward_noise_adds_variance_t_sigma_squared_and_nothing_to_the_mean():
    T, S, A, sigma, n = 6, 3, 2, 0.8, 40_000
    rng = np.random.default_rng(5)
    mdp = FiniteMDP(rewards=rng.normal(size=(T, S, A)), next_states=rng.integers(0, S, (T, S, A, 1)),
                    probabilities=np.ones((T, S, A, 1)))
    policy = rng.integers(0, A, (T, S))
    total = run_policy(TabularVectorEnv(mdp, num_envs=n, reward_noise=sigma), policy, T, S)
    exact = policy_values(mdp, policy)[0, 0]
    assert abs(total.mean() - exact) < 3.5 * sigma * np.sqrt(T / n)
    assert total.var() == pytest.approx(T * sigma**2, rel=0.05)


def test_successor_draws_do_not_depend_on_the_action():
    """Actions 0 and 1 have the same probabilities over successors (0, 1, 2) and (3, 4, 5): same seed, same k."""
    probabilities = np.tile([0.2, 0.5, 0.3], (1, 6, 2, 1))
    next_states = np.tile(np.array([[0, 1, 2], [3, 4, 5]]), (1, 6, 1, 1))
    mdp = FiniteMDP(rewards=np.zeros((1, 6, 2)), next_states=next_states, probabilities=probabilities)
    finals = []
    for action in (0, 1):
        venv = TabularVectorEnv(mdp, num_envs=1000)
        venv.reset(seed=77)
        finals.append(venv.step(np.full(1000, action))[4]["final_obs"] - 6)
    np.testing.assert_array_equal(finals[1], finals[0] + 3)
    assert len(np.unique(finals[0])) == 3


def test_same_seed_same_episode_and_unseeded_resets_continue_the_stream():
    env = TabularEnv(random_mdp(6, masked=False), reward_noise=1.0)

    def episode():
        rewards, done = [], False
        while not done:
            _, reward, done, _, _ = env.step(0)
            rewards.append(reward)
        return rewards

    env.reset(seed=3)
    first = episode()
    env.reset()
    second = episode()
    env.reset(seed=3)
    assert episode() == first
    assert second != first


def test_invalid_actions_and_arguments_raise():
    mask = np.ones((2, 3, 2), dtype=bool)
    mask[0, 0, 1] = False
    mdp = FiniteMDP(rewards=np.zeros((2, 3, 2)), next_states=np.zeros((2, 3, 2, 1), dtype=int),
                    probabilities=np.ones((2, 3, 2, 1)), action_mask=mask)
    env = TabularEnv(mdp)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"action 1 is masked at stage 0, state 0; allowed: \[0\]"):
        env.step(1)
    with pytest.raises(ValueError, match=r"action must lie in 0\.\.1"):
        env.step(2)
    with pytest.raises(ValueError, match="action must be integers for the action space Discrete"):
        env.step(0.0)
    env.step(0)
    env.step(1)
    with pytest.raises(RuntimeError, match="episode has ended"):
        env.step(0)
    venv = TabularVectorEnv(mdp, num_envs=3)
    venv.reset(seed=0)
    with pytest.raises(ValueError, match=r"action 1 is masked in slot 2 at stage 0, state 0"):
        venv.step(np.array([0, 0, 1]))
    with pytest.raises(ValueError, match=r"3 integers \(shape \(3,\)\)"):
        venv.step(np.zeros(2, dtype=int))
    with pytest.raises(ValueError, match=r"num_envs must be an integer in \[1, inf\)"):
        TabularVectorEnv(mdp, num_envs=0)
    with pytest.raises(ValueError, match="seed must be an int or a list of 3 ints"):
        venv.reset(seed=[1, 2])


@pytest.mark.parametrize("kwargs, message", [
    (dict(initial_states=[0.5, 0.5]), r"initial_states must have shape \(S,\) = \(3,\)"),
    (dict(initial_states=[0.5, 0.6, -0.1]), "initial_states must be finite probabilities >= 0"),
    (dict(initial_states=[0.5, 0.6, 0.0]), "initial_states must sum to 1"),
    (dict(reward_noise=-1.0), r"reward_noise must be in \[0, inf\]"),
])
def test_invalid_start_distribution_and_noise_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TabularEnv(random_mdp(0), **kwargs)
