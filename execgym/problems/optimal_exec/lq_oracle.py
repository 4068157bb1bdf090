"""The LQ oracle of OptimalExec: exact for linear impact without caps, adaptive under mean reversion.

State z_k = (x_k, d_k[, p_k]): shares still held before period k+1's trade,
the price's deviation from its long-run level d_k = S_k − μ̄, and (with a
smoothness penalty) the previous trade p_k. Control u_k = n_{k+1}, the shares
traded. Dynamics (φ = e^{−θτ}; φ = 1 for the random walk)::

    x_{k+1} = x_k − u_k,    d_{k+1} = φ·d_k + μτ − s·γ·u_k + σ_τ·ξ_{k+1},    p_{k+1} = u_k

The expected cost of one decision period, from the env's reward (the shock
has mean zero given the state), with η_k the period's temporary impact (for the
random walk, φ = 1, this is :func:`~.schedule.period_cost` plus the smoothness
term, with the half spread added separately below)::

    η_k/τ·u² − s·[(φ − 1)·d + μτ − s·γ·u]·(x − u) + λσ_τ²·(x − u)² + c·(u − p)²·[k > 0]

i.e. Q = [[λσ_τ², −s(φ−1)/2, 0], [−s(φ−1)/2, 0, 0], [0, 0, c]],
R = η_k/τ − γ + λσ_τ² + c, M = [(γ − 2λσ_τ²)/2, s(φ−1)/2, −c], q = (−sμτ/2, 0, 0),
r = sμτ/2 (the c terms from the second period on). When the order must complete,
periods 1..N−1 are decisions and period N trades what is left, so its cost
η_N/τ·x² + c·(x − p)² is the final cost; with a soft target all N periods are
decisions and the final cost is ρ·x_N². The half spread adds ε·Σ|n|: the
constant εX (minus ε·x_N for a soft target) for a one-way schedule. With two-way
trades |n| is not quadratic, so the oracle needs ε = 0 there.

For the random walk the optimal schedule is deterministic (the gain on d is
zero). Under mean reversion the optimal policy is linear in (x, d, p), and the
state is Gaussian along it, so the probability that it asks for a trade the
action space cannot express (one-way: buying back or more than is held;
two-way: more than m·X either way) is computed exactly per period; their sum,
the expected number of such trades per episode, bounds the probability of any
(the union bound). The oracle refuses parameters where that sum exceeds
:data:`CLIP_TOLERANCE`, and reports it as ``clip_probability`` otherwise. The
Riccati recursion runs in O(N). :func:`make_lq_oracles` builds the oracles of many markets at once, vectorised
over markets; :func:`make_lq_oracle` is its one-market case, so both give the same numbers to the bit.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy.special import ndtr

from execgym.policy import Oracle
from execgym.problems.optimal_exec import dynamics, schedule
from execgym.problems.optimal_exec.params import OptimalExecParams
from execgym.solvers.lq import (LQProblem, LQSolution, batch_dot, batch_matmul, batch_matvec, solve_lq,
                               solve_lq_batch)

CLIP_TOLERANCE = 1e-6


def state_size(params: OptimalExecParams) -> int:
    """2, or 3 with a smoothness penalty (the previous trade joins the state)."""
    return 3 if params.smoothness > 0.0 else 2


def decisions(params: OptimalExecParams) -> int:
    """Decision periods: N − 1 when the order must complete (period N is forced), N with a soft target."""
    return params.periods - 1 if params.completes else params.periods


def lq_problem(params: OptimalExecParams) -> LQProblem:
    """The LQ problem whose solution is the optimal liquidation (see the module docstring)."""
    if not params.linear_impact or params.trade_caps is not None:
        raise ValueError("the LQ oracle needs linear impact (impact_exponent=1, no impact_table) and no trade_caps")
    tau, s, phi, c = params.tau, params.side_sign, params.reversion_factor, params.smoothness
    n, steps = state_size(params), decisions(params)
    risk = params.period_risk
    drift = params.drift * tau
    coupling = s * (phi - 1.0) / 2.0
    eta = params.impact_per_period
    smooth = np.where(np.arange(steps) > 0, c, 0.0)              # no previous trade before period 1

    Q = np.zeros((steps, n, n))
    Q[:, 0, 0], Q[:, 0, 1], Q[:, 1, 0] = risk, -coupling, -coupling
    M = np.zeros((steps, n, 1))
    M[:, 0, 0], M[:, 1, 0] = 0.5 * (params.permanent_impact - 2.0 * risk), coupling
    R = (eta[:steps] / tau - params.permanent_impact + risk + smooth)[:, None, None]
    A, B, W = np.zeros((n, n)), np.zeros((n, 1)), np.zeros((n, n))
    A[0, 0], A[1, 1] = 1.0, phi
    B[:2, 0] = -1.0, -s * params.permanent_impact
    W[1, 1] = params.shock_scale**2
    c_vec, q, Q_final, q_final = np.zeros(n), np.zeros(n), np.zeros((n, n)), np.zeros(n)
    c_vec[1], q[0] = drift, -0.5 * s * drift
    if n == 3:
        B[2, 0] = 1.0
        Q[:, 2, 2], M[:, 2, 0] = smooth, -smooth
    if params.completes:
        final_smooth = c if params.periods > 1 else 0.0
        Q_final[0, 0] = eta[-1] / tau + final_smooth
        if n == 3:
            Q_final[0, 2] = Q_final[2, 0] = -final_smooth
            Q_final[2, 2] = final_smooth
    else:
        Q_final[0, 0] = params.target_penalty
        q_final[0] = -0.5 * params.half_spread
    return LQProblem(A=A, B=B, c=c_vec, W=W, Q=Q, R=R, M=M, q=q, r=[0.5 * s * drift],
                     Q_final=Q_final, q_final=q_final, steps=steps)


def initial_state(params: OptimalExecParams) -> np.ndarray:
    """z_0 = (X, S0 − μ̄[, 0])."""
    return np.array([params.shares, params.arrival_price - params.long_run_price, 0.0][:state_size(params)])


def observed_state(params: OptimalExecParams, observations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(periods elapsed k, states z (n, 2 or 3)) from a batch of observations."""
    elapsed, inventory = dynamics.decode(params, observations)
    observations = np.asarray(observations, dtype=np.float64)
    deviation = params.arrival_price - params.long_run_price + observations[:, 2] * params.price_scale
    columns = [inventory, deviation] + ([observations[:, 3] * params.shares] if state_size(params) == 3 else [])
    return elapsed, np.column_stack(columns)


