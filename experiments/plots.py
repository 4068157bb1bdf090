"""Figures of execution schedules: inventory trajectories and the efficient frontier, saved as PNG.

Inventories are fractions of the order X; shortfalls are in bps of the
arrival notional X·S0.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import NullFormatter  # noqa: E402

from execgym.atomic import write_atomically  # noqa: E402
from execgym.problems.optimal_exec.params import OptimalExecParams  # noqa: E402
from execgym.experiments.frontier import Frontier, SchedulePoint  # noqa: E402

ORACLE = "oracle"
BASELINE_COLORS = plt.get_cmap("tab10").colors
BASELINE_MARKERS = ("o", "s", "^", "v", "D", "P", "X")


def merge_identical(schedules: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``schedules`` with names of identical holdings joined into one label ("vwap = pov"), order kept."""
    merged: dict[str, np.ndarray] = {}
    for name, holdings in schedules.items():
        same = next((label for label, other in merged.items() if np.allclose(other, holdings)), None)
        if same is None:
            merged[name] = holdings
        else:
            merged[f"{same} = {name}"] = merged.pop(same)
    return merged


def trajectories_figure(params: OptimalExecParams, schedules: dict[str, np.ndarray]) -> Figure:
    """Holdings x_k/X against time t_k/T for each schedule (``schedules[ORACLE]`` drawn in bold)."""
    figure, axes = plt.subplots(figsize=(8.5, 5.0), layout="constrained")
    time = np.arange(params.periods + 1) / params.periods
    baselines = merge_identical({name: h for name, h in schedules.items() if name != ORACLE})
    for index, (label, holdings) in enumerate(baselines.items()):
        axes.plot(time, holdings / params.shares, marker=BASELINE_MARKERS[index % len(BASELINE_MARKERS)],
                  markersize=5, linewidth=1.5, color=BASELINE_COLORS[index % len(BASELINE_COLORS)], label=label)
    if ORACLE in schedules:
        axes.plot(time, schedules[ORACLE] / params.shares, marker="*", markersize=10,
                  color="black", linewidth=2.5, zorder=5, label=f"oracle (λ = {params.risk_aversion:g})")
    _inventory_axes(axes, params, "Execution schedules")
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), title="schedule")
    return figure


def _inventory_axes(axes, params: OptimalExecParams, title: str) -> None:
    """Labels, limits and grid of an inventory (fraction of X) against time (fraction of T) chart."""
    days = "day" if params.horizon == 1 else "days"
    axes.set_xlabel(f"time elapsed, fraction of the horizon ({params.horizon:g} {days}, {params.periods} periods)")
    axes.set_ylabel("inventory remaining, fraction of the order")
    axes.set_title(f"{title}: {params.order}")
    axes.set_xlim(0.0, 1.0)
    axes.set_ylim(0.0, 1.02)
    axes.grid(alpha=0.3)


def frontier_figure(params: OptimalExecParams, frontier: Frontier, points: dict[str, SchedulePoint]) -> Figure:
    """E[IS] against std[IS] (bps) along ``frontier``, with each schedule of ``points`` on it; an inset
    zooms on the schedules and labels them."""
    scale = params.bps_per_currency
    figure, axes = plt.subplots(figsize=(9.0, 6.0), layout="constrained")
    inset = axes.inset_axes([0.40, 0.40, 0.58, 0.56])
    std, mean = np.sqrt(frontier.variance) * scale, frontier.expected_shortfall * scale
    top = int(np.argmax(frontier.risk_aversion))
    baselines = merge_identical({name: np.array([np.sqrt(p.variance), p.expected_shortfall]) * scale
                                 for name, p in points.items() if name != ORACLE})
    for panel in (axes, inset):
        panel.plot(std, mean, color="tab:blue", linewidth=2, label="efficient frontier (closed form)")
        for index, (label, (x, y)) in enumerate(baselines.items()):
            panel.plot(x, y, linestyle="none", marker=BASELINE_MARKERS[index % len(BASELINE_MARKERS)],
                       markersize=8, color=BASELINE_COLORS[index % len(BASELINE_COLORS)], label=label)
        if ORACLE in points:
            oracle = points[ORACLE]
            panel.plot(np.sqrt(oracle.variance) * scale, oracle.expected_shortfall * scale, linestyle="none",
                       marker="*", markersize=18, markeredgecolor="black", color="gold", zorder=6,
                       label=f"oracle, λ = {params.risk_aversion:g}")
        panel.grid(alpha=0.3)
    axes.annotate(f"λ = {frontier.risk_aversion[top]:.0e}", (std[top], mean[top]), xytext=(8, -4),
                  textcoords="offset points", color="tab:blue", fontsize=9)
    _zoom_on_points(inset, points, scale)
    low, high = inset.get_xlim()
    for index, (label, (x, y)) in enumerate(baselines.items()):
        right = x < low + 0.75 * (high - low)
        inset.annotate(label, (x, y), xytext=(8 if right else -8, 5), textcoords="offset points",
                       ha="left" if right else "right", fontsize=9,
                       color=BASELINE_COLORS[index % len(BASELINE_COLORS)])
    inset.tick_params(labelsize=8)
    inset.set_title("zoom on the schedules", fontsize=9)
    axes.indicate_inset_zoom(inset, edgecolor="gray")
    axes.set_xlabel("standard deviation of the implementation shortfall (bps of notional)")
    axes.set_ylabel("expected implementation shortfall (bps of notional)")
    axes.set_title(f"Almgren–Chriss efficient frontier, λ from 0 to {frontier.risk_aversion[top]:.0e} "
                   "per unit of currency")
    axes.set_xlim(0.0, max(axes.get_xlim()[1], 1.02 * high))
    axes.legend(loc="lower left", fontsize=9)
    return figure


