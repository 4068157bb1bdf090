"""OptimalExec-v0 and its registered variants (:mod:`.variants`): the same env with set keyword arguments."""

from execgym.problems import Problem, ViewSpec
from execgym.problems.optimal_exec import oracle, policies
from execgym.problems.optimal_exec.blind import blind_policy
from execgym.problems.optimal_exec.env import OptimalExecEnv, OptimalExecVectorEnv
from execgym.problems.optimal_exec.grid import LotGrid
from execgym.problems.optimal_exec.params import OptimalExecParams
from execgym.problems.optimal_exec.variants import VARIANTS

_COMMON = dict(params_class=OptimalExecParams, env_class=OptimalExecEnv, vector_env_class=OptimalExecVectorEnv,
               oracle_factory=oracle.make_oracle, oracle_cost=oracle.build_cost, reward_units="bps",
               baselines=policies.baselines, solve_together=oracle.solve_together, order=10)

SPECS = (
    Problem(env_id="OptimalExec-v0",
            description="Single-asset liquidation, discrete-time Almgren–Chriss; oracle: LQ Riccati recursion",
            tabular_view=ViewSpec(LotGrid, {"lots": 20, "max_trade_lots": None}), blind_policy=blind_policy,
            **_COMMON),
    *(Problem(env_id=variant.env_id, description=variant.description, defaults=variant.kwargs, **_COMMON)
      for variant in VARIANTS.values()),
)
