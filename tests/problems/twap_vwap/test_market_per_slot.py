"""TwapVwapSwitch-v0 with a different market in every slot (other buckets, volume profiles, day types, impacts,
volatility, risk aversion, POV caps) plays, slot by slot, exactly the episodes of scalar envs built with those
markets, across autoresets, and takes markets at reset."""

import gymnasium as gym
import numpy as np
import pytest

from execgym.problems.twap_vwap.params import u_shaped_profile
from tests.vector_checks import assert_market_per_slot_plays_scalar_envs, assert_markets_set_at_reset

ENV = "TwapVwapSwitch-v0"
ONE_DAY = [{}, {"buckets": 5, "volatility": 30.0}, {"buckets": 8, "risk_aversion": 1e-3, "impact": [90.0] * 8},
           {"volume_profiles": (u_shaped_profile(13) * np.linspace(1.6, 0.4, 13)).tolist(), "volatility": 80.0}]
"""One day type, TWAP and VWAP: markets of 13, 5 and 8 buckets in one env."""
DAYS_AND_POV = [
    {"buckets": 6, "volume_profiles": [[3.0, 1.5, 1.0, 1.0, 1.5, 4.0], [5.0, 2.0, 1.0, 0.8, 1.0, 2.0]],
     "day_probabilities": (0.4, 0.6), "pov_rate": 0.2, "order_size": 2.0},
    {"buckets": 4, "volume_profiles": [[1.0, 1.0, 1.0, 1.0], [4.0, 1.0, 1.0, 4.0]], "day_probabilities": (0.7, 0.3),
     "pov_rate": 0.5, "order_size": 0.5, "impact": [[50.0, 30.0, 20.0, 10.0], [80.0, 40.0, 40.0, 80.0]]},
    {"volume_profiles": [u_shaped_profile(13).tolist(), [1.0 / 13] * 13], "pov_rate": 0.05, "volatility": 10.0,
     "risk_aversion": 0.01},
]
"""Two day types (drawn per episode, one-hot observed) and POV: markets of 6, 4 and 13 buckets in one env."""


@pytest.mark.parametrize("markets", [ONE_DAY, DAYS_AND_POV], ids=["one_day", "days_and_pov"])
def test_a_market_per_slot_plays_the_scalar_envs_of_those_markets(markets):
    assert_market_per_slot_plays_scalar_envs(ENV, markets, steps=60)


def test_markets_set_at_reset_for_chosen_slots():
    assert_markets_set_at_reset(ENV, ONE_DAY, steps=40)


@pytest.mark.slow
def test_each_slot_draws_its_day_type_from_its_own_market():
    markets = [{"buckets": 3, "volume_profiles": [[1.0] * 3, [2.0] * 3], "day_probabilities": (p, 1.0 - p)}
               for p in (1.0, 0.0)]
    env = gym.make_vec(ENV, num_envs=2, markets=markets)
    _, info = env.reset(seed=0)
    days = [info["day_type"].tolist()]
    for _ in range(7):
        days.append(env.step(np.zeros(2, dtype=np.int64))[4]["day_type"].tolist())
    assert days == [[0.0, 1.0]] * 8


@pytest.mark.parametrize("markets, message", [
    ([DAYS_AND_POV[0], dict(DAYS_AND_POV[0], pov_rate=None)], r"markets\[1\] has the action space Discrete\(2\)"),
    ([DAYS_AND_POV[0], {"buckets": 6}], r"markets\[1\] has the observation space"),
])
def test_markets_of_other_spaces_are_refused(markets, message):
    with pytest.raises(ValueError, match=message):
        gym.make_vec(ENV, num_envs=2, markets=markets)
