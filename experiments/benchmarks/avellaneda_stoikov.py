"""Avellaneda–Stoikov (2008) in MarketMaking-v0: their simulation tables replicated, and their strategy
against the exact optimum of their own CARA objective.

    python -m experiments.benchmarks.avellaneda_stoikov [--episodes 100000] [--seed 0]

M. Avellaneda and S. Stoikov, "High-frequency trading in a limit order book", Quantitative Finance
8(3), 217–224 (2008), Tables 1–3: 1000 simulations each of their "inventory" strategy and a
"symmetric" benchmark on s = 100, T = 1, σ = 2, dt = 0.005 (200 steps), A = 140, k = 1.5,
γ ∈ {0.01, 0.1, 0.5}: a quote at depth δ fills with probability A·e^{−kδ}·dt per step, the mid moves
±σ√dt. Here: :func:`paper_params` (``fill_probability="linear"``, ``price_shocks="binomial"``,
φ = α = 0 so that the return of an episode is the profit X_T + q_T·S_T − q_0·S_0, δ_max = 50 and
Q̄ = 200 so that neither binds; both are checked).

Table 1, the replication. Per γ four strategies: the inventory strategy (Avellaneda–Stoikov quotes
around r = s − q·γσ²(T − t)) with the constant spread ψ = (2/γ)·ln(1 + γ/k), the spread the paper's
tables report, and with the spread of its own formula ψ_t = ψ + γσ²(T − t); the symmetric strategy at
ψ (the paper's benchmark: the inventory strategy's reported average spread) and at the mean of ψ_t.
Episodes run on the native vector env (:func:`execgym.scoring.run_episodes`, seeds ``seed``, ``seed``
+ 1, ...; every strategy meets the same markets). Per row: the mean quoted spread, the profit's mean
and standard deviation and the final inventory's, each with its standard error (of the mean: s/√n;
of the standard deviation: √((m₄ − s⁴)/n)/(2s), the delta method, which holds for non-normal samples)
and the paper's value with z = (paper − ours)/√(SE_ours² + SE_paper²), SE_paper the same standard
error at the paper's n = 1000 (its own Monte-Carlo error, which dominates). "Differs beyond 3 SE?"
names the quantities with |z| > 3. "exact" is the expected profit from
:func:`~execgym.problems.market_making.oracle.policy_value`.

Table 2, the leads for the rows that differ, on the same episodes. The env clips depths to
[0, δ_max]; the paper's rule has no floor: a negative depth (an ask below the mid) fills with
"probability" A·e^{−kδ}·dt, which exceeds 1 below δ = ln(A·dt)/k = −0.24, at a loss |δ|.
:func:`rule_episodes` plays the paper's loop as written, on the env's own random numbers (its
clipped, fills-before-the-move case, given the depths as the env plays them through its float32
actions, reproduces the env's episodes: the same final inventories, profits to 1e-6; checked on every
run), in four variants: depths clipped at 0 or not, and fills drawn before the mid moves (the env: the quote rests
at distance δ from the mid it was set at) or after ("stale quotes": the mid moves first and a quote
set at distance δ fills as one at its distance from the new mid, δ ± σ√dt, while it still trades at
its own price). Also: the share of steps quoting a negative depth or one above the default δ_max = 5,
the largest depth and inventory reached, and the exact expected profit with Poisson fills instead.
Table 2b repeats Table 1's comparison for the variant the numbers point to (constant ψ, unclipped,
stale quotes).

Table 3, the CARA check: objective ``"cara"`` with risk aversion γ (the paper's own objective,
E[−e^{−γ(X_T + q_T·S_T)}]), φ = α = 0, for the paper's market and for the default Poisson-fill,
Gaussian-shock model: the exact DP optimum's certainty equivalent (``execgym.make_oracle``) against
the inventory strategy's, exactly (``policy_certainty_equivalent``).

The latest output and the discussion are in ``experiments/benchmarks/AVELLANEDA_STOIKOV.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from dataclasses import dataclass, field, replace

import numpy as np

import execgym
from execgym import engine
from execgym.problems.market_making import dynamics
from execgym.problems.market_making.env import depth_actions, depths_of
from execgym.problems.market_making.oracle import QuotePolicy, policy_certainty_equivalent, policy_value
from execgym.problems.market_making.params import MarketMakingParams
from execgym.problems.market_making.policies import avellaneda_stoikov_depths, avellaneda_stoikov_spread
from execgym.scoring import run_episodes
from execgym.experiments.machine import cpu_model

ENV_ID = "MarketMaking-v0"
GAMMAS = (0.01, 0.1, 0.5)
PAPER_SIMULATIONS = 1000
THRESHOLD = 3.0
"""|z| above which a row "differs beyond Monte-Carlo error"."""
DEFAULT_MAX_DEPTH = MarketMakingParams.max_depth


@dataclass(frozen=True)
class PaperRow:
    """One row of the paper's tables: average spread, profit mean and std, final q mean and std."""

    spread: float
    profit: float
    profit_std: float
    inventory: float
    inventory_std: float


