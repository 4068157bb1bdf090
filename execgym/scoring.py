"""Score any policy against the exact optimum, with common random numbers.

:func:`score` runs ``episodes`` episodes of the policy and of the oracle on the
same seeds (seed, seed + 1, ...), so both face the same market, and reports:

* the policy's mean return E[Σ reward] with a 95 % confidence interval;
* the oracle's exact value and its Monte-Carlo estimate on the same episodes;
* the regret, oracle − policy (≥ 0 in expectation), from the paired
  per-episode differences, in the env's reward units (bps for execution) and
  in % of the oracle's |value|, each with its confidence interval;
* the terminal values of per-episode ``info`` entries such as ``shortfall``.

Intervals use Student's t on the episode sample. For execution envs the
return is minus the cost, so the regret is the policy's extra cost.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from execgym.policy import Oracle, Policy
from execgym.registry import problem

MAX_BATCH = 65_536


@dataclass(frozen=True)
class Estimate:
    """A sample mean with the half-width of its confidence interval and the sample's standard deviation."""

    mean: float
    half_width: float
    std: float

    @classmethod
    def of(cls, sample: np.ndarray, confidence: float = 0.95, scale: float = 1.0) -> "Estimate":
        """The estimate of ``sample``'s mean, all numbers multiplied by ``scale``; with one value the
        standard deviation and the interval are undefined (nan)."""
        sample = np.asarray(sample, dtype=np.float64) * scale
        n = sample.shape[0]
        if n < 2:
            return cls(mean=float(sample.mean()), half_width=float("nan"), std=float("nan"))
        std = float(sample.std(ddof=1))
        quantile = float(stats.t.ppf(0.5 + confidence / 2.0, n - 1))
        return cls(mean=float(sample.mean()), half_width=quantile * std / np.sqrt(n), std=std)

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width

    def __str__(self) -> str:
        """``mean ± half-width``; ``mean (one value: no interval)`` where the interval is undefined."""
        if math.isnan(self.half_width):
            return f"{self.mean:.4g} (one value: no interval)"
        return f"{self.mean:.4g} ± {self.half_width:.2g}"


@dataclass(frozen=True)
class ScoreResult:
    """What :func:`score` measured. Returns and regrets are in ``units`` per episode."""

    env_id: str
    episodes: int
    seed: int
    units: str
    policy_return: Estimate
    oracle_return: float
    oracle_return_mc: Estimate
    regret: Estimate
    regret_pct: Estimate
    info: dict[str, Estimate] = field(default_factory=dict)

    def summary(self) -> str:
        """A few lines for a terminal."""
        lines = [f"{self.env_id}: {self.episodes} episodes from seed {self.seed}",
                 f"  policy return   {self.policy_return} {self.units}",
                 f"  oracle return   {self.oracle_return:.4g} {self.units} exact, "
                 f"{self.oracle_return_mc} Monte Carlo",
                 f"  regret          {self.regret} {self.units}  ({self.regret_pct} %)"]
        lines += [f"  {name:<15} {estimate}" for name, estimate in self.info.items()]
        return "\n".join(lines)


def run_episodes(policy: Policy, env_id: str, seeds: np.ndarray, params,
                 info_keys: tuple[str, ...] = ()) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """One episode per seed on the native vector env: returns (n,) and terminal ``info_keys`` values (n,)."""
    spec = problem(env_id)
    returns = np.zeros(seeds.shape[0])
    finals = {key: np.full(seeds.shape[0], np.nan) for key in info_keys}
    for start in range(0, seeds.shape[0], MAX_BATCH):
        chunk = seeds[start:start + MAX_BATCH]
        env = spec.vector_env_class(num_envs=chunk.shape[0], params=params)
        obs, _ = env.reset(seed=chunk.tolist())
        done = np.zeros(chunk.shape[0], dtype=bool)
        while not done.all():
            obs, reward, terminated, truncated, info = env.step(policy(obs))
            returns[start:start + chunk.shape[0]] += np.where(done, 0.0, reward)
            ended = (terminated | truncated) & ~done
            final = info.get("final_info", {})
            for key in info_keys:
                if key in final:
                    finals[key][start:start + chunk.shape[0]][ended] = final[key][ended]
            done |= ended
    return returns, finals


def score(policy: Policy, env_id: str = "OptimalExec-v0", episodes: int = 10_000, seed: int = 0,
          confidence: float = 0.95, info_keys: tuple[str, ...] = ("shortfall",), params=None,
          oracle: Oracle | None = None, **kwargs) -> ScoreResult:
    """Score ``policy`` against ``env_id``'s oracle on ``episodes`` paired episodes.

    Parameters of the env come as ``params=`` (its params object) or keyword
    arguments. ``info_keys`` names terminal ``info`` entries to summarise
    (those the env does not report are skipped). ``oracle`` replaces the env's
    own oracle as the reference, e.g. the exact optimum of a discretised
    version of the problem (its ``expected_return`` must be exact in this env).
    """
    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 2:
        raise ValueError(f"episodes must be an integer >= 2, got {episodes!r}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    spec = problem(env_id)
    params = spec.params(params, **kwargs)
    oracle = spec.oracle_factory(params) if oracle is None else oracle
    seeds = seed + np.arange(episodes, dtype=np.int64)
    policy_returns, finals = run_episodes(policy, env_id, seeds, params, info_keys)
    oracle_returns, _ = run_episodes(oracle.policy, env_id, seeds, params)
    regrets = oracle_returns - policy_returns
    scale = 100.0 / abs(oracle.expected_return) if oracle.expected_return != 0 else np.nan
    return ScoreResult(
        env_id=spec.env_id, episodes=episodes, seed=seed, units=spec.reward_units,
        policy_return=Estimate.of(policy_returns, confidence),
        oracle_return=oracle.expected_return,
        oracle_return_mc=Estimate.of(oracle_returns, confidence),
        regret=Estimate.of(regrets, confidence),
        regret_pct=Estimate.of(regrets, confidence, scale=scale),
        info={key: Estimate.of(values, confidence) for key, values in finals.items()
              if not np.isnan(values).all()})
