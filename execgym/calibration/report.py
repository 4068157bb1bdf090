"""The report of an OptimalExec calibration: a markdown page of every estimate (value, 95 % interval, method),
the params and the order's optimum beside TWAP and VWAP with their exact expected costs, and three plots:
the volume profile over the days it was fitted to, the metaorders' impact with the fitted law, and the
schedules.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import execgym
from execgym.calibration.estimates import Estimate
from execgym.calibration.optimal_exec import Order, StockEstimates, bps, order_params
from execgym.calibration.uncertainty import Interval
from execgym.atomic import write_text_atomically
from execgym.experiments.plots import ORACLE, save_png, trajectories_figure
from execgym.problems.optimal_exec import schedule
from execgym.problems.optimal_exec.policies import twap, vwap

PLOTS = ("volume_profile.png", "impact.png", "schedule.png")


def _finish(axes, xlabel: str, ylabel: str, title: str) -> None:
    """Labels, title, legend and grid of a report's plot."""
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.legend()
    axes.grid(alpha=0.3)


def volume_figure(stock: StockEstimates):
    """Each day's fraction of its volume per bucket (grey), their mean and its 95 % interval."""
    figure, axes = plt.subplots(figsize=(8.0, 4.5), layout="constrained")
    buckets = np.arange(stock.volume_profile.size)
    for day in stock.daily_profiles:
        axes.plot(buckets, day, color="0.75", linewidth=0.8)
    half = 1.96 * np.nan_to_num(stock.profile_errors)
    axes.fill_between(buckets, stock.volume_profile - half, stock.volume_profile + half, color="C0", alpha=0.3,
                      label="95 % interval")
    axes.plot(buckets, stock.volume_profile, color="C0", marker="o", label=f"mean of {stock.days} days")
    _finish(axes, "bucket of the trading day", "fraction of the day's volume",
            "Intraday volume profile (grey: each day)")
    return figure


def impact_figure(stock: StockEstimates):
    """The metaorders' shortfall beyond the half spread, less the permanent impact of the desk's fills during
    them, against their rate, with the fitted c·(v/v_ref)^α."""
    figure, axes = plt.subplots(figsize=(8.0, 4.5), layout="constrained")
    orders, temporary = stock.metaorders, stock.temporary
    excess = (orders["shortfall"] - stock.half_spread.value
              - temporary.permanent.value * orders["desk_flow_during"]).to_numpy()
    axes.scatter(orders["rate"], excess, s=8, alpha=0.4, color="0.4", label=f"{len(orders)} metaorders")
    rates = np.geomspace(orders["rate"].min(), orders["rate"].max(), 100)
    axes.plot(rates, temporary.at(rates), color="C3", linewidth=2,
              label=f"fit: {temporary.cost.value:.3g}·(v/{temporary.reference_rate:.3g})^{temporary.exponent.value:.2f}")
    axes.set_xscale("log")
    axes.axhline(0.0, color="black", linewidth=0.5)
    _finish(axes, "trading rate v, shares per day", "temporary cost per share beyond the half spread",
            "Temporary impact of the desk's metaorders")
    return figure


ESTIMATES_HEAD = ["## Estimates", "", "| quantity | estimate | 95 % interval | unit | method |",
                  "|---|---:|---|---|---|"]
"""The head of a report's table of estimates (:func:`_row` its lines)."""


def _preamble(title: str, sources: dict[str, str], days: int) -> list[str]:
    """A report's title and its lines on the data it came from (``sources``: kind -> path, and under "session"
    the trading session with the rows left out as outside it)."""
    files = {kind: path for kind, path in sources.items() if kind != "session"}
    session = [f"Trading session: {sources['session']}.", ""] if "session" in sources else []
    return [f"# {title}", "", "Data: " + ", ".join(f"{kind} `{path}`" for kind, path in files.items())
            + f" ({days} days).", "", *session]


def _row(name: str, estimate: Estimate) -> str:
    low, high = estimate.interval
    interval = f"[{low:.6g}, {high:.6g}]" if np.isfinite(low) else "–"
    return f"| {name} | {estimate.value:.6g} | {interval} | {estimate.unit} | {estimate.method} |"