PAPER = {
    0.01: {"inventory": PaperRow(1.33, 66.78, 8.76, -0.02, 4.70),
           "symmetric": PaperRow(1.33, 67.36, 13.40, -0.31, 8.65)},
    0.1: {"inventory": PaperRow(1.29, 62.94, 5.89, 0.10, 2.80),
          "symmetric": PaperRow(1.29, 67.21, 13.43, -0.018, 8.66)},
    0.5: {"inventory": PaperRow(1.15, 33.92, 4.72, -0.02, 1.88),
          "symmetric": PaperRow(1.15, 66.20, 14.53, 0.25, 9.06)},
}
"""Avellaneda & Stoikov (2008), Tables 1–3 (γ = 0.01, 0.1, 0.5), 1000 simulations each."""

QUOTED_ORIGINAL = {"inventory": PaperRow(float("nan"), 65.0, 6.6, 0.08, 2.9),
                   "symmetric": PaperRow(float("nan"), 68.4, 12.7, 0.26, 8.4)}
"""γ = 0.1 as "the original results" in the README of github.com/ragoragino/avellaneda-stoikov (a
replication; not the published table above, possibly the 2006 preprint's). Its code quotes the time-dependent
spread ψ_t and gives the symmetric strategy the mean of ψ_t."""


def paper_params(**changes) -> MarketMakingParams:
    """The market of the paper's simulation with its fill rule and random walk, no penalties (the return is
    the profit), δ_max = 50 and Q̄ = 200 (neither binds); ``changes`` override fields."""
    base = dict(fill_probability="linear", price_shocks="binomial", inventory_penalty=0.0, terminal_penalty=0.0,
                max_depth=50.0, max_inventory=200)
    return MarketMakingParams(**{**base, **changes})


def clipped_policy(params: MarketMakingParams, bid: np.ndarray, ask: np.ndarray) -> QuotePolicy:
    """The quote table the env can play: depths clipped to [0, δ_max] (as the env clips its actions)."""
    return QuotePolicy(params, np.clip(bid, 0.0, params.max_depth), np.clip(ask, 0.0, params.max_depth))


def played_depths(params: MarketMakingParams, policy: QuotePolicy) -> tuple[np.ndarray, np.ndarray]:
    """The (bid, ask) tables as the env plays them: through its float32 actions 2δ/δ_max − 1 and back
    (depths move by up to δ_max·2⁻²⁶, 7e-7 at δ_max = 50: enough to flip a handful of fills in 10⁷)."""
    depths = np.stack([policy.bid, policy.ask], axis=-1)
    cells = depths.shape[0] * depths.shape[1]
    played = depths_of(params, depth_actions(params, depths).reshape(cells, 2), cells).reshape(depths.shape)
    return played[..., 0], played[..., 1]


@dataclass(frozen=True)
class Strategy:
    """A row of the tables: raw depth tables (N, 2Q̄+1) and the paper's row it is compared with."""

    gamma: float
    name: str       # "inventory" or "symmetric" (the paper's names)
    spread: str     # which spread: "ψ" or "ψ_t" (inventory), "ψ" or "mean ψ_t" (symmetric)
    bid: np.ndarray
    ask: np.ndarray


