"""MarketMaking-v0."""

from execgym.problems import Problem, ViewSpec
from execgym.problems.market_making import oracle, policies
from execgym.problems.market_making.env import MarketMakingEnv, MarketMakingVectorEnv
from execgym.problems.market_making.grid import QuoteGrid
from execgym.problems.market_making.params import MarketMakingParams

SPECS = (
    Problem(
        env_id="MarketMaking-v0",
        description="Market making with inventory risk (bid and ask depths); oracle: backward induction over "
                    "(step, inventory), O(N·Q̄)",
        params_class=MarketMakingParams, env_class=MarketMakingEnv, vector_env_class=MarketMakingVectorEnv,
        oracle_factory=oracle.make_oracle, oracle_cost=oracle.build_cost, reward_units="currency",
        baselines=policies.baselines, tabular_view=ViewSpec(QuoteGrid), order=40),
)
