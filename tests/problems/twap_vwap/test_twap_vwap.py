"""TwapVwapSwitch-v0: parameters, dynamics, envs, seed 004's claims, the reachable-state DP oracle against brute
force, and the baselines."""

import itertools

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st

import execgym
from execgym.problems.twap_vwap import dynamics, policies
from execgym.problems.twap_vwap import oracle as tv_oracle
from execgym.problems.twap_vwap.env import TwapVwapEnv, TwapVwapVectorEnv
from execgym.problems.twap_vwap.params import TwapVwapParams, u_shaped_profile
from execgym.problems.twap_vwap.reachable import MAX_STATE_ACTIONS, reachable_states
from execgym.scoring import run_episodes
from tests.vector_checks import assert_equals_sync_vector_env

ENV = "TwapVwapSwitch-v0"
U = u_shaped_profile(13)
OPEN_HEAVY = U * np.linspace(1.6, 0.4, 13)
DAYS = dict(volume_profiles=[1.3 * U, OPEN_HEAVY / OPEN_HEAVY.sum(), np.full(13, 0.8 / 13)],   # busy, open-heavy, flat
            day_probabilities=(0.2, 0.5, 0.3))
SMALL = dict(buckets=6, volume_profiles=[[3.0, 1.5, 1.0, 1.0, 1.5, 4.0], [5.0, 2.0, 1.0, 0.8, 1.0, 2.0]],
             day_probabilities=(0.4, 0.6), impact=(300.0, 180.0, 150.0, 120.0, 90.0, 60.0), volatility=30.0,
             risk_aversion=5e-4, pov_rate=0.2, order_size=2.0)
TWAP, VWAP, OPTIMUM = -16.27011378316219, -16.527608621823823, -14.923136938908259


def constant(action):
    return lambda obs: np.full(obs.shape[0], action, dtype=np.int64)


# ---------------------------------------------------------------- parameters

