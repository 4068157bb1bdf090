"""The table of problems: built from each problem folder's spec, in the listing order, and open to a spec
defined outside the package (:func:`execgym.register_problem`)."""

import dataclasses
import importlib
import pkgutil

import gymnasium as gym
import pytest

import execgym
import execgym.problems
from execgym.registry import PROBLEMS, Problem, add_problem, make_oracle, problem
from execgym.tabular import tabular_view, tabular_views

LISTED = ["OptimalExec-v0", "OptimalExecCapped-v0", "OptimalExecBlended-v0", "OptimalExecNonlinear-v0",
          "OptimalExecMeanReverting-v0", "OptimalExecTransient-v0", "OptimalExecRegimes-v0", "PortfolioExec-v0", "BasketSequence-v0", "MarketMaking-v0",
          "TwapVwapSwitch-v0", "LimitOrMarket-v0"]


def test_the_table_lists_every_folders_specs_in_the_listing_order():
    assert list(PROBLEMS) == LISTED
    folders = [info.name for info in pkgutil.iter_modules(execgym.problems.__path__) if info.ispkg]
    found = {spec.env_id for folder in folders
             for spec in importlib.import_module(f"execgym.problems.{folder}.spec").SPECS}
    assert found == set(PROBLEMS)
    assert all(env_id in gym.envs.registry for env_id in PROBLEMS)
    assert list(tabular_views()) == ["OptimalExec-v0", "OptimalExecRegimes-v0", "PortfolioExec-v0",
                                     "BasketSequence-v0", "MarketMaking-v0", "TwapVwapSwitch-v0", "LimitOrMarket-v0"]


@pytest.fixture
def small_limit_or_market():
    """A spec defined here: LimitOrMarket-v0 with fewer lots, listed first; unregistered afterwards."""
    spec = dataclasses.replace(problem("LimitOrMarket-v0"), env_id="SmallLimitOrMarket-v0",
                               description="LimitOrMarket-v0 with 6 lots", defaults={"lots": 6}, order=0)
    yield spec
    PROBLEMS.pop(spec.env_id, None)
    gym.envs.registry.pop(spec.env_id, None)


def test_a_spec_from_outside_the_package_is_registered_everywhere(small_limit_or_market):
    spec = execgym.register_problem(small_limit_or_market)
    assert list(PROBLEMS) == [spec.env_id] + LISTED
    env = gym.make(spec.env_id)
    assert env.unwrapped.params.lots == 6
    assert gym.make_vec(spec.env_id, num_envs=3).num_envs == 3
    assert make_oracle(spec.env_id).expected_return == make_oracle("LimitOrMarket-v0", lots=6).expected_return
    assert tabular_view(spec.env_id).params.lots == 6
    assert execgym.score("touch_then_market", spec.env_id, episodes=100).env_id == spec.env_id
    with pytest.raises(ValueError, match="'SmallLimitOrMarket-v0' is already registered"):
        add_problem(small_limit_or_market)


def test_add_problem_takes_only_a_problem_record():
    with pytest.raises(ValueError, match="spec must be an execgym.registry.Problem"):
        add_problem({"env_id": "Nope-v0"})
    assert Problem is execgym.Problem
