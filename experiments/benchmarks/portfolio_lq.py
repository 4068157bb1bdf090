"""PortfolioExec-v0's LQ oracle at scale, and the same problem in cvxpy, measured side by side in one process.

    python -m experiments.benchmarks.portfolio_lq [--repeats 5] [--profile]

Needs cvxpy (``pip install -e ".[bench]"``), which execgym itself does not depend on. About a minute.

1. :func:`execgym.problems.portfolio_exec.oracle.make_oracle` (Riccati recursion, O(N·m³) time and
   O(N·m²) memory, then the mean rollout, the monotonicity check, the exact E[IS] and Var[IS] of the
   schedule and the feedback policy) on m = 100 assets over N = 390 periods (one-minute bars; target
   under 1 s) and m = 500 over N = 78 (five-minute bars; target under 10 s). Shown apart: the
   Riccati recursion alone (:func:`execgym.solvers.lq.solve_lq`) and the construction of the
   parameters (their validation's two m×m eigendecompositions), which is not part of the oracle.
   ``--profile`` adds a cProfile of one make_oracle per size.
2. At m = 20, N = 50, the same problem in cvxpy as a user writes it: variables the trades n (N, m),
   holdings x_k = X − Σ_{j≤k} n_j, constraint Σ_k n_k = X (nothing left at N), objective
   E[IS] + λ·Var[IS] of the deterministic schedule with the spread cost ε·|n_k| in cvxpy atoms.
   The permanent-impact term Σ_k n_kᵀΓᵀx_k is not DCP as written (a product of two affine
   expressions); for a symmetric Γ (as :meth:`PortfolioExecParams.from_market_data` builds it) it
   equals ½XᵀΓX − ½Σ_k n_kᵀΓn_k, which joins the temporary impact in one positive-definite form
   H/τ − Γ/2. Two ways of writing it: "vectorised", ``sum_squares`` of the trades and holdings
   times factors of H/τ − Γ/2 and of Σ; "per period", a Python loop of ``quad_form`` per period.
   Each is solved with cvxpy's default choice of solver and with Clarabel at tolerances 1e-12,
   building the problem anew each time. For random-walk prices the optimal adaptive policy is the
   static schedule, so cvxpy's optimum (the best deterministic schedule) must equal the oracle's
   exact E[Σ reward]: checked to 1e-6 relative, and the holdings to 1e-6 of the largest position.
   cvxpy's time includes building and compiling the problem (what a user pays); "compile" and
   "solver alone" are the times cvxpy reports (``compilation_time``, ``solver_stats.solve_time``).
   Target: cvxpy total / oracle at least 50×.

Books (:func:`book`): random market data through :meth:`PortfolioExecParams.from_market_data`
(one-factor covariance, impact scaled by daily volume): prices $10–300, annual volatilities
15–50 %, daily volumes 10^5.5–10^7.5 shares, spreads 2–10 bps (at least one cent), market
loadings 0.3–0.7, cross-impact 0.1, positions 2–5 % of daily volume with random sides, the shorts
scaled so that the book is factor-neutral (Σ_i X_i·σ_i·β_i = 0), λ = 1e-7 per currency unit
(median κT ≈ 0.4–0.6), one day. A random long-short book that is not factor-neutral, a larger λ or
stronger cross-impact makes the optimum use small positions as hedges, trading them away from zero,
which the action space cannot express: make_oracle then raises. The first table shows which.

Times are the best of ``--repeats`` runs, interleaved so that load on the machine hits every row
alike; a run averages as many calls as fit in 20 ms (at least one), which matters only for the
oracle at m = 20 (about 2 ms a call). BLAS runs on one thread (``OPENBLAS_NUM_THREADS=1``, set
before numpy is imported unless already set): the solvers behind cvxpy are single-threaded too,
and on a shared machine a multi-threaded BLAS waiting for a busy core can be slower by an order
of magnitude (here the Riccati recursion at m = 100 took 2.6–8 s on two threads next to a
training job, 0.4 s on one).
"""

from __future__ import annotations

