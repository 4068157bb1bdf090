"""OptimalExec-v0 environments: Gymnasium compliance, scalar = vector = SyncVectorEnv, the reward identity."""

import warnings
from dataclasses import replace

import gymnasium as gym
import numpy as np
import pytest
from vector_checks import assert_equals_sync_vector_env
from gymnasium.utils.env_checker import check_env

import execgym  # noqa: F401  (registers the ids)
from execgym import engine
from execgym.problems.optimal_exec import dynamics, schedule
from execgym.problems.optimal_exec.env import OptimalExecEnv, OptimalExecVectorEnv
from execgym.problems.optimal_exec.params import OptimalExecParams

SMALL = dict(periods=5, risk_aversion=1e-6, drift=0.3)


def test_check_env_passes_on_the_scalar_env():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", message=".*Box observation space (minimum|maximum) value is")
        check_env(gym.make("OptimalExec-v0").unwrapped, skip_render_check=True)


def test_make_and_make_vec_return_the_native_classes():
    assert isinstance(gym.make("OptimalExec-v0", periods=7).unwrapped, OptimalExecEnv)
    venv = gym.make_vec("OptimalExec-v0", num_envs=3, periods=7)
    assert isinstance(venv, OptimalExecVectorEnv) and venv.params.periods == 7
    assert gym.make("execgym:OptimalExec-v0").unwrapped.params == OptimalExecParams()


def random_actions(rng, n):
    return rng.uniform(-1.2, 1.0, size=(n, 1)).astype(np.float32)


def test_vector_env_matches_scalar_envs_step_for_step_across_autoresets():
    n, periods = 4, 5
    venv = OptimalExecVectorEnv(num_envs=n, **SMALL)
    envs = [OptimalExecEnv(**SMALL) for _ in range(n)]
    obs, _ = venv.reset(seed=11)
    scalar_obs = [env.reset(seed=11 + i)[0] for i, env in enumerate(envs)]
    np.testing.assert_array_equal(obs, np.stack(scalar_obs))
    rng = np.random.default_rng(0)
    for t in range(3 * periods):
        actions = random_actions(rng, n)
        obs, rewards, terminated, truncated, info = venv.step(actions)
        for i, env in enumerate(envs):
            o, r, term, trunc, inf = env.step(actions[i])
            assert r == rewards[i] and term == terminated[i] and not trunc and not truncated[i]
            if term:
                np.testing.assert_array_equal(info["final_obs"][i], o)
                assert {k: info["final_info"][k][i] for k in inf} == inf
                o, _ = env.reset()
            np.testing.assert_array_equal(obs[i], o)
    assert t == 3 * periods - 1


def test_vector_env_equals_gymnasium_sync_vector_env_including_infos():
    rng = np.random.default_rng(1)
    assert_equals_sync_vector_env(OptimalExecVectorEnv(num_envs=3, **SMALL), lambda: OptimalExecEnv(**SMALL), 12,
                                  lambda info: random_actions(rng, 3))


def test_same_seed_same_episode_and_unseeded_resets_continue_the_stream():
    env = OptimalExecEnv()

    def prices():
        path, done = [], False
        while not done:
            _, _, done, _, info = env.step(np.array([-0.5], dtype=np.float32))
            path.append(info["price"])
        return path

    env.reset(seed=3)
    first = prices()
    env.reset()
    second = prices()
    env.reset(seed=3)
    assert prices() == first
    assert second != first
    env.reset(seed=4)
    assert prices() != first


def test_common_random_numbers_price_shocks_do_not_depend_on_actions():
    p = OptimalExecParams(permanent_impact=0.0, temporary_impact=2e-7)
    prices = []
    for action in (-1.0, 0.3, 1.0):
        env = OptimalExecEnv(params=p)
        env.reset(seed=42)
        path, done = [], False
        while not done:
            _, _, done, _, info = env.step(np.array([action], dtype=np.float32))
            path.append(info["price"])
        prices.append(path)
    assert prices[0] == prices[1] == prices[2]


def play(env, action, seed):
    obs, info = env.reset(seed=seed)
    rewards, infos, observations = [], [info], [obs]
    done = False
    while not done:
        obs, reward, done, _, info = env.step(np.array([action], dtype=np.float32))
        rewards.append(reward)
        infos.append(info)
        observations.append(obs)
    return np.array(rewards), infos, np.array(observations)


@pytest.mark.parametrize("side", ["sell", "buy"])
def test_episode_rewards_sum_to_shortfall_plus_risk_penalty_in_bps(side):
    p = OptimalExecParams(side=side, drift=0.2)
    env = OptimalExecEnv(params=p)
    rewards, infos, _ = play(env, 0.0, seed=9)
    inventories = np.array([info["inventory"] for info in infos[1:]])
    traded = np.array([info["shares_traded"] for info in infos[1:]])
    prices = np.array([info["execution_price"] for info in infos[1:]])
    shortfall = p.side_sign * (p.shares * p.arrival_price - (traded * prices).sum())
    assert infos[-1]["shortfall"] == pytest.approx(shortfall, rel=1e-9)
    penalty = p.risk_aversion * p.volatility**2 * p.tau * (inventories**2).sum()
    assert rewards.sum() == pytest.approx(-(shortfall + penalty) * p.bps_per_currency, rel=1e-9)
    assert traded.sum() == pytest.approx(p.shares) and inventories[-1] == 0.0