@pytest.mark.parametrize("kwargs, message", [
    (dict(buckets=0), r"buckets must be an integer in \[1, 10000\]"),
    (dict(buckets=2.5), "buckets must be an integer"),
    (dict(volume_profiles=[1.0] * 12), r"volume_profiles must have one entry per bucket \(buckets = 13\), got 12"),
    (dict(volume_profiles=[1.0] * 12 + [0.0]), r"volume_profiles\[12\] must be in \[1e-09, 1e\+09\], got 0\.0"),
    (dict(volume_profiles=[[1.0] * 13, [1.0] * 6 + [-1.0] * 7]),
     r"volume_profiles\[1\]\[6\] must be in \[1e-09, 1e\+09\], got -1\.0"),
    (dict(volume_profiles=[[1.0] * 13, [1.0] * 5]), r"volume_profiles\[1\] must have one entry per bucket"),
    (dict(volume_profiles=[]), "volume_profiles must not be empty"),
    (dict(volume_profiles=[1.0] * 12 + [float("nan")]), r"volume_profiles\[12\] must be in \[1e-09, 1e\+09\], got nan"),
    (dict(impact=[100.0] * 12 + [0.0]), r"impact\[12\] must be in \[1e-09, 1e\+09\], got 0\.0"),
    (dict(impact=[[100.0] * 13] * 2), r"impact must have one row per day type \(1"),
    (dict(impact=5.0), "impact must be 13 numbers"),
    (dict(DAYS, day_probabilities=(0.5, 0.7, -0.2)), r"day_probabilities\[2\] must be in \[0, 1\]"),
    (dict(DAYS, day_probabilities=(1.2, 0.0, 0.0)), r"day_probabilities\[0\] must be in \[0, 1\]"),
    (dict(DAYS, day_probabilities=(0.2, 0.5, 0.2)), "day_probabilities must sum to 1"),
    (dict(DAYS, day_probabilities=(0.5, 0.5)), r"day_probabilities must have one entry per day type \(3"),
    (dict(volatility=-1.0), r"volatility must be in \[0, 1e\+06\], got -1\.0"),
    (dict(risk_aversion=-1e-4), r"risk_aversion must be in \[0, 1e\+06\], got -0\.0001"),
    (dict(pov_rate=0.0), r"pov_rate must be in \(0, 1\]"),
    (dict(pov_rate=1.5), r"pov_rate must be in \(0, 1\]"),
    (dict(order_size=0.0), r"order_size must be in \[1e-09, 1e\+09\], got 0\.0"),
    (dict(participation=0.1), r"unknown parameter\(s\) \['participation'\]"),
])
def test_invalid_parameters_raise_naming_the_parameter_and_range(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TwapVwapParams.from_kwargs(**kwargs)


def test_derived_quantities():
    p = TwapVwapParams()
    m = p.volumes[0]
    assert p.volumes.shape == (1, 13) and m.sum() == pytest.approx(1.0)
    assert m[0] / m[6] == pytest.approx(1 + 2 * (12 / 13) ** 2) and m[0] == m[-1]     # U-shaped: 2.7× midday
    # η_t = 100·(1 + 3·2^{−(t/13)/(2/13)})/(13·m_t): 4× the volume-linked impact at the open, halving each hour
    np.testing.assert_allclose(p.impacts[0, [0, 2, 12]], 100 / (13 * m[[0, 2, 12]]) * [4.0, 2.5, 1 + 3 / 64],
                               rtol=1e-14)
    np.testing.assert_allclose(p.volume_tails[0], np.cumsum(m[::-1])[::-1], rtol=1e-15)
    assert (p.num_actions, p.observation_size, p.day_types, p.pov_caps) == (2, 2, 1, None)
    q = TwapVwapParams(**DAYS, pov_rate=0.05, impact=[80.0] * 13)
    assert (q.num_actions, q.observation_size, q.day_types) == (3, 5, 3)
    np.testing.assert_array_equal(q.impacts, np.full((3, 13), 80.0))
    np.testing.assert_allclose(q.pov_caps, 0.05 * q.volumes / 0.1, rtol=1e-15)
    assert TwapVwapParams(volume_profiles=[[1.0] * 13] * 4).probabilities.tolist() == [0.25] * 4
    with pytest.raises(ValueError, match="read-only"):
        p.volumes[0, 0] = 1.0


# ---------------------------------------------------------------- dynamics and envs

@pytest.mark.parametrize("kwargs", [{}, dict(DAYS, pov_rate=0.1)])
def test_env_checker(kwargs):
    check_env(gym.make(ENV, **kwargs).unwrapped, skip_render_check=True)


@pytest.mark.parametrize("kwargs", [{}, SMALL])
def test_vector_env_equals_sync_vector_env(kwargs):
    native = TwapVwapVectorEnv(num_envs=4, **kwargs)
    rng = np.random.default_rng(0)
    assert_equals_sync_vector_env(native, lambda: TwapVwapEnv(**kwargs), steps=40,
                                  choose_actions=lambda info: rng.integers(0, native.single_action_space.n, 4))


def test_gym_make_vec_returns_the_native_vector_env():
    venv = gym.make_vec(ENV, num_envs=3, **SMALL)
    assert isinstance(venv, TwapVwapVectorEnv) and venv.single_action_space == gym.spaces.Discrete(3)
    assert venv.single_observation_space.shape == (4,)


def run(env, actions, seed):
    obs, info = env.reset(seed=seed)
    observations, rewards, infos = [obs], [], [info]
    for action in actions:
        obs, reward, terminated, truncated, info = env.step(action)
        observations.append(obs), rewards.append(reward), infos.append(info)
    assert terminated and not truncated
    return np.array(observations), np.array(rewards), infos


@pytest.mark.parametrize("kwargs", [{}, SMALL])
def test_same_seed_same_episode_and_the_reward_identity(kwargs):
    env = TwapVwapEnv(**kwargs)
    p = env.params
    actions = np.random.default_rng(3).integers(0, p.num_actions, p.buckets)
    observations, rewards, infos = run(env, actions, seed=11)
    again, rewards_again, _ = run(env, actions, seed=11)
    np.testing.assert_array_equal(observations, again)
    np.testing.assert_array_equal(rewards, rewards_again)
    traded = np.array([i["traded"] for i in infos[1:]])
    prices = np.array([i["bucket_price"] for i in infos[1:]])
    held = np.array([i["remaining"] for i in infos[1:]])
    r = int(infos[0]["day_type"])
    eta = p.impacts[r]
    # Σ r = −(IS + λσ²·Σx'²), IS = Σ v·(P_0 − P_t + η·v), and the infos add up to it
    shortfall = float(np.sum(traded * (0.0 - prices + eta * traded)))
    risk = p.risk_aversion * p.volatility**2 * float(np.sum(held**2))
    assert rewards.sum() == pytest.approx(-(shortfall + risk), rel=1e-12)
    assert infos[-1]["shortfall"] == pytest.approx(shortfall, rel=1e-12)
    assert infos[-1]["impact_cost"] == pytest.approx(float(np.sum(eta * traded**2)), rel=1e-12)
    assert traded.sum() == pytest.approx(1.0, rel=1e-14) and held[-1] == 0.0
    np.testing.assert_array_equal(prices[1:], [i["price"] for i in infos[1:-1]])   # a bucket trades at the last price
    m = p.volumes[r]
    vwap = float(m @ prices / m.sum())
    assert infos[-1]["market_vwap"] == pytest.approx(vwap, rel=1e-12)
    assert infos[-1]["vwap_shortfall"] == pytest.approx(vwap + shortfall, rel=1e-12)
    np.testing.assert_allclose(observations[:, 0], 1 - np.arange(p.buckets + 1) / p.buckets, rtol=1e-7)
    np.testing.assert_allclose(observations[1:, 1], held, rtol=1e-7)


def test_paces_trade_their_rules_and_the_last_bucket_trades_what_is_left():
    p = TwapVwapParams(**SMALL)
    env = TwapVwapEnv(params=p)
    for action in range(3):
        _, _, infos = run(env, [action] * p.buckets, seed=2)
        r = int(infos[0]["day_type"])
        m, traded = p.volumes[r], np.array([i["traded"] for i in infos[1:]])
        if action == dynamics.TWAP:
            np.testing.assert_allclose(traded, np.full(6, 1 / 6), rtol=1e-14)
        elif action == dynamics.VWAP:
            np.testing.assert_allclose(traded, m / m.sum(), rtol=1e-14)         # the day's profile
        else:
            caps = 0.2 * m / 2.0
            np.testing.assert_allclose(traded[:-1], caps[:-1], rtol=1e-14)     # 20 % of the market's volume
            assert traded[-1] == pytest.approx(1 - caps[:-1].sum(), rel=1e-14)   # the rest at the end
    # POV finishes early when its cap exceeds what is left; then every pace trades nothing
    env = TwapVwapEnv(buckets=4, pov_rate=1.0, order_size=0.4)
    _, rewards, infos = run(env, [2, 2, 0, 1], seed=0)
    traded = [i["traded"] for i in infos[1:]]
    m = env.params.volumes[0]
    assert traded[0] == pytest.approx(m[0] / 0.4) and traded[1] == pytest.approx(1 - m[0] / 0.4)
    assert traded[2:] == [0.0, 0.0] and rewards[2:].tolist() == [0.0, 0.0]


def test_bad_actions_raise():
    env = TwapVwapEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"action must lie in 0\.\.1; action 2 \(POV\) needs pov_rate"):
        env.step(2)
    with pytest.raises(ValueError, match=r"action must be integers for the action space Discrete\(2\)"):
        env.step(np.float32(0.0))
    with pytest.raises(ValueError, match="action must be an integer"):
        env.step(np.array([0, 1]))
    venv = TwapVwapVectorEnv(num_envs=2, pov_rate=0.1)
    venv.reset(seed=0)
    with pytest.raises(ValueError, match=r"action must be 2 integers \(shape \(2,\)\) in 0\.\.2"):
        venv.step(np.array([0]))
    with pytest.raises(ValueError, match=r"action must lie in 0\.\.2, got -1\.\.0"):
        venv.step(np.array([-1, 0]))
    run(env, [0] * 13, seed=0)
    with pytest.raises(RuntimeError, match="episode has ended"):
        env.step(0)


