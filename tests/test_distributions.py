"""Markets drawn from a family's distribution: splits, draws, envs, features and their errors, for every family
with a distribution."""

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import execgym
from execgym.distributions import (SPLIT_SIZES, SPLITS, MarketSet, draw_indices, market_keys, market_set,
                                   split_set)
from execgym.noise import episode_keys
from execgym.registry import PROBLEMS, problem
from tests.toy_problem.toy import ToyEnv
from tests.vector_checks import assert_equals_sync_vector_env, random_actions

FAMILIES = [env_id for env_id, spec in PROBLEMS.items()
            if spec.vector_env_class.problem.distribution is not None
            and spec.vector_env_class.problem.distribution.env_id == env_id]


def _problem(env_id):
    return problem(env_id).vector_env_class.problem


def test_every_family_has_a_distribution():
    assert FAMILIES[0] == "OptimalExec-v0"
    assert len(FAMILIES) >= 1


def allowed_actions(env, seed=2):
    """``choose_actions``: a random allowed trade where the info carries action masks, else :func:`random_actions`."""
    rng, unmasked = np.random.default_rng(seed), random_actions(env)

    def choose(info):
        if "action_mask" in info:
            return np.array([rng.choice(np.flatnonzero(mask)) for mask in info["action_mask"]])
        return unmasked(info)

    return choose


DRAWN = [env_id if env_id == "OptimalExec-v0" else pytest.param(env_id, marks=pytest.mark.slow) for env_id in FAMILIES]
"""Families whose draws run in the default tests (the others with the slow ones; each family's own tests play a
market per slot in the default run)."""


@pytest.mark.parametrize("env_id", DRAWN)
def test_scalar_env_at_seed_s_plus_i_draws_the_market_and_plays_the_episodes_of_slot_i(env_id):
    native = gym.make_vec(env_id, num_envs=3, markets="train")
    makers = lambda: gym.make(env_id, markets="train")  # noqa: E731
    assert_equals_sync_vector_env(native, makers, steps=40, choose_actions=allowed_actions(native), seed=11)


@pytest.mark.parametrize("env_id", FAMILIES)
def test_the_drawn_market_is_the_one_info_names_and_the_features_follow_the_observation(env_id):
    env = gym.make(env_id, markets="test")
    observation, info = env.reset(seed=4)
    drawn = env.unwrapped.market_set
    index = info["market"]
    assert index == int(draw_indices(episode_keys(np.array([4]), np.array([0])), SPLIT_SIZES["test"])[0])
    assert env.unwrapped.params is drawn[index]
    features = drawn.features(np.array([index]))[0]
    size = _problem(env_id).dynamics.observation_size(drawn[index])
    np.testing.assert_array_equal(observation[size:], features)
    blind = gym.make(env_id, markets="test", observe_market=False)
    hidden, _ = blind.reset(seed=4)
    np.testing.assert_array_equal(hidden, observation[:size])
    assert blind.observation_space.shape == (size,)
    assert env.observation_space.contains(observation)


def test_episodes_draw_markets_uniformly_and_independently_of_their_noise():
    keys = episode_keys(np.arange(200_000, dtype=np.uint64), np.zeros(200_000, dtype=np.uint64))
    counts = np.bincount(draw_indices(keys, 16), minlength=16)
    expected = 200_000 / 16
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2 < 37.7          # the 99.9 % point of chi-square with 15 degrees of freedom
    env = gym.make("OptimalExec-v0", markets=[{}, {"volatility": 2.0}])
    seen = {env.reset(seed=seed)[1]["market"] for seed in range(40)}
    assert seen == {0, 1}


@pytest.mark.parametrize("env_id", FAMILIES)
def test_splits_are_disjoint_seeded_and_pinned(env_id):
    keys = {split: set(market_keys(env_id, split, np.arange(SPLIT_SIZES[split])).tolist()) for split in SPLITS}
    assert not keys["train"] & keys["test"] and not keys["train"] & keys["ood"] and not keys["test"] & keys["ood"]
    assert all(len(keys[split]) == SPLIT_SIZES[split] for split in SPLITS)
    distribution = _problem(env_id).distribution
    again = split_set(_problem(env_id), distribution, "test")
    assert again.fingerprint() == market_set(env_id, "test").fingerprint()


