"""MarketMaking-v0: the oracle's solve time and the native vector env against SyncVectorEnv, in one process.

    python -m experiments.benchmarks.market_making [--repeats 5] [--sync-envs 1024]

**Oracle.** :func:`execgym.problems.market_making.oracle.solve` (the backward
induction alone) and :func:`~execgym.problems.market_making.oracle.make_oracle`
(the same plus the policy object) on N = 200 steps × 101 inventory levels
(Q̄ = 50) for three parameter sets: the defaults (continuous depths, risk
neutral), quotes on a tick grid (tick_size 0.25, so 21 depths per side and
21 × 21 = 441 (bid, ask) pairs searched exhaustively per level and step) and
the exponential-utility objective ("cara", risk_aversion 0.1). Target: under
0.1 s (solve and make_oracle), judged on wall time and, since the machine may
be shared, on process CPU time (best of each). Each run is a fresh Python
process (``--oracle-worker``) that solves once to warm up, then times one
solve and one make_oracle, and reports the timed solve's user and system CPU
time and minor page faults (``getrusage``). Solvers that allocate large
temporaries afresh at every step can spend much of their time in the kernel
handing out zeroed pages, which cProfile does not show, and how much depends
on glibc's heap state (its mmap and trim thresholds adapt to the largest block
freed so far): in one process a case runs faster after a case with larger
temporaries than on its own, hence one process per run.

**Env stepping.** Agent-steps per second (episodes × steps / wall time) of the
native :class:`MarketMakingVectorEnv` at 16,384 parallel episodes (and at the
SyncVectorEnv's size, for a same-size ratio) against Gymnasium's
``SyncVectorEnv(..., autoreset_mode=AutoresetMode.SAME_STEP)`` over scalar
:class:`MarketMakingEnv` instances built directly (no ``gym.make`` wrappers,
the cheapest scalar env), by default 1,024 of them: 16,384 scalar envs take
about 3 s to build and 2–4 s per vector step, 7–13 minutes per timed
episode. Every row is reset with seed 0 (untimed), then takes the same 200
vector steps, one whole episode per slot, so each slot autoresets exactly once
(at the last step, which returns ``final_obs``/``final_info``); the timed
loop is ``env.step`` on fixed uniform random actions in [−1, 1] drawn up front,
plus keeping a reference to each step's reward array. Both envs do the whole
Gymnasium step: action checks and mapping to depths, the fill and price noise,
observations, the info dict with its masks, and the SAME_STEP autoreset.
Slot i of both envs plays seed i, so the rewards of the first slots must
agree (checked). Target: native at least 100× the SyncVectorEnv's
agent-steps/s.

Times are the best of ``--repeats`` runs, interleaved so that load on the
machine hits every row alike. BLAS runs on one thread (``OPENBLAS_NUM_THREADS
=1``, set before numpy is imported unless already set), as in the other
benchmarks, although nothing measured here calls BLAS. A row that misses its
target (an oracle case on CPU time, the env ratio) is profiled with cProfile
(one extra run) and its top functions by own time are printed. The latest
output is committed in ``experiments/benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import os
import sys

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
_NUMPY_PRELOADED = "numpy" in sys.modules

import argparse  # noqa: E402
import cProfile  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import pstats  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from typing import Callable  # noqa: E402

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
from gymnasium.vector import AutoresetMode, SyncVectorEnv  # noqa: E402

from execgym.problems.market_making.env import MarketMakingEnv, MarketMakingVectorEnv  # noqa: E402
from execgym.problems.market_making.oracle import make_oracle, solve  # noqa: E402
from execgym.problems.market_making.params import MarketMakingParams  # noqa: E402
from execgym.experiments.machine import cpu_model  # noqa: E402

ORACLE_TARGET_SECONDS = 0.1
SPEEDUP_TARGET = 100.0
NATIVE_ENVS = 16_384
SEED = 0
PROFILE_ROWS = 10

ORACLE_CASES = {
    "default (continuous depths, risk neutral)": MarketMakingParams(),
    "tick grid (tick_size 0.25, 21 × 21 pairs)": MarketMakingParams(tick_size=0.25),
    "cara (risk_aversion 0.1, continuous depths)": MarketMakingParams(objective="cara", risk_aversion=0.1),
}


def machine_line() -> str:
    blas = os.environ.get("OPENBLAS_NUM_THREADS")
    note = " (numpy was imported first: the setting may not apply)" if _NUMPY_PRELOADED else ""
    return (f"Machine: {cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"numpy {np.__version__}, gymnasium {gym.__version__}; OPENBLAS_NUM_THREADS={blas}{note}")


def load_average() -> str:
    try:
        return "/".join(f"{load:.2f}" for load in os.getloadavg())
    except OSError:
        return "unknown"


def short_path(path: str) -> str:
    """``path`` from the package root (numpy/..., execgym/...) or as given for built-ins."""
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1]
    return os.path.relpath(path) if path.startswith("/") else path


def profile(run: Callable[[], object], title: str) -> None:
    """cProfile one call of ``run``; print its top functions by own time as a markdown table."""
    profiler = cProfile.Profile()
    profiler.enable()
    run()
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = stats.total_tt
    rows = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)[:PROFILE_ROWS]
    print(f"\nProfile of {title} ({total:.3f} s under cProfile), top {PROFILE_ROWS} by own time:\n")
    print("| function | calls | own (s) | own (%) | cumulative (s) |")
    print("|---|---:|---:|---:|---:|")
    for (path, line, name), (_, calls, own, cumulative, _) in rows:
        where = f"{short_path(path)}:{line}({name})".replace("|", "\\|")
        print(f"| `{where}` | {calls} | {own:.3f} | {100 * own / total:.0f} | {cumulative:.3f} |")


def oracle_worker(case: str) -> None:
    """In a fresh process: solve ``case`` once to warm up, then time one solve (wall, CPU, ``getrusage``)
    and one make_oracle; print them as JSON."""
    params = ORACLE_CASES[case]
    solve(params)
    try:
        import resource
        usage = lambda: resource.getrusage(resource.RUSAGE_SELF)  # noqa: E731
    except ImportError:
        usage = None
    before = usage() if usage else None
    start, start_cpu = time.perf_counter(), time.process_time()
    solve(params)
    wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    after = usage() if usage else None
    start, start_cpu = time.perf_counter(), time.process_time()
    oracle = make_oracle(params)
    print(json.dumps({
        "solve_wall": wall, "solve_cpu": cpu,
        "oracle_wall": time.perf_counter() - start, "oracle_cpu": time.process_time() - start_cpu,
        "expected_return": oracle.expected_return,
        "user": after.ru_utime - before.ru_utime if usage else None,
        "system": after.ru_stime - before.ru_stime if usage else None,
        "faults": after.ru_minflt - before.ru_minflt if usage else None,
    }))


def run_worker(case: str) -> dict:
    command = [sys.executable, "-m", "experiments.benchmarks.market_making", "--oracle-worker", case]
    return json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)


def oracle_section(repeats: int) -> None:
    best: dict[str, dict] = {}
    for _ in range(repeats):
        for case in ORACLE_CASES:
            run = run_worker(case)
            if case not in best:
                best[case] = run
                continue
            for key in ("solve_wall", "solve_cpu", "oracle_wall", "oracle_cpu"):
                best[case][key] = min(best[case][key], run[key])
            if run["solve_cpu"] <= best[case]["solve_cpu"]:
                best[case].update({key: run[key] for key in ("user", "system", "faults")})
    print(f"### Oracle: backward induction, N = 200 steps × 101 inventory levels (best of {repeats}, interleaved, "
          "each run in a fresh process after one warm-up solve)\n")
    target = f"< {ORACLE_TARGET_SECONDS:g} s"
    print(f"| case | solve, wall (s) | solve, CPU (s) | make_oracle, wall (s) | make_oracle, CPU (s) | "
          f"expected_return | {target}, wall | {target}, CPU | user CPU (s) | system CPU (s) | minor page faults |")
    print("|---|---:|---:|---:|---:|---:|---|---|---:|---:|---:|")
    missed = []
    for case, run in best.items():
        met_wall = max(run["solve_wall"], run["oracle_wall"]) < ORACLE_TARGET_SECONDS
        met_cpu = max(run["solve_cpu"], run["oracle_cpu"]) < ORACLE_TARGET_SECONDS
        if not met_cpu:
            missed.append(case)
        usage = ("— | — | — |" if run["faults"] is None else
                 f"{run['user']:.3f} | {run['system']:.3f} | {run['faults']:,} |")
        print(f"| {case} | {run['solve_wall']:.4f} | {run['solve_cpu']:.4f} | {run['oracle_wall']:.4f} | "
              f"{run['oracle_cpu']:.4f} | {run['expected_return']:.6f} | {'met' if met_wall else 'not met'} | "
              f"{'met' if met_cpu else 'not met'} | {usage}")
    print("\nUser CPU, system CPU and minor page faults (`getrusage`) are those of the solve with the best CPU time.")
    for case in missed:
        solve(ORACLE_CASES[case])
        profile(lambda: solve(ORACLE_CASES[case]), f"solve, {case} (after one warm-up solve)")


def run_episode(env, actions: np.ndarray) -> tuple[float, list]:
    """Reset ``env`` with seed 0 (untimed), then time ``len(actions)`` steps; returns (seconds, rewards)."""
    env.reset(seed=SEED)
    rewards = []
    start = time.perf_counter()
    for action in actions:
        rewards.append(env.step(action)[1])
    return time.perf_counter() - start, rewards


def env_section(repeats: int, sync_envs: int) -> None:
    params = MarketMakingParams()
    steps = params.steps
    actions = np.random.default_rng(SEED).uniform(-1.0, 1.0, (steps, NATIVE_ENVS, 2)).astype(np.float32)
    start = time.perf_counter()
    sync = SyncVectorEnv([lambda: MarketMakingEnv()] * sync_envs, autoreset_mode=AutoresetMode.SAME_STEP)
    sync_build = time.perf_counter() - start
    start = time.perf_counter()
    native = MarketMakingVectorEnv(num_envs=NATIVE_ENVS)
    native_build = time.perf_counter() - start
    native_small = MarketMakingVectorEnv(num_envs=sync_envs)
    few = actions[:, :sync_envs]
    rows = {
        (f"native MarketMakingVectorEnv, {NATIVE_ENVS:,} envs", NATIVE_ENVS): (native, actions),
        (f"native MarketMakingVectorEnv, {sync_envs:,} envs", sync_envs): (native_small, few),
        (f"SyncVectorEnv (SAME_STEP) over MarketMakingEnv, {sync_envs:,} envs", sync_envs): (sync, few),
    }
    best = {key: float("inf") for key in rows}
    rewards = {}
    for _ in range(repeats):
        for key, (env, env_actions) in rows.items():
            seconds, rewards[key] = run_episode(env, env_actions)
            best[key] = min(best[key], seconds)
    print(f"### Env stepping: {steps} steps of fixed random actions, one episode per slot with its SAME_STEP "
          f"autoreset (best of {repeats}, interleaved)\n")
    print("| env | episodes | step (ms) | per agent-step (µs) | agent-steps/s |")
    print("|---|---:|---:|---:|---:|")
    rate = {}
    for key, seconds in best.items():
        name, envs = key
        rate[key] = envs * steps / seconds
        print(f"| {name} | {envs:,} | {1e3 * seconds / steps:.3f} | {1e6 * seconds / (envs * steps):.3f} | "
              f"{rate[key]:,.0f} |")
    big, small, scalar = rows
    ratio, same_size = rate[big] / rate[scalar], rate[small] / rate[scalar]
    met = ratio >= SPEEDUP_TARGET
    print(f"\nNative at {NATIVE_ENVS:,} envs vs SyncVectorEnv at {sync_envs:,}, agent-steps/s: {ratio:,.0f}x "
          f"(target >= {SPEEDUP_TARGET:g}x: {'met' if met else 'not met'}); at the same {sync_envs:,} envs: "
          f"{same_size:,.0f}x.")
    sync_rewards, native_rewards = np.stack(rewards[scalar]), np.stack(rewards[big])[:, :sync_envs]
    same = np.array_equal(sync_rewards, native_rewards)
    print(f"Build time: SyncVectorEnv of {sync_envs:,} scalar envs {sync_build:.2f} s, native of "
          f"{NATIVE_ENVS:,} {1e3 * native_build:.2f} ms. Rewards of the first {sync_envs:,} slots over the "
          f"{steps} steps: {'identical' if same else 'DIFFERENT'} between native and SyncVectorEnv"
          + ("" if same else f" (max abs diff {np.abs(sync_rewards - native_rewards).max():.3g})") + ".")
    if not met:
        profile(lambda: run_episode(native, actions), f"the native env, {NATIVE_ENVS:,} envs, {steps} steps")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs per row; the best is reported")
    parser.add_argument("--sync-envs", type=int, default=1_024,
                        help="scalar envs in the SyncVectorEnv (16384 takes minutes per run)")
    parser.add_argument("--oracle-worker", choices=ORACLE_CASES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.oracle_worker:
        oracle_worker(args.oracle_worker)
        return
    if not 1 <= args.sync_envs <= NATIVE_ENVS:
        parser.error(f"--sync-envs must be in 1..{NATIVE_ENVS}")
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    before = load_average()
    print(machine_line() + "\n")
    oracle_section(args.repeats)
    print()
    env_section(args.repeats, args.sync_envs)
    print(f"\nLoad average (1/5/15 min) before: {before}, after: {load_average()}.")


if __name__ == "__main__":
    main()