class LiquidationFeedback:
    """The LQ feedback acting through the env's action space: observation -> (k, state z) -> optimal
    shares n = K_k·z + k_k -> the action that trades n (:func:`dynamics.trade_to_action`).

    Where the optimal trade is one the action space cannot express (rare, see the module docstring,
    or off the optimal path) it is clipped to the trade range.
    """

    def __init__(self, params: OptimalExecParams, solution: LQSolution) -> None:
        self.params = params
        forced = np.zeros((1, state_size(params)))
        forced[0, 0] = 1.0                                          # period N trades everything
        self.gain = np.concatenate([solution.gain[:, 0, :], forced])
        self.offset = np.append(solution.offset[:, 0], 0.0)

    def __call__(self, observations: np.ndarray) -> np.ndarray:
        elapsed, states = observed_state(self.params, observations)
        trade = np.einsum("ij,ij->i", self.gain[elapsed], states) + self.offset[elapsed]
        return dynamics.trade_to_action(self.params, elapsed, states[:, 0], trade)[:, None].astype(np.float32)


def _limits(params: OptimalExecParams) -> list[tuple[np.ndarray, float, float]]:
    """The action space's limits on the trade u from state z, as affine forms a·z + b·u + c >= 0."""
    n = state_size(params)
    zero, unit = np.zeros(n), np.eye(n)[0]
    if params.two_way:
        bound = params.max_trade * params.shares
        return [(zero, 1.0, bound), (zero, -1.0, bound)]
    return [(zero, 1.0, 0.0), (unit, -1.0, 0.0)]


def breach_probabilities(params: OptimalExecParams, problem: LQProblem, solution: LQSolution) -> np.ndarray:
    """(decision periods, limits): the probability that the unclipped optimal policy breaks each of the
    action space's limits (:func:`_limits`) in each decision period. The state is Gaussian along the
    policy, so each is a normal tail, propagated exactly (a limit broken with certainty gives 1).

    Their sum is the expected number of breaches over an episode, and so, by the union bound, at least the
    probability of any (a probability only when below 1); their maximum is at most that probability.
    """
    a = problem.arrays()
    mean, covariance = initial_state(params), np.zeros((problem.n, problem.n))
    limits = _limits(params)
    out = np.empty((problem.steps, len(limits)))
    for k in range(problem.steps):
        gain, offset = solution.gain[k, 0], solution.offset[k, 0]
        for index, (coefficient, on_trade, constant) in enumerate(limits):
            direction = coefficient + on_trade * gain
            centre = direction @ mean + on_trade * offset + constant
            spread = float(np.sqrt(max(direction @ covariance @ direction, 0.0)))
            out[k, index] = float(ndtr(-centre / spread)) if spread > 0 else float(centre < -1e-9 * params.shares)
        closed_loop = a["A"][k] + a["B"][k] @ solution.gain[k]
        mean = closed_loop @ mean + a["B"][k] @ solution.offset[k] + a["c"][k]
        covariance = closed_loop @ covariance @ closed_loop.T + a["W"][k]
    return out


