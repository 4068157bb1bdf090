"""Optimal bid and ask depths of one market-making step, for every inventory level at once.

A quote at depth δ >= 0 fills within a step with probability p(δ): Poisson
arrivals at rate A·e^{−kδ} give p = 1 − exp(−u), u = A·dt·e^{−kδ}, and the
linear rule gives p = u. The two sides fill independently. With g(q') the
value of ending the step at inventory q' (after the step's running reward),
the step's expected value of quoting (δ_b, δ_a) at inventory q is

* risk neutral (maximise)::

      J = p_b·(δ_b + Δ⁺) + p_a·(δ_a + Δ⁻) + p_b·p_a·C,
      Δ⁺ = g(q+1) − g(q),  Δ⁻ = g(q−1) − g(q),  C = −(Δ⁺ + Δ⁻),   V = g(q) + max J

  (the last term is the step where both sides fill and q is unchanged);

* exponential utility (minimise E[e^{−γ·gain}·h(q')], h > 0)::

      E = (1−p_b)(1−p_a)·h(q) + p_b(1−p_a)·e_b·h(q+1) + (1−p_b)p_a·e_a·h(q−1) + p_b·p_a·e_b·e_a·h(q),
      e_b = e^{−γδ_b},  e_a = e^{−γδ_a}.

For one side with the other held fixed, both become "maximise p(δ)·r(δ)" with
a margin r: r = δ + c with c = Δ⁺ + p_a·C (bid; ask alike) in the risk-neutral
case, and r = 1 − ρ·e^{−γδ}, ρ = B/D, in the exponential case (E = D −
p_b·(D − B·e_b), D = (1−p_a)h(q) + p_a·e_a·h(q−1), B = (1−p_a)h(q+1) +
p_a·e_a·h(q)). Both p and r are log-concave in δ, so p·r is unimodal and its
maximiser is the unique root of the first-order condition

    F(δ) = (log p)'(δ) + (log r)'(δ) = 0,     (log p)' = −k·u/(e^u − 1) (Poisson), −k (linear)

clipped to [0, δ_max]. With the linear rule the root is in closed form:
δ = 1/k − c (risk neutral; Cartea–Jaimungal's quote) and
δ = (ln ρ + ln(1 + γ/k))/γ (exponential; the Avellaneda–Stoikov /
Guéant–Lehalle–Fernandez-Tapia quote). With Poisson fills (log p)' > −k, so
the root lies right of that closed form, which starts the Newton iteration
below (F is decreasing: a root outside [0, δ_max] puts the optimum at the
nearer end).

The exponential case is computed in logarithms throughout, since h spans far
more than float64's range (ln h reaches 4·10⁵ at γ = 10 on the default market
of MarketMaking, and neighbouring levels differ by thousands in ln h): only
ln h is carried, with the log-ratios Δ⁺, Δ⁻ = ln h(q±1) − ln h(q) (finite
whatever their size), and

    E/h(q) = (1−p_b)·[(1−p_a) + p_a·e^{Δ⁻−γδ_a}] + p_b·[(1−p_a)·e^{Δ⁺−γδ_b} + p_a·e^{−γ(δ_b+δ_a)}],
    ρ = [(1−p_a)·e^{Δ⁺} + p_a·e^{−γδ_a}] / [(1−p_a) + p_a·e^{Δ⁻−γδ_a}]

are nested two-term mixtures, whose logarithms ln((1−p)·e^a + p·e^b) are
computed by :func:`log_mix` as max(a, b) + log1p(w·expm1(−|a − b|)), w the
weight of the smaller exponent (by log-add-exp where that sum is below −½):
no overflow, and values of size O(γ) keep their relative accuracy as γ → 0
(where a plain log-add-exp would leave them an absolute error of 1e-16,
relative 1e-16/γ). The margin enters only through z = γδ − ln ρ > 0
(r = −expm1(−z)):

    (log r)' = γ/expm1(z),     (log r)'' = −γ²/(expm1(z)·(−expm1(−z))),

which tend to the risk-neutral 1/(δ + c) and −1/(δ + c)² as γ → 0 (z → γ·(δ + c))
instead of cancelling, so Newton's iteration settles in as few steps at
γ = 1e-9 as at γ = 0.1, and the optimum tends to the risk-neutral one.

The two sides interact only through the both-fill term (p_b·p_a·C, or the
cross terms of E), which is O(dt²). They are solved jointly: every iteration
takes one Newton step on each side's condition against the other side's last
iterate, until no depth moves by more than 1e-10 (a fixed point is a
stationary point of the step's objective).

When is that stationary point the optimum? In the fill probabilities,
J(p_b, p_a) = f(p_b) + f(p_a) + p_b·Δ⁺ + p_a·Δ⁻ + p_b·p_a·C with f(p) = p·δ(p)
concave, so J is jointly concave, and its stationary point the global
maximum, wherever |C| < min −f'' over the quotable probabilities
(:meth:`FillModel.concavity`; 3.0 against |C| <= 1.0 at the default market).
Levels that meet this, and the two end levels (one side quoted: a concave
one-dimensional problem), are ``certified``. At the others (strong curvature of
the continuation, or an iteration that did not settle), and at every level
of the exponential-utility objective, for which no such certificate is
derived, a safety net compares the stationary point with the best pair of a
17 × 17 grid and with that pair polished, and keeps the best. The tests hold
both objectives against fine grid searches: certified levels are never
beaten; elsewhere, in strongly coupled cases (e.g. A·dt = 1 with linear
fills and k > 2, two local optima of nearly equal value), the net has landed
up to 1.3e-3 below the best pair of a 401-point grid. At the markets of the
benchmarks (default, Avellaneda–Stoikov's, utility objective) the net never
changes a quote: the stationary point is the best it finds everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

TOLERANCE = 1e-10
MAX_ITERATIONS = 100
SAFETY_POINTS = 17
MAX_EXPONENT = 700.0
"""Largest argument given to exp/expm1 (e^{709.8} overflows float64)."""


@dataclass(frozen=True)
class FillModel:
    """p(δ) for one step: ``rate_dt`` = A·dt, ``decay`` = k (per currency), ``poisson`` (else linear), for
    quotes at depths [0, ``max_depth``]."""

    rate_dt: float
    decay: float
    poisson: bool
    max_depth: float

    def probability(self, depth: np.ndarray) -> np.ndarray:
        """p(δ): 1 − exp(−A·dt·e^{−kδ}) (Poisson) or A·dt·e^{−kδ} (linear)."""
        u = self.rate_dt * np.exp(-self.decay * depth)
        return -np.expm1(-u) if self.poisson else u

    def log_slopes(self, depth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """((log p)', (log p)'') at ``depth``."""
        k = self.decay
        if not self.poisson:
            return np.full_like(depth, -k), np.zeros_like(depth)
        u = self.rate_dt * np.exp(-k * depth)
        capped = np.minimum(u, MAX_EXPONENT)      # beyond it u/(e^u − 1) is 0 to float64 precision
        em1 = np.expm1(capped)
        positive = em1 > 0.0                      # u/(e^u − 1) → 1 and the curvature term → 0 as u underflows
        ratio = np.divide(u, em1, out=np.ones_like(u), where=positive)
        bend = np.divide(em1 - capped * (em1 + 1.0), em1, out=np.zeros_like(u), where=positive)
        return -k * ratio, k * k * ratio * bend


    @cached_property
    def concavity(self) -> float:
        """min over δ ∈ [0, δ_max] of −f''(p), f(p) = p·δ(p) the spread income as a function of the fill
        probability: −f'' = 1/(k·p) (linear), (2(1−p)u − p(1−u))/(k(1−p)²u²) with u = −ln(1−p) (Poisson),
        evaluated on 2001 depths and shrunk by 1 % for the gaps between them."""
        depth = np.linspace(0.0, self.max_depth, 2001)
        p, u = self.probability(depth), self.rate_dt * np.exp(-self.decay * depth)
        if not self.poisson:
            numerator, denominator = np.ones_like(p), self.decay * p
        else:
            numerator, denominator = 2 * (1 - p) * u - p * (1 - u), self.decay * (1 - p) ** 2 * u**2
        # where p or 1 − p underflows the curvature is +inf (it grows without bound there)
        with np.errstate(over="ignore"):
            curvature = np.divide(numerator, denominator, out=np.full_like(p, np.inf), where=denominator > 0.0)
        return 0.99 * float(curvature.min())


@dataclass(frozen=True)
class SpreadMargin:
    """Risk-neutral margin r(δ) = δ + c (c per inventory level)."""

    c: np.ndarray

    @property
    def zero(self) -> np.ndarray:
        """The depth where r = 0: −c."""
        return -self.c

    def log_slopes(self, depth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """((log r)', (log r)'') = (1/(δ + c), −1/(δ + c)²)."""
        inverse = 1.0 / (depth + self.c)
        return inverse, -inverse * inverse

    def linear_root(self, decay: float) -> np.ndarray:
        """The maximiser under linear fills: 1/k − c."""
        return 1.0 / decay - self.c


@dataclass(frozen=True)
class UtilityMargin:
    """Exponential-utility margin r(δ) = 1 − ρ·e^{−γδ} = −expm1(−z), z = γδ − ln ρ, from ``log_rho`` = ln ρ per
    inventory level (module docstring: never ρ itself, which overflows)."""

    log_rho: np.ndarray
    gamma: float

    @property
    def zero(self) -> np.ndarray:
        """The depth where r = 0: ln(ρ)/γ."""
        return self.log_rho / self.gamma

    def log_slopes(self, depth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """((log r)', (log r)'') = (γ/expm1(z), −γ²/(expm1(z)·(−expm1(−z)))): finite for every z > 0, and
        exact relative to their size as γ → 0 (z = γ·(δ + c) + O(γ²), (log r)' → 1/(δ + c))."""
        z = self.gamma * depth - self.log_rho
        grow = np.expm1(np.minimum(z, MAX_EXPONENT))
        return self.gamma / grow, -self.gamma**2 / (grow * -np.expm1(np.minimum(-z, MAX_EXPONENT)))

    def linear_root(self, decay: float) -> np.ndarray:
        """The maximiser under linear fills: (ln ρ + ln(1 + γ/k))/γ."""
        return (self.log_rho + np.log1p(self.gamma / decay)) / self.gamma


@dataclass(frozen=True)
class StepQuotes:
    """The optimal depths of one step per inventory level: ``bid``, ``ask`` (currency; δ_max on a side not
    quoted), their fill probabilities ``bid_probability``, ``ask_probability`` (0 where not quoted) and the
    step's optimal ``value`` (risk neutral: V = g(q) + max J; utility: log h(q) + log min E); ``certified``
    (L,): True where the optimum is proven global (module docstring), False where it is the best of the
    stationary point and a polished grid search."""

    bid: np.ndarray
    ask: np.ndarray
    bid_probability: np.ndarray
    ask_probability: np.ndarray
    value: np.ndarray
    certified: np.ndarray


def _joint_depths(fills: FillModel, quoted: np.ndarray, margins, guess: np.ndarray | None,
                  active: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Both sides' optimal depths, stacked as rows [bid, ask] of (2, L) arrays (module docstring).

    ``margins(p, δ)`` gives the stacked margin (2L,) of each side against the other side's current fill
    probability p and depth δ; ``quoted`` (2, L) the sides quoted; ``guess`` (2, L) nearby depths (e.g. the
    next step's) or None for the linear-fill root. Each iteration takes one Newton step on every side's
    first-order condition F = 0 against the other side's last iterate (a step that would leave the margin's
    domain r > 0 goes halfway to its edge instead), then projects on [0, δ_max]: F is decreasing, so a root
    outside the box means the optimum is at the nearer end. Stops when no depth moves by more than
    1e-10 (the value is flat to second order at the optimum) or after 100 iterations. Only the ``active``
    (2, L) sides move (default: every quoted side); the others keep the guess. Returns the depths
    (δ_max where not quoted), their probabilities (0 there) and which levels (L,) settled.
    """
    max_depth = fills.max_depth
    moving = (quoted if active is None else active).ravel()
    if guess is None:
        depth, probability = np.full(quoted.size, max_depth), np.zeros(quoted.shape)
    else:
        depth, probability = guess.ravel(), np.where(quoted, fills.probability(guess), 0.0)
    for iteration in range(MAX_ITERATIONS):
        previous = depth
        margin = margins(probability[::-1], depth.reshape(quoted.shape)[::-1])
        # where a margin is never positive on [0, δ_max] (its edge at or beyond δ_max: the side is set to δ_max
        # below) its edge and slopes may be infinite or undefined; the steps there are discarded
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            edge = margin.zero
            if iteration == 0 and guess is None:
                depth = np.clip(margin.linear_root(fills.decay), 0.0, max_depth)
            depth = np.where(~moving | (edge < depth), depth, max_depth)
            p1, p2 = fills.log_slopes(depth)
            r1, r2 = margin.log_slopes(depth)
            newton = depth - (p1 + r1) / (p2 + r2)
            newton = np.where(newton > edge, newton, 0.5 * (depth + edge))
        new = np.where(moving, np.where(edge < max_depth, np.clip(newton, 0.0, max_depth), max_depth), depth)
        moved = np.abs(new - previous)
        depth = new
        probability = np.where(quoted, fills.probability(depth.reshape(quoted.shape)), 0.0)
        if moved.max() <= TOLERANCE:
            break
    depth = np.where(quoted, depth.reshape(quoted.shape), max_depth)
    return depth, probability, (moved <= TOLERANCE).reshape(quoted.shape).all(axis=0)


def _safety_net(fills: FillModel, margins, depth: np.ndarray, suspect: np.ndarray,
                value_of, grid_search) -> tuple[np.ndarray, np.ndarray]:
    """At the ``suspect`` levels, the best of the stationary point ``depth`` (2, L), the best pair of a
    17-point grid (``grid_search(probabilities, depths)`` -> bid index, ask index, value) and, where that
    pair beats the stationary point, the pair polished twice: by the joint iteration, and by exact
    one-side maximisations in turn (each raises the objective, so that polish ends at least as high as
    the pair); ``value_of(depth)`` scores quotes (higher is better). Returns the depths and their
    probabilities."""
    max_depth = fills.max_depth
    quoted = _quoted_sides(depth.shape[1])
    grid = np.linspace(0.0, max_depth, SAFETY_POINTS)
    bid, ask, _ = grid_search(fills.probability(grid), grid)
    gridded = np.where(quoted, np.stack([grid[bid], grid[ask]]), max_depth)
    beaten = suspect & (value_of(gridded) > value_of(depth))
    candidates = [depth, gridded]
    if beaten.any():
        polished = np.where(beaten, gridded, depth)
        candidates.append(_joint_depths(fills, quoted, margins, polished)[0])
        for _ in range(MAX_ITERATIONS):
            start = polished
            for side in ((True,), (False,)):
                active = quoted & beaten & np.array([side[0], not side[0]])[:, None]
                polished, _, _ = _joint_depths(fills, quoted, margins, polished, active)
            if np.abs(polished - start).max() <= TOLERANCE:
                break
        candidates.append(polished)
    scores = np.stack([value_of(candidate) for candidate in candidates])
    best = np.where(suspect, scores.argmax(axis=0), 0)
    chosen = np.stack(candidates)[best, :, np.arange(depth.shape[1])].T
    return chosen, np.where(quoted, fills.probability(chosen), 0.0)


def _quoted_sides(levels: int) -> np.ndarray:
    """(2, L) bool: the bid is quoted below the top level, the ask above the bottom one."""
    index = np.arange(levels)
    return np.stack([index < levels - 1, index > 0])


def _neighbour_steps(values: np.ndarray) -> np.ndarray:
    """(2, L): [v(q+1) − v(q), v(q−1) − v(q)], 0 where the neighbour does not exist."""
    steps = np.zeros((2,) + values.shape)
    steps[0, :-1] = values[1:] - values[:-1]
    steps[1, 1:] = -steps[0, :-1]
    return steps


def risk_neutral_value(continuation: np.ndarray, depth: np.ndarray, probability: np.ndarray) -> np.ndarray:
    """g(q) + J at every level for quotes ``depth`` (2, L, ...) [bid, ask] filling with ``probability``
    (2, L, ...) (0 on a side not quoted); trailing axes (candidate quotes) broadcast."""
    extra = (1,) * (depth.ndim - 2)
    g = continuation.reshape(continuation.shape + extra)
    steps = _neighbour_steps(continuation).reshape((2,) + g.shape)  # [Δ⁺, Δ⁻]
    return g + (probability * (depth + steps)).sum(axis=0) - probability[0] * probability[1] * (steps[0] + steps[1])


def log_mix(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """ln((1 − p)·e^a + p·e^b), elementwise for p in [0, 1] and finite a, b.

    With w the weight of the smaller exponent and g >= 0 the gap: max(a, b) + log1p(w·expm1(−g)), which
    never overflows (w·expm1(−g) lies in (−w, 0]) and keeps its relative accuracy as a, b → 0, while
    w·expm1(−g) > −½; otherwise (the larger exponent carries little weight) np.logaddexp of the log-terms.
    """
    low_weight = np.where(a >= b, p, 1 - p)
    excess = low_weight * np.expm1(-np.abs(a - b))
    result = np.maximum(a, b) + np.log1p(np.maximum(excess, -0.5))
    heavy = excess <= -0.5
    if heavy.any():
        with np.errstate(divide="ignore"):
            result = np.where(heavy, np.logaddexp(np.log1p(-p) + a, np.log(p) + b), result)
    return result


def utility_value(log_h: np.ndarray, depth: np.ndarray, probability: np.ndarray, gamma: float) -> np.ndarray:
    """log h(q) + log E at every level for quotes ``depth`` (2, L, ...) filling with ``probability``
    (2, L, ...); trailing axes broadcast. With Δ± = log h(q±1) − log h(q), E/h(q) =
    (1 − p_b)·[(1 − p_a) + p_a·e^{Δ⁻−γδ_a}] + p_b·[(1 − p_a)·e^{Δ⁺−γδ_b} + p_a·e^{−γ(δ_b+δ_a)}], each bracket and
    the whole a :func:`log_mix`: finite whatever the spread of log h, exact relative to its size as γ → 0."""
    extra = (1,) * (depth.ndim - 2)
    up, down = _neighbour_steps(log_h).reshape((2,) + log_h.shape + extra)  # ln h(q+1)/h(q), ln h(q−1)/h(q)
    (p_b, p_a), (gain_b, gain_a) = probability, -gamma * depth
    no_bid = log_mix(p_a, np.zeros_like(gain_a), down + gain_a)
    bid = log_mix(p_a, up + gain_b, gain_b + gain_a)
    return log_h.reshape(log_h.shape + extra) + log_mix(p_b, no_bid, bid)


def risk_neutral_quotes(fills: FillModel, continuation: np.ndarray, guess: StepQuotes | None = None) -> StepQuotes:
    """Maximise J at every level of ``continuation`` = g(q') over q' = −Q̄..Q̄ (no bid at Q̄, no ask at −Q̄);
    ``guess``, a nearby step's solution, starts the iterations. Certified where |C| < min −f''."""
    g = continuation
    steps = _neighbour_steps(g)  # [Δ⁺, Δ⁻]
    both = -(steps[0] + steps[1])
    quoted = _quoted_sides(g.shape[0])

    def margins(other_p, other_depth):
        return SpreadMargin((steps + other_p * both).ravel())

    def value_of(depth):
        return risk_neutral_value(g, depth, np.where(quoted, fills.probability(depth), 0.0))

    depth, p, settled = _joint_depths(fills, quoted, margins, _guess(guess))
    certified = settled & ((np.abs(both) < fills.concavity) | ~quoted.all(axis=0))  # one side: concave
    if not certified.all():
        depth, p = _safety_net(fills, margins, depth, ~certified, value_of,
                                  lambda probabilities, depths: grid_quotes(probabilities, depths, g))
    return StepQuotes(depth[0], depth[1], p[0], p[1], value_of(depth), certified)


def utility_quotes(fills: FillModel, log_h: np.ndarray, gamma: float, guess: StepQuotes | None = None) -> StepQuotes:
    """Minimise E at every level of ``log_h`` = log h(q') over q' = −Q̄..Q̄; ``value`` is log h(q) + log min E
    (in logarithms throughout: module docstring); ``guess`` as in :func:`risk_neutral_quotes`. Never
    certified: every level is checked by the grid search of the safety net."""
    steps = _neighbour_steps(log_h)  # [ln h(q+1)/h(q), ln h(q−1)/h(q)]
    quoted = _quoted_sides(log_h.shape[0])

    def margins(other_p, other_depth):
        # ln ρ = ln[(1−p_o)·e^{Δ_s} + p_o·e^{−γδ_o}] − ln[(1−p_o) + p_o·e^{Δ_o − γδ_o}], o the other side
        gain = -gamma * other_depth
        log_rho = log_mix(other_p, steps, gain) - log_mix(other_p, np.zeros_like(gain), steps[::-1] + gain)
        return UtilityMargin(log_rho.ravel(), gamma)

    def value_of(depth):
        return -utility_value(log_h, depth, np.where(quoted, fills.probability(depth), 0.0), gamma)

    depth, p, _ = _joint_depths(fills, quoted, margins, _guess(guess))
    depth, p = _safety_net(fills, margins, depth, np.ones(log_h.shape[0], dtype=bool), value_of,
                              lambda probabilities, depths: grid_quotes(probabilities, depths, log_h, gamma))
    return StepQuotes(depth[0], depth[1], p[0], p[1], -value_of(depth), np.zeros(log_h.shape[0], dtype=bool))


def _guess(step: StepQuotes | None) -> np.ndarray | None:
    return None if step is None else np.stack([step.bid, step.ask])


def grid_quotes(probabilities: np.ndarray, depths: np.ndarray, continuation: np.ndarray,
                gamma: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The best pair of grid depths at every level, by exhaustive search over all (bid, ask) pairs.

    ``depths`` (M,) with fill probabilities ``probabilities`` (M,); ``continuation`` is g(q') (risk neutral,
    ``gamma`` None) or log h(q') (exponential utility). Returns (bid index (L,), ask index (L,), value (L,)),
    ties to the lowest flat index (bid·M + ask); the value as in :func:`risk_neutral_value` or
    :func:`utility_value`. Both objectives are affine in the level's neighbour terms, so each level's M²
    candidates are one row of a (L, 4) @ (4, M²) product: O(L·M²) time and memory. The utility is ranked by
    E − 1 = A + expm1(Δ⁺)·x_b(1 − p_a) + expm1(Δ⁻)·(1 − p_b)x_a (A its value at Δ± = 0; exact relative to
    its size as γ → 0), or where e^{Δ±} would overflow by e^{−M}·E, M = max(Δ⁺, Δ⁻), and the chosen pair
    scored by :func:`utility_value`.
    """
    levels, depth_count = continuation.shape[0], depths.shape[0]
    quoted = _quoted_sides(levels)
    rows = []
    for bid_quoted, ask_quoted in ((True, True), (False, True), (True, False)):  # interior, top, bottom level
        p_b = (probabilities if bid_quoted else np.zeros(depth_count))[:, None]
        p_a = (probabilities if ask_quoted else np.zeros(depth_count))[None, :]
        if gamma is None:  # J = p_b·δ_b + p_a·δ_a + Δ⁺·p_b(1 − p_a) + Δ⁻·p_a(1 − p_b)
            basis = (p_b * depths[:, None] + p_a * depths[None, :], p_b * (1 - p_a), p_a * (1 - p_b))
        else:              # E = (1 − p_b)(1 − p_a) + x_b·x_a + e^{Δ⁺}·x_b(1 − p_a) + e^{Δ⁻}·(1 − p_b)x_a, x = p·e^{−γδ}
            x_b, x_a = p_b * np.exp(-gamma * depths[:, None]), p_a * np.exp(-gamma * depths[None, :])
            e_b, e_a = np.expm1(-gamma * depths[:, None]), np.expm1(-gamma * depths[None, :])
            at_zero = p_b * (1 - p_a) * e_b + (1 - p_b) * p_a * e_a + p_b * p_a * np.expm1(
                -gamma * (depths[:, None] + depths[None, :]))
            basis = ((1 - p_b) * (1 - p_a) + x_b * x_a, at_zero, x_b * (1 - p_a), (1 - p_b) * x_a)
        rows.append(np.stack([np.broadcast_to(b, (depth_count, depth_count)).ravel() for b in basis]))
    steps = _neighbour_steps(continuation)
    if gamma is None:
        weights = np.stack([np.ones(levels), steps[0], steps[1]], axis=1)
    else:
        scaled = steps.max(axis=0) > MAX_EXPONENT
        shift = np.where(scaled, steps.max(axis=0), 0.0)
        zero, one = np.zeros(levels), np.ones(levels)
        minus_one = np.stack([zero, one, *np.expm1(np.minimum(steps, MAX_EXPONENT))])  # weights of E − 1
        rescaled = np.stack([np.exp(-shift), zero, *np.exp(steps - shift)])             # weights of e^{−M}·E
        weights = np.where(scaled, rescaled, minus_one).T
    pattern = np.where(quoted[0] & quoted[1], 0, np.where(quoted[1], 1, 2))
    objective = np.empty((levels, depth_count * depth_count))
    for index, basis in enumerate(rows):
        chosen = pattern == index
        objective[chosen] = weights[chosen] @ basis
    best = (objective.argmax if gamma is None else objective.argmin)(axis=1)
    bid, ask = best // depth_count, best % depth_count
    if gamma is None:
        return bid, ask, continuation + objective[np.arange(levels), best]
    chosen = np.stack([depths[bid], depths[ask]])
    return bid, ask, utility_value(continuation, chosen, np.where(quoted, probabilities[np.stack([bid, ask])], 0.0),
                                   gamma)
