"""Every env's named baselines (``execgym evaluate --baseline``): they act in the env and never beat its oracle."""

import numpy as np
import pytest

import execgym
from execgym.registry import PROBLEMS, make_baseline

SMALL = {  # small instances, so that every baseline of every env is scored in a second
    "OptimalExec-v0": dict(periods=5), "PortfolioExec-v0": {}, "BasketSequence-v0": dict(trades=5),
    "MarketMaking-v0": dict(steps=20, max_inventory=5), "TwapVwapSwitch-v0": dict(buckets=6),
    "LimitOrMarket-v0": dict(lots=6, deadline=4),
}
EXPECTED = {
    "OptimalExec-v0": ["back_loaded", "front_loaded", "pov", "twap", "vwap"],
    "PortfolioExec-v0": ["independent", "twap"],
    "BasketSequence-v0": ["as_given", "nearest_neighbour"],
    "MarketMaking-v0": ["avellaneda_stoikov", "symmetric"],
    "TwapVwapSwitch-v0": ["twap", "vwap"],
    "LimitOrMarket-v0": ["always_market", "depth_0", "depth_1", "depth_2", "depth_3", "depth_4", "touch_then_market"],
}


@pytest.mark.parametrize("env_id", sorted(EXPECTED))
def test_every_baseline_acts_in_its_env_and_loses_to_the_oracle(env_id):
    spec = PROBLEMS[env_id]
    params = spec.params(**SMALL[env_id])
    named = spec.baselines(params)
    assert sorted(named) == EXPECTED[env_id]
    for name, policy in named.items():
        result = execgym.score(policy, env_id, episodes=400, params=params)
        assert result.regret.mean + result.regret.half_width >= -1e-9, name
        assert np.isfinite(result.policy_return.mean), name


def test_make_baseline_names_the_envs_baselines():
    assert make_baseline("OptimalExec-v0", "twap", periods=4).schedule.shape == (5,)
    with pytest.raises(ValueError, match=r"unknown baseline 'twap' for MarketMaking-v0: its baselines are "
                                         r"\['avellaneda_stoikov', 'symmetric'\]"):
        make_baseline("MarketMaking-v0", "twap")
    assert make_baseline("PortfolioExec-v0", "independent").schedule.shape == (14, 3)