def mean_holdings(params: OptimalExecParams, problem: LQProblem, solution: LQSolution) -> np.ndarray:
    """x_0..x_N of the optimal policy along the expected price path (shares)."""
    states, _ = solution.rollout_mean(problem, initial_state(params))
    holdings = states[:, 0]
    return np.append(holdings, 0.0) if params.completes else holdings


def make_lq_oracle(params: OptimalExecParams) -> Oracle:
    """The optimal policy, its exact E[Σ reward] (bps), its holdings along the expected price path, and
    for the random walk (a deterministic optimum) E[IS] and Var[IS]. The same computation as one market of
    :func:`make_lq_oracles`, so the two give the same numbers to the bit."""
    [built] = lq_oracles([params])
    if isinstance(built, ValueError):
        raise built
    return built


def make_lq_oracles(markets) -> list[Oracle]:
    """:func:`make_lq_oracle` of each of ``markets`` (OptimalExecParams the LQ oracle takes), with the Riccati
    recursion, the mean path and the breach probabilities of markets of one shape (state size, decision
    periods, two-way or not) computed together, vectorised over markets (:func:`~execgym.solvers.lq.solve_lq_batch`).
    Each oracle equals :func:`make_lq_oracle`'s to the bit. A market the oracle refuses raises its ValueError,
    prefixed with the market's index ("market 3: ...")."""
    built = lq_oracles(markets)
    for index, each in enumerate(built):
        if isinstance(each, ValueError):
            raise ValueError(f"market {index}: {each}") from each
    return built


def lq_oracles(markets) -> list[Oracle | ValueError]:
    """The LQ oracle of each market, or the ValueError saying why it refuses it (in place, not raised)."""
    markets = list(markets)
    out: list[Oracle | ValueError | None] = [None] * len(markets)
    groups: dict[tuple[int, int, bool], list[int]] = {}
    for index, params in enumerate(markets):
        if params.two_way and params.half_spread > 0.0:
            out[index] = ValueError(f"with two_way=True the exact oracle needs half_spread=0 (got "
                                    f"{params.half_spread:g}): the cost ε·|n| of trades in both directions is "
                                    "not quadratic")
            continue
        groups.setdefault((state_size(params), decisions(params), params.two_way), []).append(index)
    for indices in groups.values():
        group = [markets[i] for i in indices]
        problems = [lq_problem(params) for params in group]
        solutions = solve_lq_batch(problems)
        states, breaches = _mean_paths(group, problems, solutions)
        for i, params, problem, solution, path, breach in zip(indices, group, problems, solutions, states, breaches):
            try:
                out[i] = _oracle(params, problem, solution, path, breach)
            except ValueError as error:
                out[i] = error
    return out


def _mean_paths(markets: list[OptimalExecParams], problems: list[LQProblem],
                solutions: list[LQSolution]) -> tuple[np.ndarray, np.ndarray]:
    """For markets of one shape: the states (b, K+1, n) of the optimal policy with the noise at its mean
    (:meth:`~execgym.solvers.lq.LQSolution.rollout_mean`) and the breach probabilities (b, K, limits) of
    :func:`breach_probabilities`, vectorised over markets with elementwise operations only (a market's
    numbers do not depend on the others')."""
    b, K, n = len(markets), problems[0].steps, problems[0].n
    arrays = [problem.arrays() for problem in problems]
    A, B, c, W = (np.stack([each[name][:K] for each in arrays]) for name in ("A", "B", "c", "W"))
    B = B[..., 0]
    gain = np.stack([solution.gain[:, 0, :] for solution in solutions])           # (b, K, n)
    offset = np.stack([solution.offset[:, 0] for solution in solutions])          # (b, K)
    limits = [_limits(params) for params in markets]
    coefficients = np.array([[limit[0] for limit in each] for each in limits]).reshape(b, -1, n)  # (b, L, n)
    on_trade = np.array([[limit[1] for limit in each] for each in limits]).reshape(b, -1)        # (b, L)
    constants = np.array([[limit[2] for limit in each] for each in limits]).reshape(b, -1)       # (b, L)
    floor = -1e-9 * np.array([params.shares for params in markets])
    mean = np.stack([initial_state(params) for params in markets])
    covariance = np.zeros((b, n, n))
    states = np.empty((b, K + 1, n))
    states[:, 0] = mean
    breaches = np.empty((b, K, on_trade.shape[1]))
    for k in range(K):
        for index in range(on_trade.shape[1]):
            direction = coefficients[:, index] + on_trade[:, index, None] * gain[:, k]
            centre = batch_dot(direction, mean) + on_trade[:, index] * offset[:, k] + constants[:, index]
            spread = np.sqrt(np.maximum(batch_dot(direction, batch_matvec(covariance, direction)), 0.0))
            with np.errstate(divide="ignore", invalid="ignore"):
                tail = ndtr(-centre / spread)
            breaches[:, k, index] = np.where(spread > 0, tail, (centre < floor).astype(np.float64))
        closed_loop = A[:, k] + B[:, k, :, None] * gain[:, k, None, :]
        mean = batch_matvec(closed_loop, mean) + B[:, k] * offset[:, k, None] + c[:, k]
        covariance = batch_matmul(batch_matmul(closed_loop, covariance), np.swapaxes(closed_loop, 1, 2)) + W[:, k]
        states[:, k + 1] = mean
    return states, breaches


