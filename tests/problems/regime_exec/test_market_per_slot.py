"""OptimalExecRegimes-v0 with a different market in every slot (other regimes' multipliers, transition matrices,
initial regimes and numbers of periods) plays, slot by slot, exactly the episodes of scalar envs built with those
markets, across autoresets; markets with another number of regimes are refused."""

import gymnasium as gym
import pytest
from vector_checks import assert_market_per_slot_plays_scalar_envs

MARKETS = [
    {},
    {"periods": 5, "risk_aversion": 2e-6, "initial_regime": 1},
    {"regime_volatility": (1.0, 4.0), "regime_liquidity": (0.5, 6.0), "transitions": ((0.5, 0.5), (0.1, 0.9))},
    {"horizon": 2.0, "periods": 3, "side": "buy"},
]


def test_a_market_per_slot_plays_the_scalar_envs_of_those_markets():
    assert_market_per_slot_plays_scalar_envs("OptimalExecRegimes-v0", MARKETS, steps=60)


def test_a_market_with_another_number_of_regimes_is_refused():
    with pytest.raises(ValueError, match=r"markets\[1\] has the observation space"):
        gym.make_vec("OptimalExecRegimes-v0", num_envs=2,
                     markets=[{}, {"regime_volatility": (1.0, 2.0, 3.0), "regime_liquidity": (1.0, 2.0, 3.0),
                                   "transitions": ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))}])
