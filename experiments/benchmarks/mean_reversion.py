"""Mean-reverting price: the value of adaptivity, and seed 000's formula against the exact adaptive optimum.

    python -m experiments.benchmarks.mean_reversion [--episodes 100000] [--seed 0] [--quick]

OptimalExec-v0 on the default stock (sell 1 M shares over one day, 13 periods) with an
Ornstein–Uhlenbeck mid-price, ``two_way=True`` (trades of up to ±X per period, the last one
forced) and ``half_spread=0``, where the oracle is the exact adaptive LQ feedback in the
inventory x and the price's deviation d = S − μ̄ (:mod:`execgym.problems.optimal_exec.lq_oracle`).
Rows: θ ∈ {0.5, 1, 2, 5} per day with μ̄ = the arrival price, and θ = 2 with μ̄ = 100.2 (the
price expected to rise towards it), once with the default risk aversion and permanent impact
and once risk neutral (risk_aversion=0, permanent_impact=0), where seed 000's formula is
closest to optimal.

Table 1, the oracle and the best deterministic schedule, the oracle's holdings along the
expected price path (by certainty equivalence the optimum of the problem without noise, i.e.
over deterministic schedules), followed by :class:`~execgym.problems.optimal_exec.schedule_policy.SchedulePolicy`:
the oracle's exact value and its Monte-Carlo estimate, the schedule's exact value
(:func:`~execgym.problems.optimal_exec.schedule.expected_return`), the gain of adaptivity
oracle − schedule exactly and as the paired Monte-Carlo regret of the schedule, and the
oracle's :attr:`~execgym.Oracle.clip_probability`.

Table 2, seed 000's v*_t = Q/T + (p_t − (1/T)∫_0^T E[p_s] ds)/(2λ) (λ ↦ η) as a policy:

* *literal*: in every period k trade n_k = τ·[X/T + s·(S_k − p̄)/(2η)], p̄ the mean over
  i = 0..N−1 of E[S_i] = μ̄ + φ^i·(S0 − μ̄), computed once at the start (s = +1 for a sell);
* *remaining horizon*: the formula re-applied from the current state over the m = N − k periods
  left, n_k = x_k/m + s·τ/(2η)·(d_k − mean_{i<m} φ^i·d_k) (no drift in these rows);

both with the last period trading whatever is left. Each is affine in (x, d), so its exact value
is also computed, by evaluating the affine feedback on the oracle's LQ problem
(:func:`affine_policy_value`); the regrets are oracle − policy, in bps and in % of the oracle's
|value|, with 95 % intervals from :func:`execgym.score` (paired, common random numbers: every
policy meets the same episodes from ``--seed`` on). Last columns: the root mean square of the shares
each policy leaves for the forced last period, exactly (:func:`forced_inventory_rms`), and a bound on
the probability that the literal formula asks for a trade the action range ±X cannot express
(:func:`beyond_range_probability`; the env clips it, and the exact regret does not model that).

Prints two markdown tables; the latest output is in ``experiments/benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
from dataclasses import replace

import numpy as np
from scipy.special import ndtr

import execgym
from execgym.problems.optimal_exec.schedule_policy import SchedulePolicy
from execgym.problems.optimal_exec import dynamics, schedule
from execgym.problems.optimal_exec.lq_oracle import initial_state, lq_problem
from execgym.problems.optimal_exec.oracle import make_oracle
from execgym.problems.optimal_exec.params import OptimalExecParams
from execgym.solvers.lq import LQProblem, solve_lq
from execgym.experiments.machine import cpu_model

ENV_ID = "OptimalExec-v0"
REVERSIONS = (0.5, 1.0, 2.0, 5.0)
OFFSET_MEAN = 100.2
OFFSET_REVERSION = 2.0


def cases(quick: bool = False) -> list[tuple[str, OptimalExecParams]]:
    """(label, params) of every row: risk averse then risk neutral, θ ascending, then the offset mean."""
    base = OptimalExecParams(two_way=True, half_spread=0.0)
    neutral = replace(base, risk_aversion=0.0, permanent_impact=0.0)
    rows = []
    for label, p in (("default", base), ("risk neutral", neutral)):
        for theta in ((2.0,) if quick else REVERSIONS):
            rows.append((label, replace(p, mean_reversion=theta)))
        rows.append((label, replace(p, mean_reversion=OFFSET_REVERSION, price_mean=OFFSET_MEAN)))
    return rows


def observed_price(params: OptimalExecParams, observations: np.ndarray) -> np.ndarray:
    """S_k from the observation's normalised price move."""
    return np.asarray(observations, dtype=np.float64)[:, 2] * params.price_scale + params.arrival_price