@pytest.mark.parametrize("env_id", FAMILIES)
def test_the_test_and_ood_sets_are_pinned(env_id):
    """The test and OOD sets are the same markets in every version: a change of sampler changes the benchmark
    and must be a deliberate new version (update the fingerprints, and the results measured on them)."""
    pinned = PINNED[env_id]
    for split in ("test", "ood"):
        assert market_set(env_id, split).fingerprint() == pinned[split], split


PINNED = {
    "OptimalExec-v0": {"test": "c7d232ddb9decb2b3cd25b6b9f501814", "ood": "ac1ecee532596d9b81fb96b45f63f75b"},
    "PortfolioExec-v0": {"test": "f2b71aff18095c15bcecc4f9310c4eb7", "ood": "f3c2ee98feb2c051c8c7f24250bf5932"},
    "BasketSequence-v0": {"test": "2d6b0457b12394ee8c72f603cb3fd291", "ood": "23a7a4a67188168d72a591da5e0be6d0"},
    "MarketMaking-v0": {"test": "3402447b3513e5164a047b231d3ab2a0", "ood": "0d837a56f7000f65f540060bea105023"},
    "LimitOrMarket-v0": {"test": "cfe43b49e1ab2016852a9d322d957125", "ood": "d7fa5889f6d18f8256daa2c56e5cab92"},
    "TwapVwapSwitch-v0": {"test": "3a39ba2c6b8d0152a4e472453ebe7045", "ood": "b114c2cfb823116ee7c4d445e6934266"},
    "OptimalExecRegimes-v0": {"test": "5d1f7ed38169ed627bda52f5bd0034c7", "ood": "768f2bedf8ebe6fc633be75491db1a72"},
}


@pytest.mark.parametrize("env_id", FAMILIES)
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_samplers_draw_valid_markets_of_one_variant_within_their_feature_ranges(env_id, data):
    distribution = _problem(env_id).distribution
    u = np.array(data.draw(st.lists(st.floats(1e-12, 1 - 1e-12), min_size=distribution.dimensions,
                                    max_size=distribution.dimensions)))
    ood = data.draw(st.booleans())
    spec = problem(env_id)
    params = spec.params(**distribution.sample(u, ood))      # validated: a range violated raises
    median = spec.params(**distribution.median())
    dynamics = _problem(env_id).dynamics
    assert dynamics.variant(params) == dynamics.variant(median)
    assert dynamics.observation_size(params) == dynamics.observation_size(median)
    assert spec.vector_env_class.problem.action_space(params) == spec.vector_env_class.problem.action_space(median)
    features = np.array([feature.normalised(params) for feature in distribution.features])
    assert np.isfinite(features).all()
    if not ood:
        assert (np.abs(features) <= 1 + 1e-9).all(), dict(zip([f.name for f in distribution.features], features))


def test_optimal_exec_ood_markets_are_less_liquid_and_more_volatile_than_any_training_market():
    test, ood = market_set("OptimalExec-v0", "test"), market_set("OptimalExec-v0", "ood")
    volatility = lambda markets: np.array([p.volatility / p.arrival_price for p in markets])  # noqa: E731
    assert volatility(ood).min() >= 0.05 - 1e-12 >= volatility(test).max() - 1e-12
    spread = lambda markets: np.array([p.half_spread / p.arrival_price for p in markets])  # noqa: E731
    assert spread(ood).min() >= 30e-4 * (1 - 1e-12) and spread(test).max() <= 30e-4 * (1 + 1e-12)
    features = ood.features(np.arange(len(ood)))
    assert (np.abs(features) > 1).any(axis=1).all()     # every OOD market lies outside the training range


def test_optimal_exec_median_market_by_hand():
    """All uniforms at 0.5: volume √(1e5·5e7), price 50, σ_d = 1 %·5^0.5, half spread 30^0.5 bps, order
    √(0.01·0.2) of the volume, turnover √(0.002·0.02), λ·X·S0 = 1; impacts by Almgren et al. (2005)."""
    params = problem("OptimalExec-v0").params(**_problem("OptimalExec-v0").distribution.median())
    volume, price, sigma = np.sqrt(1e5 * 5e7), 50.0, 0.01 * np.sqrt(5.0)
    shares = np.sqrt(0.01 * 0.2) * volume
    assert params.shares == pytest.approx(shares, rel=1e-12)
    assert params.arrival_price == pytest.approx(price, rel=1e-12)
    assert params.volatility == pytest.approx(sigma * price, rel=1e-12)
    assert params.half_spread == pytest.approx(np.sqrt(30.0) * 1e-4 * price, rel=1e-12)
    assert params.risk_aversion * shares * price == pytest.approx(1.0, rel=1e-12)
    turnover = np.sqrt(0.002 * 0.02)
    assert params.permanent_impact == pytest.approx(0.314 * sigma * price * turnover ** -0.25 / volume, rel=1e-12)
    # temporary cost per share at the average rate X/T: 0.142·σ_d·(X/V)^{3/5} of the price
    assert params.temporary_impact * shares / price == pytest.approx(0.142 * sigma * (shares / volume) ** 0.6,
                                                                     rel=1e-12)


