"""The table of problems: for each env id, its params class, environments, oracle, named baselines and a one-line
description.

:func:`execgym.make_oracle`, :func:`make_baseline` and :func:`execgym.score` look problems up here;
``execgym/__init__.py`` registers the same ids with Gymnasium.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from execgym.baselines import named_baselines as optimal_exec_baselines
from execgym.policy import ORACLE_CACHE, Oracle, OracleCost, Policy
from execgym.problems.basket_sequence import dynamics as basket_sequence_dynamics
from execgym.problems.basket_sequence import oracle as basket_sequence_oracle
from execgym.problems.basket_sequence import policies as basket_sequence_policies
from execgym.problems.basket_sequence.env import BasketSequenceEnv, BasketSequenceVectorEnv
from execgym.problems.basket_sequence.params import BasketSequenceParams
from execgym.problems.limit_or_market import oracle as limit_or_market_oracle
from execgym.problems.limit_or_market import policies as limit_or_market_policies
from execgym.problems.limit_or_market.env import LimitOrMarketEnv, LimitOrMarketVectorEnv
from execgym.problems.limit_or_market.params import LimitOrMarketParams
from execgym.problems.market_making import oracle as market_making_oracle
from execgym.problems.market_making import policies as market_making_policies
from execgym.problems.market_making.env import MarketMakingEnv, MarketMakingVectorEnv
from execgym.problems.market_making.params import MarketMakingParams
from execgym.problems.optimal_exec import oracle as optimal_exec_oracle
from execgym.problems.optimal_exec.env import OptimalExecEnv, OptimalExecVectorEnv
from execgym.problems.optimal_exec.params import OptimalExecParams
from execgym.problems.optimal_exec.variants import VARIANTS
from execgym.problems.portfolio_exec import oracle as portfolio_exec_oracle
from execgym.problems.portfolio_exec import policies as portfolio_exec_policies
from execgym.problems.portfolio_exec.env import PortfolioExecEnv, PortfolioExecVectorEnv
from execgym.problems.portfolio_exec.params import PortfolioExecParams
from execgym.problems.twap_vwap import oracle as twap_vwap_oracle
from execgym.problems.twap_vwap import policies as twap_vwap_policies
from execgym.problems.twap_vwap.env import TwapVwapEnv, TwapVwapVectorEnv
from execgym.problems.twap_vwap.params import TwapVwapParams


@dataclass(frozen=True)
class Problem:
    """Everything the suite knows about one env id."""

    env_id: str
    description: str
    params_class: type
    env_class: type
    vector_env_class: type
    oracle_factory: Callable[[Any], Oracle]
    reward_units: str
    baselines: Callable[[Any], dict[str, Policy]]
    """params -> the problem's named baselines as policies (``execgym evaluate --baseline NAME``)."""
    oracle_cost: Callable[[Any], OracleCost]
    """params -> what building the oracle would take (its oracle module's ``build_cost``), estimated in milliseconds
    without building it: :func:`execgym.score` refuses an oracle estimated past its time budget."""
    defaults: dict = field(default_factory=dict)
    """Keyword arguments the id sets (a registered variant of another id); explicit ones override them."""
    action_masks: Callable[[Any, np.ndarray], np.ndarray] | None = None
    """For problems whose actions are masked (a masked action raises): (params, observations (b, *obs)) ->
    (b, actions) bool, the actions allowed in each observation, the same as the env's ``action_masks()``
    in that state; None where every action is always allowed. Lets a masked agent act from observations
    alone (scoring)."""
    solve_together: Callable[[list], dict[int, Oracle | ValueError]] | None = None
    """markets (params objects) -> the oracles (or refusals) of those one solver builds together, by index
    (:func:`execgym.make_oracles`); None where every oracle is built alone."""

    def params(self, params=None, **kwargs):
        """The params object from ``params=`` or keyword arguments over the id's defaults (validated)."""
        if params is not None:
            return self.params_class.from_kwargs(params, **kwargs)
        return self.params_class.from_kwargs(**{**self.defaults, **kwargs})