def test_day_types_follow_their_probabilities_with_common_random_numbers():
    kwargs = dict(DAYS, day_probabilities=(0.25, 0.75, 0.0))
    venv = TwapVwapVectorEnv(num_envs=20_000, **kwargs)
    obs, info = venv.reset(seed=0)
    day = info["day_type"].astype(int)
    assert np.bincount(day, minlength=3)[2] == 0
    assert np.mean(day == 0) == pytest.approx(0.25, abs=0.01)
    np.testing.assert_array_equal(obs[:, 2:], np.eye(3)[day])                   # the one-hot of the day type
    # two policies on the same seeds face the same days and the same prices
    paths = []
    for action in (0, 1):
        venv.reset(seed=0)
        _, _, _, _, info = venv.step(np.full(20_000, action))
        paths.append((info["day_type"], info["price"]))
    np.testing.assert_array_equal(paths[0][0], day)
    np.testing.assert_array_equal(paths[0][1], paths[1][1])
    assert np.std(paths[0][1]) == pytest.approx(50.0, rel=0.02)                  # σ = 50 bps per bucket


# ---------------------------------------------------------------- seed 004

def test_default_market_vwap_costs_more_than_twap_and_switching_beats_both():
    p = TwapVwapParams()
    oracle = execgym.make_oracle(ENV)
    values = policies.baseline_values(p)
    assert values["twap"] == pytest.approx(TWAP, rel=1e-12)
    assert values["vwap"] == pytest.approx(VWAP, rel=1e-12)
    assert oracle.expected_return == oracle.optimum == pytest.approx(OPTIMUM, rel=1e-12)
    assert values["vwap"] < values["twap"] < oracle.expected_return                     # −16.53 < −16.27 < −14.92
    assert (oracle.expected_return - values["twap"]) / -oracle.expected_return > 0.09     # 9 % of the cost
    # TWAP through the costly open, then VWAP (the last bucket trades what is left whatever the action)
    np.testing.assert_array_equal(oracle.paces[0, :-1], [0, 0, 0] + [1] * 9)
    assert oracle.holdings[0, 3] == pytest.approx(10 / 13) and oracle.holdings[0, -1] == 0.0
    assert oracle.states.counts.tolist() == [2**t for t in range(13)] + [1] and oracle.misread_states == 0


