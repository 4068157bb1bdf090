"""The LQ oracle of OptimalExec: exact for linear impact without caps, adaptive under mean reversion.

State z_k = (x_k, d_k[, p_k or e_k]): shares still held before period k+1's trade,
the price's deviation from its long-run level d_k = S_k − μ̄, and (with a
smoothness penalty) the previous trade p_k, or (with transient impact) the book's
displacement against the order e_k = s·D_k. Control u_k = n_{k+1}, the shares
traded. Dynamics (φ = e^{−θτ}; φ = 1 for the random walk; ψ = e^{−ρτ})::

    x_{k+1} = x_k − u_k,    d_{k+1} = φ·d_k + μτ − s·γ·u_k + σ_τ·ξ_{k+1},    p_{k+1} = u_k,
    e_{k+1} = ψ·(e_k − κ·u_k)

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
decisions and the final cost is ρ·x_N². Transient impact adds κu²/2 − u·e to a
period's cost (R += κ/2, M_e = −1/2) and κx²/2 − x·e to the final one when the
order completes; the displacement is deterministic given the trades, so for the
random walk the optimum stays a deterministic schedule, Obizhaeva & Wang's
(block trades at the start and the end, the closed form's discrete analogue:
tests/problems/optimal_exec/test_transient.py). The half spread adds ε·Σ|n|: the
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
from operator import attrgetter

import numpy as np
from scipy.special import ndtr

from execgym.policy import Oracle
from execgym.problems.optimal_exec import dynamics, schedule
from execgym.problems.optimal_exec.params import OptimalExecParams
from execgym.solvers.lq import (LQProblem, LQSolution, StackedSolution, batch_dot, batch_matmul, batch_matvec,
                               solve_lq, solve_lq_stacked)

CLIP_TOLERANCE = 1e-6


def state_size(params: OptimalExecParams) -> int:
    """2, or 3 with a smoothness penalty (the previous trade joins the state) or transient impact (the book's
    displacement does; the two are not combined, :class:`OptimalExecParams`)."""
    return 3 if params.smoothness > 0.0 or params.transient else 2


def decisions(params: OptimalExecParams) -> int:
    """Decision periods: N − 1 when the order must complete (period N is forced), N with a soft target."""
    return params.periods - 1 if params.completes else params.periods


def lq_problem(params: OptimalExecParams) -> LQProblem:
    """The LQ problem whose solution is the optimal liquidation (see the module docstring)."""
    a = lq_arrays([params])
    return LQProblem(A=a["A"][0], B=a["B"][0], c=a["c"][0], W=a["W"][0], Q=a["Q"][0], R=a["R"][0], M=a["M"][0],
                     q=a["q"][0], r=a["r"][0], Q_final=a["Q_final"][0], q_final=a["q_final"][0],
                     steps=decisions(params))


def lq_arrays(markets: list[OptimalExecParams], columns: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """The coefficients of :func:`lq_problem` of markets of one shape (state size, decisions, completing or not,
    transient impact or not),
    stacked over them as :func:`~execgym.solvers.lq.solve_lq_stacked` takes them: per step (b, K, ...), the final
    cost (b, ...). Elementwise over the markets, so a market's coefficients do not depend on the others'.
    ``columns`` is :func:`market_columns` of the markets, if already computed."""
    for params in markets:
        if not params.linear_impact or params.trade_caps is not None:
            raise ValueError("the LQ oracle needs linear impact (impact_exponent=1, no impact_table) and no "
                             "trade_caps")
    first = markets[0]
    b, n, steps = len(markets), state_size(first), decisions(first)
    column = market_columns(markets) if columns is None else columns
    tau, s, phi, c = column["tau"], column["side_sign"], column["reversion_factor"], column["smoothness"]
    risk, gamma, eta = column["period_risk"], column["permanent_impact"], column["impact"]
    drift = column["drift"] * tau
    coupling = s * (phi - 1.0) / 2.0
    smooth = np.where(np.arange(steps) > 0, c[:, None], 0.0)                        # no previous trade before 1

    def per_step(*shape: int) -> np.ndarray:
        return np.zeros((b, steps, *shape))

    Q, M, A, B, W, c_vec, q = (per_step(n, n), per_step(n, 1), per_step(n, n), per_step(n, 1), per_step(n, n),
                               per_step(n), per_step(n))
    Q[..., 0, 0], Q[..., 0, 1], Q[..., 1, 0] = risk[:, None], -coupling[:, None], -coupling[:, None]
    M[..., 0, 0], M[..., 1, 0] = (0.5 * (gamma - 2.0 * risk))[:, None], coupling[:, None]
    R = (eta[:, :steps] / tau[:, None] - gamma[:, None] + risk[:, None] + smooth)[..., None, None]
    A[..., 0, 0], A[..., 1, 1] = 1.0, phi[:, None]
    B[..., 0, 0], B[..., 1, 0] = -1.0, (-s * gamma)[:, None]
    W[..., 1, 1] = (column["shock_scale"] ** 2)[:, None]
    c_vec[..., 1], q[..., 0] = drift[:, None], (-0.5 * s * drift)[:, None]
    r = np.broadcast_to((0.5 * s * drift)[:, None, None], (b, steps, 1))
    Q_final, q_final = np.zeros((b, n, n)), np.zeros((b, n))
    smoothed = n == 3 and not first.transient
    if smoothed:
        B[..., 2, 0] = 1.0
        Q[..., 2, 2], M[..., 2, 0] = smooth, -smooth
    kappa, decay = column["transient_impact"], column["transient_decay"]
    if first.transient:
        R += (0.5 * kappa)[:, None, None, None]
        M[..., 2, 0] = -0.5
        A[..., 2, 2], B[..., 2, 0] = decay[:, None], (-decay * kappa)[:, None]
    if first.completes:
        final_smooth = c if first.periods > 1 else np.zeros(b)
        Q_final[:, 0, 0] = eta[:, -1] / tau + final_smooth
        if smoothed:
            Q_final[:, 0, 2] = Q_final[:, 2, 0] = -final_smooth
            Q_final[:, 2, 2] = final_smooth
        if first.transient:
            Q_final[:, 0, 0] += 0.5 * kappa
            Q_final[:, 0, 2] = Q_final[:, 2, 0] = -0.5
    else:
        Q_final[:, 0, 0] = [params.target_penalty for params in markets]
        q_final[:, 0] = -0.5 * column["half_spread"]
    return dict(A=A, B=B, Q=Q, R=R, M=M, q=q, r=r, c=c_vec, W=W, Q_final=Q_final, q_final=q_final)


COLUMNS = ("tau", "side_sign", "reversion_factor", "smoothness", "period_risk", "permanent_impact", "drift",
           "shock_scale", "half_spread", "shares", "arrival_price", "long_run_price", "bps_per_currency",
           "transient_impact", "transient_decay")
_read_columns = attrgetter(*COLUMNS)


def market_columns(markets: list[OptimalExecParams]) -> dict[str, np.ndarray]:
    """The parameters the LQ oracle reads (:data:`COLUMNS`), one array (b,) each, and ``impact`` (b, N): each
    market's η_k (markets of one N)."""
    values = np.array([_read_columns(params) for params in markets], dtype=np.float64)
    columns = dict(zip(COLUMNS, values.T))
    columns["impact"] = np.stack([params.impact_per_period for params in markets])
    return columns