def _oracle(params: OptimalExecParams, problem: LQProblem, solution: LQSolution, states: np.ndarray,
            breaches: np.ndarray) -> Oracle:
    """One market's oracle from its solution, mean path and breach probabilities; ValueError where the
    action space cannot express the optimum."""
    holdings = states[:, 0].copy()
    if params.completes:
        holdings = np.append(holdings, 0.0)
    tolerance = 1e-9 * params.shares
    one_way_broken = (np.diff(holdings) > tolerance).any() or (holdings < -tolerance).any()
    if not params.two_way and params.mean_reversion == 0.0 and one_way_broken:
        if params.drift != 0.0 and not params.features:
            low, high = monotone_drift_range(params)
            raise ValueError(
                f"drift={params.drift:g} makes the optimal schedule trade in both directions, which the action "
                f"space (one-directional trades) cannot express; with these parameters drift must lie in "
                f"[{low:.6g}, {high:.6g}] currency per share per day")
        raise ValueError(f"with these parameters ({params.variant}) the optimal schedule trades in both "
                         "directions, which one-way trading cannot express; set two_way=True (and "
                         "half_spread=0) to allow it")
    expected = float(breaches.sum())
    if expected > CLIP_TOLERANCE:
        fix = ("raise max_trade" if params.two_way
               else "set two_way=True and half_spread=0, or lower mean_reversion or volatility")
        raise ValueError(
            f"with mean_reversion={params.mean_reversion:g} the optimal policy would ask for trades the action "
            f"space cannot express: on average {expected:.2g} per episode (the expected number of (period, "
            f"limit) breaches), and at least one with a probability between {breaches.max():.2g} (the likeliest "
            f"single breach) and {min(expected, 1.0):.2g} (the union bound, capped at 1); the oracle is exact "
            f"only where the expected number is at most {CLIP_TOLERANCE:g}; {fix}")
    if not params.two_way:
        holdings = np.clip(holdings, 0.0, None)
    holdings[0] = params.shares
    value = float(solution.value(0, initial_state(params))) + params.half_spread * params.shares
    deterministic = params.mean_reversion == 0.0
    return Oracle(policy=LiquidationFeedback(params, solution),
                  expected_return=-value * params.bps_per_currency,
                  schedule=holdings,
                  expected_shortfall=float(schedule.expected_shortfall(params, holdings)) if deterministic else None,
                  variance=float(schedule.variance(params, holdings)) if deterministic else None,
                  clip_probability=expected)


def monotone_drift_range(params: OptimalExecParams) -> tuple[float, float]:
    """The drifts μ for which the optimal schedule trades in one direction only.

    Holdings are affine in μ, h(μ) = h(0) + μ·g, so each constraint n_k(μ) >= 0
    and x_k(μ) >= 0 bounds μ from one side; the range is their intersection.
    """
    def optimal_holdings(drift: float) -> np.ndarray:
        p = replace(params, drift=drift)
        problem = lq_problem(p)
        return mean_holdings(p, problem, solve_lq(problem))

    base = optimal_holdings(0.0)
    slope = optimal_holdings(1.0) - base
    values = np.concatenate([-np.diff(base), base])
    slopes = np.concatenate([-np.diff(slope), slope])
    low, high = -np.inf, np.inf
    for value, rate in zip(values, slopes):
        if rate > 0:
            low = max(low, -value / rate)
        elif rate < 0:
            high = min(high, -value / rate)
    return low, high