@pytest.mark.parametrize("baseline, exact", [("twap", TWAP), ("vwap", VWAP)])
def test_switching_beats_each_baseline_on_common_random_numbers(baseline, exact):
    policy = policies.baselines(TwapVwapParams())[baseline]
    result = execgym.score(policy, ENV, episodes=20_000, seed=5)
    assert result.regret.low > 0.0
    assert result.regret.mean == pytest.approx(OPTIMUM - exact, abs=3 * result.regret.half_width)
    # paired: both hold similar amounts through the same price moves, so most of the noise cancels
    assert result.regret.std < result.policy_return.std / 5


@pytest.mark.parametrize("kwargs", [{}, DAYS])
def test_vwap_pace_tracks_the_market_vwap_up_to_its_impact_cost(kwargs):
    params = TwapVwapParams(**kwargs)
    seeds = np.arange(2_000)
    keys = ("vwap_shortfall", "impact_cost", "day_type")
    spreads = {}
    for name, policy in policies.baselines(params).items():
        _, finals = run_episodes(policy, ENV, seeds, params, keys)
        excess = finals["vwap_shortfall"] - finals["impact_cost"]   # tracking error against the market VWAP − impact
        spreads[name] = excess.std()
        if name == "vwap":
            assert np.abs(excess).max() < 1e-11                       # no price risk at all, on every day type
    # TWAP's tracking error Σ_t (m_t/Σm − 1/B)·P_t carries price risk: its standard deviation is
    # σ·(E_r Σ_s c_{r,s}²)^½ with c_{r,s} = Σ_{t>s} (m_{r,t}/Σm_r − 1/B)
    weights = params.volumes / params.volumes.sum(axis=1, keepdims=True) - 1 / params.buckets
    c = np.cumsum(weights[:, ::-1], axis=1)[:, ::-1][:, 1:]
    exact = params.volatility * np.sqrt(params.probabilities @ (c**2).sum(axis=1))
    assert spreads["twap"] == pytest.approx(exact, rel=0.06) and exact > 5.0
    if kwargs:
        assert len(np.unique(finals["day_type"])) == 3