def literal_mean_price(params: OptimalExecParams) -> float:
    """p̄ = (1/N)·Σ_{i<N} E[S_i], E[S_i] = μ̄ + φ^i·(S0 − μ̄) (no drift, no impact): the formula's average
    expected price over the whole horizon, as seen at the start."""
    mu = params.long_run_price
    return float(np.mean(mu + params.reversion_factor ** np.arange(params.periods) * (params.arrival_price - mu)))


class SeedFormula:
    """Seed 000's formula as a policy, ``literal`` (p̄ fixed at the start) or in its remaining-horizon form;
    both are affine feedbacks n_k = K_k·(x, d) + k_k, the last period trading what is left."""

    def __init__(self, params: OptimalExecParams, literal: bool) -> None:
        if params.drift != 0.0 or params.smoothness > 0.0:
            raise ValueError("seed 000's formula is implemented here without drift or smoothness")
        self.params = params
        self.name = "literal" if literal else "remaining horizon"
        s, tau, eta, phi, N = params.side_sign, params.tau, params.temporary_impact, params.reversion_factor, \
            params.periods
        response = s * tau / (2.0 * eta)                       # shares per unit of price above the mean
        gain, offset = np.zeros((N, 2)), np.zeros(N)
        for k in range(N - 1):
            if literal:
                gain[k] = 0.0, response
                offset[k] = tau * params.shares / params.horizon + response * (
                    params.long_run_price - literal_mean_price(params))
            else:
                remaining = N - k
                gain[k] = 1.0 / remaining, response * (1.0 - np.mean(phi ** np.arange(remaining)))
        gain[N - 1] = 1.0, 0.0                                 # forced anyway: trade what is left
        self.gain, self.offset = gain, offset

    def trades(self, elapsed: np.ndarray, inventory: np.ndarray, price: np.ndarray) -> np.ndarray:
        """Shares the formula trades in period ``elapsed`` from inventory x at mid-price S."""
        deviation = price - self.params.long_run_price
        return self.gain[elapsed, 0] * inventory + self.gain[elapsed, 1] * deviation + self.offset[elapsed]

    def __call__(self, observations: np.ndarray) -> np.ndarray:
        elapsed, inventory = dynamics.decode(self.params, observations)
        trades = self.trades(elapsed, inventory, observed_price(self.params, observations))
        return dynamics.trade_to_action(self.params, elapsed, inventory, trades)[:, None].astype(np.float32)


