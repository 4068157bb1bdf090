"""OptimalExecRegimes-v0 for the registry."""

from execgym.problems import Problem, ViewSpec
from execgym.problems.regime_exec import oracle, policies
from execgym.problems.regime_exec.env import RegimeExecEnv, RegimeExecVectorEnv
from execgym.problems.regime_exec.grid import RegimeLotGrid
from execgym.problems.regime_exec.params import RegimeExecParams

SPECS = (
    Problem(env_id="OptimalExecRegimes-v0",
            description="Liquidation in a market switching between calm and stressed (observed Markov regimes); "
                        "oracle: coupled Riccati recursions of the Markov-jump LQ problem, exact",
            params_class=RegimeExecParams, env_class=RegimeExecEnv, vector_env_class=RegimeExecVectorEnv,
            oracle_factory=oracle.make_oracle, oracle_cost=oracle.build_cost, reward_units="bps",
            baselines=policies.baselines, tabular_view=ViewSpec(RegimeLotGrid, {"lots": 20, "max_trade_lots": None}),
            order=15),
)
