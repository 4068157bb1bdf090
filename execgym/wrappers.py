"""Rewards without the noise the agent cannot act on: each step's reward replaced by its conditional expectation
given the state and the action, which every problem of the suite reports (``info["expected_reward"]``, its
step's ``Report.expected_reward``): OptimalExec, PortfolioExec and TwapVwapSwitch, the reward without the price
shocks' term; BasketSequence, minus the trade's expected cost; MarketMaking and LimitOrMarket, the reward
averaged over the step's fills and price move.

The expected rewards of an episode sum to a return whose expectation is the env's for every policy that does
not see the future (the tower property, step by step), so each policy keeps its value and the optimal policy
and the oracle's value are unchanged; the return's variance loses the noise's share. For agents that is a
variance-reduced learning signal; for scoring, a lower-variance estimate of the same expected return.

    venv = ExpectedVectorRewards(gym.make_vec("OptimalExec-v0", num_envs=64, markets="train"))
    env = ExpectedRewards(gym.make("OptimalExec-v0"))

An expected reward that is not finite (MarketMaking's exponential utility of a loss beyond float64, where the
expectation reaches it before the realised utility does) raises ValueError naming the slot.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorWrapper

from execgym.vector_info import step_values

EXPECTED_REWARD = "expected_reward"


def reports_expected_rewards(env) -> bool:
    """Whether ``env`` (an env or vector env, or a wrapper of one) reports ``info["expected_reward"]``: every
    env of the suite does."""
    problem = getattr(env.unwrapped, "problem", None)
    return problem is not None and EXPECTED_REWARD in problem.dynamics.Report._fields


def _checked(env) -> None:
    """ValueError unless ``env`` reports expected rewards."""
    if not reports_expected_rewards(env):
        raise ValueError(f"{env.unwrapped.spec.id if env.unwrapped.spec else type(env.unwrapped).__name__} does "
                         "not report the expected reward of a step (info['expected_reward']): the envs of execgym "
                         "do")


def _finite(rewards: np.ndarray) -> np.ndarray:
    """``rewards`` (n,), or ValueError naming the first slot whose expected reward is not finite."""
    bad = np.flatnonzero(~np.isfinite(rewards))
    if bad.size:
        where = f" of slot {bad[0]}" if rewards.size > 1 else ""
        raise ValueError(f"the expected reward{where} is {rewards[bad[0]]} (not finite): with MarketMaking's "
                         "objective='cara', the expected utility of a loss beyond float64; lower risk_aversion")
    return rewards


class ExpectedRewards(gym.Wrapper):
    """A scalar env whose reward is ``info["expected_reward"]`` (module docstring)."""

    def __init__(self, env: gym.Env) -> None:
        _checked(env)
        super().__init__(env)

    def step(self, action):
        observation, _, terminated, truncated, info = self.env.step(action)
        return observation, float(_finite(np.array([info[EXPECTED_REWARD]]))[0]), terminated, truncated, info


class ExpectedVectorRewards(VectorWrapper):
    """A vector env (SAME_STEP autoreset) whose rewards are each slot's ``expected_reward`` (module docstring)."""

    def __init__(self, env) -> None:
        _checked(env)
        if env.metadata.get("autoreset_mode") != AutoresetMode.SAME_STEP:
            raise ValueError("ExpectedVectorRewards reads the ended episodes' last step from final_info: it needs a "
                             "vector env in SAME_STEP autoreset mode (every execgym vector env)")
        super().__init__(env)

    def step(self, actions):
        observations, _, terminated, truncated, info = self.env.step(actions)
        rewards = np.asarray(step_values(info, EXPECTED_REWARD, terminated | truncated), dtype=np.float64)
        return observations, _finite(rewards), terminated, truncated, info
