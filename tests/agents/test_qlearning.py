"""Tabular Q-learning: the optimum of a tiny MDP found by brute force, exact resume, the step-size rule."""

import io
import itertools
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from execgym.agents import qlearning
from execgym.agents.qlearning import QLearning, QLearningConfig, train

T, S, A = 3, 3, 2          # stages, states per stage, actions
EXIT = S                   # outcome index of an early end of the episode
TERMINAL = T * S           # observation of every ended episode


@dataclass(frozen=True)
class ChainMDP:
    """A finite-horizon MDP: from (stage t, state s, action a) the outcome o ~ transition[t, s, a]
    is a next state o < S or an early exit o = S (impossible at the last stage); reward[t, s, a, o]."""

    start: np.ndarray        # (S,)
    transition: np.ndarray   # (T, S, A, S + 1)
    reward: np.ndarray       # (T, S, A, S + 1)


def make_mdp(seed: int = 7) -> ChainMDP:
    rng = np.random.default_rng(seed)
    transition = rng.dirichlet(np.ones(S + 1), size=(T, S, A))
    transition[T - 1, :, :, EXIT] = 0.0
    transition /= transition.sum(axis=-1, keepdims=True)
    return ChainMDP(start=rng.dirichlet(np.ones(S)), transition=transition,
                    reward=rng.normal(size=(T, S, A, S + 1)))


MDP = make_mdp()


class ChainVectorEnv(VectorEnv):
    """``num_envs`` episodes of a :class:`ChainMDP`, observation stage · S + state (TERMINAL once
    ended), SAME_STEP autoreset with ``final_obs`` an object array as in SyncVectorEnv. One numpy
    Generator, seeded in reset, draws every slot's randomness. With ``truncate_at_end`` the
    last stage ends by truncation instead of termination."""

    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(self, num_envs: int, mdp: ChainMDP = MDP, truncate_at_end: bool = False) -> None:
        self.num_envs = num_envs
        self.mdp = mdp
        self.truncate_at_end = truncate_at_end
        self.single_observation_space = gym.spaces.Discrete(T * S + 1)
        self.single_action_space = gym.spaces.Discrete(A)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)

    def _starts(self, n: int) -> np.ndarray:
        return self._rng.choice(S, size=n, p=self.mdp.start)

    def reset(self, *, seed=None, options=None):
        self._rng = np.random.default_rng(seed)
        self._stage = np.zeros(self.num_envs, dtype=np.int64)
        self._state = self._starts(self.num_envs)
        return self._stage * S + self._state, {}

    def step(self, actions):
        t, s, a = self._stage, self._state, np.asarray(actions)
        cdf = self.mdp.transition[t, s, a].cumsum(axis=1)
        outcome = np.minimum((self._rng.random((self.num_envs, 1)) > cdf).sum(axis=1), EXIT)
        reward = self.mdp.reward[t, s, a, outcome]
        at_end = t == T - 1
        done = at_end | (outcome == EXIT)
        terminated = done & ~(at_end & self.truncate_at_end)
        self._stage = np.where(done, 0, t + 1)
        self._state = np.where(done, 0, np.minimum(outcome, S - 1))
        info = {}
        if done.any():
            self._state[done] = self._starts(int(done.sum()))
            final_obs = np.full(self.num_envs, None, dtype=object)
            final_obs[done] = TERMINAL
            info = {"final_obs": final_obs, "_final_obs": done.copy()}
        return self._stage * S + self._state, reward, terminated, done & ~terminated, info


# ---------------------------------------------------------------- exact answers of the tiny MDP

def policy_value(mdp: ChainMDP, policy: np.ndarray) -> float:
    """E[Σ reward] of a deterministic policy (action per observation), by forward propagation."""
    occupancy, value = mdp.start, 0.0
    for t in range(T):
        p = mdp.transition[t, np.arange(S), policy[t * S:(t + 1) * S]]
        r = mdp.reward[t, np.arange(S), policy[t * S:(t + 1) * S]]
        value += occupancy @ (p * r).sum(axis=1)
        occupancy = occupancy @ p[:, :S]
    return float(value)