def strategies(params: MarketMakingParams, gamma: float) -> list[Strategy]:
    """The inventory strategy with ψ and with ψ_t, the symmetric one at ψ and at the mean of ψ_t."""
    rows = [Strategy(gamma, "inventory", label, *avellaneda_stoikov_depths(params, gamma, dependent))
            for label, dependent in (("ψ", False), ("ψ_t", True))]
    for label, spread in (("ψ", float(avellaneda_stoikov_spread(params, gamma, False)[0])),
                          ("mean ψ_t", float(avellaneda_stoikov_spread(params, gamma, True).mean()))):
        half = np.full((params.steps, params.levels), spread / 2.0)
        rows.append(Strategy(gamma, "symmetric", label, half, half))
    return rows


@dataclass(frozen=True)
class RuleRun:
    """Episodes of :func:`rule_episodes`: profits and final inventories (n,); the shares of the (episode, step)
    pairs whose table depth (before any clip) is negative, and above the default δ_max, on some side; the mean
    quoted spread δ_b + δ_a (after any clip), the largest table depth quoted and the largest |q| reached."""

    profit: np.ndarray
    inventory: np.ndarray
    negative_share: float
    wide_share: float
    mean_spread: float
    max_depth: float
    max_inventory: int


def rule_episodes(params: MarketMakingParams, bid: np.ndarray, ask: np.ndarray, seeds: np.ndarray,
                  clip: bool = True, stale_quotes: bool = False) -> RuleRun:
    """The paper's simulation loop on the env's random numbers (episode 0 of each seed, as
    :func:`~execgym.scoring.run_episodes` plays it), vectorised over episodes.

    Per step: quote the depths of the table at (step, q) (clipped to [0, δ_max] if ``clip``); the bid fills
    iff U_b < A·e^{−kδ}·dt (certainly if that exceeds 1), the ask alike, with the env's uniforms; cash moves
    by the quote's price; the mid moves by the env's ±σ√dt. With ``stale_quotes`` the mid moves first and
    the fill probabilities use the distances to the new mid, δ_b + ΔS and δ_a − ΔS (the prices traded stay
    those quoted). ``clip=True, stale_quotes=False`` is the env's rule (exactly, given :func:`played_depths`).
    """
    seeds = np.asarray(seeds, dtype=np.int64)
    key = engine.start(dynamics.DYNAMICS, params, seeds, np.zeros(seeds.shape[0], dtype=np.uint64)).key
    variant = dynamics.variant(params)
    inventory = np.full(seeds.shape[0], params.initial_inventory, dtype=np.int64)
    cash, mid = np.zeros(seeds.shape[0]), np.full(seeds.shape[0], params.mid_price)
    negative = wide = spread = 0.0
    largest_depth, largest_inventory = -np.inf, 0
    for n in range(params.steps):
        draws = dynamics.step_noise(variant, key, np.full(seeds.shape[0], n))
        level = inventory + params.max_inventory
        depth_b, depth_a = bid[n, level], ask[n, level]
        negative += np.count_nonzero((depth_b < 0.0) | (depth_a < 0.0))
        wide += np.count_nonzero((depth_b > DEFAULT_MAX_DEPTH) | (depth_a > DEFAULT_MAX_DEPTH))
        largest_depth = max(largest_depth, float(depth_b.max()), float(depth_a.max()))
        if clip:
            depth_b, depth_a = (np.clip(d, 0.0, params.max_depth) for d in (depth_b, depth_a))
        spread += float((depth_b + depth_a).sum())
        move = params.volatility * np.sqrt(params.dt) * draws[:, dynamics.PRICE]
        distance_b, distance_a = (depth_b + move, depth_a - move) if stale_quotes else (depth_b, depth_a)
        bid_quoted, ask_quoted = dynamics.quoted_sides(params, inventory)
        bid_filled = bid_quoted & (draws[:, dynamics.BID_FILL] < params.fill_probabilities(distance_b))
        ask_filled = ask_quoted & (draws[:, dynamics.ASK_FILL] < params.fill_probabilities(distance_a))
        cash += (mid + depth_a) * ask_filled - (mid - depth_b) * bid_filled
        inventory = inventory + bid_filled - ask_filled
        mid = mid + move
        largest_inventory = max(largest_inventory, int(np.abs(inventory).max()))
    profit = cash + inventory * mid - params.initial_inventory * params.mid_price
    cells = seeds.shape[0] * params.steps
    return RuleRun(profit, inventory.astype(np.float64), negative / cells, wide / cells, spread / cells,
                   largest_depth, largest_inventory)