def initial_state(params: OptimalExecParams) -> np.ndarray:
    """z_0 = (X, S0 − μ̄[, 0])."""
    return initial_states(market_columns([params]), state_size(params))[0]


def initial_states(columns: dict[str, np.ndarray], n: int) -> np.ndarray:
    """:func:`initial_state` of each market (``columns``: :func:`market_columns`), (b, n)."""
    states = np.zeros((columns["shares"].size, n))
    states[:, 0], states[:, 1] = columns["shares"], columns["arrival_price"] - columns["long_run_price"]
    return states


def observed_state(params: OptimalExecParams, observations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(periods elapsed k, states z (n, 2 or 3)) from a batch of observations."""
    elapsed, inventory = dynamics.decode(params, observations)
    observations = np.asarray(observations, dtype=np.float64)
    deviation = params.arrival_price - params.long_run_price + observations[:, 2] * params.price_scale
    scale = params.transient_impact * params.shares if params.transient else params.shares   # e = s·D, or p
    columns = [inventory, deviation] + ([observations[:, 3] * scale] if state_size(params) == 3 else [])
    return elapsed, np.column_stack(columns)


def with_forced_trade(gain: np.ndarray, offset: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gains (..., K, n) and offsets (..., K) of the decisions, followed by those of period N, which trades
    everything held (u = x; with a soft target elapsed never reaches it)."""
    forced = np.zeros((*gain.shape[:-2], 1, gain.shape[-1]))
    forced[..., 0, 0] = 1.0
    return (np.concatenate([gain, forced], axis=-2),
            np.concatenate([offset, np.zeros((*offset.shape[:-1], 1))], axis=-1))


class LiquidationFeedback:
    """The LQ feedback acting through the env's action space: observation -> (k, state z) -> optimal
    shares n = K_k·z + k_k -> the action that trades n (:func:`dynamics.trade_to_action`).

    Where the optimal trade is one the action space cannot express (rare, see the module docstring,
    or off the optimal path) it is clipped to the trade range.
    """

    def __init__(self, params: OptimalExecParams, gain: np.ndarray, offset: np.ndarray) -> None:
        """``gain`` (K + 1, n) and ``offset`` (K + 1,): the optimal trade u_k = gain[k]·z + offset[k] of each
        decision k < K, then the last period's (:func:`with_forced_trade`)."""
        self.params, self.gain, self.offset = params, gain, offset

    def __call__(self, observations: np.ndarray) -> np.ndarray:
        elapsed, states = observed_state(self.params, observations)
        trade = np.einsum("ij,ij->i", self.gain[elapsed], states) + self.offset[elapsed]
        return dynamics.trade_to_action(self.params, elapsed, states[:, 0], trade)[:, None].astype(np.float32)


def _limits(params: OptimalExecParams) -> list[tuple[np.ndarray, float, float]]:
    """The action space's limits on the trade u from state z, as affine forms a·z + b·u + c >= 0."""
    coefficients, on_trade, constants = _stacked_limits([params], state_size(params))
    return [(coefficients[0, index], float(on_trade[0, index]), float(constants[0, index])) for index in range(2)]


def _stacked_limits(markets: list[OptimalExecParams], n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_limits` of markets of one shape, stacked: a (b, 2, n), b (b, 2), c (b, 2). One-way: u >= 0 and
    x − u >= 0; two-way: |u| <= m·X."""
    size = len(markets)
    coefficients, on_trade = np.zeros((size, 2, n)), np.broadcast_to(np.array([1.0, -1.0]), (size, 2))
    if markets[0].two_way:
        bound = np.array([params.max_trade * params.shares for params in markets])
        return coefficients, on_trade, np.stack([bound, bound], axis=1)
    coefficients[:, 1, 0] = 1.0
    return coefficients, on_trade, np.zeros((size, 2))


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
    recursion, the mean path, the breach probabilities, the values and the moments of markets of one shape (state
    size, decision periods, completing or not, two-way or not) computed together, vectorised over markets
    (:func:`lq_arrays`, :func:`~execgym.solvers.lq.solve_lq_stacked`).
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
    groups: dict[tuple[int, int, bool, bool, bool], list[int]] = {}
    for index, params in enumerate(markets):
        if params.two_way and params.half_spread > 0.0:
            out[index] = ValueError(f"with two_way=True the exact oracle needs half_spread=0 (got "
                                    f"{params.half_spread:g}): the cost ε·|n| of trades in both directions is "
                                    "not quadratic")
            continue
        groups.setdefault((state_size(params), decisions(params), params.completes, params.two_way,
                           params.transient), []).append(index)
    for indices in groups.values():
        group = [markets[i] for i in indices]
        for i, built in zip(indices, _group_oracles(group)):
            out[i] = built
    return out


def _group_oracles(markets: list[OptimalExecParams]) -> list[Oracle | ValueError]:
    """The oracles of markets of one shape: the Riccati recursion, the mean path, the breach probabilities, the
    values and (for the random walk) E[IS] and Var[IS] of all of them together, elementwise over the markets.
    Each oracle's schedule and feedback gains are rows of the group's arrays (views, made read-only by the cache:
    no copy per market), so the group's arrays live as long as one of its oracles, about 430 bytes a market."""
    columns = market_columns(markets)
    a = lq_arrays(markets, columns)
    solution = solve_lq_stacked(a)
    x0 = initial_states(columns, a["Q"].shape[-1])
    states, breaches = _mean_paths(markets, a, solution, x0)
    first = markets[0]
    holdings = states[:, :, 0].copy()
    if first.completes:
        holdings = np.concatenate([holdings, np.zeros((len(markets), 1))], axis=1)
    shares = columns["shares"]
    tolerance = 1e-9 * shares[:, None]
    one_way_broken = (np.diff(holdings, axis=1) > tolerance).any(axis=1) | (holdings < -tolerance).any(axis=1)
    expected = breaches.sum(axis=(1, 2))
    if not first.two_way:
        holdings = np.clip(holdings, 0.0, None)
    holdings[:, 0] = shares
    values = (batch_dot(x0, batch_matvec(solution.P[:, 0], x0)) + 2.0 * batch_dot(x0, solution.p[:, 0])
              + solution.z[:, 0] + columns["half_spread"] * shares)
    returns = -values * columns["bps_per_currency"]
    shortfall, variance = _schedule_moments(columns, holdings)
    gains, offsets = with_forced_trade(solution.gain, solution.offset)
    out: list[Oracle | ValueError] = []
    for i, params in enumerate(markets):
        try:
            _check_expressible(params, bool(one_way_broken[i]), breaches[i])
        except ValueError as error:
            out.append(error)
            continue
        deterministic = params.mean_reversion == 0.0
        out.append(Oracle(policy=LiquidationFeedback(params, gains[i], offsets[i]),
                          expected_return=float(returns[i]), schedule=holdings[i],
                          expected_shortfall=float(shortfall[i]) if deterministic else None,
                          variance=float(variance[i]) if deterministic else None,
                          clip_probability=float(expected[i])))
    return out


def _mean_paths(markets: list[OptimalExecParams], a: dict[str, np.ndarray], solution: StackedSolution,
                x0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For markets of one shape (coefficients ``a``, :func:`lq_arrays`): the states (b, K+1, n) of the optimal
    policy with the noise at its mean, from ``x0`` (b, n), and the breach probabilities (b, K, limits) of
    :func:`breach_probabilities`, vectorised over markets with elementwise operations only (a market's
    numbers do not depend on the others')."""
    b, K, n = a["Q"].shape[:3]
    A, B, c, W = a["A"], a["B"][..., 0], a["c"], a["W"]
    gain, offset = solution.gain, solution.offset
    coefficients, on_trade, constants = _stacked_limits(markets, n)                 # (b, L, n), (b, L), (b, L)
    floor = -1e-9 * np.array([params.shares for params in markets])
    mean = x0
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


def _schedule_moments(columns: dict[str, np.ndarray], holdings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """E[IS] and Var[IS] (:mod:`~execgym.problems.optimal_exec.schedule`) of each market's holdings (b, N + 1),
    for linear impact (g_k = ε + η_k·|n|/τ) and transient impact, elementwise over the markets (``columns``:
    :func:`market_columns`)."""
    trades = -np.diff(holdings, axis=1)
    size = np.abs(trades)
    unit = columns["half_spread"][:, None] + columns["impact"] * size / columns["tau"][:, None]
    trading = (size * unit).sum(axis=1) + schedule.transient_cost_of(trades, columns["transient_impact"],
                                                                       columns["transient_decay"])
    shortfall = schedule.shortfall_of(holdings, trading, columns["side_sign"],
                                      columns["reversion_factor"], columns["arrival_price"] - columns["long_run_price"],
                                      columns["drift"] * columns["tau"], columns["permanent_impact"])
    return shortfall, schedule.variance_of(holdings, columns["reversion_factor"], columns["shock_scale"])


def _check_expressible(params: OptimalExecParams, one_way_broken: bool, breaches: np.ndarray) -> None:
    """ValueError where the action space cannot express the optimum: a one-way random-walk schedule that trades
    both ways, or more expected breaches of the trade range than :data:`CLIP_TOLERANCE`."""
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