def brute_force_optimum(mdp: ChainMDP) -> tuple[np.ndarray, float]:
    """The best of all A^(T·S) = 512 deterministic policies, and its value."""
    policies = [np.array(p) for p in itertools.product(range(A), repeat=T * S)]
    values = [policy_value(mdp, p) for p in policies]
    best = int(np.argmax(values))
    return policies[best], values[best]


def optimal_q(mdp: ChainMDP) -> np.ndarray:
    """Q*(stage · S + s, a) by backward induction (T · S, A)."""
    q = np.zeros((T, S, A))
    v_next = np.zeros(S + 1)          # value after each outcome; an exit is worth 0
    for t in reversed(range(T)):
        q[t] = (mdp.transition[t] * (mdp.reward[t] + v_next)).sum(axis=-1)
        v_next = np.append(q[t].max(axis=1), 0.0)
    return q.reshape(T * S, A)


def make_env(num_envs: int) -> ChainVectorEnv:
    return ChainVectorEnv(num_envs)


def stop_after(last_round: int):
    return lambda agent, round_, steps, result: round_ < last_round


# ---------------------------------------------------------------- learning the optimum

def test_exact_answers_of_the_tiny_mdp_agree_and_leave_a_clear_action_gap():
    best_policy, best_value = brute_force_optimum(MDP)
    q_star = optimal_q(MDP)
    assert best_value == pytest.approx(MDP.start @ q_star[:S].max(axis=1), abs=1e-12)
    np.testing.assert_array_equal(best_policy, q_star.argmax(axis=1))
    gaps = np.abs(q_star[:, 0] - q_star[:, 1])
    assert gaps.min() > 0.08   # a unique optimum, each gap above the Q tolerance of the next test


def test_greedy_policy_reaches_the_brute_force_optimum_and_q_is_near_q_star():
    config = QLearningConfig(num_envs=256)
    agent = QLearning.for_spaces(gym.spaces.Discrete(T * S + 1), gym.spaces.Discrete(A), config)
    steps = train(agent, make_env, total_steps=400_000, seed=3)
    assert steps == agent.steps_done >= 400_000
    best_policy, best_value = brute_force_optimum(MDP)
    learned = agent.greedy_policy()(np.arange(T * S))
    np.testing.assert_array_equal(learned, best_policy)
    assert policy_value(MDP, learned) == best_value
    q_star = optimal_q(MDP)
    errors = np.abs(agent.q[:TERMINAL] - q_star)
    assert errors[np.arange(TERMINAL), best_policy].max() < 0.025   # V*: thousands of visits per entry
    assert errors.max() < 0.05                                        # off-policy actions: ε-greedy visits
    assert (agent.visits[:TERMINAL] > 0).all()
    np.testing.assert_array_equal(agent.q[TERMINAL], config.initial_q)   # never learned from


# ---------------------------------------------------------------- rounds, masking, resume

def test_a_round_learns_from_exactly_one_episode_per_slot():
    agent = QLearning(T * S + 1, A, QLearningConfig(num_envs=64))
    steps, mean_return = qlearning.run_round(agent, ChainVectorEnv(64), seed=0, round_=0, epsilon=1.0)
    assert np.isfinite(mean_return)
    assert steps == agent.steps_done
    assert agent.visits[:S].sum() == 64                    # one start per slot, restarts ignored
    stage_sizes = [agent.visits[t * S:(t + 1) * S].sum() for t in range(T)]
    assert stage_sizes[0] > stage_sizes[1] > stage_sizes[2] > 0   # early exits make ragged episodes
    assert steps == sum(stage_sizes)


class RecordingEnv(ChainVectorEnv):
    def reset(self, *, seed=None, options=None):
        self.reset_seed, self.actions = seed, []
        return super().reset(seed=seed, options=options)

    def step(self, actions):
        self.actions.append(np.array(actions))
        return super().step(actions)


def test_a_round_is_seeded_by_seed_and_round_alone():
    env = RecordingEnv(8)
    qlearning.run_round(QLearning(T * S + 1, A, QLearningConfig(num_envs=8)), env, seed=4, round_=6, epsilon=1.0)
    assert env.reset_seed == 2**40 + 4 * 2**32 + 6 * 8
    rng = np.random.default_rng([4, 6])
    for actions in env.actions:               # ε = 1: n uniforms, then the n random actions
        rng.random(8)
        np.testing.assert_array_equal(actions, rng.integers(A, size=8))