import os
import sys

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
_NUMPY_PRELOADED = "numpy" in sys.modules

import argparse  # noqa: E402
import cProfile  # noqa: E402
import importlib.metadata  # noqa: E402
import io  # noqa: E402
import platform  # noqa: E402
import pstats  # noqa: E402
import re  # noqa: E402

import numpy as np  # noqa: E402
import scipy  # noqa: E402

from execgym.problems.portfolio_exec import schedule  # noqa: E402
from execgym.problems.portfolio_exec.oracle import lq_problem, make_oracle  # noqa: E402
from execgym.problems.portfolio_exec.params import PortfolioExecParams  # noqa: E402
from execgym.solvers.lq import solve_lq  # noqa: E402
from execgym.experiments.machine import cpu_model  # noqa: E402
from experiments.benchmarks.timing import per_call  # noqa: E402

LARGE = ((100, 390, 1.0), (500, 78, 10.0))
"""(m, N, target seconds for make_oracle)."""
SMALL = (20, 50)
RATIO_TARGET = 50.0
OBJECTIVE_TOLERANCE = 1e-6
HOLDINGS_TOLERANCE = 1e-6
RISK_AVERSION = 1e-7
CROSS_IMPACT = 0.1


def book(m: int, periods: int, seed: int = 0, neutral: bool = True, risk_aversion: float = RISK_AVERSION,
         cross_impact: float = CROSS_IMPACT) -> PortfolioExecParams:
    """A random long-short book of m assets (module docstring), factor-neutral unless ``neutral`` is False."""
    rng = np.random.default_rng(seed)
    prices = rng.uniform(10.0, 300.0, m)
    volatilities = rng.uniform(0.15, 0.50, m)
    volumes = 10.0 ** rng.uniform(5.5, 7.5, m)
    spreads = np.maximum(0.01, prices * rng.uniform(2e-4, 1e-3, m))
    loadings = rng.uniform(0.3, 0.7, m)
    shares = np.round(rng.uniform(0.02, 0.05, m) * volumes, -2) * rng.choice([-1.0, 1.0], m)
    if neutral:
        exposure = shares * prices * volatilities * loadings
        shares = np.where(shares < 0, shares * exposure[shares > 0].sum() / -exposure[shares < 0].sum(), shares)
    return PortfolioExecParams.from_market_data(
        shares=shares, prices=prices, annual_volatilities=volatilities, daily_volumes=volumes, spreads=spreads,
        market_loadings=loadings, cross_impact=cross_impact, risk_aversion=risk_aversion, horizon=1.0,
        periods=periods)


def validity(params: PortfolioExecParams) -> str:
    """"valid", or where make_oracle finds the optimum trading a position away from zero."""
    try:
        make_oracle(params)
    except ValueError as error:
        found = re.search(r"asset (\d+) away from zero \(period (\d+)\)", str(error))
        return f"raises (asset {found[1]}, period {found[2]})" if found else f"raises ({error})"
    return "valid"


def impact_matrix(params: PortfolioExecParams) -> np.ndarray:
    """H/τ − Γ/2 (symmetric part): the per-period quadratic cost of the trades, permanent impact folded in."""
    matrix = params.eta / params.tau - 0.5 * params.gamma
    return 0.5 * (matrix + matrix.T)


def cvxpy_vectorised(cp, params: PortfolioExecParams, options: dict):
    """The problem with ``sum_squares`` of factors; returns (problem, trades variable)."""
    X, lam_tau = params.shares, params.risk_aversion * params.tau
    trades = cp.Variable((params.periods, params.assets))
    holdings = X[None, :] - cp.cumsum(trades, axis=0)
    cost = (cp.sum_squares(trades @ np.linalg.cholesky(impact_matrix(params)))
            + cp.sum(cp.abs(trades) @ params.spreads) + 0.5 * X @ params.gamma @ X
            + lam_tau * cp.sum_squares(holdings @ params.shock_loadings))
    problem = cp.Problem(cp.Minimize(cost), [cp.sum(trades, axis=0) == X])
    problem.solve(**options)
    return problem, trades