def write_report(stock: StockEstimates, order: Order, cost: Interval, sources: dict[str, str],
                 folder: Path, impact: str = "linear") -> str:
    """Write ``report.md`` and :data:`PLOTS` into ``folder`` for the params of ``impact``; returns the markdown."""
    params = order_params(stock, order, impact=impact)
    oracle = execgym.make_oracle("OptimalExec-v0", params=params)
    profile = stock.volume_profile.reshape(order.periods, -1).sum(axis=1) \
        if stock.volume_profile.size % order.periods == 0 else None
    schedules = {ORACLE: np.asarray(oracle.schedule, dtype=np.float64), "twap": twap(params).schedule,
                 "vwap": vwap(params, profile).schedule}
    save_png(volume_figure(stock), folder / PLOTS[0])
    if stock.temporary is not None:
        save_png(impact_figure(stock), folder / PLOTS[1])
    save_png(trajectories_figure(params, schedules), folder / PLOTS[2])
    rows = [_row("volatility σ", stock.volatility), _row("half spread ε", stock.half_spread),
            _row("daily volume V", stock.daily_volume), _row("permanent impact γ", stock.permanent_impact)]
    if stock.flow_impact is not None:
        rows.append(_row("Kyle's λ of the tape", stock.flow_impact))
    if stock.temporary is not None:
        rows += [_row(f"temporary cost c at v_ref = {stock.temporary.reference_rate:.4g} shares/day",
                      stock.temporary.cost), _row("impact exponent α", stock.temporary.exponent)]
    costs = ["| schedule | E[IS], currency | E[IS], bps | sd[IS], bps | objective E + λ·Var, bps |",
             "|---|---:|---:|---:|---:|"]
    for name, holdings in schedules.items():
        shortfall = float(schedule.expected_shortfall(params, holdings))
        spread = float(np.sqrt(schedule.variance(params, holdings)))
        costs.append(f"| {name} | {shortfall:,.0f} | {bps(shortfall, params):.2f} | {bps(spread, params):.2f} | "
                     f"{bps(float(schedule.objective(params, holdings)), params):.2f} |")
    lines = [*_preamble(f"Calibration: {params.order} over {order.horizon:g} day(s) in {order.periods} periods",
                        sources, stock.days), *ESTIMATES_HEAD,
             *rows, "", "## The order's optimum", "",
             f"Params (`params.yaml`): arrival price {params.arrival_price:.4g}, σ {params.volatility:.4g}, "
             f"ε {params.half_spread:.4g}, γ {params.permanent_impact:.4g}, η {params.temporary_impact:.4g}, "
             f"α {params.impact_exponent:.3g} (impact model {impact!r}), λ {params.risk_aversion:g}"
             + (", η per period × the inverse of its share of the day's volume" if params.impact_profile else "")
             + ".", "", *costs, "",
             f"The oracle's expected cost is **{cost.value:,.0f}** ({bps(cost.value, params):.2f} bps); "
             f"over {cost.draws} redraws of the estimates from their sampling distributions its 95 % interval is "
             f"[{cost.low:,.0f}, {cost.high:,.0f}] ([{bps(cost.low, params):.2f}, {bps(cost.high, params):.2f}] bps)"
             + cost.caveats() + ".", "",
             f"![volume profile]({PLOTS[0]})", ""]
    if stock.temporary is not None:
        lines += [f"![impact]({PLOTS[1]})", ""]
    lines += [f"![schedules]({PLOTS[2]})", ""]
    text = "\n".join(lines)
    write_text_atomically(folder / "report.md", text)
    return text


MARKET_MAKING_PLOTS = ("fill_intensity.png", "quotes.png")


def intensity_figure(stock: StockEstimates):
    """The rate of market orders reaching each depth (per side per day, log scale) beside A·e^{−kδ}."""
    intensity = stock.fill_intensity
    depths = np.sort(intensity.depths)
    rate = (depths.size - np.arange(depths.size)) / (2.0 * stock.days)
    figure, axes = plt.subplots(figsize=(8.0, 4.5), layout="constrained")
    axes.step(depths, rate, where="post", color="0.4", label="market orders reaching depth δ")
    grid = np.linspace(0.0, depths.max(), 200)
    axes.plot(grid, intensity.arrival_rate.value * np.exp(-intensity.depth_decay.value * grid), color="C3",
              linewidth=2, label=f"A·e^(−kδ): A = {intensity.arrival_rate.value:.4g}, k = {intensity.depth_decay.value:.4g}")
    axes.set_yscale("log")
    _finish(axes, "depth δ from the quoted mid, currency", "per side per day", "Fill intensity of a resting quote")
    return figure