def _zoom_on_points(axes, points: dict[str, SchedulePoint], scale: float, margin: float = 0.12) -> None:
    """Set ``axes``' limits around ``points`` (bps), with ``margin`` of their span on each side."""
    x = np.array([np.sqrt(p.variance) for p in points.values()]) * scale
    y = np.array([p.expected_shortfall for p in points.values()]) * scale
    for low, high, setter in ((x.min(), x.max(), axes.set_xlim), (y.min(), y.max(), axes.set_ylim)):
        pad = margin * max(high - low, 1e-9 * abs(high) + 1e-12)
        setter(low - pad, high + pad)


def save_png(figure: Figure, path: str | os.PathLike, dpi: int = 150) -> Path:
    """Write ``figure`` to ``path`` as a PNG atomically, close it, and return ``path``."""
    try:
        return write_atomically(path, lambda file: figure.savefig(file, format="png", dpi=dpi))
    finally:
        plt.close(figure)


def inventory_figure(params, inventories: np.ndarray, oracle_schedule: np.ndarray, label: str) -> Figure:
    """An agent's inventory paths beside the oracle's schedule, as fractions of the order against time.

    ``inventories`` is (N + 1, episodes) in fractions of X, or (N + 1, episodes, m) for m assets (one
    colour per asset); drawn as its mean with the band between its 10th and 90th percentiles (an
    adaptive agent's paths differ from episode to episode). ``oracle_schedule`` is (N + 1[, m]) in shares.
    """
    figure, axes = plt.subplots(figsize=(8.0, 5.0), layout="constrained")
    time = np.arange(params.periods + 1) / params.periods
    inventories = inventories if inventories.ndim == 3 else inventories[:, :, None]
    shares = np.atleast_1d(np.asarray(params.shares, dtype=np.float64))
    oracle = np.asarray(oracle_schedule, dtype=np.float64).reshape(params.periods + 1, -1) / shares
    assets = inventories.shape[2]
    for asset in range(assets):
        colour = BASELINE_COLORS[asset % len(BASELINE_COLORS)] if assets > 1 else "tab:blue"
        name = f"{label}, asset {asset}" if assets > 1 else label
        low, high = np.percentile(inventories[:, :, asset], [10, 90], axis=1)
        axes.fill_between(time, low, high, color=colour, alpha=0.2,
                          label=f"{name}: 10–90 % of {inventories.shape[1]} episodes")
        axes.plot(time, inventories[:, :, asset].mean(axis=1), color=colour, marker="o", markersize=4,
                  label=f"{name}: mean")
        axes.plot(time, oracle[:, asset], color="black" if assets == 1 else colour, marker="*", markersize=9,
                  linewidth=2.5, linestyle="-" if assets == 1 else "--",
                  label="oracle" if assets == 1 else f"oracle, asset {asset}")
    _inventory_axes(axes, params, f"{label} against the oracle")
    axes.legend(loc="upper right", fontsize="small")
    return figure


def regret_by_feature_figure(score) -> Figure:
    """A :class:`~execgym.set_scoring.SetScore`'s regret % per market against each of the markets' features, one
    panel per feature (log axes where the feature spans more than a factor of 20), with the mean over markets
    as a line: where the policy fails."""
    names = score.feature_names or ("market index",)
    values = score.features if score.feature_names else score.indices[:, None].astype(float)
    columns = min(4, len(names))
    rows = -(-len(names) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(3.6 * columns, 3.0 * rows), layout="constrained",
                                squeeze=False, sharey=True)
    for index, name in enumerate(names):
        panel = axes[index // columns][index % columns]
        x = values[:, index]
        panel.errorbar(x, score.regret_pct, yerr=np.nan_to_num(score.regret_pct_half_width), fmt="o", markersize=3,
                       elinewidth=0.6, alpha=0.7, color=BASELINE_COLORS[0])
        panel.axhline(score.mean.mean, color="black", linewidth=1.0, label=f"mean {score.mean} %")
        panel.axhline(0.0, color="grey", linewidth=0.6)
        if np.all(x > 0) and x.max() > 20 * x.min():
            panel.set_xscale("log")
            panel.xaxis.set_minor_formatter(NullFormatter())     # the minor ticks' labels overlap
        panel.set_xlabel(name)
        panel.grid(alpha=0.3)
        if index % columns == 0:
            panel.set_ylabel("regret, % of the optimum")
    for index in range(len(names), rows * columns):
        axes[index // columns][index % columns].set_visible(False)
    axes[0][0].legend(loc="upper left", fontsize=8)
    figure.suptitle(f"{score.env_id}: {score.policy} on {len(score.indices)} {score.set_name} markets "
                    f"({score.episodes_per_market} episodes each; bars: 95 % CI per market)")
    return figure
