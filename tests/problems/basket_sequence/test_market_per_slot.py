"""BasketSequence-v0 with a different basket in every slot plays, slot by slot, exactly the episodes of scalar
envs built with those baskets (bit for bit, across autoresets, with masked trades never chosen), and runs its
baskets as given at construction or at reset. The markets of one env share the number of trades (it sets the
observation and action spaces) and whether costs are noisy (the model variant)."""

import gymnasium as gym
import numpy as np
import pytest
from vector_checks import assert_market_per_slot_plays_scalar_envs, assert_markets_set_at_reset

ENV_ID = "BasketSequence-v0"

MARKETS = [{}, {"instance_seed": 4, "cross_impact": 0.9, "cost_noise": 2.0},
           {"instance_seed": 11, "hedge_credit": 0.2, "cost_noise": 1e-3},
           {"cost_matrix": np.arange(64.0).reshape(8, 8) % 7, "start_costs": np.arange(8.0), "cost_noise": 0.5}]


def allowed_trades(seed=0):
    """``choose_actions``: a random trade allowed in each slot (from ``info['action_mask']``; any trade before
    the first step, when every trade is allowed)."""
    rng = np.random.default_rng(seed)

    def choose(info):
        masks = np.ones((len(MARKETS), 8), dtype=bool) if info is None else info["action_mask"]
        return np.array([rng.choice(np.flatnonzero(mask)) for mask in masks])

    return choose


def test_a_basket_per_slot_plays_the_scalar_envs_of_those_baskets():
    """60 steps: 7 episodes of 8 trades in every slot."""
    assert_market_per_slot_plays_scalar_envs(ENV_ID, MARKETS, steps=60, choose_actions=allowed_trades())


def test_baskets_set_at_reset_for_chosen_slots():
    assert_markets_set_at_reset(ENV_ID, MARKETS, steps=25, choose_actions=allowed_trades(1))


@pytest.mark.parametrize("markets, message", [
    ([{}, {"trades": 5}], r"markets\[1\] has the observation space"),
    ([{}, {"cost_noise": 0.0}], r"markets\[1\] has the model variant"),
])
def test_baskets_of_one_env_share_their_size_and_noise(markets, message):
    with pytest.raises(ValueError, match=message):
        gym.make_vec(ENV_ID, num_envs=2, markets=markets)