def quotes_figure(params):
    """The optimal bid and ask depths at the start against the inventory."""
    oracle = execgym.make_oracle("MarketMaking-v0", params=params)
    inventory = np.arange(-params.max_inventory, params.max_inventory + 1)
    observations = np.stack([np.ones(inventory.size), inventory / params.max_inventory], axis=1).astype(np.float32)
    depths = oracle.policy.depths(observations)
    figure, axes = plt.subplots(figsize=(8.0, 4.5), layout="constrained")
    axes.plot(inventory, depths[:, 0], color="C2", label="bid depth")
    axes.plot(inventory, depths[:, 1], color="C3", label="ask depth")
    _finish(axes, "inventory q, units", "optimal depth from the mid at the start, currency",
            "The calibrated market's optimal quotes")
    return figure


def write_market_making_report(stock: StockEstimates, params, profit, sources: dict[str, str], folder: Path) -> str:
    """Write ``report.md`` with :data:`MARKET_MAKING_PLOTS` for a MarketMaking calibration; returns the markdown."""
    save_png(intensity_figure(stock), folder / MARKET_MAKING_PLOTS[0])
    save_png(quotes_figure(params), folder / MARKET_MAKING_PLOTS[1])
    intensity = stock.fill_intensity
    lines = [*_preamble("Calibration: quoting MarketMaking-v0", sources, stock.days), *ESTIMATES_HEAD,
             _row("volatility σ", stock.volatility), _row("half spread ε", stock.half_spread),
             _row("arrival rate A at depth 0", intensity.arrival_rate), _row("depth decay k", intensity.depth_decay),
             "", "## The optimum", "",
             f"Params (`params.yaml`): mid {params.mid_price:.4g}, σ {params.volatility:.4g}, A {params.arrival_rate:.4g}, "
             f"k {params.depth_decay:.4g}, δ_max {params.max_depth:.4g}, φ {params.inventory_penalty:.4g}, "
             f"α {params.terminal_penalty:g}, Q̄ {params.max_inventory}, T {params.horizon:g} day(s) in {params.steps} steps.",
             "", f"The optimum's expected penalised profit is **{profit.value:,.2f}**; over {profit.draws} "
             f"redraws of σ, A and k its 95 % interval is [{profit.low:,.2f}, {profit.high:,.2f}]" + profit.caveats() + ".", "",
             f"![fill intensity]({MARKET_MAKING_PLOTS[0]})", "", f"![quotes]({MARKET_MAKING_PLOTS[1]})", ""]
    text = "\n".join(lines)
    write_text_atomically(folder / "report.md", text)
    return text


LIMIT_OR_MARKET_PLOTS = ("limit_fills.png",)


def limit_fills_figure(fills):
    """p̂(d | ΔS) per move with its 95 % binomial band, beside the model's p(d)·(1 + a·ΔS)."""
    figure, axes = plt.subplots(figsize=(8.0, 4.5), layout="constrained")
    depths = np.arange(fills.fill_probabilities.size)
    a = fills.adverse_selection.value
    for row, (move, color) in enumerate(zip((-1, 0, 1), ("C0", "0.4", "C3"))):
        observed = fills.conditional[row]
        half = 1.96 * np.sqrt(observed * (1 - observed) / max(fills.counts[row], 1))
        axes.errorbar(depths, observed, yerr=half, fmt="o", color=color, capsize=3,
                      label=f"ΔS = {move:+d}: {fills.counts[row]} steps")
        axes.plot(depths, fills.fill_probabilities * (1 + a * move), color=color, linestyle="--")
    _finish(axes, "depth d behind the best ask, ticks", "P(a lot fills within the step)",
            f"Limit fills by depth and move (dashed: p(d)·(1 + a·ΔS), a = {a:.3f})")
    return figure


