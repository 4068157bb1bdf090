"""execgym: Gymnasium environments for optimal execution, each with its provably optimal policy.

    import gymnasium as gym
    import execgym

    env = gym.make("OptimalExec-v0")                       # scalar env
    venv = gym.make_vec("OptimalExec-v0", num_envs=1024)   # natively batched
    oracle = execgym.make_oracle("OptimalExec-v0")         # optimal policy and exact value
    twap = execgym.make_baseline("OptimalExec-v0", "twap")  # a named baseline of the env
    result = execgym.score(oracle.policy, "OptimalExec-v0", episodes=10_000)
    execgym.score("twap", "OptimalExec-v0")               # a baseline by name; an SB3 model as it is
    execgym.score("vwap", "TwapVwapSwitch-v0", buckets=390, reference="twap")  # no oracle: against a baseline
    execgym.score("twap", "OptimalExec-v0", markets=[{"volatility": 1.0}, {"volatility": 2.0}])  # several markets
    oracles = execgym.make_oracles("OptimalExec-v0", [{"volatility": v} for v in (1.0, 2.0)])  # solved together

Stable-Baselines3 on the natively batched envs: :mod:`execgym.sb3` (``execgym.sb3.wrap(venv)``;
needs the ``agents`` extra, not imported here).
"""

from gymnasium.envs.registration import register

from execgym.policy import Oracle, OracleCost, Policy
from execgym.problems.optimal_exec.variants import VARIANTS
from execgym.registry import PROBLEMS, make_baseline, make_oracle
from execgym.scoring import MarketsScoreResult, OracleUnavailable, ScoreResult, make_oracles, score

__all__ = ["MarketsScoreResult", "Oracle", "OracleCost", "OracleUnavailable", "Policy", "PROBLEMS", "ScoreResult",
           "make_baseline", "make_oracle", "make_oracles", "score"]
__version__ = "0.1.0"

register(
    id="OptimalExec-v0",
    entry_point="execgym.problems.optimal_exec.env:OptimalExecEnv",
    vector_entry_point="execgym.problems.optimal_exec.env:OptimalExecVectorEnv",
)
# Variants of OptimalExec-v0 (execgym/problems/optimal_exec/variants.py): the same env with set kwargs.
for _variant in VARIANTS.values():
    register(
        id=_variant.env_id,
        entry_point="execgym.problems.optimal_exec.env:OptimalExecEnv",
        vector_entry_point="execgym.problems.optimal_exec.env:OptimalExecVectorEnv",
        kwargs=dict(_variant.kwargs),
    )
register(
    id="PortfolioExec-v0",
    entry_point="execgym.problems.portfolio_exec.env:PortfolioExecEnv",
    vector_entry_point="execgym.problems.portfolio_exec.env:PortfolioExecVectorEnv",
)
register(
    id="BasketSequence-v0",
    entry_point="execgym.problems.basket_sequence.env:BasketSequenceEnv",
    vector_entry_point="execgym.problems.basket_sequence.env:BasketSequenceVectorEnv",
)
register(
    id="MarketMaking-v0",
    entry_point="execgym.problems.market_making.env:MarketMakingEnv",
    vector_entry_point="execgym.problems.market_making.env:MarketMakingVectorEnv",
)
register(
    id="TwapVwapSwitch-v0",
    entry_point="execgym.problems.twap_vwap.env:TwapVwapEnv",
    vector_entry_point="execgym.problems.twap_vwap.env:TwapVwapVectorEnv",
)
register(
    id="LimitOrMarket-v0",
    entry_point="execgym.problems.limit_or_market.env:LimitOrMarketEnv",
    vector_entry_point="execgym.problems.limit_or_market.env:LimitOrMarketVectorEnv",
)
