"""MarketMaking-v0: parameters, dynamics, envs, the DP oracle and the baselines."""

from functools import lru_cache

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st

import execgym
from execgym.problems.market_making import oracle as mm_oracle
from execgym.problems.market_making import policies
from execgym.problems.market_making.env import MarketMakingEnv, MarketMakingVectorEnv, depth_actions
from execgym.problems.market_making.params import MarketMakingParams
from tests.vector_checks import assert_equals_sync_vector_env

ENV = "MarketMaking-v0"
TINY = dict(steps=3, max_inventory=2, horizon=0.3, arrival_rate=4.0, volatility=1.0, drift=0.3,
            inventory_penalty=0.5, terminal_penalty=0.8, max_depth=2.0)


# ---------------------------------------------------------------- parameters

@pytest.mark.parametrize("kwargs, message", [
    (dict(steps=0), "steps"),
    (dict(max_inventory=0), "max_inventory"),
    (dict(initial_inventory=51), "initial_inventory"),
    (dict(arrival_rate=0.0), "arrival_rate"),
    (dict(depth_decay=-1.0), "depth_decay"),
    (dict(volatility=-0.1), "volatility"),
    (dict(inventory_penalty=-1.0), "inventory_penalty"),
    (dict(max_depth=0.0), "max_depth"),
    (dict(tick_size=0.3), "whole number of ticks"),
    (dict(tick_size=0.01), r"ticks in 1..100"),
    (dict(fill_probability="exact"), "fill_probability"),
    (dict(price_shocks="levy"), "price_shocks"),
    (dict(objective="cara"), "risk_aversion"),
    (dict(risk_aversion=0.1), "risk_aversion is used only"),
    (dict(objective="cara", risk_aversion=0.0), "risk_aversion"),
    (dict(fill_probability="linear", steps=100), "arrival_rate·dt <= 1"),
    (dict(mid_price=float("nan")), "mid_price"),
    (dict(nonsense=1), "unknown parameter"),
])
def test_invalid_parameters_raise_naming_the_parameter(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MarketMakingParams.from_kwargs(**kwargs)


def test_derived_quantities():
    p = MarketMakingParams(tick_size=0.25)
    assert p.dt == pytest.approx(0.005) and p.levels == 101 and p.ticks == 20
    np.testing.assert_allclose(p.depth_grid[[0, 1, -1]], [0.0, 0.25, 5.0])
    assert p.fill_probabilities(0.0) == pytest.approx(1 - np.exp(-0.7))
    assert MarketMakingParams(fill_probability="linear").fill_probabilities(1.0) == pytest.approx(0.7 * np.exp(-1.5))


# ---------------------------------------------------------------- dynamics and envs

@pytest.mark.parametrize("kwargs", [{}, dict(tick_size=0.25), dict(objective="cara", risk_aversion=0.1)])
def test_env_checker(kwargs):
    check_env(gym.make(ENV, **kwargs).unwrapped, skip_render_check=True)


@pytest.mark.parametrize("kwargs", [dict(max_inventory=3), dict(tick_size=0.5, steps=20, max_inventory=2)])
def test_vector_env_equals_sync_vector_env(kwargs):
    native = MarketMakingVectorEnv(num_envs=4, **kwargs)
    rng = np.random.default_rng(0)
    assert_equals_sync_vector_env(native, lambda: MarketMakingEnv(**kwargs), steps=60,
                                  choose_actions=lambda info: native.action_space.sample() if kwargs.get("tick_size")
                                  else rng.uniform(-1, 1, (4, 2)).astype(np.float32))


def run(env, actions_of, seed):
    obs, info = env.reset(seed=seed)
    infos, rewards = [info], []
    done = False
    while not done:
        obs, reward, done, _, info = env.step(actions_of(obs))
        rewards.append(reward)
        infos.append(info)
    return np.array(rewards), infos


def test_same_seed_same_episode_and_accounting_identities():
    env = MarketMakingEnv(max_inventory=5)
    rng = np.random.default_rng(1)
    actions = rng.uniform(-1, 1, (200, 2)).astype(np.float32)
    counter = iter(range(200))
    first, infos = run(env, lambda obs: actions[next(counter)], seed=7)
    counter = iter(range(200))
    again, _ = run(env, lambda obs: actions[next(counter)], seed=7)
    np.testing.assert_array_equal(first, again)
    p = env.params
    # Σ reward = Π = W_N − W_0 − φ·Σ q²·dt − α·q_N², and the info's profit tracks it step by step.
    q = np.array([i["inventory"] for i in infos])
    wealth = np.array([i["wealth"] for i in infos])
    penalties = p.inventory_penalty * p.dt * (q[1:] ** 2).sum() + p.terminal_penalty * q[-1] ** 2
    assert first.sum() == pytest.approx(wealth[-1] - wealth[0] - penalties, rel=1e-12, abs=1e-9)
    assert infos[-1]["profit"] == pytest.approx(first.sum(), rel=1e-12)
    assert infos[-1]["cash"] + q[-1] * infos[-1]["mid_price"] == pytest.approx(wealth[-1])
    np.testing.assert_array_equal(np.diff(q), [i["bid_filled"] - i["ask_filled"] for i in infos[1:]])


def test_common_random_numbers_fills_are_monotone_in_the_quote():
    # On one seed a tighter quote fills at every step where a wider one does, and prices are the same.
    env = MarketMakingVectorEnv(num_envs=512, max_inventory=1000)
    fills = {}
    for depth in (0.2, 1.0, 3.0):
        obs, _ = env.reset(seed=3)
        action = np.full((512, 2), 2 * depth / 5.0 - 1, dtype=np.float32)
        bid, ask, mid = [], [], []
        for _ in range(200):
            _, _, _, _, info = env.step(action)
            final = info.get("final_info", info)
            bid.append(final["bid_filled"]), ask.append(final["ask_filled"]), mid.append(final["mid_price"])
        fills[depth] = (np.array(bid), np.array(ask), np.array(mid))
    for wide, tight in ((3.0, 1.0), (1.0, 0.2)):
        assert (fills[tight][0] >= fills[wide][0]).all() and (fills[tight][1] >= fills[wide][1]).all()
        np.testing.assert_array_equal(fills[tight][2], fills[wide][2])
    assert fills[0.2][0].mean() == pytest.approx(1 - np.exp(-0.7 * np.exp(-0.3)), abs=0.01)


@pytest.mark.parametrize("depth", [0.0, 5.0])
def test_inventory_never_leaves_its_bounds(depth):
    # Quoting at the mid on one side only drives inventory to the bound, where that side stops quoting.
    env = MarketMakingVectorEnv(num_envs=256, max_inventory=4)
    env.reset(seed=0)
    for side in (0, 1):
        action = np.full((256, 2), 1.0, dtype=np.float32)
        action[:, side] = 2 * depth / 5.0 - 1
        inventory = []
        for _ in range(400):
            _, _, _, _, info = env.step(action)
            inventory.append(info["final_info"]["inventory"] if "final_info" in info else info["inventory"])
        inventory = np.array(inventory)
        assert np.abs(inventory).max() <= 4
        if depth == 0.0:
            assert np.abs(inventory).max() == 4


def test_bad_actions_raise_and_continuous_actions_are_clipped():
    env = MarketMakingEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="NaN"):
        env.step(np.array([np.nan, 0.0], dtype=np.float32))
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros(3, dtype=np.float32))
    grid = MarketMakingEnv(tick_size=0.25)
    grid.reset(seed=0)
    with pytest.raises(ValueError, match="tick counts in 0..20"):
        grid.step(np.array([21, 0]))
    with pytest.raises(ValueError, match="integer"):
        grid.step(np.array([1.5, 0.0]))
    a = MarketMakingEnv()
    b = MarketMakingEnv()
    a.reset(seed=4), b.reset(seed=4)
    for _ in range(50):
        assert a.step(np.array([3.0, -7.0], dtype=np.float32))[1] == b.step(np.array([1.0, -1.0], dtype=np.float32))[1]
    np.testing.assert_allclose(depth_actions(env.params, [[0.0, 5.0]]), [[-1.0, 1.0]])