def write_limit_or_market_report(stock: StockEstimates, fills, params, improvement, sources: dict[str, str],
                                 folder: Path) -> str:
    """Write ``report.md`` with :data:`LIMIT_OR_MARKET_PLOTS` for a LimitOrMarket calibration; returns it."""
    save_png(limit_fills_figure(fills), folder / LIMIT_OR_MARKET_PLOTS[0])
    table = ", ".join(f"{p:.3f}" for p in fills.fill_probabilities)
    lines = [*_preamble("Calibration: a child order in LimitOrMarket-v0", sources, stock.days), *ESTIMATES_HEAD,
             _row("move probability π", fills.move_probability), _row("drift μ", fills.drift),
             _row("adverse selection a", fills.adverse_selection), "",
             f"Tick {fills.tick:g} ({params.tick_bps:.3g} bps), spread {fills.spread_ticks} ticks; fill probabilities "
             f"p(d), d = 0..{params.max_depth}: {table} (steps without a move, made non-increasing).", "",
             "## The optimum", "",
             f"Params (`params.yaml`): {params.lots} lots within {params.deadline} steps of {fills.step_seconds:g} s, "
             f"book {params.book_lots} lots a level, market orders for {list(params.market_fractions)} of what is left.",
             "", f"The optimum's expected improvement on the arrival mid is **{improvement.value:.3f} bps**; over "
             f"{improvement.draws} redraws of π, μ and a its 95 % interval is [{improvement.low:.3f}, "
             f"{improvement.high:.3f}] bps" + improvement.caveats() + ".", "", f"![limit fills]({LIMIT_OR_MARKET_PLOTS[0]})", ""]
    text = "\n".join(lines)
    write_text_atomically(folder / "report.md", text)
    return text


TWAP_VWAP_PLOTS = ("day_types.png",)


def day_types_figure(stock: StockEstimates, params):
    """Each day's volume fractions coloured by its type, and each type's mean profile."""
    from execgym.calibration.twap_vwap import day_types

    profiles, probabilities, labels = day_types(stock.daily_profiles, stock.daily_volumes,
                                                len(params.day_probabilities))
    relative = stock.daily_volumes / stock.daily_volumes.mean()
    figure, axes = plt.subplots(figsize=(8.0, 4.5), layout="constrained")
    buckets = np.arange(profiles.shape[1])
    for day, label in enumerate(labels):
        axes.plot(buckets, stock.daily_profiles[day] * relative[day], color=f"C{label}", alpha=0.25, linewidth=0.8)
    for row, (profile, probability) in enumerate(zip(profiles, probabilities)):
        axes.plot(buckets, profile, color=f"C{row}", linewidth=2.5, marker="o",
                  label=f"type {row}: {probability:.0%} of the days")
    _finish(axes, "bucket of the trading day", "volume, units of the mean daily volume", "Day types (k-means)")
    return figure


def write_twap_vwap_report(stock: StockEstimates, params, value, sources: dict[str, str], folder: Path) -> str:
    """Write ``report.md`` with :data:`TWAP_VWAP_PLOTS` for a TwapVwapSwitch calibration; returns it."""
    save_png(day_types_figure(stock, params), folder / TWAP_VWAP_PLOTS[0])
    lines = [*_preamble("Calibration: TwapVwapSwitch-v0", sources, stock.days), *ESTIMATES_HEAD,
             _row("volatility σ", stock.volatility), _row("half spread ε", stock.half_spread),
             _row("daily volume V", stock.daily_volume), _row("permanent impact γ", stock.permanent_impact), "",
             f"{len(params.day_probabilities)} day types over {params.buckets} buckets, with probabilities "
             + ", ".join(f"{p:.2f}" for p in params.day_probabilities) + f"; σ {params.volatility:.4g} bps per bucket, "
             f"order {params.order_size:.4g} of the daily volume, λ {params.risk_aversion:g} per bps.", "",
             "## The optimum", "",
             f"The optimum's expected return is **{value.value:.3f} bps**; over {value.draws} redraws of the "
             f"estimates its 95 % interval is [{value.low:.3f}, {value.high:.3f}] bps" + value.caveats() + ".", "",
             f"![day types]({TWAP_VWAP_PLOTS[0]})", ""]
    text = "\n".join(lines)
    write_text_atomically(folder / "report.md", text)
    return text