@pytest.mark.parametrize("truncate_at_end", [False, True])
def test_the_last_transition_bootstraps_from_final_obs_only_when_truncated(truncate_at_end):
    agent = QLearning(T * S + 1, A, QLearningConfig(num_envs=64))
    agent.q[TERMINAL] = 1000.0
    qlearning.run_round(agent, ChainVectorEnv(64, truncate_at_end=truncate_at_end), seed=1, round_=0, epsilon=1.0)
    last_stage = agent.q[(T - 1) * S:TERMINAL][agent.visits[(T - 1) * S:TERMINAL] > 0]
    assert last_stage.size > 0
    bound = np.abs(MDP.reward).max()
    if truncate_at_end:
        assert (np.abs(last_stage - 1000.0) <= bound).all()
    else:
        assert (np.abs(last_stage) <= bound).all()


def test_resuming_from_a_checkpoint_reproduces_the_straight_run_bit_for_bit():
    config = QLearningConfig(num_envs=16, step_size_exponent=0.8, gamma=0.9)
    total = 3_000                      # ε still decays over the 8 rounds below
    straight = QLearning(T * S + 1, A, config)
    steps_straight = train(straight, make_env, total, seed=5, callback=stop_after(7))

    first = QLearning(T * S + 1, A, config)
    checkpoints = {}

    def save(agent, round_, steps, result):
        buffer = io.BytesIO()
        np.savez(buffer, **agent.state_dict())
        checkpoints[round_] = buffer.getvalue()
        return round_ < 2

    train(first, make_env, total, seed=5, callback=save)
    resumed = QLearning.from_state_dict(np.load(io.BytesIO(checkpoints[2])))
    assert resumed.config == config
    steps_resumed = train(resumed, make_env, total, seed=5, start_round=3, callback=stop_after(7))

    assert steps_resumed == steps_straight < total
    assert resumed.q.tobytes() == straight.q.tobytes()
    np.testing.assert_array_equal(resumed.visits, straight.visits)
    assert not np.array_equal(first.q, straight.q)          # rounds 3..7 did change the table


def test_train_uses_the_schedule_at_each_round_start_and_never_cuts_a_round(monkeypatch):
    calls, reports = [], []
    real_run_round = qlearning.run_round

    def spy(agent, env, seed, round_, epsilon):
        calls.append((round_, agent.steps_done, epsilon))
        return real_run_round(agent, env, seed, round_, epsilon)

    monkeypatch.setattr(qlearning, "run_round", spy)
    config = QLearningConfig(num_envs=8, epsilon_start=0.9, epsilon_end=0.1, epsilon_decay_fraction=0.4)
    agent = QLearning(T * S + 1, A, config)
    steps = train(agent, make_env, 200, seed=2, start_round=4,
                  callback=lambda agent, round_, steps, result: reports.append((round_, steps)))
    assert [r for r, _, _ in calls] == list(range(4, 4 + len(calls)))
    assert [eps for _, _, eps in calls] == [config.epsilon(done, 200) for _, done, _ in calls]
    assert calls[0][2] == 0.9 and calls[-1][2] == pytest.approx(0.1)
    assert [s for _, s in reports] == [done for _, done, _ in calls[1:]] + [steps]
    assert reports[-2][1] < 200 <= steps == agent.steps_done


# ---------------------------------------------------------------- the rules, on known numbers

def test_epsilon_schedule_decays_linearly_then_stays():
    config = QLearningConfig(epsilon_start=1.0, epsilon_end=0.05, epsilon_decay_fraction=0.5)
    assert config.epsilon(0, 1000) == 1.0
    assert config.epsilon(250, 1000) == pytest.approx(0.525, abs=1e-15)
    assert config.epsilon(400, 1000) == pytest.approx(0.24, abs=1e-15)
    assert config.epsilon(500, 1000) == 0.05
    assert config.epsilon(10_000, 1000) == 0.05
    assert QLearningConfig(epsilon_decay_fraction=0.0).epsilon(0, 1000) == 0.05


def terminal_update(agent, states, actions, rewards):
    """An update whose targets are the rewards (terminated transitions)."""
    n = len(states)
    agent.update(np.array(states), np.array(actions), np.array(rewards, dtype=float),
                 np.zeros(n, dtype=int), np.ones(n, dtype=bool))


