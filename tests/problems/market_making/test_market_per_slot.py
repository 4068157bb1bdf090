"""MarketMaking-v0 with a different market in every slot: slot by slot the episodes of scalar envs built with those
markets (bit for bit, across autoresets), markets set at reset, on continuous depths, on a tick grid and under
exponential utility; the fill rule of the step gives the bits of the params' fill probabilities."""

import gymnasium as gym
import numpy as np
import pytest
from vector_checks import assert_market_per_slot_plays_scalar_envs, assert_markets_set_at_reset

from execgym.problems.market_making import dynamics
from execgym.problems.market_making.params import MarketMakingParams

SHORT = dict(steps=12, max_inventory=3)
CARA = dict(objective="cara", risk_aversion=0.1, fill_probability="linear", price_shocks="binomial")
MARKETS = {   # name: (the keyword parameters the env is made with, the slots' markets over them)
    "continuous": ({}, [SHORT, dict(SHORT, volatility=3.0, arrival_rate=60.0, drift=0.5),
                        dict(steps=7, max_inventory=2, max_depth=2.0, depth_decay=3.0, initial_inventory=-1),
                        dict(steps=20, max_inventory=5, mid_price=50.0, inventory_penalty=1.0, terminal_penalty=2.0,
                             horizon=2.0)]),
    "ticks": (dict(tick_size=0.5, max_depth=2.0),     # MultiDiscrete([5, 5]) actions: 4 ticks of 0.5, 0.25, 1.0
              [SHORT, dict(steps=9, max_inventory=2, tick_size=0.25, max_depth=1.0),
               dict(steps=15, max_inventory=4, tick_size=1.0, max_depth=4.0, arrival_rate=80.0, drift=-1.0)]),
    "cara, linear fills, binomial shocks": (CARA, [
        dict(SHORT, arrival_rate=12.0), dict(steps=8, max_inventory=2, risk_aversion=0.5, arrival_rate=5.0),
        dict(steps=16, max_inventory=4, risk_aversion=0.02, volatility=1.0, arrival_rate=10.0, horizon=0.5)]),
}


@pytest.mark.parametrize("name", sorted(MARKETS))
def test_a_market_per_slot_plays_the_scalar_envs_of_those_markets(name):
    shared, markets = MARKETS[name]
    assert_market_per_slot_plays_scalar_envs("MarketMaking-v0", markets, steps=70, shared=shared)


@pytest.mark.parametrize("name", sorted(MARKETS))
def test_markets_set_at_reset_for_chosen_slots(name):
    shared, markets = MARKETS[name]
    assert_markets_set_at_reset("MarketMaking-v0", markets, steps=30, shared=shared)


@pytest.mark.parametrize("fill", ["poisson", "linear"])
def test_the_steps_fill_probability_is_the_params_to_the_bit(fill):
    """The step fills a quote exactly when its draw is below p(δ) (dynamics.advance): p(δ) must be the params'."""
    params = MarketMakingParams(fill_probability=fill, steps=1000)
    variant, market = dynamics.variant(params), dynamics.market(params)
    depths = np.concatenate([np.random.default_rng(0).uniform(0.0, params.max_depth, 3000), [0.0, params.max_depth]])
    step = [dynamics.fill_probability(variant, market, depth) for depth in depths.tolist()]
    np.testing.assert_array_equal(step, params.fill_probabilities(depths))


def test_a_utility_beyond_float64_is_refused_in_its_slot_before_the_step_is_taken():
    """Bid at the mid, ask out of reach: the inventory piles up and at γ = 10 the last step's utility is below
    −1.8e308, while slot 0's, at γ = 0.01, is finite; the env names slot 1 and stays at the last step."""
    shared = dict(objective="cara", risk_aversion=10.0)
    env = gym.make_vec("MarketMaking-v0", num_envs=2, markets=[{"risk_aversion": 0.01}, {}], **shared)
    env.reset(seed=0)
    action = np.array([[-1.0, 1.0]] * 2, dtype=np.float32)
    for _ in range(env.unwrapped.params.steps - 1):
        env.step(action)
    for _ in range(2):
        with pytest.raises(ValueError, match=r"penalised profit Π = -1[\d.]+ in slot 1 is below the most negative "
                                             r"float64 at risk_aversion = 10 "):
            env.step(action)
        np.testing.assert_array_equal(env.unwrapped._batch.state.elapsed, [199, 199])
    scalar = gym.make("MarketMaking-v0", **shared).unwrapped
    scalar.reset(seed=1)
    for _ in range(199):
        scalar.step(action[0])
    with pytest.raises(ValueError, match=r"penalised profit Π = -1[\d.]+ is below"):
        scalar.step(action[0])
    assert scalar.state.elapsed == 199