PORTFOLIO_PLOTS = ("book_schedule.png",)


def book_schedule_figure(params, schedule: np.ndarray, names: tuple[str, ...]):
    """Each asset's holdings over the horizon under the optimum, as fractions of its position."""
    figure, axes = plt.subplots(figsize=(8.0, 4.5), layout="constrained")
    time = np.arange(params.periods + 1) / params.periods
    for column, name in enumerate(names):
        axes.plot(time, schedule[:, column] / schedule[0, column], marker="o",
                  label=f"{name}: {schedule[0, column]:+,.0f}")
    _finish(axes, "time elapsed, fraction of the horizon", "holdings, fraction of the position",
            "The calibrated book's optimal schedule")
    return figure


def write_portfolio_report(stocks: dict, covariance, params, sources: dict[str, str], folder: Path) -> str:
    """Write ``report.md`` with :data:`PORTFOLIO_PLOTS` for a PortfolioExec calibration; returns it."""
    oracle = execgym.make_oracle("PortfolioExec-v0", params=params)
    names = covariance.names
    save_png(book_schedule_figure(params, np.asarray(oracle.schedule), names), folder / PORTFOLIO_PLOTS[0])
    rows = []
    for name in names:
        stock = stocks[name]
        rows += [_row(f"{name}: volatility σ", stock.volatility), _row(f"{name}: half spread ε", stock.half_spread),
                 _row(f"{name}: daily volume V", stock.daily_volume),
                 _row(f"{name}: permanent impact γ", stock.permanent_impact)]
    correlation = covariance.correlation
    corr_rows = ["| | " + " | ".join(names) + " | factor loading β |", "|---|" + "---:|" * (len(names) + 1)]
    for i, name in enumerate(names):
        corr_rows.append(f"| {name} | " + " | ".join(f"{value:.3f}" for value in correlation[i])
                         + f" | {covariance.loadings[i]:.3f} |")
    lines = [*_preamble("Calibration: a book in PortfolioExec-v0", sources, covariance.days), *ESTIMATES_HEAD,
             *rows, "", f"Correlations and the one-factor model's loadings: {covariance.method}.", "", *corr_rows, "",
             "## The optimum", "",
             f"The optimum's objective E[IS] + λ·Var[IS] is **{-oracle.expected_return:.3f} bps** of the book's "
             f"notional (E[IS] {oracle.expected_shortfall:,.0f} currency). The book's cross-impact ratio is the "
             "desk's, not estimated.", "", f"![book schedule]({PORTFOLIO_PLOTS[0]})", ""]
    text = "\n".join(lines)
    write_text_atomically(folder / "report.md", text)
    return text


def write_basket_report(stocks: dict, covariance, params, sources: dict[str, str], folder: Path) -> str:
    """Write ``report.md`` for a BasketSequence calibration (no plot: the order is a list); returns it."""
    oracle = execgym.make_oracle("BasketSequence-v0", params=params)
    names = covariance.names
    rows = ["| trade | side | notional | impact b, bps |", "|---|---|---:|---:|"]
    for index, name in enumerate(names):
        rows.append(f"| {name} | {'buy' if params.sides[index] > 0 else 'sell'} | {params.notionals[index]:,.0f} | "
                    f"{params.impact_bps[index]:.2f} |")
    order = [names[int(i)] for i in oracle.order] if getattr(oracle, "order", None) is not None else []
    lines = [*_preamble("Calibration: a basket in BasketSequence-v0", sources, covariance.days), "## The basket", "",
             *rows, "", f"Correlations: {covariance.method}; cross-impact κ "
             f"{params.cross_impact:g} and hedge credit h {params.hedge_credit:g} are the desk's.", "",
             "## The optimum", "",
             f"The optimal order{(': ' + ' → '.join(order)) if order else ''} costs **{-oracle.expected_return:.3f} bps** "
             "of the basket's notional.", ""]
    text = "\n".join(lines)
    write_text_atomically(folder / "report.md", text)
    return text