PROBLEMS: dict[str, Problem] = {
    "OptimalExec-v0": Problem(
        env_id="OptimalExec-v0",
        description="Single-asset liquidation, discrete-time Almgren–Chriss; oracle: LQ Riccati recursion",
        params_class=OptimalExecParams, env_class=OptimalExecEnv, vector_env_class=OptimalExecVectorEnv,
        oracle_factory=optimal_exec_oracle.make_oracle,
        oracle_cost=optimal_exec_oracle.build_cost, reward_units="bps", baselines=optimal_exec_baselines,
        solve_together=optimal_exec_oracle.solve_together),
    **{variant.env_id: Problem(
        env_id=variant.env_id, description=variant.description, params_class=OptimalExecParams,
        env_class=OptimalExecEnv, vector_env_class=OptimalExecVectorEnv,
        oracle_factory=optimal_exec_oracle.make_oracle,
        oracle_cost=optimal_exec_oracle.build_cost, reward_units="bps", defaults=variant.kwargs,
        baselines=optimal_exec_baselines, solve_together=optimal_exec_oracle.solve_together)
       for variant in VARIANTS.values()},
    "PortfolioExec-v0": Problem(
        env_id="PortfolioExec-v0",
        description="Multi-asset liquidation with covariance and cross-impact; oracle: LQ Riccati recursion with "
                    "matrix state, O(N·m³)",
        params_class=PortfolioExecParams, env_class=PortfolioExecEnv, vector_env_class=PortfolioExecVectorEnv,
        oracle_factory=portfolio_exec_oracle.make_oracle,
        oracle_cost=portfolio_exec_oracle.build_cost, reward_units="bps",
        baselines=portfolio_exec_policies.baselines),
    "BasketSequence-v0": Problem(
        env_id="BasketSequence-v0",
        description="Order of n basket trades with path-dependent cross-impact cost; oracle: Held–Karp DP, "
                    "O(n²·2ⁿ), exact up to 16 trades",
        params_class=BasketSequenceParams, env_class=BasketSequenceEnv, vector_env_class=BasketSequenceVectorEnv,
        oracle_factory=basket_sequence_oracle.make_oracle,
        oracle_cost=basket_sequence_oracle.build_cost, reward_units="bps",
        action_masks=basket_sequence_dynamics.observation_masks, baselines=basket_sequence_policies.baselines),
    "MarketMaking-v0": Problem(
        env_id="MarketMaking-v0",
        description="Market making with inventory risk (bid and ask depths); oracle: backward induction over "
                    "(step, inventory), O(N·Q̄)",
        params_class=MarketMakingParams, env_class=MarketMakingEnv, vector_env_class=MarketMakingVectorEnv,
        oracle_factory=market_making_oracle.make_oracle,
        oracle_cost=market_making_oracle.build_cost, reward_units="currency",
        baselines=market_making_policies.baselines),
    "TwapVwapSwitch-v0": Problem(
        env_id="TwapVwapSwitch-v0",
        description="Intraday order, TWAP or VWAP pace (optionally POV) per bucket; oracle: backward induction "
                    "over the reachable (day type, bucket, remaining) states, O(Σ_t S_t·A)",
        params_class=TwapVwapParams, env_class=TwapVwapEnv, vector_env_class=TwapVwapVectorEnv,
        oracle_factory=twap_vwap_oracle.make_oracle,
        oracle_cost=twap_vwap_oracle.build_cost, reward_units="bps", baselines=twap_vwap_policies.baselines),
    "LimitOrMarket-v0": Problem(
        env_id="LimitOrMarket-v0",
        description="Limit or market order for a child order before a deadline; oracle: backward induction over "
                    "(steps left, lots left), O(K·N²·A)",
        params_class=LimitOrMarketParams, env_class=LimitOrMarketEnv, vector_env_class=LimitOrMarketVectorEnv,
        oracle_factory=limit_or_market_oracle.make_oracle,
        oracle_cost=limit_or_market_oracle.build_cost, reward_units="bps",
        baselines=limit_or_market_policies.baselines),
}


def problem(env_id: str) -> Problem:
    """The problem registered as ``env_id`` (an optional ``execgym:`` prefix is accepted)."""
    key = env_id.split(":", 1)[1] if env_id.startswith("execgym:") else env_id
    if key not in PROBLEMS:
        raise ValueError(f"unknown env id {env_id!r}; execgym provides {sorted(PROBLEMS)}")
    return PROBLEMS[key]


def make_baseline(env_id: str, name: str, params=None, **kwargs) -> Policy:
    """The baseline ``name`` of ``env_id`` with these parameters; ValueError naming the env's baselines."""
    spec = problem(env_id)
    named = spec.baselines(spec.params(params, **kwargs))
    if name not in named:
        raise ValueError(f"unknown baseline {name!r} for {spec.env_id}: its baselines are {sorted(named)}")
    return named[name]


def make_oracle(env_id: str, params=None, **kwargs) -> Oracle:
    """The optimal policy of ``env_id`` with these parameters, and its exact value; the same (read-only) object for
    equal parameters, from :data:`execgym.policy.ORACLE_CACHE` (the last 1,024 built)."""
    spec = problem(env_id)
    return ORACLE_CACHE.build(spec.oracle_factory, spec.params(params, **kwargs))
