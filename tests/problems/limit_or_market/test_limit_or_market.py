"""LimitOrMarket-v0: parameters, dynamics, envs, the DP oracle, seed 001's bandit and the baselines."""

import itertools
import math
from functools import lru_cache

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import execgym
from execgym.problems.limit_or_market import oracle as lom_oracle
from execgym.problems.limit_or_market import policies
from execgym.problems.limit_or_market.env import LimitOrMarketEnv, LimitOrMarketVectorEnv
from execgym.problems.limit_or_market.params import LimitOrMarketParams
from tests.vector_checks import assert_equals_sync_vector_env

ENV = "LimitOrMarket-v0"
TINY = dict(lots=3, deadline=3, max_depth=2, book_lots=2, touch_fill_probability=0.4, fill_decay=0.7,
            move_probability=0.6, drift=-0.2, adverse_selection=0.5, market_fractions=(0.5, 1.0))


# ---------------------------------------------------------------- parameters

@pytest.mark.parametrize("kwargs, message", [
    (dict(deadline=0), r"deadline must be an integer in \[1"),
    (dict(lots=0), "lots"),
    (dict(max_depth=-1), "max_depth"),
    (dict(tick_bps=0.0), "tick_bps"),
    (dict(spread_ticks=0), "spread_ticks"),
    (dict(book_lots=0), "book_lots"),
    (dict(touch_fill_probability=1.2), r"touch_fill_probability must be in \[0, 1\]"),
    (dict(touch_fill_probability=-0.1), "touch_fill_probability"),
    (dict(fill_decay=-1.0), "fill_decay"),
    (dict(fill_probabilities=(0.3, 0.2, 1.5, 0.1, 0.0)), r"fill_probabilities\[2\] must be in \[0, 1\]"),
    (dict(fill_probabilities=(0.3, 0.2)), "one entry per depth"),
    (dict(fill_probabilities=(0.1, 0.2, 0.1, 0.1, 0.0)), "non-increasing"),
    (dict(fill_probabilities=(0.3, 0.2, 0.1, 0.1, 0.0), fill_decay=1.0), "leave fill_decay at the default"),
    (dict(move_probability=1.5), "move_probability"),
    (dict(drift=0.6), r"\|drift\| <= move_probability"),
    (dict(adverse_selection=1.5), "adverse_selection"),
    (dict(touch_fill_probability=0.8, adverse_selection=0.5), r"p\(0\)·\(1 \+ adverse_selection\)"),
    (dict(market_fractions=()), "at least one market order"),
    (dict(market_fractions=(1.0, 0.5)), "strictly increasing"),
    (dict(market_fractions=(0.0, 1.0)), r"market_fractions\[0\] must be in \(0, 1\]"),
    (dict(nonsense=1), "unknown parameter"),
])
def test_invalid_parameters_raise_naming_the_parameter(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LimitOrMarketParams.from_kwargs(**kwargs)


def test_derived_quantities():
    p = LimitOrMarketParams(book_lots=3, market_fractions=(0.3, 1.0))
    assert p.num_actions == 7 and p.half_spread == 0.5 and p.lot_bps == pytest.approx(0.1)
    np.testing.assert_allclose(p.depth_fill_probabilities, 0.2 * np.exp(-0.5 * np.arange(5)))
    np.testing.assert_allclose(p.move_probabilities, [0.25, 0.5, 0.25])
    np.testing.assert_allclose(p.conditional_fill_probabilities([1, -1])[:, 0], [0.3, 0.1])
    # w(m) = Σ_{j<m} ⌊j/B⌋, written out
    for m in range(12):
        assert p.walk_ticks(m) == sum(j // 3 for j in range(m))
    assert LimitOrMarketParams(book_lots=None).walk_ticks(50) == 0.0
    # ⌈0.3·n⌉, also where 0.3·n is a whole number in exact arithmetic but not in floating point
    np.testing.assert_array_equal(p.market_lots([1, 10, 20])[:, 0], [1, 3, 6])
    assert LimitOrMarketParams(fill_probabilities=(0.4, 0.3, 0.3, 0.1, 0.0)).depth_fill_probabilities[2] == 0.3


# ---------------------------------------------------------------- dynamics and envs

@pytest.mark.parametrize("kwargs", [{}, TINY, dict(book_lots=None, market_fractions=(1.0,))])
def test_env_checker(kwargs):
    check_env(gym.make(ENV, **kwargs).unwrapped, skip_render_check=True)


@pytest.mark.parametrize("kwargs", [{}, TINY, dict(lots=1000, deadline=4, touch_fill_probability=0.5,
                                                adverse_selection=1.0, book_lots=None)])
def test_vector_env_equals_sync_vector_env(kwargs):
    native = LimitOrMarketVectorEnv(num_envs=5, **kwargs)
    rng = np.random.default_rng(3)
    assert_equals_sync_vector_env(native, lambda: LimitOrMarketEnv(**kwargs), steps=40,
                                  choose_actions=lambda info: rng.integers(0, native.params.num_actions, 5))


def test_vector_env_is_what_gym_make_vec_returns():
    assert isinstance(gym.make_vec(ENV, num_envs=3).unwrapped, LimitOrMarketVectorEnv)


def play(env, actions, seed):
    """Rewards and infos of one episode of ``actions`` (repeated as needed) from ``seed``."""
    env.reset(seed=seed)
    rewards, infos = [], []
    for action in itertools.cycle(actions):
        _, reward, terminated, truncated, info = env.step(action)
        rewards.append(reward)
        infos.append(info)
        if terminated:
            return rewards, infos


@pytest.mark.parametrize("actions", [[0], [2, 5], [6], [4, 1, 5]])
def test_same_seed_same_episode_and_the_reward_identity(actions):
    p = LimitOrMarketParams()
    env = LimitOrMarketEnv(params=p)
    first, infos = play(env, actions, seed=11)
    second, _ = play(env, actions, seed=11)
    assert first == second
    sold = [info["limit_filled"] + info["market_sold"] for info in infos]
    assert sum(sold) == p.lots and infos[-1]["lots_left"] == 0 and len(first) <= p.deadline
    assert infos[-1]["improvement_bps"] == pytest.approx(sum(first))
    # each reward: the step's sales against the mid they sell at, plus the held lots' change in value; the
    # realised improvement: the sales against S_0, limit sales at the price they rested at, the chosen market
    # order at the mid before the move, the deadline's at the mid after it
    x, lots_left, realised = 0.0, p.lots, 0.0
    for step, (action, reward, info) in enumerate(zip(itertools.cycle(actions), first, infos), start=1):
        chosen = 0 if action <= p.max_depth else int(p.market_lots(lots_left)[action - p.depths])
        filled, forced = info["limit_filled"], int(info["market_sold"]) - chosen
        assert forced == 0 or step == p.deadline          # only the deadline sells what the action did not
        held = lots_left - filled - chosen
        move = info["mid_ticks"] - x
        earned = (filled * (p.half_spread + action) if action <= p.max_depth else 0.0) - (
            chosen * p.half_spread + p.walk_ticks(chosen)) - (forced * p.half_spread + p.walk_ticks(forced))
        assert reward == pytest.approx((earned + held * move) * p.lot_bps)
        realised += (earned + (filled + chosen) * x + forced * info["mid_ticks"]) * p.lot_bps
        assert info["improvement_bps"] == pytest.approx(realised)
        lots_left, x = int(info["lots_left"]), info["mid_ticks"]


def test_common_random_numbers_fills_are_monotone_in_the_depth():
    """On one seed, the lots filled at depth d are at most those at any shallower depth, and the mid-price
    path is the same whatever the action."""
    p = LimitOrMarketParams(lots=12, deadline=1)
    env = LimitOrMarketEnv(params=p)
    for seed in range(200):
        filled, mids = [], []
        for depth in range(p.depths):
            env.reset(seed=seed)
            _, _, _, _, info = env.step(depth)
            filled.append(info["limit_filled"])
            mids.append(info["mid_ticks"])
        assert all(a >= b for a, b in zip(filled, filled[1:]))
        assert len(set(mids)) == 1


def test_fill_frequencies_match_the_conditional_probabilities():
    """Lots filled at depth d given the move ΔS average n·p(d)·(1 + a·ΔS) (adverse selection), within 4 s.e."""
    p = LimitOrMarketParams(lots=5, deadline=1, touch_fill_probability=0.5, adverse_selection=0.8, drift=0.2,
                            move_probability=0.6)
    venv = LimitOrMarketVectorEnv(num_envs=40_000, params=p)
    for depth in (0, 2):
        venv.reset(seed=1)
        _, _, _, _, info = venv.step(np.full(40_000, depth))
        move = info["final_info"]["mid_ticks"]
        filled = info["final_info"]["limit_filled"]
        for m, chance in zip((-1, 0, 1), p.move_probabilities):
            rows = move == m
            assert rows.mean() == pytest.approx(chance, abs=4 * math.sqrt(chance * (1 - chance) / 40_000))
            expected = p.lots * p.conditional_fill_probabilities(m)[depth]
            error = 4 * math.sqrt(p.lots * 0.25 / rows.sum())
            assert filled[rows].mean() == pytest.approx(expected, abs=error)


def test_bad_actions_raise():
    env = LimitOrMarketEnv()
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    env.reset(seed=0)
    for action, message in [(7, r"0..6"), (-1, r"0..6"), (1.0, "integer"), (np.array([1, 2]), "an integer")]:
        with pytest.raises(ValueError, match=message):
            env.step(action)
    env.step(6)                                   # sells everything: the episode is over
    with pytest.raises(RuntimeError, match="ended"):
        env.step(0)


# ---------------------------------------------------------------- the oracle

def brute_force(p: LimitOrMarketParams, t: int, n: int, x: int) -> float:
    """max E[Σ reward] from (t steps done, n lots left, mid x) by enumerating the move and every lot's fill
    (independent Bernoulli lots, 2ⁿ outcomes), with the price state kept: no use of the oracle's reduction."""
    if n == 0:
        return 0.0
    if t == p.deadline:
        return (n * (x - p.half_spread) - sum(j // p.book_lots for j in range(n))) * p.lot_bps
    best = -math.inf
    chances = p.move_probabilities
    for action in range(p.num_actions):
        value = 0.0
        for move, chance in zip((-1, 0, 1), chances):
            if not chance:
                continue
            if action <= p.max_depth:
                q = p.depth_fill_probabilities[action] * (1 + p.adverse_selection * move)
                for outcome in itertools.product((0, 1), repeat=n):
                    j = sum(outcome)
                    weight = q**j * (1 - q) ** (n - j)
                    value += chance * weight * (j * (x + p.half_spread + action) * p.lot_bps
                                                + brute_force(p, t + 1, n - j, x + move))
            else:
                m = min(math.ceil(p.market_fractions[action - p.depths] * n - 1e-9), n)
                ticks = m * (x - p.half_spread) - sum(j // p.book_lots for j in range(m))
                value += chance * (ticks * p.lot_bps + brute_force(p, t + 1, n - m, x + move))
        best = max(best, value)
    return best


@pytest.mark.parametrize("kwargs", [TINY, dict(TINY, drift=0.3, adverse_selection=0.0),
                                    dict(TINY, market_fractions=(1.0,), spread_ticks=3, deadline=2)])
def test_oracle_equals_brute_force_with_the_price_in_the_state(kwargs):
    p = LimitOrMarketParams(**kwargs)
    oracle = lom_oracle.make_oracle(p)
    assert oracle.expected_return == pytest.approx(brute_force(p, 0, p.lots, 0), abs=1e-12)
    # the value at any mid is c·n·x + W: the price state adds nothing
    for x in (-2, 3):
        assert brute_force(p, 1, 2, x) == pytest.approx(oracle.solution.values[1, 2] + p.lot_bps * 2 * x, abs=1e-12)


def bandit_values(p: LimitOrMarketParams) -> np.ndarray:
    """Seed 001's bandit (K = 1, one lot): the expected improvement (ticks) of each action, in closed form.
    Limit at d: fill probability × the spread earned, against selling at the deadline:
    μ − h + p(d)·[(1 + aμ)(2h + d) − (μ + aπ)]; market: −h."""
    h, mu, a, pi = p.half_spread, p.drift, p.adverse_selection, p.move_probability
    d = np.arange(p.depths)
    limit = mu - h + p.depth_fill_probabilities * ((1 + a * mu) * (2 * h + d) - (mu + a * pi))
    return np.concatenate([limit, np.full(len(p.market_fractions), -h)])


@settings(max_examples=60, deadline=None)
@given(p0=st.floats(0.0, 0.5), decay=st.floats(0.0, 3.0), spread=st.integers(1, 4), pi=st.floats(0.0, 1.0),
       drift=st.floats(-1.0, 1.0), adverse=st.floats(0.0, 1.0), depth=st.integers(0, 8))
def test_one_step_oracle_is_the_bandit_closed_form(p0, decay, spread, pi, drift, adverse, depth):
    p = LimitOrMarketParams(lots=1, deadline=1, max_depth=depth, spread_ticks=spread, touch_fill_probability=p0,
                            fill_decay=decay, move_probability=pi, drift=drift * pi, adverse_selection=adverse)
    oracle = lom_oracle.make_oracle(p)
    values = bandit_values(p)
    assert oracle.expected_return == pytest.approx(values.max() * p.lot_bps, abs=1e-12)
    assert values[oracle.solution.policy[0, 1]] >= values.max() - 1e-9    # the DP breaks near-ties by index
    # exponential fills: the best depth is next to the continuous arg-max of p(d)·(d + 2h − (μ + aπ)/(1 + aμ))
    chosen = oracle.solution.policy[0, 1]
    if chosen <= p.max_depth and p0 > 0 and decay > 0 and values[:p.depths].max() > values.max() - 1e-12:
        mu, a = p.drift, p.adverse_selection
        star = np.clip(1 / decay - 2 * p.half_spread + (mu + a * pi) / (1 + a * mu), 0, p.max_depth)
        near = {math.floor(star), math.ceil(star)}
        assert max(values[list(near)]) >= values.max() - 1e-9


def test_default_oracle_beats_every_baseline_with_the_documented_values():
    p = LimitOrMarketParams()
    oracle = execgym.make_oracle(ENV)
    assert oracle.expected_return == pytest.approx(1.6228, abs=1e-4)
    assert lom_oracle.policy_value(p, policies.always_market(p)) == pytest.approx(-5.0)   # (20·0.5 + 40)·0.1
    assert lom_oracle.policy_value(p, policies.touch_then_market(p)) == pytest.approx(0.3279, abs=1e-4)
    depths = [lom_oracle.policy_value(p, policies.fixed_depth(p, d)) for d in range(p.depths)]
    assert max(depths) == pytest.approx(1.3480, abs=1e-4) and int(np.argmax(depths)) == 1
    # the optimum uses limit orders at several depths and a partial market order at the end
    used = set(oracle.solution.policy[:, 1:].ravel().tolist())
    assert {0, 1, 2, 3, 5} <= used


@pytest.mark.parametrize("kwargs", [{}, TINY, dict(fill_probabilities=(0.3, 0.25, 0.1, 0.05, 0.0), drift=-0.2)])
def test_monte_carlo_return_of_the_oracle_contains_its_exact_value(kwargs):
    result = execgym.score(execgym.make_oracle(ENV, **kwargs).policy, ENV, episodes=40_000, **kwargs)
    estimate = result.reference_return
    assert abs(estimate.mean - result.oracle_return) <= 1.2 * estimate.half_width


def test_oracle_beats_the_baselines_on_common_random_numbers():
    p = LimitOrMarketParams()
    named = policies.baselines(p)
    assert sorted(named) == ["always_market", "depth_0", "depth_1", "depth_2", "depth_3", "depth_4",
                             "touch_then_market"]
    for name in ("always_market", "touch_then_market", "depth_1", "depth_3"):
        result = execgym.score(named[name], ENV, episodes=20_000)
        assert result.regret.mean - result.regret.half_width > 0, name
        exact = lom_oracle.policy_value(p, named[name].table)
        assert abs(result.policy_return.mean - exact) <= 1.2 * result.policy_return.half_width, name


@lru_cache
def tiny_oracle_value(kwargs: tuple) -> float:
    return lom_oracle.make_oracle(LimitOrMarketParams(**dict(kwargs))).expected_return


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), which=st.sampled_from([0, 1]))
def test_no_policy_table_beats_the_oracle(seed, which):
    kwargs = [TINY, dict(lots=8, deadline=5, drift=-0.2)][which]
    p = LimitOrMarketParams(**kwargs)
    table = np.random.default_rng(seed).integers(0, p.num_actions, (p.deadline, p.lots + 1))
    assert lom_oracle.policy_value(p, table) <= tiny_oracle_value(tuple(kwargs.items())) + 1e-12


def test_policy_tables_and_baselines_reject_bad_input():
    p = LimitOrMarketParams()
    with pytest.raises(ValueError, match=r"shape \(deadline, lots \+ 1\)"):
        lom_oracle.policy_value(p, np.zeros((3, 3), dtype=int))
    with pytest.raises(ValueError, match=r"0..6"):
        lom_oracle.policy_value(p, np.full((10, 21), 7))
    with pytest.raises(ValueError, match="depth"):
        policies.fixed_depth(p, 5)
    with pytest.raises(ValueError, match="end with 1.0"):
        policies.always_market(LimitOrMarketParams(market_fractions=(0.5,)))
    with pytest.raises(ValueError, match="lower lots or deadline"):
        lom_oracle.make_oracle(LimitOrMarketParams(lots=1000, deadline=10_000))


def test_binomial_pmf_matches_scipy_and_takes_subnormal_probabilities():
    n, k = np.arange(40)[:, None, None], np.arange(-1, 42)[None, :, None]
    p = np.array([0.0, 0.01, 0.3, 0.5, 0.99, 1.0])[None, None, :]
    np.testing.assert_allclose(lom_oracle.binomial_pmf(k, n, p), stats.binom.pmf(k, n, p), rtol=1e-12, atol=1e-15)
    tiny = lom_oracle.binomial_pmf(np.array([0, 1]), np.array([1, 1]), np.array([2.2250738585072014e-308] * 2))
    np.testing.assert_allclose(tiny, [1.0, 2.2250738585072014e-308], rtol=1e-12)
    oracle = lom_oracle.make_oracle(LimitOrMarketParams(lots=1, deadline=1, touch_fill_probability=5e-324))
    assert np.isfinite(oracle.expected_return)
