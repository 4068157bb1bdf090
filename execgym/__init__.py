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
    venv = gym.make_vec("OptimalExec-v0", num_envs=64, markets="train")   # a market per episode, drawn
    execgym.score("median_oracle", "OptimalExec-v0", markets="test")      # regret per held-out market

Every problem lives in its folder, ``execgym/problems/<name>/``, whose ``spec.py`` lists its env ids
(:class:`Problem` records); importing execgym registers them all. A problem defined elsewhere joins the suite,
Gymnasium's registry and, if its spec names one, the tabular views with ``execgym.register_problem(spec)``.

Stable-Baselines3 on the natively batched envs: :mod:`execgym.sb3` (``execgym.sb3.wrap(venv)``;
needs the ``agents`` extra, not imported here).
"""

from execgym.distributions import MarketSet, market_set
from execgym.policy import Oracle, OracleCost, Policy
from execgym.registry import PROBLEMS, Problem, ViewSpec, make_baseline, make_oracle
from execgym.registry import add_problem as register_problem
from execgym.scoring import MarketsScoreResult, OracleUnavailable, ScoreResult, make_oracles, score
from execgym.set_scoring import SetScore

__all__ = ["MarketSet", "MarketsScoreResult", "Oracle", "OracleCost", "OracleUnavailable", "Policy", "PROBLEMS",
           "Problem", "ScoreResult", "SetScore", "ViewSpec", "make_baseline", "make_oracle", "make_oracles", "market_set",
           "register_problem", "score"]
__version__ = "0.1.0"
# Importing execgym.registry registered every problem of execgym/problems/ (its spec.py) with Gymnasium.