# ---------------------------------------------------------------- the oracle

def brute_force(params: MarketMakingParams) -> float:
    """max over every tick pair at every (step, inventory), recursing over the four fill outcomes and, for
    binomial shocks, the two price moves; written independently of the solver (risk neutral)."""
    p = params
    depths = p.depth_grid
    probabilities = p.fill_probabilities(depths)
    moves = ((0.5, p.drift * p.dt - p.volatility * np.sqrt(p.dt)), (0.5, p.drift * p.dt + p.volatility * np.sqrt(p.dt)))

    @lru_cache(maxsize=None)
    def value(n, q):
        if n == p.steps:
            return -p.terminal_penalty * q * q
        best = -np.inf
        for i, bid in enumerate(depths):
            for j, ask in enumerate(depths):
                pb = probabilities[i] if q < p.max_inventory else 0.0
                pa = probabilities[j] if q > -p.max_inventory else 0.0
                total = 0.0
                for fb, wb in ((0, 1 - pb), (1, pb)):
                    for fa, wa in ((0, 1 - pa), (1, pa)):
                        after = q + fb - fa
                        for wm, move in moves:
                            reward = bid * fb + ask * fa + after * move - p.inventory_penalty * p.dt * after**2
                            total += wb * wa * wm * (reward + value(n + 1, after))
                best = max(best, total)
        return best

    return value(0, p.initial_inventory)


@pytest.mark.parametrize("fill", ["poisson", "linear"])
@pytest.mark.parametrize("start", [0, 2, -1])
def test_dp_equals_brute_force_on_a_tiny_horizon(fill, start):
    params = MarketMakingParams(**TINY, tick_size=0.5, fill_probability=fill, price_shocks="binomial",
                                initial_inventory=start)
    assert execgym.make_oracle(ENV, params=params).expected_return == pytest.approx(brute_force(params), abs=1e-12)