def test_step_size_one_is_the_exact_running_mean_of_targets_whatever_the_batching():
    one_by_one = QLearning(1, 1, QLearningConfig(initial_q=0.7))
    for target, mean in zip([1.0, 2.0, 3.0, 6.0, -2.0], [1.0, 1.5, 2.0, 3.0, 2.0]):
        terminal_update(one_by_one, [0], [0], [target])
        assert one_by_one.q[0, 0] == mean
    batched = QLearning(1, 1, QLearningConfig(initial_q=0.7))
    terminal_update(batched, [0, 0], [0, 0], [1.0, 2.0])
    terminal_update(batched, [0, 0, 0], [0, 0, 0], [3.0, 6.0, -2.0])
    assert batched.q[0, 0] == 2.0
    assert batched.visits[0, 0] == one_by_one.visits[0, 0] == 5


def test_step_size_exponent_below_one_follows_its_formula():
    omega = 0.75
    agent = QLearning(1, 1, QLearningConfig(step_size_exponent=omega))
    terminal_update(agent, [0], [0], [2.0])
    assert agent.q[0, 0] == 2.0                                     # α = 1 on the first visit
    terminal_update(agent, [0], [0], [4.0])
    expected = (1 - 0.5 ** omega) * 2.0 + 0.5 ** omega * 4.0       # n = 1, c = 1
    assert agent.q[0, 0] == pytest.approx(expected, rel=1e-14)
    terminal_update(agent, [0, 0, 0], [0, 0, 0], [0.0, 3.0, 9.0])
    alpha = (3 / 5) ** omega                                        # n = 2, c = 3, mean 4
    assert agent.q[0, 0] == pytest.approx((1 - alpha) * expected + alpha * 4.0, rel=1e-14)
    assert agent.visits[0, 0] == 5


def test_duplicates_in_one_batch_move_to_their_mean_and_other_entries_keep_their_value():
    agent = QLearning(3, 2, QLearningConfig(initial_q=-1.0))
    terminal_update(agent, [0, 0, 1, 0], [1, 1, 0, 0], [1.0, 4.0, 7.0, 3.0])
    np.testing.assert_array_equal(agent.q, [[3.0, 2.5], [7.0, -1.0], [-1.0, -1.0]])
    np.testing.assert_array_equal(agent.visits, [[1, 2], [1, 0], [0, 0]])


def test_targets_bootstrap_from_the_table_before_the_batch():
    agent = QLearning(2, 2, QLearningConfig(gamma=0.5))
    agent.q[1] = [3.0, 5.0]
    agent.update(np.array([1, 0]), np.array([1, 0]), np.array([1.0, 1.0]),
                 np.array([1, 1]), np.array([True, False]))
    assert agent.q[1, 1] == 1.0                   # terminated: the target is the reward
    assert agent.q[0, 0] == 1.0 + 0.5 * 5.0      # max of row 1 before it dropped to 3


def test_act_is_greedy_with_lowest_index_ties_at_epsilon_zero_and_uniform_at_one():
    agent = QLearning(3, 3)
    agent.q[:] = [[0.0, 0.0, 0.0], [1.0, 2.0, 2.0], [5.0, -1.0, 5.0]]
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(agent.act(np.array([0, 1, 2, 1]), 0.0, rng), [0, 1, 0, 1])
    actions = agent.act(np.full(30_000, 1), 1.0, rng)
    np.testing.assert_allclose(np.bincount(actions, minlength=3) / 30_000, 1 / 3, atol=0.015)
    half = agent.act(np.full(30_000, 1), 0.5, rng)
    assert np.mean(half == 1) == pytest.approx(0.5 + 0.5 / 3, abs=0.015)


def test_greedy_policy_is_a_snapshot_meeting_the_policy_protocol():
    agent = QLearning(3, 2)
    agent.q[:] = [[1.0, 1.0], [0.0, 2.0], [3.0, 1.0]]
    policy = agent.greedy_policy()
    np.testing.assert_array_equal(policy(np.array([2, 1, 0, 1])), [0, 1, 0, 1])
    agent.q[2] = [0.0, 9.0]
    assert policy(np.array([2]))[0] == 0
    with pytest.raises(ValueError, match=r"observations must be in \[0, 3\)"):
        policy(np.array([3]))


