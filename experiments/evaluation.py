"""Evaluation during training: a policy scored against the oracle, as a point of the learning curve.

Every evaluation uses the same episodes (seeds ``eval_seed`` onwards), so
successive points of a curve, and different agents, are paired. Returns and
regrets are in the env's reward units (bps of arrival notional for
execution); regret = oracle − policy, also in % of the oracle's |value|.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from execgym.distributions import market_set
from execgym.policy import Oracle, Policy
from execgym.registry import problem
from execgym.scoring import Estimate, ScoreResult, score
from execgym.set_scoring import SetScore, score_set

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


def _set_estimate(result: SetScore) -> dict[str, float]:
    """A set's score as a point's numbers: means over markets with their intervals across markets, the
    interquartile mean and the worst decile of the regret %, and the number of markets."""
    confidence = result.confidence
    policy, regret = Estimate.of(result.policy_return, confidence), Estimate.of(result.regret, confidence)
    return {"return": policy.mean, "return_half_width": policy.half_width,
            "oracle_return": float(result.oracle_return.mean()),
            "regret": regret.mean, "regret_half_width": regret.half_width,
            "regret_pct": result.mean.mean, "regret_pct_half_width": result.mean.half_width,
            "iqm_pct": result.iqm.mean, "iqm_pct_half_width": result.iqm.half_width,
            "worst_decile_pct": result.worst_decile.mean, "worst_decile_pct_half_width": result.worst_decile.half_width,
            "markets": len(result.indices)}


def evaluate_config(policy: Policy, config, steps: int, references: dict[str, Oracle] | None = None) -> dict[str, Any]:
    """One point of the learning curve of a run of ``config`` at ``steps``: :func:`evaluate` on its market, or,
    with ``env.markets``, the score on each set of :meth:`ExperimentConfig.market_sets` (:func:`execgym.score` with
    ``markets=``), under the set's name, the first one's also at the top level (the run's score)."""
    training = config.training
    if config.env.markets is None:
        return evaluate(policy, config.env.id, config.env_params(), training.eval_episodes, training.eval_seed, steps,
                        references)
    point: dict[str, Any] = {"steps": steps}
    for index, markets in enumerate(config.market_sets()):
        result = score_set(policy, config.env.id, markets, training.eval_episodes_per_market, seed=training.eval_seed,
                           observe_market=config.env.observe_market, **config.env.params)
        estimate = _set_estimate(result)
        if index == 0:
            point.update({key: value for key, value in estimate.items() if key in _POINT_KEYS})
        point[result.set_name] = estimate
    return point


_POINT_KEYS = ("return", "return_half_width", "oracle_return", "regret", "regret_half_width", "regret_pct",
               "regret_pct_half_width")


def layout(config) -> dict:
    """The TensorBoard custom-scalars layout of a run of ``config``: :data:`TENSORBOARD_LAYOUT`, and with
    ``env.markets`` the regret % of every evaluation set together and each set's mean, IQM and worst decile."""
    if config.env.markets is None:
        return TENSORBOARD_LAYOUT
    splits = [markets if isinstance(markets, str) else markets.name for markets in config.market_sets()]
    markets = {"regret % per set (mean over markets)": ["Multiline", [f"eval_{split}/regret_pct" for split in splits]]}
    for split in splits:
        markets[f"{split}: mean, IQM and worst decile of the regret %"] = [
            "Multiline", [f"eval_{split}/regret_pct", f"eval_{split}/iqm_pct", f"eval_{split}/worst_decile_pct"]]
        markets[f"{split}: regret % with its 95 % CI"] = [
            "Margin", [f"eval_{split}/regret_pct", f"eval_{split}/regret_pct_low", f"eval_{split}/regret_pct_high"]]
    return {**TENSORBOARD_LAYOUT, "markets": markets}


def tensorboard_scalars(point: dict[str, Any]) -> dict[str, float]:
    """The point's scalars under TensorBoard tags (see :func:`layout`)."""
    scalars = {"eval/return": point["return"], "eval/oracle_return": point["oracle_return"],
               "eval/regret": point["regret"], "eval/regret_pct": point["regret_pct"],
               "eval/regret_pct_low": point["regret_pct"] - point["regret_pct_half_width"],
               "eval/regret_pct_high": point["regret_pct"] + point["regret_pct_half_width"]}
    for name, value in point.items():
        if isinstance(value, dict) and "markets" in value:      # a set of markets
            scalars.update({f"eval_{name}/{key}": value[key] for key in (
                "regret_pct", "iqm_pct", "worst_decile_pct", "oracle_return", "return")})
            scalars[f"eval_{name}/regret_pct_low"] = value["regret_pct"] - value["regret_pct_half_width"]
            scalars[f"eval_{name}/regret_pct_high"] = value["regret_pct"] + value["regret_pct_half_width"]
        elif isinstance(value, dict):
            scalars[f"eval_vs_{name}/regret_pct"] = value["regret_pct"]
            scalars[f"eval_vs_{name}/oracle_return"] = value["oracle_return"]
    return scalars


def observation_paths(policy: Policy, env_id: str, params, seeds: np.ndarray, observe_market=False) -> np.ndarray:
    """Observations along one episode per seed in the market ``params``: (steps + 1, episodes, observation
    size), first episodes only (an episode that ends keeps its last observation); with ``observe_market`` (True
    or "index") each ends with what an env drawing markets shows of its market (a policy trained on several
    markets acts on it; "index": ``params`` is market 0)."""
    spec = problem(env_id)
    if observe_market is not False:
        env = spec.vector_env_class(num_envs=len(seeds), markets=market_set(env_id, [params]),
                                    observe_market=observe_market)
    else:
        env = spec.vector_env_class(num_envs=len(seeds), params=params)
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
