"""BasketSequence-v0."""

from execgym.problems import Problem, ViewSpec
from execgym.problems.basket_sequence import dynamics, oracle, policies
from execgym.problems.basket_sequence.env import BasketSequenceEnv, BasketSequenceVectorEnv
from execgym.problems.basket_sequence.grid import BasketGrid
from execgym.problems.basket_sequence.params import BasketSequenceParams

SPECS = (
    Problem(
        env_id="BasketSequence-v0",
        description="Order of n basket trades with path-dependent cross-impact cost; oracle: Held–Karp DP, "
                    "O(n²·2ⁿ), exact up to 16 trades",
        params_class=BasketSequenceParams, env_class=BasketSequenceEnv, vector_env_class=BasketSequenceVectorEnv,
        oracle_factory=oracle.make_oracle, oracle_cost=oracle.build_cost, reward_units="bps",
        action_masks=dynamics.observation_masks, baselines=policies.baselines, tabular_view=ViewSpec(BasketGrid),
        order=30),
)