def test_vector_env_plays_the_markets_set_at_reset_then_draws_again():
    env = gym.make_vec("OptimalExec-v0", num_envs=2, markets="test")
    _, info = env.reset(seed=0, options={"market_indices": [5, 7]})
    np.testing.assert_array_equal(info["market"], [5, 7])
    assert env.unwrapped.markets == (market_set("OptimalExec-v0", "test")[5], market_set("OptimalExec-v0", "test")[7])
    reference = gym.make("OptimalExec-v0", markets="test")
    observation, _ = reference.reset(seed=1, options={"market_index": 7})
    np.testing.assert_array_equal(env.reset(seed=0, options={"market_indices": [5, 7]})[0][1], observation)
    for _ in range(13):
        _, _, done, _, info = env.step(np.zeros((2, 1)))
    assert done.all()
    expected = draw_indices(episode_keys(np.array([0, 1]), np.array([1, 1])), SPLIT_SIZES["test"])
    np.testing.assert_array_equal(info["market"], expected)
    np.testing.assert_array_equal(info["final_info"]["market"], [5, 7])


def test_keywords_apply_over_every_drawn_market_and_a_list_is_drawn_from_in_the_scalar_env():
    env = gym.make("OptimalExec-v0", markets="train", periods=26)
    env.reset(seed=0)
    assert env.unwrapped.params.periods == 26
    assert env.unwrapped.market_set is market_set("OptimalExec-v0", "train", periods=26)
    listed = gym.make("OptimalExec-v0", markets=[{"volatility": 1.0}, {"volatility": 3.0}], periods=5)
    _, info = listed.reset(seed=0)
    assert listed.unwrapped.params.volatility == (1.0, 3.0)[info["market"]] and listed.unwrapped.params.periods == 5
    assert listed.observation_space.shape == (3 + len(_problem("OptimalExec-v0").distribution.features),)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(markets="tomorrow"), ValueError, r"unknown split 'tomorrow': the splits are \['train', 'test', 'ood'\]"),
    (dict(markets=[{}, {"volatility": -1.0}]), ValueError, r"markets\[1\]: volatility must be"),
    (dict(markets=[{}, {"impact_exponent": 0.7}]), ValueError, r"markets\[1\] has the model variant"),
    (dict(markets=[]), ValueError, r"at least one market"),
    (dict(markets=[{}, "x"]), TypeError, r"markets\[1\] must be a OptimalExecParams or a dict"),
    (dict(markets="train", observe_market="yes"), ValueError,
     r"observe_market must be True \(the market.s features\), False \(nothing\) or .index."),
    (dict(markets="train", params=execgym.registry.problem("OptimalExec-v0").params()), ValueError,
     r"either markets= or params="),
])
def test_bad_markets_get_clear_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        gym.make("OptimalExec-v0", **kwargs).reset(seed=0)


def test_markets_of_the_wrong_family_and_families_without_a_distribution_are_refused():
    with pytest.raises(ValueError, match="a set of LimitOrMarketParams markets, not of this env's OptimalExecParams"):
        gym.make("OptimalExec-v0", markets=market_set("LimitOrMarket-v0", [{}]))
    with pytest.raises(ValueError, match="ToyParams has no market distribution"):
        ToyEnv(markets="train")
    env = gym.make("OptimalExec-v0", markets="test")
    with pytest.raises(ValueError, match=r"market indices must be in \[0, 255\]"):
        env.reset(seed=0, options={"market_index": 256})
    with pytest.raises(ValueError, match="unknown reset option"):
        env.reset(seed=0, options={"market": {}})
    venv = gym.make_vec("OptimalExec-v0", num_envs=2, markets="test")
    with pytest.raises(ValueError, match=r"must be 2 integers"):
        venv.reset(seed=0, options={"market_indices": [1]})


