"""PortfolioExec-v0."""

from execgym.problems import Problem, ViewSpec
from execgym.problems.portfolio_exec import oracle, policies
from execgym.problems.portfolio_exec.env import PortfolioExecEnv, PortfolioExecVectorEnv
from execgym.problems.portfolio_exec.grid import PortfolioLotGrid
from execgym.problems.portfolio_exec.params import PortfolioExecParams

SPECS = (
    Problem(
        env_id="PortfolioExec-v0",
        description="Multi-asset liquidation with covariance and cross-impact; oracle: LQ Riccati recursion with "
                    "matrix state, O(N·m³)",
        params_class=PortfolioExecParams, env_class=PortfolioExecEnv, vector_env_class=PortfolioExecVectorEnv,
        oracle_factory=oracle.make_oracle, oracle_cost=oracle.build_cost, reward_units="bps",
        baselines=policies.baselines, tabular_view=ViewSpec(PortfolioLotGrid, {"lots": 10, "max_trade_lots": None}),
        order=20),
)