VARIANTS = {"clipped": (True, False), "unclipped": (False, False), "clipped, stale": (True, True),
            "unclipped, stale": (False, True)}
"""Table 2's variants of the paper's rule: name -> (clip, stale_quotes). "clipped" is the env's rule."""


@dataclass(frozen=True)
class Measurement:
    """One strategy on the env (profits, final inventories (n,)), its exact expected profit in the env, and
    with Poisson fills 1 − exp(−A·e^{−kδ}·dt) instead of the paper's rule, and its runs under every variant
    of :data:`VARIANTS`."""

    strategy: Strategy
    profit: np.ndarray
    inventory: np.ndarray
    exact_profit: float
    exact_poisson_profit: float
    variants: dict[str, RuleRun] = field(default_factory=dict)


def measure(params: MarketMakingParams, strategy: Strategy, episodes: int, seed: int) -> Measurement:
    """Run ``strategy`` on the env and under the rule variants; check that the clipped rule is the env."""
    seeds = seed + np.arange(episodes, dtype=np.int64)
    policy = clipped_policy(params, strategy.bid, strategy.ask)
    profit, finals = run_episodes(policy, ENV_ID, seeds, params, ("profit", "inventory"))
    env_rule = rule_episodes(params, *played_depths(params, policy), seeds)
    variants = {}
    for name, (clip, stale) in VARIANTS.items():
        if not clip and min(strategy.bid.min(), strategy.ask.min()) >= 0.0:
            variants[name] = variants["clipped, stale" if stale else "clipped"]  # nothing to clip
            continue
        variants[name] = rule_episodes(params, strategy.bid, strategy.ask, seeds, clip, stale)
    if not (np.allclose(env_rule.profit, profit, rtol=0.0, atol=1e-6)
            and np.array_equal(env_rule.inventory, finals["inventory"])
            and np.allclose(finals["profit"], profit, rtol=0.0, atol=1e-7)):
        raise AssertionError("the paper's rule with clipped depths does not reproduce the env's episodes")
    bounds = variants["clipped"]
    if bounds.max_inventory >= params.max_inventory or bounds.max_depth >= params.max_depth:
        raise AssertionError(f"a bound binds: |q| reached {bounds.max_inventory} (Q̄ = {params.max_inventory}), "
                             f"depth {bounds.max_depth:.3g} (δ_max = {params.max_depth:g})")
    poisson = replace(params, fill_probability="poisson")
    return Measurement(strategy, profit, finals["inventory"], policy_value(params, policy.bid, policy.ask),
                       policy_value(poisson, policy.bid, policy.ask), variants)


def replication(episodes: int = 100_000, seed: int = 0, gammas=GAMMAS) -> list[Measurement]:
    """Table 1 and 2's measurements: every strategy of every γ on ``episodes`` common episodes."""
    params = paper_params()
    return [measure(params, strategy, episodes, seed) for gamma in gammas for strategy in strategies(params, gamma)]


@dataclass(frozen=True)
class Moments:
    """Sample mean and standard deviation with their standard errors, at the sample's n and at ``reference_n``."""

    mean: float
    std: float
    se_mean: float
    se_std: float
    reference_se_mean: float
    reference_se_std: float

    @classmethod
    def of(cls, sample: np.ndarray, reference_n: int = PAPER_SIMULATIONS) -> "Moments":
        sample = np.asarray(sample, dtype=np.float64)
        n = sample.shape[0]
        std = float(sample.std(ddof=1))
        fourth = float(np.mean((sample - sample.mean()) ** 4))
        spread_of_variance = np.sqrt(max(fourth - std**4, 0.0))
        return cls(mean=float(sample.mean()), std=std, se_mean=std / np.sqrt(n),
                   se_std=spread_of_variance / np.sqrt(n) / (2.0 * std),
                   reference_se_mean=std / np.sqrt(reference_n),
                   reference_se_std=spread_of_variance / np.sqrt(reference_n) / (2.0 * std))

    def z(self, paper_mean: float, paper_std: float) -> tuple[float, float]:
        """(z of the paper's mean, z of the paper's std) against ours: (paper − ours)/√(SE_ours² + SE_paper²)."""
        return ((paper_mean - self.mean) / np.hypot(self.se_mean, self.reference_se_mean),
                (paper_std - self.std) / np.hypot(self.se_std, self.reference_se_std))


