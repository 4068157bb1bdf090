"""LimitOrMarket-v0."""

from execgym.problems import Problem, ViewSpec
from execgym.problems.limit_or_market import oracle, policies
from execgym.problems.limit_or_market.env import LimitOrMarketEnv, LimitOrMarketVectorEnv
from execgym.problems.limit_or_market.grid import LimitOrMarketGrid
from execgym.problems.limit_or_market.params import LimitOrMarketParams

SPECS = (
    Problem(
        env_id="LimitOrMarket-v0",
        description="Limit or market order for a child order before a deadline; oracle: backward induction over "
                    "(steps left, lots left), O(K·N²·A)",
        params_class=LimitOrMarketParams, env_class=LimitOrMarketEnv, vector_env_class=LimitOrMarketVectorEnv,
        oracle_factory=oracle.make_oracle, oracle_cost=oracle.build_cost, reward_units="bps",
        baselines=policies.baselines, tabular_view=ViewSpec(LimitOrMarketGrid), order=60),
)
