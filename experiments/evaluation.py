"""Evaluation during training: a policy scored against the oracle, as a point of the learning curve.

Every evaluation uses the same episodes (seeds ``eval_seed`` onwards), so
successive points of a curve, and different agents, are paired. Returns and
regrets are in the env's reward units (bps of arrival notional for
execution); regret = oracle − policy, also in % of the oracle's |value|.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from execgym.policy import Oracle, Policy
from execgym.registry import problem
from execgym.scoring import ScoreResult, score

TENSORBOARD_LAYOUT = {
    "evaluation": {
        "return vs the oracle's exact value": ["Multiline", ["eval/return", "eval/oracle_return"]],
        "regret % with its 95 % CI": ["Margin", ["eval/regret_pct", "eval/regret_pct_low", "eval/regret_pct_high"]],
    },
}


def _estimate(result: ScoreResult) -> dict[str, float]:
    return {"return": result.policy_return.mean, "return_half_width": result.policy_return.half_width,
            "oracle_return": result.oracle_return,
            "regret": result.regret.mean, "regret_half_width": result.regret.half_width,
            "regret_pct": result.regret_pct.mean, "regret_pct_half_width": result.regret_pct.half_width}


def evaluate(policy: Policy, env_id: str, params, episodes: int, seed: int, steps: int,
             references: dict[str, Oracle] | None = None) -> dict[str, Any]:
    """One point of the learning curve at ``steps``: the score against the env's oracle, and against
    each reference optimum of ``references`` (e.g. a discretised problem's) under its name."""
    point: dict[str, Any] = {"steps": steps, **_estimate(score(policy, env_id, episodes=episodes, seed=seed,
                                                               params=params))}
    for name, oracle in (references or {}).items():
        point[name] = _estimate(score(policy, env_id, episodes=episodes, seed=seed, params=params, oracle=oracle))
    return point


def tensorboard_scalars(point: dict[str, Any]) -> dict[str, float]:
    """The point's scalars under TensorBoard tags (see :data:`TENSORBOARD_LAYOUT`)."""
    scalars = {"eval/return": point["return"], "eval/oracle_return": point["oracle_return"],
               "eval/regret": point["regret"], "eval/regret_pct": point["regret_pct"],
               "eval/regret_pct_low": point["regret_pct"] - point["regret_pct_half_width"],
               "eval/regret_pct_high": point["regret_pct"] + point["regret_pct_half_width"]}
    for name, value in point.items():
        if isinstance(value, dict):
            scalars[f"eval_vs_{name}/regret_pct"] = value["regret_pct"]
            scalars[f"eval_vs_{name}/oracle_return"] = value["oracle_return"]
    return scalars


def observation_paths(policy: Policy, env_id: str, params, seeds: np.ndarray) -> np.ndarray:
    """Observations along one episode per seed: (steps + 1, episodes, observation size), first episodes only
    (an episode that ends keeps its last observation)."""
    env = problem(env_id).vector_env_class(num_envs=len(seeds), params=params)
    obs, _ = env.reset(seed=[int(seed) for seed in seeds])
    paths = [obs.copy()]
    done = np.zeros(len(seeds), dtype=bool)
    while not done.all():
        obs, _, terminated, truncated, info = env.step(policy(obs))
        ended = terminated | truncated
        final = np.where(ended[:, None], info["final_obs"], obs) if ended.any() else obs
        paths.append(np.where(done[:, None], paths[-1], final))
        done |= ended
    return np.stack(paths)