def comparison(profit: Moments, inventory: Moments, paper: PaperRow) -> dict[str, float]:
    """z of each of the paper's four numbers against ours: profit, std(profit), q, std(q)."""
    return dict(zip(("profit", "std(profit)", "q", "std(q)"),
                    (*profit.z(paper.profit, paper.profit_std), *inventory.z(paper.inventory, paper.inventory_std))))


def differences(z: dict[str, float]) -> str:
    beyond = [f"{name} ({value:+.1f})" for name, value in z.items() if abs(value) > THRESHOLD]
    return ", ".join(beyond) if beyond else "no"


def replication_table(measurements: list[Measurement], reference: dict | None = None,
                      variant: str | None = None) -> str:
    """Table 1 in markdown; ``reference`` maps (γ, strategy name) to the paper's row (default :data:`PAPER`);
    ``variant`` (a key of :data:`VARIANTS`) takes the episodes of that variant of the rule instead of the env's
    (and leaves the exact column empty)."""
    lookup = reference if reference is not None else {(g, name): row for g, rows in PAPER.items()
                                                      for name, row in rows.items()}
    lines = ["| γ | strategy | spread | avg spread (paper) | profit ± SE | exact | paper (z) | std(profit) ± SE "
             "| paper (z) | final q ± SE | paper (z) | std(q) ± SE | paper (z) | differs beyond 3 SE? |",
             "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for m in measurements:
        key = (m.strategy.gamma, m.strategy.name)
        if key not in lookup:
            continue
        paper = lookup[key]
        run = m.variants[variant or "clipped"]
        profit, inventory = (Moments.of(m.profit), Moments.of(m.inventory)) if variant is None \
            else (Moments.of(run.profit), Moments.of(run.inventory))
        z = comparison(profit, inventory, paper)
        spread = f"{run.mean_spread:.3f} ({paper.spread:.2f})" if np.isfinite(paper.spread) \
            else f"{run.mean_spread:.3f}"
        exact = f"{m.exact_profit:.2f}" if variant is None else ""
        lines.append(
            f"| {m.strategy.gamma:g} | {m.strategy.name} | {m.strategy.spread} | {spread} | "
            f"{profit.mean:.2f} ± {profit.se_mean:.2f} | {exact} | "
            f"{paper.profit:.2f} ({z['profit']:+.1f}) | "
            f"{profit.std:.2f} ± {profit.se_std:.2f} | {paper.profit_std:.2f} ({z['std(profit)']:+.1f}) | "
            f"{inventory.mean:+.3f} ± {inventory.se_mean:.3f} | {paper.inventory:+.3f} ({z['q']:+.1f}) | "
            f"{inventory.std:.2f} ± {inventory.se_std:.2f} | {paper.inventory_std:.2f} ({z['std(q)']:+.1f}) | "
            f"{differences(z)} |")
    return "\n".join(lines)


def leads_table(measurements: list[Measurement]) -> str:
    """Table 2 in markdown: per strategy, the negative-depth share and bounds, and the profit mean (z against the
    paper) and std(profit) under every variant of the rule."""
    head = " | ".join(f"{name}: profit (z) | std (z)" for name in VARIANTS)
    lines = [f"| γ | strategy | spread | steps with a depth < 0 | steps with a depth > {DEFAULT_MAX_DEPTH:g} | "
             f"max depth | max abs q | {head} | exact profit, Poisson fills |",
             "|---:|---|---|---:|---:|---:|---:|" + "---:|---:|" * len(VARIANTS) + "---:|"]
    for m in measurements:
        paper = PAPER[m.strategy.gamma][m.strategy.name]
        cells = []
        for run in m.variants.values():
            moments = Moments.of(run.profit)
            z_mean, z_std = moments.z(paper.profit, paper.profit_std)
            cells.append(f"{moments.mean:.2f} ({z_mean:+.1f}) | {moments.std:.2f} ({z_std:+.1f})")
        clipped = m.variants["clipped"]
        lines.append(f"| {m.strategy.gamma:g} | {m.strategy.name} | {m.strategy.spread} | "
                     f"{100 * clipped.negative_share:.2f} % | {100 * clipped.wide_share:.3f} % | "
                     f"{clipped.max_depth:.2f} | "
                     f"{clipped.max_inventory} | " + " | ".join(cells) + f" | {m.exact_poisson_profit:.2f} |")
    return "\n".join(lines)


@dataclass(frozen=True)
class CaraRow:
    """Table 3's row: certainty equivalents (currency) of the DP optimum, of the inventory strategy (ψ_t and ψ)
    and of the symmetric one at ψ; the quoted spread at (t = 0, q = 0) and the offset (δ_b − δ_a)/2 of the
    quotes' centre below the mid at (t = 0, q = 1) of the optimum and of the inventory strategy (ψ_t; before
    clipping, γσ²T)."""

    model: str
    gamma: float
    optimum: float
    inventory_dependent: float
    inventory_constant: float
    symmetric: float
    optimum_spread: float
    inventory_spread: float
    optimum_offset: float
    inventory_offset: float


CARA_MODELS = {"paper (linear fills, ±σ√dt walk)": dict(fill_probability="linear", price_shocks="binomial"),
               "default (Poisson fills, Gaussian shocks)": dict(fill_probability="poisson", price_shocks="gaussian")}


def certainty_equivalent(params: MarketMakingParams, policy: QuotePolicy) -> float:
    """−ln E[e^{−γΠ}]/γ of a quote table, exactly (:func:`~execgym.problems.market_making.oracle.policy_certainty_equivalent`)."""
    return policy_certainty_equivalent(params, policy.bid, policy.ask)


def cara_check(gammas=GAMMAS, models: dict = CARA_MODELS, **changes) -> list[CaraRow]:
    """Table 3: for every model and γ, the DP optimum's CE against the strategies' exact CEs; ``changes``
    override fields of the params (e.g. a smaller max_inventory for a quick run)."""
    rows = []
    for model, fields in models.items():
        for gamma in gammas:
            params = paper_params(**{"objective": "cara", "risk_aversion": gamma, **fields, **changes})
            oracle = execgym.make_oracle(ENV_ID, params=params)
            centre = params.max_inventory
            dependent = clipped_policy(params, *avellaneda_stoikov_depths(params, gamma, True))
            constant = clipped_policy(params, *avellaneda_stoikov_depths(params, gamma, False))
            half = float(avellaneda_stoikov_spread(params, gamma, False)[0]) / 2.0
            symmetric = clipped_policy(params, *(np.full((params.steps, params.levels), half),) * 2)
            tables = oracle.tables
            raw_bid, raw_ask = avellaneda_stoikov_depths(params, gamma, True)
            rows.append(CaraRow(
                model=model, gamma=gamma, optimum=oracle.certainty_equivalent,
                inventory_dependent=certainty_equivalent(params, dependent),
                inventory_constant=certainty_equivalent(params, constant),
                symmetric=certainty_equivalent(params, symmetric),
                optimum_spread=float(tables.bid[0, centre] + tables.ask[0, centre]),
                inventory_spread=float(dependent.bid[0, centre] + dependent.ask[0, centre]),
                optimum_offset=float(tables.bid[0, centre + 1] - tables.ask[0, centre + 1]) / 2.0,
                inventory_offset=float(raw_bid[0, centre + 1] - raw_ask[0, centre + 1]) / 2.0))
    return rows


def _gap(optimum: float, value: float) -> str:
    if not np.isfinite(value):
        return "—"
    return f"{optimum - value:.3f} ({100 * (optimum - value) / abs(optimum):.2f} %)"


def monte_carlo_certainty_equivalent(profit: np.ndarray, gamma: float) -> tuple[float, float]:
    """−ln(mean e^{−γΠ})/γ of a sample of profits, and its standard error (delta method)."""
    weights = np.exp(-gamma * (profit - profit.min()))
    value = profit.min() - np.log(weights.mean()) / gamma
    return float(value), float(weights.std(ddof=1) / weights.mean() / gamma / np.sqrt(profit.shape[0]))


def cara_table(rows: list[CaraRow], measurements: list[Measurement] = ()) -> str:
    """Table 3 in markdown; on the paper's model, the inventory strategy's CE is also estimated from the
    profits of ``measurements`` (Table 1's episodes: with φ = α = 0 the same Π)."""
    profits = {(m.strategy.gamma, m.strategy.spread): m.profit for m in measurements
               if m.strategy.name == "inventory"}
    lines = ["| model | γ | DP optimum CE | inventory ψ_t: CE | MC ± SE | gap (%) | inventory ψ: CE | gap (%) | "
             "symmetric ψ: CE | spread at t=0, q=0: DP / AS | offset at t=0, q=1: DP / AS |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        sample = profits.get((r.gamma, "ψ_t")) if r.model == next(iter(CARA_MODELS)) else None
        mc = "" if sample is None else "{:.3f} ± {:.3f}".format(*monte_carlo_certainty_equivalent(sample, r.gamma))
        lines.append(f"| {r.model} | {r.gamma:g} | {r.optimum:.3f} | {r.inventory_dependent:.3f} | {mc} | "
                     f"{_gap(r.optimum, r.inventory_dependent)} | {r.inventory_constant:.3f} | "
                     f"{_gap(r.optimum, r.inventory_constant)} | {r.symmetric:.3f} | "
                     f"{r.optimum_spread:.3f} / {r.inventory_spread:.3f} | "
                     f"{r.optimum_offset:.3f} / {r.inventory_offset:.3f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=100_000, help="episodes per strategy (default 100000)")
    parser.add_argument("--seed", type=int, default=0, help="first seed; episodes use seed, seed + 1, ...")
    args = parser.parse_args(argv)
    if args.episodes < 2:
        parser.error("--episodes must be at least 2")
    start = time.perf_counter()
    measurements = replication(args.episodes, args.seed)
    cara = cara_check()
    elapsed = time.perf_counter() - start
    print(f"Machine: {cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, numpy "
          f"{np.__version__}. {args.episodes:,} episodes per strategy from seed {args.seed}; {elapsed:.0f} s.\n")
    print("Table 1. The paper's simulation (linear fills A·e^{−kδ}·dt, ±σ√dt walk, 200 steps) in MarketMaking-v0: "
          "ours ± standard error beside the paper's numbers (z = (paper − ours)/√(SE_ours² + SE_paper²), "
          f"SE_paper at n = {PAPER_SIMULATIONS}). ψ = (2/γ)·ln(1 + γ/k); ψ_t = ψ + γσ²(T − t). "
          "avg spread: mean quoted δ_b + δ_a after clipping to [0, δ_max]. exact: E[profit] from policy_value.\n")
    print(replication_table(measurements))
    print("\nThe same, γ = 0.1, against the numbers quoted as the original "
          "results by github.com/ragoragino/avellaneda-stoikov (unverified; not the published table):\n")
    print(replication_table([m for m in measurements if m.strategy.gamma == 0.1],
                            {(0.1, name): row for name, row in QUOTED_ORIGINAL.items()}))
    print("\nTable 2. Leads, on the same episodes. Depth shares: share of the (step, episode) pairs of the env's "
          f"paths quoting a negative depth on some side, and a depth above {DEFAULT_MAX_DEPTH:g} (the default δ_max), "
          "in the quote table before clipping. Variants of the paper's rule: clipped = depths floored at 0 (the "
          "env); unclipped = a negative depth fills with probability min(1, A·e^{−kδ}·dt) at a loss; stale = the "
          "mid moves before the fills are drawn. z against the paper's profit mean and std as in Table 1. Last "
          "column: the exact expected profit in the env with Poisson fills 1 − exp(−A·e^{−kδ}·dt) instead.\n")
    print(leads_table(measurements))
    print("\nTable 2b. Table 1's comparison for the paper's loop as the numbers suggest it ran: constant spread ψ "
          "(both strategies), no floor on the depths (\"unclipped\"), fills drawn after the mid moved (\"stale\"); "
          "same episodes.\n")
    print(replication_table([m for m in measurements if m.strategy.spread == "ψ"], variant="unclipped, stale"))
    print("\nTable 3. CARA objective (E[u(Π)], u = (1 − e^{−γΠ})/γ, φ = α = 0, δ_max = 50, Q̄ = 200): certainty "
          "equivalents −ln E[e^{−γΠ}]/γ (currency), exact; gap = optimum − strategy. Spread and offset "
          "(δ_b − δ_a)/2 of the quotes at the start; AS = the inventory strategy with ψ_t. MC: its CE estimated "
          "from Table 1's episodes.\n")
    print(cara_table(cara, measurements))


if __name__ == "__main__":
    main()