def test_a_market_without_features_plays_unobserved_and_is_refused_observed_with_the_reason():
    env = gym.make("OptimalExec-v0", markets=[{"risk_aversion": 0.0}], observe_market=False)
    assert env.reset(seed=0)[0].shape == (3,)
    with pytest.raises(ValueError, match=r"markets\[0\]: the market's feature risk_aversion is 0.0 .* observe_market"
                                         r"=False"):
        gym.make("OptimalExec-v0", markets=[{"risk_aversion": 0.0}]).reset(seed=0)
    result = execgym.score("oracle", "OptimalExec-v0", markets=market_set("OptimalExec-v0", [{"risk_aversion": 0.0},
                                                                                            {}]),
                           episodes_per_market=2, observe_market=False)
    assert result.features[0, result.feature_names.index("risk_aversion")] == 0.0 and (result.regret_pct == 0).all()


def test_a_market_set_builds_each_market_once_and_refuses_an_index_outside_it():
    drawn = market_set("OptimalExec-v0", [{}, {"volatility": 3.0}])
    assert isinstance(drawn, MarketSet) and len(drawn) == 2
    assert drawn[1] is drawn[1] and drawn[1].volatility == 3.0
    with pytest.raises(IndexError, match=r"market indices are in \[0, 1\]"):
        drawn[2]
    test = market_set("OptimalExec-v0", "test")
    last = test[255]
    with pytest.raises(IndexError, match=r"market indices are in \[0, 255\], got -1"):
        test.params(-1)
    assert test[255] is last                                   # nothing stored in its place


def test_a_list_must_share_the_spaces_and_a_variant_id_draws_its_own_markets():
    with pytest.raises(ValueError,
                       match=r"markets\[1\] has the action space Discrete\(4\), not the set's Discrete\(7\)"):
        gym.make_vec("LimitOrMarket-v0", num_envs=2, markets=market_set("LimitOrMarket-v0", [{}, {"max_depth": 1}]))
    env = gym.make("OptimalExecNonlinear-v0", markets="test")
    env.reset(seed=0)
    assert env.unwrapped.params.impact_exponent == 0.5
    assert market_set("OptimalExecNonlinear-v0", "test")[0].impact_exponent == 0.5
    with pytest.raises(ValueError, match="observe_market applies to markets drawn per episode"):
        gym.make_vec("OptimalExec-v0", num_envs=2, markets=[{}, {}], observe_market=False)
    assert gym.make("OptimalExec-v0", markets="test", observe_market=np.False_).observation_space.shape == (3,)


def test_a_pickled_list_of_markets_of_different_lengths_plays_every_market():
    import pickle

    env = gym.make_vec("OptimalExec-v0", num_envs=1, markets=market_set("OptimalExec-v0", [{"periods": 5},
                                                                                          {"periods": 10}]))
    clone = pickle.loads(pickle.dumps(env))
    for index in (0, 1):
        clone.reset(seed=0, options={"market_indices": [index]})
        env.reset(seed=0, options={"market_indices": [index]})
        np.testing.assert_array_equal(clone.step(np.zeros((1, 1)))[1], env.step(np.zeros((1, 1)))[1])


@pytest.mark.parametrize("markets", ["test", [{}, {"volatility": 2.0}]])
def test_envs_drawing_markets_pickle_and_play_on_the_same_episodes(markets):
    import pickle

    chosen = markets if isinstance(markets, str) else market_set("OptimalExec-v0", markets)
    env = gym.make_vec("OptimalExec-v0", num_envs=2, markets=chosen)
    env.reset(seed=0)
    actions = np.zeros((2, 1))
    env.step(actions)
    clone = pickle.loads(pickle.dumps(env))
    for _ in range(20):                                   # across an autoreset: markets drawn again
        a, b = env.step(actions), clone.step(actions)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
        np.testing.assert_array_equal(a[4]["market"], b[4]["market"])


def test_limit_or_market_regret_is_a_percentage_of_the_market_orders_cost():
    from execgym.problems.limit_or_market.distribution import market_order_cost

    test = market_set("LimitOrMarket-v0", "test")
    markets = market_set("LimitOrMarket-v0", [test[index] for index in range(0, 256, 16)])
    costs = np.array([market_order_cost(params) for params in markets])
    half_spreads = np.array([0.5 * params.spread_ticks * params.tick_bps for params in markets])
    assert (costs >= half_spreads - 1e-12).all()          # a market order pays at least the half spread
    result = execgym.score("oracle", "LimitOrMarket-v0", markets=markets, episodes_per_market=2)
    assert (result.regret_pct == 0).all() and "market order" in result.regret_basis