def test_state_dict_round_trip_copies():
    agent = QLearning(4, 2, QLearningConfig(gamma=0.95, num_envs=8))
    terminal_update(agent, [0, 3], [1, 0], [1.5, -2.0])
    state = agent.state_dict()
    agent.q[0, 1] = 99.0
    restored = QLearning.from_state_dict(state)
    assert restored.q[0, 1] == 1.5 and restored.q[3, 0] == -2.0
    assert restored.config == agent.config
    np.testing.assert_array_equal(restored.visits, agent.visits)
    state["visits"][0, 1] = 7
    assert restored.visits[0, 1] == 1
    with pytest.raises(ValueError, match="one shape"):
        QLearning.from_state_dict({**state, "visits": np.zeros((4, 3), dtype=np.int64)})


# ---------------------------------------------------------------- action masks

MASK = np.array([[False, True, False, True],     # state 0: actions 1 and 3
                 [True, True, True, True],       # state 1: every action
                 [False, False, False, False]])  # state 2: none (terminal)


def test_masked_agent_explores_over_the_allowed_actions_and_is_greedy_among_them():
    agent = QLearning(3, 4, action_mask=MASK)
    agent.q[:] = [[9.0, 1.0, 9.0, 2.0], [0.0, 3.0, 3.0, 1.0], [5.0, 5.0, 5.0, 5.0]]
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(agent.act(np.array([0, 1, 0]), 0.0, rng), [3, 1, 3])
    explored = agent.act(np.zeros(40_000, dtype=int), 1.0, rng)
    counts = np.bincount(explored, minlength=4) / 40_000
    assert counts[0] == counts[2] == 0 and counts[1] == pytest.approx(0.5, abs=0.01)
    np.testing.assert_allclose(np.bincount(agent.act(np.ones(40_000, dtype=int), 1.0, rng), minlength=4) / 40_000,
                               0.25, atol=0.01)
    np.testing.assert_array_equal(agent.greedy_policy()(np.arange(3)), [3, 1, 0])
    with pytest.raises(ValueError, match="state 2 allows no action"):
        agent.act(np.array([1, 2]), 0.5, rng)


def test_masked_bootstrap_is_the_max_over_allowed_actions_and_zero_where_none():
    agent = QLearning(3, 4, QLearningConfig(gamma=0.5), action_mask=MASK)
    agent.q[:] = [[9.0, 1.0, 9.0, 2.0], [0.0, 3.0, 3.0, 1.0], [5.0, 5.0, 5.0, 5.0]]
    np.testing.assert_array_equal(agent.targets(np.ones(3), np.array([0, 1, 2]), np.zeros(3, dtype=bool)),
                                  [1.0 + 0.5 * 2.0, 1.0 + 0.5 * 3.0, 1.0])
    with pytest.raises(ValueError, match="action 2 is masked in state 0"):
        agent.update(np.array([1, 0]), np.array([0, 2]), np.zeros(2), np.array([1, 1]), np.zeros(2, dtype=bool))


def test_mask_survives_the_state_dict_and_an_unmasked_agent_has_none():
    agent = QLearning(3, 4, action_mask=MASK)
    restored = QLearning.from_state_dict(agent.state_dict())
    np.testing.assert_array_equal(restored.action_mask, MASK)
    assert QLearning.from_state_dict(QLearning(3, 4).state_dict()).action_mask is None
    assert "action_mask" not in QLearning(3, 4).state_dict()
    with pytest.raises(ValueError, match=r"action_mask must be a boolean array of the table's shape \(3, 4\)"):
        QLearning(3, 4, action_mask=MASK[:2])
    with pytest.raises(ValueError, match="action_mask must be a boolean"):
        QLearning(3, 4, action_mask=MASK.astype(int))


def test_an_all_true_mask_learns_the_same_table_as_no_mask_on_the_same_transitions():
    rng = np.random.default_rng(4)
    plain, masked = QLearning(4, 3), QLearning(4, 3, action_mask=np.ones((4, 3), dtype=bool))
    for _ in range(20):
        batch = (rng.integers(0, 4, 32), rng.integers(0, 3, 32), rng.normal(size=32), rng.integers(0, 4, 32),
                 rng.random(32) < 0.3)
        plain.update(*batch)
        masked.update(*batch)
    np.testing.assert_array_equal(plain.q, masked.q)