# ---------------------------------------------------------------- oracle

def brute_force(p: TwapVwapParams, sequence, day: int) -> float:
    """E[Σ reward] of one day type under a fixed sequence of paces, by direct simulation of the mean costs."""
    m, eta = p.volumes[day].tolist(), p.impacts[day].tolist()
    x, value = 1.0, 0.0
    for t, action in enumerate(sequence):
        if t == p.buckets - 1:
            v = x
        elif action == 0:
            v = x / (p.buckets - t)
        elif action == 1:
            v = x * m[t] / sum(m[t:])
        else:
            v = min(x, p.pov_rate * m[t] / p.order_size)
        x -= v
        value -= eta[t] * v * v + p.risk_aversion * p.volatility**2 * x * x
    return value


def best_sequences(p: TwapVwapParams) -> tuple[float, list[tuple]]:
    """The best E[Σ reward] over all A^{B−1} pace sequences chosen per day type (the day is known from the
    start and the path of x is then fixed, so this is the optimum over all policies), and the best sequences."""
    total, best = 0.0, []
    for day in range(p.day_types):
        values = {seq: brute_force(p, seq + (0,), day)
                  for seq in itertools.product(range(p.num_actions), repeat=p.buckets - 1)}
        top = max(values, key=values.get)
        total += p.probabilities[day] * values[top]
        best.append(top)
    return total, best


@pytest.mark.parametrize("kwargs", [
    dict(buckets=6),
    dict(SMALL, pov_rate=None),
    SMALL,
    dict(SMALL, pov_rate=0.05, order_size=0.1, impact=[[50.0, 300.0, 20.0, 200.0, 10.0, 80.0], [90.0] * 6]),
])
def test_oracle_equals_brute_force_over_every_pace_sequence(kwargs):
    p = TwapVwapParams(**kwargs)
    oracle = tv_oracle.make_oracle(p)
    value, best = best_sequences(p)
    assert oracle.expected_return == oracle.optimum == pytest.approx(value, rel=1e-12)
    for day, sequence in enumerate(best):
        assert brute_force(p, tuple(oracle.paces[day]), day) == pytest.approx(
            brute_force(p, sequence + (0,), day), rel=1e-12)


def test_without_pov_the_value_is_quadratic_in_the_remaining_fraction_and_the_pace_depends_on_time_only():
    p = TwapVwapParams(**dict(SMALL, pov_rate=None))
    oracle = tv_oracle.make_oracle(p)
    states = oracle.states
    for t in range(1, p.buckets):
        for r in range(p.day_types):
            rows = slice(states.offsets[t][r], states.offsets[t][r + 1])
            ratio = oracle.values[t][rows] / states.remaining[t][rows] ** 2
            np.testing.assert_allclose(ratio, ratio[0], rtol=1e-10)
            assert len(set(oracle.actions[t][rows].tolist())) == 1
    # POV trades min(x, cap): the optimal pace then depends on x as well
    pov = tv_oracle.make_oracle(TwapVwapParams(**SMALL))
    groups = [pov.actions[t][pov.states.offsets[t][r]:pov.states.offsets[t][r + 1]]
              for t in range(p.buckets - 1) for r in range(p.day_types)]
    assert any(len(set(group.tolist())) > 1 for group in groups)


@settings(max_examples=100, deadline=None)
@given(buckets=st.integers(1, 6), days=st.integers(1, 3), pov=st.sampled_from([None, 0.05, 0.3, 1.0]),
       seed=st.integers(0, 2**32 - 1))