def affine_policy_value(problem: LQProblem, gain: np.ndarray, offset: np.ndarray, state: np.ndarray) -> float:
    """Exact expected cost of the affine policy u_k = gain[k]·z + offset[k] (k < steps) on ``problem`` from
    ``state``: backward recursion of V_k(z) = (z, 1)ᵀ·P̂_k·(z, 1) + w_k on the augmented state (z, 1)."""
    a = problem.arrays()
    n, m = problem.n, problem.m
    P = np.zeros((n + 1, n + 1))
    P[:n, :n], P[:n, n], P[n, :n] = a["Q_final"], a["q_final"], a["q_final"]
    noise_cost = 0.0
    for k in range(problem.steps - 1, -1, -1):
        K, k0 = np.reshape(gain[k], (m, n)), np.reshape(offset[k], (m,))
        stage = np.zeros((n + 1 + m, n + 1 + m))              # (z, 1, u)ᵀ·stage·(z, 1, u) = ℓ_k(z, u)
        stage[:n, :n], stage[:n, n + 1:], stage[n + 1:, n + 1:] = a["Q"][k], a["M"][k], a["R"][k]
        stage[n + 1:, :n] = a["M"][k].T
        stage[:n, n], stage[n, :n] = a["q"][k], a["q"][k]
        stage[n, n + 1:], stage[n + 1:, n] = a["r"][k], a["r"][k]
        closed = np.zeros((n + 1 + m, n + 1))                 # (z, 1, u) as a function of (z, 1)
        closed[:n + 1, :n + 1] = np.eye(n + 1)
        closed[n + 1:, :n], closed[n + 1:, n] = K, k0
        move = np.zeros((n + 1, n + 1))                       # (z', 1) = move·(z, 1) + (w, 0)
        move[:n, :n] = a["A"][k] + a["B"][k] @ K
        move[:n, n] = a["B"][k] @ k0 + a["c"][k]
        move[n, n] = 1.0
        noise_cost += float(np.trace(P[:n, :n] @ a["W"][k]))
        P = closed.T @ stage @ closed + move.T @ P @ move
    augmented = np.append(state, 1.0)
    return float(augmented @ P @ augmented) + noise_cost