def cvxpy_per_period(cp, params: PortfolioExecParams, options: dict):
    """The problem as a loop of ``quad_form`` per period; returns (problem, trades variable)."""
    X, lam_tau, impact = params.shares, params.risk_aversion * params.tau, impact_matrix(params)
    trades = cp.Variable((params.periods, params.assets))
    holdings, cost = X, 0.5 * X @ params.gamma @ X
    for k in range(params.periods):
        holdings = holdings - trades[k]
        cost = (cost + cp.quad_form(trades[k], impact) + params.spreads @ cp.abs(trades[k])
                + lam_tau * cp.quad_form(holdings, params.sigma))
    problem = cp.Problem(cp.Minimize(cost), [holdings == 0])
    problem.solve(**options)
    return problem, trades


def solve_with_cvxpy(cp, formulation, params: PortfolioExecParams, options: dict) -> dict:
    """One user solve: holdings (N+1, m), objective in bps of E[Σ reward], solver and its reported times."""
    problem, trades = formulation(cp, params, options)
    if problem.status != cp.OPTIMAL:
        raise RuntimeError(f"cvxpy ended with status {problem.status}")
    holdings = np.vstack([params.shares, params.shares - np.cumsum(trades.value, axis=0)])
    return dict(holdings=holdings, value=-problem.value * params.bps_per_currency,
                solver=problem.solver_stats.solver_name, solve_time=problem.solver_stats.solve_time,
                compile_time=problem.compilation_time)


def profile_oracle(params: PortfolioExecParams, lines: int = 8) -> str:
    """cProfile of one make_oracle, the ``lines`` largest entries by own time."""
    profiler = cProfile.Profile()
    profiler.runcall(make_oracle, params)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(lines)
    return "\n".join(line for line in out.getvalue().splitlines() if line.strip())


def versions() -> str:
    def version(name: str) -> str:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return "absent"
    return (f"Python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
            + ", ".join(f"{name} {version(name)}" for name in ("cvxpy", "clarabel", "osqp")))


