"""Scoring speed on OptimalExec-v0 (default parameters), measured side by side in one process.

    python -m experiments.benchmarks.scoring_speed [--repeats 5]

Rows: :func:`execgym.score` (policy and oracle, paired) at 10,000 and 100,000
episodes, and the same 10,000 oracle episodes stepped through the native vector
env and through Gymnasium's ``SyncVectorEnv`` over scalar envs. Each time is
the best of ``--repeats`` runs, interleaved so that load on the machine hits
all rows alike. Prints a markdown table; the latest output is committed in
``experiments/benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import os
import platform

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, SyncVectorEnv

import execgym
from execgym.problems.optimal_exec.policies import twap
from execgym.problems.optimal_exec.env import OptimalExecEnv, OptimalExecVectorEnv
from execgym.problems.optimal_exec.params import OptimalExecParams
from execgym.experiments.machine import cpu_model
from experiments.benchmarks.timing import best_times


def one_episode_each(env, policy, episodes: int) -> float:
    """Step ``episodes`` slots through one episode each; returns the mean return."""
    obs, _ = env.reset(seed=0)
    total = np.zeros(episodes)
    for _ in range(OptimalExecParams().periods):
        obs, reward, *_ = env.step(policy(obs))
        total += reward
    return float(total.mean())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs per row; the best is reported")
    args = parser.parse_args(argv)
    params = OptimalExecParams()
    policy = twap(params)
    oracle = execgym.make_oracle("OptimalExec-v0")
    rows = {
        "score(), 10,000 episodes (policy + oracle)": lambda: execgym.score(policy, episodes=10_000),
        "score(), 100,000 episodes (policy + oracle)": lambda: execgym.score(policy, episodes=100_000),
        "10,000 oracle episodes, native vector env": lambda: one_episode_each(
            OptimalExecVectorEnv(num_envs=10_000), oracle.policy, 10_000),
        "10,000 oracle episodes, SyncVectorEnv": lambda: one_episode_each(
            SyncVectorEnv([lambda: OptimalExecEnv()] * 10_000, autoreset_mode=AutoresetMode.SAME_STEP),
            oracle.policy, 10_000),
    }
    best, _ = best_times(rows, args.repeats)
    native, sync = best["10,000 oracle episodes, native vector env"], best["10,000 oracle episodes, SyncVectorEnv"]
    print(f"Machine: {cpu_model()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, numpy {np.__version__}, gymnasium {gym.__version__}\n")
    print("| measurement | best time (s) |")
    print("|---|---|")
    for name, seconds in best.items():
        print(f"| {name} | {seconds:.4f} |")
    print(f"\nNative vector env vs SyncVectorEnv on the same 10,000 episodes: {sync / native:.0f}x faster.")


if __name__ == "__main__":
    main()
