"""PortfolioExec-v0 with a different market in every slot (other books, impacts, horizons and numbers of periods)
plays, slot by slot, exactly the episodes of scalar envs built with those markets, across autoresets; markets set
at reset; markets of another number of assets are refused."""

import gymnasium as gym
import pytest
from vector_checks import assert_market_per_slot_plays_scalar_envs, assert_markets_set_at_reset

MARKETS = [
    {},
    {"periods": 5, "risk_aversion": 2e-6},
    {"holdings": (2e5, -3e5, 1e5), "arrival_prices": (20.0, 30.0, 40.0), "periods": 8},
    {"horizon": 2.0, "periods": 3, "half_spreads": (0.0, 0.05, 0.01)},
]


def test_a_market_per_slot_plays_the_scalar_envs_of_those_markets():
    assert_market_per_slot_plays_scalar_envs("PortfolioExec-v0", MARKETS, steps=60)


def test_markets_set_at_reset_for_chosen_slots():
    assert_markets_set_at_reset("PortfolioExec-v0", MARKETS, steps=30)


def test_a_market_with_another_number_of_assets_is_refused():
    with pytest.raises(ValueError, match=r"markets\[1\] has the observation space"):
        gym.make_vec("PortfolioExec-v0", num_envs=2, markets=[{}, {"holdings": (1e5, 2e5), "arrival_prices": (10.0, 20.0)}])