def blas_threads() -> str:
    value = os.environ.get("OPENBLAS_NUM_THREADS")
    note = " (numpy was imported before this module: the setting may not apply)" if _NUMPY_PRELOADED else ""
    return f"BLAS threads: OPENBLAS_NUM_THREADS={value}{note}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs per row; the best is reported")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of make_oracle per size")
    args = parser.parse_args(argv)
    try:
        import cvxpy as cp
    except ImportError:
        raise SystemExit('this benchmark needs cvxpy: pip install -e ".[bench]"') from None

    small = book(*SMALL)
    large = {(m, n): book(m, n) for m, n, _ in LARGE}
    formulations = {"vectorised (sum_squares)": cvxpy_vectorised, "per period (quad_form loop)": cvxpy_per_period}
    configurations = {"default solve()": {},
                      "Clarabel, tol 1e-12": dict(solver=cp.CLARABEL, tol_gap_abs=1e-12, tol_gap_rel=1e-12,
                                                  tol_feas=1e-12)}
    runs = {}
    for (m, n), params in large.items():
        runs["params", m, n] = lambda m=m, n=n: book(m, n)
        runs["riccati", m, n] = lambda params=params: solve_lq(lq_problem(params))
        runs["oracle", m, n] = lambda params=params: make_oracle(params)
    runs[("riccati", *SMALL)] = lambda: solve_lq(lq_problem(small))
    runs[("oracle", *SMALL)] = lambda: make_oracle(small)
    for form, formulation in formulations.items():
        for name, options in configurations.items():
            runs["cvxpy", form, name] = (lambda formulation=formulation, options=options:
                                         solve_with_cvxpy(cp, formulation, small, options))
    best: dict = {}
    reported: dict = {}
    results: dict = {}
    for _ in range(args.repeats):
        for key, run in runs.items():
            elapsed, results[key] = per_call(run)
            best[key] = min(best.get(key, np.inf), elapsed)
            if key[0] == "cvxpy":
                for stat in ("solve_time", "compile_time"):
                    reported[key, stat] = min(reported.get((key, stat), np.inf), results[key][stat])

    print(f"Machine: {cpu_model()}, {os.cpu_count()} cores; {versions()}; {blas_threads()}; "
          f"best of {args.repeats} runs, interleaved\n")

    print(f"Book generation (λ = {RISK_AVERSION:g}, cross-impact {CROSS_IMPACT:g} unless stated), "
          f"m = {LARGE[0][0]}, N = {LARGE[0][1]}:\n")
    print("| book | make_oracle |")
    print("|---|---|")
    m, n = LARGE[0][:2]
    variants = {"random sides (not factor-neutral)": dict(neutral=False),
                "factor-neutral (used below)": {},
                "factor-neutral, λ = 1e-6": dict(risk_aversion=1e-6),
                "factor-neutral, cross-impact 0.3, λ = 1e-6": dict(risk_aversion=1e-6, cross_impact=0.3)}
    for label, options in variants.items():
        print(f"| {label} | {validity(book(m, n, **options))} |")

    print("\nOracle at scale (factor-neutral books):\n")
    print("| m | N | notional ($) | oracle E[Σ reward] (bps) | params (s) | Riccati solve_lq (s) | make_oracle (s) "
          "| target | met |")
    print("|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for m, n, target in LARGE:
        params, oracle, total = large[m, n], results["oracle", m, n], best["oracle", m, n]
        print(f"| {m} | {n} | {params.notional:,.0f} | {oracle.expected_return:.4f} | {best['params', m, n]:.3f} "
              f"| {best['riccati', m, n]:.3f} | {total:.3f} | < {target:g} s | {'yes' if total < target else 'no'} |")

    oracle, oracle_time = results[("oracle", *SMALL)], best[("oracle", *SMALL)]
    riccati_time = best[("riccati", *SMALL)]
    static = float(schedule.expected_return(small, oracle.schedule))
    reference = oracle.expected_return
    scale = np.abs(small.shares).max()
    print(f"\nAgainst cvxpy, m = {SMALL[0]}, N = {SMALL[1]} (notional ${small.notional:,.0f}): oracle "
          f"E[Σ reward] = {reference:.10f} bps (LQ value of the feedback policy) in {1e3 * oracle_time:.2f} ms "
          f"(Riccati recursion alone {1e3 * riccati_time:.2f} ms); "
          f"exact E[Σ reward] of its deterministic schedule {static:.10f} bps "
          f"(relative difference {abs(static - reference) / abs(reference):.1e}).\n")
    print("| formulation | cvxpy | total (s) | compile (s) | solver alone (s) | total / oracle | solver / oracle "
          "| objective (bps) | rel. diff | max holdings diff (of largest position) | objective within 1e-6 "
          "| holdings within 1e-6 | ratio >= 50x |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|")
    for form in formulations:
        for name in configurations:
            key = ("cvxpy", form, name)
            result, total = results[key], best[key]
            gap = abs(result["value"] - reference) / abs(reference)
            holdings_gap = float(np.abs(result["holdings"] - oracle.schedule).max() / scale)
            ratio = total / oracle_time
            print(f"| {form} | {name} ({result['solver']}) | {total:.3f} | {reported[key, 'compile_time']:.3f} "
                  f"| {reported[key, 'solve_time']:.3f} | {ratio:,.0f}x "
                  f"| {reported[key, 'solve_time'] / oracle_time:,.0f}x | {result['value']:.10f} | {gap:.1e} "
                  f"| {holdings_gap:.1e} | {'yes' if gap <= OBJECTIVE_TOLERANCE else 'no'} "
                  f"| {'yes' if holdings_gap <= HOLDINGS_TOLERANCE else 'no'} "
                  f"| {'yes' if ratio >= RATIO_TARGET else 'no'} |")

    if args.profile:
        for (m, n), params in large.items():
            print(f"\ncProfile of make_oracle, m = {m}, N = {n}:\n")
            print(profile_oracle(params))


if __name__ == "__main__":
    main()
