"""TwapVwapSwitch-v0."""

from execgym.problems import Problem, ViewSpec
from execgym.problems.twap_vwap import oracle, policies
from execgym.problems.twap_vwap.env import TwapVwapEnv, TwapVwapVectorEnv
from execgym.problems.twap_vwap.grid import PaceGrid
from execgym.problems.twap_vwap.params import TwapVwapParams

SPECS = (
    Problem(
        env_id="TwapVwapSwitch-v0",
        description="Intraday order, TWAP or VWAP pace (optionally POV) per bucket; oracle: backward induction "
                    "over the reachable (day type, bucket, remaining) states, O(Σ_t S_t·A)",
        params_class=TwapVwapParams, env_class=TwapVwapEnv, vector_env_class=TwapVwapVectorEnv,
        oracle_factory=oracle.make_oracle, oracle_cost=oracle.build_cost, reward_units="bps",
        baselines=policies.baselines, tabular_view=ViewSpec(PaceGrid), order=50),
)