def test_mean_return_of_a_schedule_is_minus_its_mean_variance_objective():
    p = OptimalExecParams(drift=0.5)
    n = 40_000
    venv = OptimalExecVectorEnv(num_envs=n, params=p)
    venv.reset(seed=0)
    total = np.zeros(n)
    for _ in range(p.periods):
        _, reward, _, _, _ = venv.step(np.full((n, 1), -0.6, dtype=np.float32))
        total += reward
    fraction = 0.2
    holdings = p.shares * (1 - fraction) ** np.arange(p.periods + 1)
    holdings[-1] = 0.0
    exact = schedule.expected_return(p, holdings)
    assert abs(total.mean() - exact) < 3.5 * total.std() / np.sqrt(n)
    var_bps = schedule.variance(p, holdings) * p.bps_per_currency**2
    assert total.var() == pytest.approx(var_bps, rel=0.05)  # the return's variance is Var[IS] for a schedule


def test_observation_layout_and_last_period_trades_everything():
    p = OptimalExecParams(periods=4)
    env = OptimalExecEnv(params=p)
    obs, _ = env.reset(seed=1)
    np.testing.assert_array_equal(obs, np.array([1.0, 1.0, 0.0], dtype=np.float32))
    for k in range(1, 4):
        obs, _, done, _, info = env.step(np.array([-1.0], dtype=np.float32))
        assert info["shares_traded"] == 0.0 and not done
        assert obs[0] == pytest.approx((4 - k) / 4) and obs[1] == 1.0
        assert obs[2] == pytest.approx((info["price"] - p.arrival_price) / (p.volatility * np.sqrt(p.horizon)), rel=1e-6)
    obs, _, done, _, info = env.step(np.array([-1.0], dtype=np.float32))
    assert done and info["shares_traded"] == p.shares and info["inventory"] == 0.0 and obs[0] == 0.0


def test_action_map_and_its_inverse():
    f = np.linspace(0, 1, 11)
    np.testing.assert_allclose(dynamics.action_to_fraction(dynamics.fraction_to_action(f)), f)
    np.testing.assert_array_equal(dynamics.action_to_fraction(np.array([-3.0, -1.0, 0.0, 1.0, 7.0])),
                                  [0.0, 0.0, 0.5, 1.0, 1.0])


def test_buy_is_the_mirror_image_of_sell():
    """A buy facing shocks −ξ and drift −μ pays exactly what a sell pays facing ξ and μ."""
    sell = OptimalExecParams(side="sell", drift=0.4)
    buy = replace(sell, side="buy", drift=-0.4)
    shocks = np.random.default_rng(0).normal(size=(sell.periods, 1))
    fractions = np.linspace(0.05, 0.5, sell.periods)[:, None]
    outcomes, shock = {}, {}
    chosen_shocks = replace(dynamics.DYNAMICS, noise=lambda variant, keys, elapsed: shock["now"])
    for p, sign in ((sell, 1.0), (buy, -1.0)):
        batch = engine.start(chosen_shocks, p, np.array([0]), np.array([0]))
        rewards, moves = [], []
        for k in range(p.periods):
            shock["now"] = sign * shocks[k]
            t = engine.step(chosen_shocks, p, batch, fractions[k])
            rewards.append(t.reward[0])
            moves.append(t.batch.state.price[0] - batch.state.price[0])
            batch = t.batch
        outcomes[p.side] = (np.array(rewards), np.array(moves), batch.state.shortfall[0])
    np.testing.assert_allclose(outcomes["buy"][0], outcomes["sell"][0], rtol=1e-12)
    np.testing.assert_allclose(outcomes["buy"][1], -outcomes["sell"][1], rtol=1e-12)
    assert outcomes["buy"][2] == pytest.approx(outcomes["sell"][2], rel=1e-12)


@pytest.mark.parametrize("action", [np.array([np.nan], dtype=np.float32), np.zeros(2, dtype=np.float32)])
def test_invalid_actions_raise(action):
    env = OptimalExecEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.step(action)


def test_vector_env_rejects_wrong_shapes_and_nan():
    venv = OptimalExecVectorEnv(num_envs=3)
    venv.reset(seed=0)
    with pytest.raises(ValueError, match=r"action must have shape \(3, 1\) or \(3,\)"):
        venv.step(np.zeros((2, 1)))
    with pytest.raises(ValueError, match="NaN"):
        venv.step(np.array([[0.0], [np.nan], [0.0]]))
    with pytest.raises(ValueError, match="num_envs"):
        OptimalExecVectorEnv(num_envs=0)


def test_step_before_reset_and_after_the_end_raise():
    env = OptimalExecEnv(periods=1)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros(1, dtype=np.float32))
    env.reset(seed=0)
    env.step(np.zeros(1, dtype=np.float32))
    with pytest.raises(RuntimeError, match="episode has ended"):
        env.step(np.zeros(1, dtype=np.float32))