def state_moments(params: OptimalExecParams, gain: np.ndarray, offset: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Means (K+1, n) and covariances (K+1, n, n) of the state z_0..z_K along the affine policy
    u_k = gain[k]·z + offset[k] (no clipping), exactly: the state is Gaussian along it."""
    problem = lq_problem(params)
    a = problem.arrays()
    means, covariances = [initial_state(params)], [np.zeros((problem.n, problem.n))]
    for k in range(problem.steps):
        closed = a["A"][k] + a["B"][k] @ np.reshape(gain[k], (problem.m, problem.n))
        means.append(closed @ means[-1] + a["B"][k] @ np.reshape(offset[k], (problem.m,)) + a["c"][k])
        covariances.append(closed @ covariances[-1] @ closed.T + a["W"][k])
    return np.array(means), np.array(covariances)


def forced_inventory_rms(params: OptimalExecParams, gain: np.ndarray, offset: np.ndarray) -> float:
    """√E[x_{N−1}²], shares: the root mean square of what the affine policy leaves for the last (forced)
    period."""
    means, covariances = state_moments(params, gain, offset)
    return float(np.sqrt(means[-1, 0] ** 2 + covariances[-1, 0, 0]))


def beyond_range_probability(params: OptimalExecParams, gain: np.ndarray, offset: np.ndarray) -> float:
    """Union bound over the decision periods of the probability that the affine policy asks for a trade
    beyond ±m·X, which the env clips (so the policy's exact value, computed without clipping, is then
    that of a slightly different policy)."""
    means, covariances = state_moments(params, gain, offset)
    bound, total = params.max_trade * params.shares, 0.0
    for k in range(gain.shape[0]):
        direction = np.reshape(gain[k], -1)
        centre = float(direction @ means[k] + np.reshape(offset[k], -1)[0])
        spread = float(np.sqrt(max(direction @ covariances[k] @ direction, 0.0)))
        if spread > 0:
            total += float(ndtr((centre - bound) / spread) + ndtr((-bound - centre) / spread))
        else:
            total += float(abs(centre) > bound)
    return total


def formula_exact_return(params: OptimalExecParams, formula: SeedFormula) -> float:
    """E[Σ reward] (bps) of ``formula``, exactly (ε = 0 here, so no half-spread term)."""
    problem = lq_problem(params)
    cost = affine_policy_value(problem, formula.gain[:problem.steps, None, :], formula.offset[:problem.steps, None],
                               initial_state(params))
    return -(cost + params.half_spread * params.shares) * params.bps_per_currency


def measure(params: OptimalExecParams, episodes: int, seed: int) -> dict:
    """Every number of both tables for one row."""
    oracle = make_oracle(params)
    holdings = oracle.schedule
    schedule_exact = float(schedule.expected_return(params, holdings))
    row = dict(oracle=oracle, schedule_exact=schedule_exact, gain_exact=oracle.expected_return - schedule_exact)
    solution = solve_lq(lq_problem(params))
    row["oracle rms"] = forced_inventory_rms(params, solution.gain, solution.offset)
    row["schedule"] = execgym.score(SchedulePolicy(params, holdings, "deterministic"), ENV_ID, episodes, seed,
                                    params=params, oracle=oracle)
    for literal in (True, False):
        formula = SeedFormula(params, literal)
        row[formula.name] = (oracle.expected_return - formula_exact_return(params, formula),
                             execgym.score(formula, ENV_ID, episodes, seed, params=params, oracle=oracle),
                             forced_inventory_rms(params, formula.gain[:-1, None, :], formula.offset[:-1, None]),
                             beyond_range_probability(params, formula.gain[:-1, None, :], formula.offset[:-1, None]))
    return row


def label(name: str, params: OptimalExecParams) -> str:
    return f"| {name} | {params.mean_reversion:g} | {params.long_run_price:g} |"


def within(estimate, value: float) -> str:
    return "yes" if abs(estimate.mean - value) <= estimate.half_width else "no"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=100_000, help="paired Monte-Carlo episodes per policy")
    parser.add_argument("--seed", type=int, default=0, help="first episode seed")
    parser.add_argument("--quick", action="store_true", help="θ = 2 and the offset mean only, 10,000 episodes")
    args = parser.parse_args(argv)
    episodes = 10_000 if args.quick else args.episodes
    rows = [(name, params, measure(params, episodes, args.seed)) for name, params in cases(args.quick)]

    print(f"Machine: {cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"numpy {np.__version__}; {episodes:,} paired episodes per policy from seed {args.seed}\n")
    print("Default stock, two_way=True, half_spread=0; bps of arrival notional (returns = −cost). "
          "\"risk neutral\": risk_aversion=0, permanent_impact=0.\n")
    print("| case | θ (1/day) | μ̄ | clip probability | oracle exact | oracle MC | schedule exact | "
          "gain of adaptivity, exact | gain, paired MC | MC within CI |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for name, params, row in rows:
        oracle, mc = row["oracle"], row["schedule"]
        print(f"{label(name, params)} {oracle.clip_probability:.1e} | {oracle.expected_return:.4f} | "
              f"{mc.reference_return} | {row['schedule_exact']:.4f} | {row['gain_exact']:.4f} | {mc.regret} | "
              f"{within(mc.regret, row['gain_exact'])} |")
    print("\nSeed 000's formula as a policy: regret = oracle − policy (exact, from the affine policy's LQ value, "
          "and paired Monte Carlo).\n")
    print("| case | θ (1/day) | μ̄ | literal: regret exact (bps) | regret MC (bps) | regret MC (%) | "
          "remaining horizon: regret exact (bps) | regret MC (bps) | regret MC (%) | "
          "rms x_{N−1}, oracle (% of X) | rms x_{N−1}, literal | rms x_{N−1}, remaining horizon | "
          "literal: P(trade beyond ±X) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, params, row in rows:
        cells = []
        for form in ("literal", "remaining horizon"):
            exact, result, _, _ = row[form]
            cells += [f"{exact:.4f}", f"{result.regret}", f"{result.regret_pct}"]
        cells += [f"{100 * rms / params.shares:.2f}"
                  for rms in (row["oracle rms"], row["literal"][2], row["remaining horizon"][2])]
        cells.append(f"{row['literal'][3]:.1e}")
        print(f"{label(name, params)} " + " | ".join(cells) + " |")
    print("\nrms x_{N−1}: root mean square of the shares left for the last period, which trades them whatever the "
          "action (exact, Gaussian state along each affine policy). P(trade beyond ±X): union bound of the probability that the "
          "literal formula asks for a trade beyond the action range ±X in some period (the env then clips it; the "
          "exact regret ignores the clipping).")


if __name__ == "__main__":
    main()