def test_random_markets_oracle_is_brute_force_and_beats_baselines_and_random_policies(buckets, days, pov, seed):
    rng = np.random.default_rng(seed)
    p = TwapVwapParams(buckets=buckets, volume_profiles=rng.uniform(0.01, 1.0, (days, buckets)).tolist(),
                       day_probabilities=tuple(rng.dirichlet(np.ones(days))), pov_rate=pov,
                       impact=rng.uniform(1.0, 500.0, (days, buckets)).tolist(), volatility=float(rng.uniform(0, 80)),
                       risk_aversion=float(rng.choice([0.0, rng.uniform(0, 2e-3)])),
                       order_size=float(rng.uniform(0.05, 1)))
    oracle = tv_oracle.make_oracle(p)
    assert oracle.optimum == pytest.approx(best_sequences(p)[0], rel=1e-11, abs=1e-11)
    assert oracle.expected_return == pytest.approx(oracle.optimum, rel=1e-12, abs=1e-12)
    states = oracle.states
    for value in policies.baseline_values(p).values():
        assert value <= oracle.expected_return + 1e-9
    for _ in range(5):
        actions = tuple(rng.integers(0, p.num_actions, n) for n in states.counts[:-1])
        assert tv_oracle.start_value(p, tv_oracle.evaluate(states, actions)) <= oracle.expected_return + 1e-9


@pytest.mark.parametrize("kwargs", [{}, pytest.param(dict(DAYS, pov_rate=0.3, buckets=13, volatility=5.0,
                                                            risk_aversion=0.02), marks=pytest.mark.slow)])
def test_monte_carlo_return_of_the_oracle_contains_its_exact_value(kwargs):
    oracle = execgym.make_oracle(ENV, **kwargs)
    result = execgym.score(oracle.policy, ENV, episodes=20_000, seed=1, **kwargs)
    estimate = result.reference_return
    assert abs(estimate.mean - oracle.expected_return) <= 1.2 * estimate.half_width
    assert result.regret.mean == 0.0                                  # the same policy on the same seeds


def test_policy_value_prices_any_observation_policy_exactly_and_checks_actions():
    p = TwapVwapParams(**SMALL)
    switch = policies.SchedulePolicy(p, np.array([[0, 0, 1, 2, 1, 0], [2, 1, 1, 0, 0, 0]]))
    exact = tv_oracle.policy_value(p, switch)
    expected = sum(p.probabilities[r] * brute_force(p, tuple(switch.schedule[r]), r) for r in range(2))
    assert exact == pytest.approx(expected, rel=1e-12)
    quiet = dict(SMALL, volatility=1.0, risk_aversion=30.0 * 30.0 * 5e-4)       # same λσ², less noise
    result = execgym.score(policies.SchedulePolicy(TwapVwapParams(**quiet), switch.schedule), ENV, episodes=5_000,
                           **quiet)
    assert abs(result.policy_return.mean - exact) <= 1.2 * result.policy_return.half_width
    with pytest.raises(ValueError, match=r"actions must lie in 0\.\.2, got 3\.\.3 at bucket 0"):
        tv_oracle.policy_value(p, constant(3))
    with pytest.raises(ValueError, match=r"schedule must be integer actions of shape \(buckets,\) = \(6,\)"):
        policies.SchedulePolicy(p, np.zeros(5, dtype=int))
    with pytest.raises(ValueError, match=r"schedule actions must lie in 0\.\.1"):
        policies.SchedulePolicy(TwapVwapParams(), np.full(13, 2))
    with pytest.raises(ValueError, match="pov needs pov_rate"):
        policies.pov(TwapVwapParams())


def test_float32_observations_misread_close_states_but_the_oracle_value_is_exact():
    p = TwapVwapParams(pov_rate=0.1)
    oracle = tv_oracle.make_oracle(p)
    # POV's min(x, cap) puts reachable fractions closer together than float32 resolves (~6e-8)
    assert oracle.states.total == 393_795 and oracle.misread_states > 1_000
    assert oracle.expected_return == pytest.approx(oracle.optimum, rel=1e-14)
    assert oracle.expected_return > tv_oracle.policy_value(p, constant(2), oracle.states) + 1.0
    np.testing.assert_array_equal(oracle.paces[0, :-1], [0, 0, 0, 2, 2, 2, 2, 2, 1, 1, 1, 1])


def test_too_many_reachable_states_raise_naming_the_parameters():
    with pytest.raises(ValueError, match=rf"buckets = 16, 1 day type\(s\) \(volume_profiles\) and 3 actions .*pov_rate "
                                         rf"= 0\.1\).* more than {MAX_STATE_ACTIONS:,}: lower buckets"):
        reachable_states(TwapVwapParams(buckets=16, pov_rate=0.1))