# ---------------------------------------------------------------- clear errors

@pytest.mark.parametrize("field, value, message", [
    ("gamma", 0.0, r"gamma must be in \(0, 1\]"),
    ("gamma", 1.5, r"gamma must be in \(0, 1\]"),
    ("gamma", float("nan"), "gamma must be in"),
    ("epsilon_start", 1.1, r"epsilon_start must be in \[0, 1\]"),
    ("epsilon_end", -0.1, r"epsilon_end must be in \[0, 1\]"),
    ("epsilon_end", 1.0, "epsilon_end must be <= epsilon_start"),
    ("epsilon_decay_fraction", 1.5, r"epsilon_decay_fraction must be in \[0, 1\]"),
    ("step_size_exponent", 0.5, r"step_size_exponent must be in \(0.5, 1\]"),
    ("step_size_exponent", 1.01, r"step_size_exponent must be in \(0.5, 1\]"),
    ("initial_q", float("inf"), "initial_q must be in"),
    ("num_envs", 0, "num_envs must be an integer in"),
    ("num_envs", 2.5, "num_envs must be an integer"),
])
def test_invalid_config_values_name_the_field_and_range(field, value, message):
    with pytest.raises(ValueError, match=message):
        QLearningConfig(**{"epsilon_start": 0.5, field: value})


@pytest.mark.parametrize("observation_space, action_space, name", [
    (gym.spaces.Box(-1.0, 1.0, (3,)), gym.spaces.Discrete(2), "observation"),
    (gym.spaces.Discrete(4), gym.spaces.Box(-1.0, 1.0, (1,)), "action"),
    (gym.spaces.MultiDiscrete([3, 3]), gym.spaces.Discrete(2), "observation"),
    (gym.spaces.Discrete(4, start=1), gym.spaces.Discrete(2), "observation"),
])
def test_non_discrete_spaces_are_rejected(observation_space, action_space, name):
    with pytest.raises(ValueError, match=f"Discrete\\(n\\) {name} space"):
        QLearning.for_spaces(observation_space, action_space)


class BoxObservationEnv(ChainVectorEnv):
    def __init__(self, num_envs: int) -> None:
        super().__init__(num_envs)
        self.single_observation_space = gym.spaces.Box(-1.0, 1.0, (3,))


class NextStepEnv(ChainVectorEnv):
    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP}


@pytest.mark.parametrize("env_class, num_envs, message", [
    (BoxObservationEnv, 4, "Discrete"),
    (NextStepEnv, 4, "SAME_STEP"),
    (ChainVectorEnv, 5, "num_envs = 5"),
])
def test_train_rejects_envs_it_cannot_learn_from(env_class, num_envs, message):
    agent = QLearning(T * S + 1, A, QLearningConfig(num_envs=4))
    with pytest.raises(ValueError, match=message):
        train(agent, lambda n: env_class(num_envs), 100, seed=0)


def test_train_rejects_an_env_of_another_size_than_the_table():
    agent = QLearning(T * S, A, QLearningConfig(num_envs=4))
    with pytest.raises(ValueError, match=r"\(10, 2\) but the agent's table is \(9, 2\)"):
        train(agent, make_env, 100, seed=0)


@pytest.mark.parametrize("kwargs, message", [
    ({"states": [0, 5]}, r"states must be in \[0, 4\)"),
    ({"actions": [0, -1]}, r"actions must be in \[0, 2\)"),
    ({"next_states": [0.0, 1.0]}, "next_states must be a 1-D integer array"),
    ({"rewards": [1.0, np.nan]}, "rewards must be finite"),
    ({"terminated": [True]}, "one shape"),
])
def test_update_rejects_invalid_batches(kwargs, message):
    batch = {"states": [0, 1], "actions": [1, 0], "rewards": [1.0, 2.0], "next_states": [2, 3],
             "terminated": [False, True], **kwargs}
    with pytest.raises(ValueError, match=message):
        QLearning(4, 2).update(**{k: np.array(v) for k, v in batch.items()})
