"""Every env's speed at this tree against an earlier revision, measured side by side.

    python -m experiments.benchmarks.revision_speed --against REV [--rounds 3] [--envs ID ...]

Checks ``REV`` out into a temporary git worktree and, for every registered env
that both trees have, runs one worker process per tree in turn, ``--rounds``
times (the trees alternate, so load on the machine hits both alike); each
worker imports ``execgym`` from its tree and times, in ns per agent-step:

* the scalar env through ``gym.make``, stepping a fixed action for
  :data:`SCALAR_STEPS` steps, resetting at episode ends;
* the native vector env at 16,384 slots sharing one market;
* on this tree only, the same with a different market in every slot
  (:func:`experiments.benchmarks.speed.slot_markets`' field, spread over ±25 %).

Each entry is the best of its worker's runs and of the rounds. Prints one
markdown table: before, after, the speed ratio after/before (above 1: faster
now) and, for the market-per-slot row, its speed relative to the earlier
revision's shared market. Writes it to ``REVISION_SPEED.md`` beside this file.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TABLE = Path(__file__).parent / "REVISION_SPEED.md"
ROOT = Path(__file__).resolve().parents[2]
SLOTS = 16_384
SCALAR_STEPS = 20_000
VECTOR_CALLS = 36
"""Vector steps per timed run: about 590,000 agent-steps, three episodes of OptimalExec-v0."""
RUNS = 5
"""Timed runs per measurement within one worker (after one untimed run that compiles)."""


def _best_ns(run) -> float:
    """ns per agent-step of ``run`` (a callable returning its agent-steps): the best of :data:`RUNS` timed calls
    after one that compiles."""
    steps = run()
    best = float("inf")
    for _ in range(RUNS):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best / steps * 1e9


def worker(env_id: str, per_slot_field: str | None) -> dict:
    """The timings of ``env_id`` in the tree this process imports ``execgym`` from (module docstring). Run as a
    script, so this file's folder is on the path and its :mod:`timing` is this tree's."""
    import gymnasium as gym
    from timing import action_cycle, scalar_steps, vector_steps

    import execgym  # noqa: F401  (registers the envs)

    env = gym.make(env_id)
    timings = {"scalar": _best_ns(scalar_steps(env, action_cycle(env_id, env.action_space), SCALAR_STEPS))}
    vectors = {"shared": gym.make_vec(env_id, num_envs=SLOTS, vectorization_mode="vector_entry_point")}
    if per_slot_field is not None:
        params = env.unwrapped.params
        value = getattr(params, per_slot_field)
        markets = [dataclasses.replace(params, **{per_slot_field: value * (0.75 + 0.5 * i / SLOTS)})
                   for i in range(SLOTS)]
        vectors["per slot"] = gym.make_vec(env_id, num_envs=SLOTS, markets=markets)
    for name, venv in vectors.items():
        timings[name] = _best_ns(vector_steps(venv, action_cycle(env_id, venv.single_action_space), VECTOR_CALLS))
    return timings


def _run_worker(tree: Path, env_id: str, per_slot_field: str | None) -> dict:
    """:func:`worker` in a fresh process importing ``execgym`` from ``tree``."""
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", env_id]
    if per_slot_field is not None:
        command += ["--per-slot-field", per_slot_field]
    environment = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(command, env=environment, cwd=tempfile.gettempdir(), capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the worker for {env_id} in {tree} failed:\n{done.stderr[-3000:]}")
    timings = json.loads(done.stdout.strip().splitlines()[-1])
    package = Path(timings.pop("package")).resolve()
    if tree.resolve() not in package.parents:
        raise RuntimeError(f"the worker for {tree} imported execgym from {package}: an installed execgym shadows "
                           f"PYTHONPATH")
    return timings


def _env_ids(tree: Path) -> list[str]:
    """The ids registered by the execgym of ``tree``."""
    code = "import json, gymnasium as gym, execgym; print(json.dumps(sorted(gym.registry)))"
    done = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(tree)},
                          cwd=tempfile.gettempdir(), capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(before: Path, env_ids: list[str], rounds: int) -> dict:
    """{(env, measurement): (before ns, after ns)}, the best of ``rounds`` alternating workers per tree."""
    from experiments.benchmarks.timing import PER_SLOT_FIELD

    best: dict = {}
    for round_number in range(rounds):
        for env_id in env_ids:
            timings = {"before": _run_worker(before, env_id, None),
                       "after": _run_worker(ROOT, env_id, PER_SLOT_FIELD.get(env_id, "volatility"))}
            for tree, measured in timings.items():
                for name, ns in measured.items():
                    key = (env_id, name, tree)
                    best[key] = min(best.get(key, float("inf")), ns)
            print(f"round {round_number + 1}/{rounds}: {env_id} measured", flush=True)
    return best


def table(best: dict, env_ids: list[str]) -> str:
    lines = ["| env | measurement | before, ns/agent-step | after, ns/agent-step | speed after / before |",
             "|---|---|---:|---:|---:|"]
    labels = {"scalar": "scalar, gym.make", "shared": f"native vector, {SLOTS:,} envs",
              "per slot": f"native vector, {SLOTS:,} envs, a market per slot (before: one shared market)"}
    for env_id in env_ids:
        for name, label in labels.items():
            before = best[(env_id, "shared" if name == "per slot" else name, "before")]
            after = best[(env_id, name, "after")]
            lines.append(f"| {env_id} | {label} | {before:.1f} | {after:.1f} | {before / after:.2f} |")
    return "\n".join(lines)


def _machine() -> str:
    import gymnasium as gym
    import numba
    import numpy as np

    from execgym.experiments.machine import cpu_model
    return (f"{cpu_model()}, {os.cpu_count()} cores; Python {platform.python_version()}, numpy {np.__version__}, "
            f"numba {numba.__version__}, gymnasium {gym.__version__}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", help="the earlier revision (a commit, tag or branch); required")
    parser.add_argument("--rounds", type=int, default=3, help="alternating workers per tree and env")
    parser.add_argument("--envs", nargs="*", help="env ids (default: every id both trees register)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--per-slot-field", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        import execgym
        print(json.dumps({"package": execgym.__file__, **worker(args.worker, args.per_slot_field)}))
        return
    if not args.against:
        parser.error("--against is required: the revision to measure this tree against")
    from execgym.atomic import write_text_atomically
    from execgym.registry import PROBLEMS

    started = time.perf_counter()
    commit = subprocess.run(["git", "rev-parse", "--short", args.against], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout.strip()
    with tempfile.TemporaryDirectory() as scratch:
        before = Path(scratch) / "before"
        subprocess.run(["git", "worktree", "add", "--detach", str(before), commit], cwd=ROOT, check=True,
                       capture_output=True)
        try:
            shared_ids = [env_id for env_id in PROBLEMS if env_id in _env_ids(before)]
            env_ids = args.envs or shared_ids
            best = measure(before, env_ids, args.rounds)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(before)], cwd=ROOT, check=False)
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout.strip()
    if subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True,
                      text=True, check=True).stdout.strip():
        head += " with uncommitted changes"
    command = f"python -m experiments.benchmarks.revision_speed --against {commit} --rounds {args.rounds}"
    if args.envs:
        command += " --envs " + " ".join(args.envs)
    text = (f"# Speed of this tree against an earlier revision, side by side\n\nLatest output of "
            f"`{command}` at "
            f"{head} ({time.perf_counter() - started:.0f} s): before = {commit}, after = {head}; best of "
            f"{args.rounds} alternating worker processes per tree, each the best of {RUNS} runs. Machine: "
            f"{_machine()}.\n\n{table(best, env_ids)}\n")
    print(text)
    write_text_atomically(TABLE, text)


if __name__ == "__main__":
    main()
