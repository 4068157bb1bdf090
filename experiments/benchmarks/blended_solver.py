"""The blended quadratic schedule: execgym's O(N) solver against cvxpy, side by side in one process.

    python -m experiments.benchmarks.blended_solver [--repeats 5]

Needs cvxpy (``pip install cvxpy``), which execgym itself does not depend on.

The instance is one trading day of N periods (N = 78 five-minute bars, and N = 10,000):
a U-shaped intraday volume V_t carrying 2,000,000 shares, a U-shaped half-spread plus a
drift that makes later periods dearer (a_t, $/share), temporary impact b_t = 2η / V_t with
η = 0.1 $/share, smoothness c = 0.1·mean(b), target penalty ρ = 10·max(b), Q = 100,000
shares, and, for the boxed rows, 0 ≤ x_t ≤ 8 % of V_t (binding in many periods).

cvxpy is used as a user would write it: the objective in cvxpy atoms, ``Problem.solve()``
once with cvxpy's default choice of solver and once with Clarabel at tolerances of 1e-12,
each time building the problem anew. A run of a row averages as many calls as fit in
20 ms (at least one); each time is the best of ``--repeats`` runs, interleaved so that load
on the machine hits every row alike; "solver alone" is the best time the solver reported
for itself, without cvxpy's modelling and compilation. Both objectives are C(x)
evaluated by the same numpy expression; "gap" is (C(x_cvxpy) − C(x_ours)) / |C(x_ours)|.
"""

from __future__ import annotations

import argparse
import os
import platform

import numpy as np

from execgym.solvers.allocation import BlendedSolution, blended_schedule
from execgym.experiments.machine import cpu_model
from experiments.benchmarks.timing import per_call

SIZES = (78, 10_000)
TOLERANCE = 1e-8


def instance(n: int) -> dict:
    """The intraday instance of the module docstring with N = n periods."""
    t = (np.arange(n) + 0.5) / n
    volume = 2e6 * (1 + 8 * (t - 0.5) ** 2) / np.sum(1 + 8 * (t - 0.5) ** 2)
    b = 2 * 0.1 / volume
    return dict(a=0.01 * (1 + 0.5 * (2 * t - 1) ** 2) + 0.05 * t, b=b, c=0.1 * b.mean(), rho=10 * b.max(),
                Q=1e5, lower=np.zeros(n), upper=0.08 * volume)


def cost(problem: dict, x: np.ndarray) -> float:
    """C(x) of :mod:`execgym.solvers.allocation`."""
    return float(np.sum(problem["a"] * x + 0.5 * problem["b"] * x**2) + problem["c"] * np.sum(np.diff(x) ** 2)
                 + problem["rho"] * (x.sum() - problem["Q"]) ** 2)


def ours(problem: dict, boxed: bool) -> BlendedSolution:
    bounds = dict(lower=problem["lower"], upper=problem["upper"]) if boxed else {}
    return blended_schedule(problem["a"], problem["b"], problem["c"], problem["rho"], problem["Q"], **bounds)


def with_cvxpy(cp, problem: dict, boxed: bool, solver_options: dict) -> tuple[np.ndarray, str, float]:
    """cvxpy's minimiser, the solver it used and that solver's own time (s)."""
    x = cp.Variable(problem["a"].size)
    objective = (problem["a"] @ x + 0.5 * cp.sum(cp.multiply(problem["b"], cp.square(x)))
                 + problem["c"] * cp.sum_squares(cp.diff(x)) + problem["rho"] * cp.square(cp.sum(x) - problem["Q"]))
    constraints = [x >= problem["lower"], x <= problem["upper"]] if boxed else []
    program = cp.Problem(cp.Minimize(objective), constraints)
    program.solve(**solver_options)
    if program.status != cp.OPTIMAL:
        raise RuntimeError(f"cvxpy ended with status {program.status}")
    return x.value, program.solver_stats.solver_name, program.solver_stats.solve_time


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs per row; the best is reported")
    args = parser.parse_args(argv)
    try:
        import cvxpy as cp
    except ImportError:
        raise SystemExit("this benchmark needs cvxpy: pip install cvxpy") from None
    configurations = {"default solve()": {},
                      "Clarabel, tol 1e-12": dict(solver=cp.CLARABEL, tol_gap_abs=1e-12, tol_gap_rel=1e-12,
                                                  tol_feas=1e-12)}
    cases = [(n, boxed) for n in SIZES for boxed in (False, True)]
    problems = {n: instance(n) for n in SIZES}
    best: dict[tuple, float] = {}
    solver_best: dict[tuple, float] = {}
    solutions: dict[tuple, BlendedSolution] = {}
    results: dict[tuple, tuple] = {}
    for _ in range(args.repeats):
        for n, boxed in cases:
            problem = problems[n]
            elapsed, solutions[n, boxed] = per_call(lambda: ours(problem, boxed))
            best[n, boxed, "ours"] = min(best.get((n, boxed, "ours"), np.inf), elapsed)
            for name, options in configurations.items():
                elapsed, result = per_call(lambda: with_cvxpy(cp, problem, boxed, options))
                best[n, boxed, name] = min(best.get((n, boxed, name), np.inf), elapsed)
                solver_best[n, boxed, name] = min(solver_best.get((n, boxed, name), np.inf), result[2])
                results[n, boxed, name] = result
    print(f"Machine: {cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"numpy {np.__version__}, cvxpy {cp.__version__}; best of {args.repeats} runs, interleaved\n")
    print("| N | boxes | cvxpy | ours (ms) | cvxpy total (ms) | ratio | solver alone (ms) | ratio "
          "| gap C(cvxpy) vs C(ours) | max box violation | within 1e-8 |")
    print("|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for n, boxed in cases:
        problem = problems[n]
        reference = cost(problem, solutions[n, boxed].trades)
        mine = best[n, boxed, "ours"]
        for name in configurations:
            x, solver, _ = results[n, boxed, name]
            gap = (cost(problem, x) - reference) / abs(reference)
            violation = max(0.0, float(np.max(problem["lower"] - x)), float(np.max(x - problem["upper"]))) \
                if boxed else 0.0
            total, alone = best[n, boxed, name], solver_best[n, boxed, name]
            print(f"| {n:,} | {'yes' if boxed else 'no'} | {name} ({solver}) | {1e3 * mine:.3f} | {1e3 * total:.2f} "
                  f"| {total / mine:,.0f}x | {1e3 * alone:.2f} | {alone / mine:,.1f}x | {gap:+.1e} "
                  f"| {violation:.1e} | {'yes' if abs(gap) <= TOLERANCE else 'no'} |")
    print("\nOurs: " + "; ".join(
        f"N = {n:,}{' boxed' if boxed else ''}: {solution.iterations} solves, KKT residual {solution.kkt_residual:.1e}"
        for (n, boxed), solution in solutions.items()))


if __name__ == "__main__":
    main()
