"""The oracle of MarketMaking: exact backward induction over (step, inventory).

| objective | Bellman recursion (q' after the step's fills) | per-state maximisation |
|---|---|---|
| risk neutral | V_N(q) = −α·q²;  V_n(q) = max E[δ_b·1_b + δ_a·1_a + g_n(q')], g_n(q') = V_{n+1}(q') + μ·dt·q' − φ·dt·q'² | :func:`~execgym.solvers.quotes.risk_neutral_quotes` |
| exponential utility | θ_N(q) = e^{γα q²};  θ_n(q) = min E[e^{−γ(δ_b·1_b + δ_a·1_a)}·h_n(q')], h_n(q') = M(q')·e^{γφ dt q'²}·θ_{n+1}(q') | :func:`~execgym.solvers.quotes.utility_quotes` |
| either, quotes on ticks | the same recursion | exhaustive over tick pairs, :func:`~execgym.solvers.quotes.grid_quotes` |

The price enters only through E[q'·ΔS] = q'·μ·dt (risk neutral) or
M(q') = E[e^{−γ q' ΔS}] = exp(−γq'μdt + γ²q'²σ²dt/2) (Gaussian shocks),
e^{−γq'μdt}·cosh(γq'σ√dt) (binomial), and the cash and mark-to-market wealth
factor out (E[e^{−γΠ}] = θ_0(q_0)), so (step, inventory) is the whole state
and the observation carries it. ``expected_return``: V_0(q_0) (currency), or
E[u(Π)] = (1 − θ_0(q_0))/γ for the utility objective.

Exponential utility in numbers. θ spans far more than float64's range, so the
recursion carries ln θ_n and ln h_n (the one-step solver works with the
log-ratios of neighbouring levels only: :mod:`execgym.solvers.quotes`), finite
at every γ; the value is E[u] = −expm1(ln θ_0)/γ, exact also as γ → 0, where
it tends to the risk-neutral V_0 (as do the quotes, by O(γ)), and
``certainty_equivalent`` = −ln θ_0/γ. Where E[u] is beyond float64
(ln θ_0 > ln(γ·1.8e308)) :func:`make_oracle` raises ValueError naming the range
of γ at which it is not (:func:`_representable_range`). Large values of θ_0 are
exact, not rounding: a quote at δ_max still fills with probability p(δ_max)
per step (3.9e-4 on the default market), so every policy can be pushed to
inventories where the price risk per step, e^{γ²q²σ²dt/2}, outweighs the
chance of leaving them, and E[e^{−γΠ}] is dominated by such episodes. On the
default market, ln θ_0 >= 268 at γ = 0.3 for any policy (50 bid fills in a
row, then 150 steps at Q̄ = 50: the test suite computes the bound), where the
oracle's ln θ_0 = 284.5 and E[u] = −1.2e124, though the typical episode
earns Π ≈ 50: episodes that rare never occur in a sample, so its mean
utility does not estimate E[u] there. Markets whose quotes can be moved out
of reach (δ_max = 50) keep ln θ_0 < 0 up to γ ≈ 1.

Cost: O(N·(2Q̄+1)·I) time for continuous depths, I the iterations of the
one-step solver (about 5–15), and O(N·(2Q̄+1)·(M+1)²) on a grid of M + 1
depths; memory O(N·(2Q̄+1)) for the quote tables, at most :data:`MAX_CELLS` cells.
Parameters whose backward induction leaves float64's range (a quote or value
not finite, or an expected utility beyond it) raise ``ValueError``.

:func:`discounted_quotes` solves the infinite-horizon discounted variant by
value iteration on the same one-step maximisation.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from execgym.policy import Oracle, OracleCost
from execgym.problems.market_making.dynamics import decode, quoted_sides
from execgym.problems.market_making.env import depth_actions
from execgym.problems.market_making.params import MarketMakingParams
from execgym.solvers.quotes import (FillModel, grid_quotes, risk_neutral_quotes, risk_neutral_value, utility_quotes,
                                   utility_value)
from execgym.validation import require_int

UTILITY_SOLVES = 4
"""Most solves (at other risk aversions) spent on the range of risk aversions at which E[u] is a float64,
for the message of :func:`_expected_return` where it is not."""
LOG_MAX = float(np.log(np.finfo(np.float64).max)) - 1e-6
"""ln of the largest float64, less a margin for rounding."""
BUILD_OVERHEAD = 0.012
"""Seconds of an oracle build that do not grow with the problem (:func:`build_cost`)."""
SECONDS_PER_STEP = 5e-4
"""Build seconds per step of the recursion apart from its states (continuous depths)."""
SECONDS_PER_STATE = 3.2e-7
"""Build seconds per (step, inventory) state with continuous depths, risk neutral (measured with the above: 200
steps × 21, 101 and 801 levels in 0.07–0.14, 0.11–0.16 and 0.15–0.20 s, 500 × 201 in 0.18–0.35 s, on an idle
and a busy machine)."""
UTILITY_FACTOR = 3.3
"""How much longer the exponential-utility recursion takes (measured: 0.39–0.44 s against 0.11–0.16 s by
default)."""
SECONDS_PER_GRID_STEP = 2.3e-4
"""Build seconds per step of the recursion on a tick grid apart from its candidates."""
SECONDS_PER_CANDIDATE = 1.9e-9
"""Build seconds per (step, inventory, bid depth, ask depth) candidate on a tick grid (measured with the above:
200 steps × 101 levels × 11² depths in 0.051 s, × 21² in 0.064 s, 1,000 steps × 21² in 0.31 s)."""


def fill_model(params: MarketMakingParams) -> FillModel:
    """The fill probability of one step of ``params``."""
    return FillModel(rate_dt=params.arrival_rate * params.dt, decay=params.depth_decay,
                     poisson=params.fill_probability == "poisson", max_depth=params.max_depth)


def running_reward(params: MarketMakingParams, inventories: np.ndarray) -> np.ndarray:
    """E[q'·ΔS] − φ·q'²·dt: the expected reward of holding q' through a step, apart from the spread."""
    return (params.drift * inventories - params.inventory_penalty * inventories**2) * params.dt


def log_price_factor(params: MarketMakingParams, inventories: np.ndarray) -> np.ndarray:
    """log E[e^{−γ q' ΔS}] + γφ·dt·q'²: the log-factor of holding q' through a step under exponential utility."""
    gamma, q = params.risk_aversion, inventories.astype(np.float64)
    drift = -gamma * q * params.drift * params.dt
    if params.price_shocks == "gaussian":
        risk = 0.5 * (gamma * q * params.volatility) ** 2 * params.dt
    else:
        x = np.abs(gamma * q * params.volatility * np.sqrt(params.dt))
        risk = x + np.log1p(np.exp(-2.0 * x)) - np.log(2.0)  # log cosh x, stable
    return drift + risk + gamma * params.inventory_penalty * params.dt * q**2


def _recursion_ends(params: MarketMakingParams) -> tuple[np.ndarray, np.ndarray]:
    """(terminal values, holding term), each (2Q̄+1,), of the backward recursion: V_N = −α·q² and
    :func:`running_reward` (risk neutral), or log θ_N = γα·q² and :func:`log_price_factor` (utility)."""
    q = params.inventories
    if params.objective == "cara":
        return params.risk_aversion * params.terminal_penalty * q**2, log_price_factor(params, q)
    return -params.terminal_penalty * q**2, running_reward(params, q)


def _utility(gamma: float, log_theta: float) -> float:
    """E[u] = (1 − θ)/γ from ln θ = ln E[e^{−γΠ}]: −expm1(ln θ)/γ, exact also as γ → 0 (inf where beyond float64)."""
    with np.errstate(over="ignore"):
        return float(-np.expm1(log_theta) / gamma)


def _expected_return(params: MarketMakingParams, start: float, log_theta_at) -> float:
    """E[Σ reward] from the recursion's start value: V_0(q_0), or E[u] = (1 − θ_0(q_0))/γ under "cara".

    Where E[u] is beyond float64, ValueError naming the risk aversions at which it is not
    (:func:`_representable_range`; ``log_theta_at(γ')`` gives ln θ_0(q_0) at another γ').
    """
    if params.objective != "cara":
        return float(start)
    gamma = params.risk_aversion
    utility = _utility(gamma, start)
    if np.isfinite(utility):
        return utility
    low, high = _representable_range(gamma, start, log_theta_at)
    raise ValueError(
        f"with risk_aversion = {gamma:g} the expected utility E[u(Π)] = (1 − E[e^{{−γΠ}}])/γ is about "
        f"−e^{{{start - np.log(gamma):.6g}}}, beyond float64 (ln E[e^{{−γΠ}}] = {start:.6g}); with these params "
        f"it is representable for every risk_aversion <= {_three_digits(low, np.floor):.3g} and not above "
        f"{_three_digits(high, np.ceil):.3g}. The certainty equivalent −ln E[e^{{−γΠ}}]/γ stays finite "
        f"({-start / gamma:.6g} here; policy_certainty_equivalent gives it for any quotes)")


def _representable_range(gamma: float, log_theta: float, log_theta_at) -> tuple[float, float]:
    """(low, high): E[u] is a float64 at every risk aversion <= low and not at ``gamma`` nor above high, from
    ln θ = ``log_theta`` at ``gamma`` (where it is not) and ``log_theta_at(γ')``.

    The γ' where it is form an interval (1/F, γ*], F the largest float64: the certainty equivalent
    −ln E[e^{−γΠ}]/γ cannot fall as γ falls (for one random variable it decreases with γ, and so does
    its optimum over policies), so below a representable γ, ln θ(γ') <= (γ'/γ)·ln(γF) <= ln(γ'F); and
    below a γ where it is not, the certainty equivalent there bounds γ* from below
    (:func:`_representable_below`). Bisection on ln γ' from that bound at ``gamma``, every trial where
    E[u] overflows raising the low end by its own bound, until high/low < 1.01 or after
    :data:`UTILITY_SOLVES` trials.
    """
    low, high = _representable_below(-log_theta / gamma), gamma
    for _ in range(UTILITY_SOLVES):
        if high / low < 1.01:
            break
        trial = float(np.sqrt(low * high))
        log_theta_trial = log_theta_at(trial)
        if np.isfinite(_utility(trial, log_theta_trial)):
            low = trial
        else:
            low, high = max(low, _representable_below(-log_theta_trial / trial)), trial
    return low, high


def _representable_below(certainty_equivalent: float) -> float:
    """The largest γ' with γ'·|CE| <= ln(γ'·F) (F the largest float64, less 1e-6 in the log), for a certainty
    equivalent CE < 0 at some γ > γ': E[u] is finite at every γ'' <= γ' (:func:`_representable_range`). The
    larger root, by the iteration γ' ← (ln F + ln γ')/|CE| from above (slope 1/(γ'·|CE|) ≈ 1/700 near it)."""
    loss = -certainty_equivalent
    gamma = LOG_MAX / loss
    for _ in range(20):
        gamma = (LOG_MAX + np.log(gamma)) / loss
    return float(gamma)


def _three_digits(value: float, rounding) -> float:
    """``value`` rounded to 3 significant digits by ``rounding`` (np.floor or np.ceil)."""
    unit = 10.0 ** (np.floor(np.log10(value)) - 2)
    return float(rounding(value / unit) * unit)


def _certainty_equivalent(params: MarketMakingParams, start: float) -> float:
    """−ln θ_0(q_0)/γ under "cara" (currency; finite where E[u] overflows), V_0(q_0) under "risk_neutral"."""
    return float(-start / params.risk_aversion) if params.objective == "cara" else float(start)


@dataclass(frozen=True)
class QuoteTables:
    """The optimal quotes and values of every (step, inventory).

    ``bid``, ``ask``: (N, 2Q̄+1) depths (currency; δ_max on a side not quoted); ``values``: (N+1, 2Q̄+1),
    V_n(q) (risk neutral) or log θ_n(q) (utility), row N the terminal one; ``certified``: (N, 2Q̄+1) True
    where the quotes are proven optimal (:mod:`execgym.solvers.quotes`: exhaustive on a tick grid, the
    concavity certificate for continuous risk-neutral quotes; never for continuous utility quotes, which
    are checked by a grid search instead).
    """

    bid: np.ndarray
    ask: np.ndarray
    values: np.ndarray
    certified: np.ndarray


MAX_CELLS = 2 * 10**7
"""Most (step, inventory) cells of the oracle's tables (some 500 MB)."""


def solve(params: MarketMakingParams) -> QuoteTables:
    """Backward induction (module docstring) for ``params``; ValueError beyond :data:`MAX_CELLS` cells, or where
    a value or quote leaves float64's range (an overflow, or a value whose logarithm is −inf)."""
    if params.steps * params.levels > MAX_CELLS:
        raise ValueError(f"the oracle's tables would have steps·(2·max_inventory + 1) = "
                         f"{params.steps * params.levels:,} cells, more than {MAX_CELLS:,}: lower steps or "
                         "max_inventory")
    try:
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            return _induction(params)
    except FloatingPointError as error:
        raise ValueError(f"the backward induction for {params!r} leaves float64's range ({error}): its parameters "
                         "are too extreme for the oracle") from None


def _induction(params: MarketMakingParams) -> QuoteTables:
    levels, steps = params.levels, params.steps
    bid, ask = np.empty((steps, levels)), np.empty((steps, levels))
    values = np.empty((steps + 1, levels))
    certified = np.ones((steps, levels), dtype=bool)
    utility = params.objective == "cara"
    gamma = params.risk_aversion
    values[steps], holding = _recursion_ends(params)
    fills = fill_model(params)
    if params.discrete:
        grid = params.depth_grid
        probabilities = fills.probability(grid)
    step = None
    for n in range(steps - 1, -1, -1):
        continuation = values[n + 1] + holding
        if params.discrete:
            i, j, values[n] = grid_quotes(probabilities, grid, continuation, gamma)
            bid[n], ask[n] = grid[i], grid[j]
            bid[n, -1] = ask[n, 0] = params.max_depth  # the sides not quoted, as for continuous depths
            continue
        if utility:
            step = utility_quotes(fills, continuation, gamma, step)
        else:
            step = risk_neutral_quotes(fills, continuation, step)
        bid[n], ask[n], values[n], certified[n] = step.bid, step.ask, step.value, step.certified
    return QuoteTables(bid=bid, ask=ask, values=values, certified=certified)


def _start_value(params: MarketMakingParams, bid: np.ndarray, ask: np.ndarray) -> float:
    """V_0(q_0) (risk neutral) or log θ_0(q_0) (utility) of quoting the tables ``bid``, ``ask``: the oracle's
    recursion with the quotes given instead of maximised."""
    bid, ask = np.asarray(bid, dtype=np.float64), np.asarray(ask, dtype=np.float64)
    shape = (params.steps, params.levels)
    if bid.shape != shape or ask.shape != shape:
        raise ValueError(f"bid and ask must have shape (steps, 2·max_inventory + 1) = {shape}, got {bid.shape} "
                         f"and {ask.shape}")
    if min(bid.min(), ask.min()) < 0.0 or max(bid.max(), ask.max()) > params.max_depth:
        raise ValueError(f"depths must lie in [0, max_depth] = [0, {params.max_depth:g}]")
    if params.discrete:
        ticks = np.stack([bid, ask]) / params.tick_size
        if np.abs(ticks - np.rint(ticks)).max() > 1e-9:
            raise ValueError(f"depths must be whole numbers of ticks (tick_size = {params.tick_size:g}): the env "
                             "quotes only those")
    utility = params.objective == "cara"
    gamma = params.risk_aversion
    value, holding = _recursion_ends(params)
    fills = fill_model(params)
    quoted = np.stack(quoted_sides(params, params.inventories))
    for n in range(params.steps - 1, -1, -1):
        depth = np.stack([bid[n], ask[n]])
        probability = np.where(quoted, fills.probability(depth), 0.0)
        continuation = value + holding
        value = (utility_value(continuation, depth, probability, gamma) if utility
                 else risk_neutral_value(continuation, depth, probability))
    return float(value[params.initial_inventory + params.max_inventory])


def policy_value(params: MarketMakingParams, bid: np.ndarray, ask: np.ndarray) -> float:
    """The exact E[Σ reward] of quoting the depths ``bid``, ``ask`` (N, 2Q̄+1) at (step, inventory), in the
    env's reward units (under "cara", ValueError where E[u] is beyond float64: the certainty equivalent,
    :func:`policy_certainty_equivalent`, is finite there)."""
    return _expected_return(params, _start_value(params, bid, ask),
                            lambda gamma: _start_value(replace(params, risk_aversion=gamma), bid, ask))


def policy_certainty_equivalent(params: MarketMakingParams, bid: np.ndarray, ask: np.ndarray) -> float:
    """The exact certainty equivalent −ln E[e^{−γΠ}]/γ of the quote tables under "cara" (currency; finite
    where the expected utility overflows), or E[Π] under "risk_neutral"."""
    return _certainty_equivalent(params, _start_value(params, bid, ask))


class QuotePolicy:
    """Quotes from a table of depths per (step, inventory), acting from observations: continuous actions
    2δ/δ_max − 1 (float32), or tick indices δ/h (int64) on a tick grid."""

    def __init__(self, params: MarketMakingParams, bid: np.ndarray, ask: np.ndarray) -> None:
        self.params = params
        self.bid, self.ask = bid, ask

    def depths(self, observations: np.ndarray) -> np.ndarray:
        """(b, 2) [bid, ask] depths of the table at the observed (step, inventory)."""
        elapsed, inventory = decode(self.params, observations)
        level = inventory + self.params.max_inventory
        return np.stack([self.bid[elapsed, level], self.ask[elapsed, level]], axis=1)

    def __call__(self, observations: np.ndarray) -> np.ndarray:
        return depth_actions(self.params, self.depths(observations))


@dataclass(frozen=True)
class QuoteOracle(Oracle):
    """:class:`~execgym.policy.Oracle` with the quote tables and, for the utility objective, the certainty
    equivalent −ln(θ_0(q_0))/γ (currency) of the optimum."""

    tables: QuoteTables | None = None
    certainty_equivalent: float | None = None


def build_cost(params: MarketMakingParams) -> OracleCost:
    """What :func:`make_oracle` would take: N·(2Q̄+1) one-step solves with continuous depths, or N·(2Q̄+1)·(M+1)²
    candidates searched on a grid of M + 1 depths; refused past :data:`MAX_CELLS` cells, as :func:`solve` refuses."""
    states = params.steps * params.levels
    refusal = None if states <= MAX_CELLS else (f"its tables would have {states:,} cells, more than {MAX_CELLS:,}: "
                                                "lower steps or max_inventory")
    if params.discrete:
        candidates = states * params.depth_grid.shape[0] ** 2
        return OracleCost(size=candidates, unit="(step, inventory, bid, ask) candidates N·(2Q̄+1)·(M+1)²",
                          seconds=BUILD_OVERHEAD + SECONDS_PER_GRID_STEP * params.steps
                          + SECONDS_PER_CANDIDATE * candidates, refusal=refusal)
    factor = UTILITY_FACTOR if params.objective == "cara" else 1.0
    return OracleCost(size=states, unit="(step, inventory) states N·(2Q̄+1)",
                      seconds=BUILD_OVERHEAD + factor * (SECONDS_PER_STEP * params.steps + SECONDS_PER_STATE * states),
                      refusal=refusal)


def make_oracle(params: MarketMakingParams) -> QuoteOracle:
    """The optimal policy of ``params`` and its exact value (module docstring)."""
    tables = solve(params)
    level = params.initial_inventory + params.max_inventory
    start = tables.values[0, level]
    expected = _expected_return(params, start,
                                lambda gamma: solve(replace(params, risk_aversion=gamma)).values[0, level])
    return QuoteOracle(policy=QuotePolicy(params, tables.bid, tables.ask), expected_return=expected, tables=tables,
                       certainty_equivalent=_certainty_equivalent(params, start))


@dataclass(frozen=True)
class DiscountedSolution:
    """Stationary optimum of the discounted infinite-horizon problem: ``values`` (2Q̄+1,), ``bid``, ``ask``
    (2Q̄+1,), the ``iterations`` run, the last sup-norm change ``change`` and ``error_bound`` =
    β·change/(1 − β) >= sup |values − V*|."""

    values: np.ndarray
    bid: np.ndarray
    ask: np.ndarray
    iterations: int
    change: float
    error_bound: float


def discounted_quotes(params: MarketMakingParams, discount_rate: float, tolerance: float = 1e-9,
                      max_iterations: int = 1_000_000) -> DiscountedSolution:
    """Value iteration for V(q) = max E[δ_b·1_b + δ_a·1_a + μ·dt·q' − φ·dt·q'² + β·V(q')], β = e^{−ρ·dt}
    (ρ = ``discount_rate`` per unit time; risk-neutral objective, continuous depths), from V = 0 until the
    error bound β·‖V_{i+1} − V_i‖/(1 − β) is below ``tolerance`` (currency). The Bellman operator is a
    β-contraction, so the bound holds and the greedy quotes are optimal up to it."""
    if not discount_rate > 0.0:
        raise ValueError(f"discount_rate must be > 0 (per unit time), got {discount_rate!r}")
    if not tolerance > 0.0:
        raise ValueError(f"tolerance must be > 0, got {tolerance!r}")
    max_iterations = require_int("max_iterations", max_iterations, low=1)
    if params.objective != "risk_neutral" or params.discrete:
        raise ValueError("discounted_quotes solves the risk-neutral objective with continuous depths; got "
                         f"objective = {params.objective!r}, tick_size = {params.tick_size!r}")
    beta = float(np.exp(-discount_rate * params.dt))
    holding = running_reward(params, params.inventories)
    fills = fill_model(params)
    values = np.zeros(params.levels)
    step = None
    for iteration in range(1, max_iterations + 1):
        step = risk_neutral_quotes(fills, beta * values + holding, step)
        change = float(np.abs(step.value - values).max())
        values = step.value
        bound = beta * change / (1.0 - beta)
        if bound <= tolerance:
            return DiscountedSolution(values, step.bid, step.ask, iteration, change, bound)
    raise RuntimeError(f"value iteration did not reach tolerance {tolerance:g} in {max_iterations} iterations "
                       f"(error bound {bound:g})")