def test_continuous_dp_beats_every_tick_grid_and_the_grids_converge_to_it():
    continuous = execgym.make_oracle(ENV, **TINY).expected_return
    gaps = []
    for tick in (0.5, 0.25, 0.125, 0.0625):
        grid = execgym.make_oracle(ENV, **TINY, tick_size=tick).expected_return
        assert grid <= continuous + 1e-12
        gaps.append(continuous - grid)
    assert gaps[-1] < 1e-3 and gaps[-1] < gaps[0] / 20   # O(h²)


@pytest.mark.slow
@pytest.mark.parametrize("kwargs", [
    {}, dict(fill_probability="linear", price_shocks="binomial"), dict(tick_size=0.25),
    dict(objective="cara", risk_aversion=0.02, inventory_penalty=0.0, terminal_penalty=0.1),
    dict(initial_inventory=10, drift=1.0)])
def test_monte_carlo_return_of_the_oracle_contains_its_exact_value(kwargs):
    oracle = execgym.make_oracle(ENV, **kwargs)
    result = execgym.score(oracle.policy, ENV, episodes=20_000, seed=11, **kwargs)
    mc = result.reference_return
    assert abs(mc.mean - oracle.expected_return) < 1.3 * mc.half_width + 1e-9
    exact = mm_oracle.policy_value(MarketMakingParams(**kwargs), oracle.tables.bid, oracle.tables.ask)
    assert exact == pytest.approx(oracle.expected_return, rel=1e-12)


def test_default_oracle_is_certified_fast_and_reasonable():
    oracle = execgym.make_oracle(ENV)
    assert oracle.tables.certified.all()
    assert 55.0 < oracle.expected_return < 62.0
    # Symmetric in inventory with zero drift; skewed to shed inventory: a long book quotes a deeper bid.
    bid, ask = oracle.tables.bid, oracle.tables.ask
    np.testing.assert_allclose(bid, ask[:, ::-1], atol=1e-9)
    assert (np.diff(bid[0, 40:61]) > 0).all()


def test_oracle_beats_both_baselines_with_common_random_numbers():
    params = MarketMakingParams()
    oracle = execgym.make_oracle(ENV, params=params)
    for baseline in (policies.symmetric(params, 1.29), policies.avellaneda_stoikov(params, 0.1)):
        exact = mm_oracle.policy_value(params, baseline.bid, baseline.ask)
        assert exact < oracle.expected_return - 1.0
        result = execgym.score(baseline, ENV, params=params, episodes=4096, seed=0, oracle=oracle)
        assert result.regret.low > 0
        assert abs(result.policy_return.mean - exact) < 1.3 * result.policy_return.half_width


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31), scale=st.floats(0.0, 2.0))
def test_no_quote_table_beats_the_oracle(seed, scale):
    params = MarketMakingParams(**TINY)
    oracle = execgym.make_oracle(ENV, params=params)
    rng = np.random.default_rng(seed)
    noise = rng.normal(0.0, scale, (2,) + oracle.tables.bid.shape)
    bid = np.clip(oracle.tables.bid + noise[0], 0.0, params.max_depth)
    ask = np.clip(oracle.tables.ask + noise[1], 0.0, params.max_depth)
    assert mm_oracle.policy_value(params, bid, ask) <= oracle.expected_return + 1e-12


def test_cara_avellaneda_stoikov_is_close_to_the_dp_optimum():
    # Under their own objective and fill rule, the Avellaneda–Stoikov quotes come within a few % of the
    # DP optimum's certainty equivalent (their quotes are an asymptotic approximation of it).
    params = MarketMakingParams(objective="cara", risk_aversion=0.1, inventory_penalty=0.0, terminal_penalty=0.0,
                                fill_probability="linear", price_shocks="binomial")
    oracle = execgym.make_oracle(ENV, params=params)
    strategy = policies.avellaneda_stoikov(params)
    utility = mm_oracle.policy_value(params, strategy.bid, strategy.ask)
    certainty_equivalent = -np.log1p(-0.1 * utility) / 0.1
    assert certainty_equivalent < oracle.certainty_equivalent
    assert certainty_equivalent > 0.9 * oracle.certainty_equivalent


def test_baselines_reject_bad_input():
    params = MarketMakingParams()
    with pytest.raises(ValueError, match="risk_aversion"):
        policies.avellaneda_stoikov(params)
    with pytest.raises(ValueError, match="spread"):
        policies.symmetric(params, -1.0)
    with pytest.raises(ValueError, match="shape"):
        mm_oracle.policy_value(params, np.zeros((3, 3)), np.zeros((3, 3)))
    grid = MarketMakingParams(tick_size=0.5)
    off_grid = np.full((grid.steps, grid.levels), 0.7)
    with pytest.raises(ValueError, match="whole numbers of ticks"):
        mm_oracle.policy_value(grid, off_grid, off_grid)
