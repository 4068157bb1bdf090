"""A sweep's results across seeds: regret vs the exact oracle with confidence intervals, as CSV, markdown and
a plot of regret against training steps.

Per grid point (env × agent × grid values) over its seeds' final evaluations:

* the mean regret % with the 95 % confidence interval of the mean (Student t);
* the interquartile mean (IQM: the mean of the middle 50 % of seeds, scipy's
  ``trim_mean(x, 0.25)``) with a 95 % percentile-bootstrap interval, as the
  rliable recommendations (Agarwal et al., 2021) advise for few seeds;
* min, max and the wall time.

Files written (atomically) into the sweep folder: ``trials.csv`` (one row per
trial), ``summary.csv`` and ``summary.md`` (one row per point) and
``regret_curves.png`` (mean regret % against training steps, a 95 % CI band
per point).
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

from execgym.atomic import write_text_atomically  # noqa: E402
from execgym.scoring import Estimate  # noqa: E402
from execgym.experiments.plots import save_png  # noqa: E402
from execgym.experiments.results import ONE_SEED, interval_text, read_result  # noqa: E402
from execgym.experiments.sweep_plan import Trial  # noqa: E402

SUMMARY_COLUMNS = ("env_id", "algo", "point", "seeds", "regret_pct_mean", "regret_pct_ci95", "regret_pct_iqm",
                   "regret_pct_iqm_low", "regret_pct_iqm_high", "regret_pct_min", "regret_pct_max", "steps",
                   "wall_seconds")


def interquartile_mean(values: np.ndarray) -> tuple[float, float, float]:
    """(IQM, low, high): the 25 %-trimmed mean and its 95 % percentile-bootstrap interval (2,000 resamples,
    fixed seed; the interval is the point itself for fewer than 3 values or equal values)."""
    values = np.asarray(values, dtype=float)
    iqm = float(stats.trim_mean(values, 0.25))
    if values.size < 3 or np.ptp(values) == 0.0:
        return iqm, iqm, iqm
    interval = stats.bootstrap((values,), lambda sample, axis: stats.trim_mean(sample, 0.25, axis=axis),
                               confidence_level=0.95, n_resamples=2000, method="percentile",
                               random_state=np.random.default_rng(0)).confidence_interval
    return iqm, float(interval.low), float(interval.high)


def load_results(trials: list[Trial]) -> dict[str, list[dict[str, Any]]]:
    """The result.json of every done trial, grouped by point in plan order."""
    results: dict[str, list[dict[str, Any]]] = {}
    for trial in trials:
        if trial.done:
            results.setdefault(trial.point, []).append(read_result(trial.folder / "result.json"))
    return results


def summarise(results: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """One summary row per point (see :data:`SUMMARY_COLUMNS`)."""
    rows = []
    for point, runs in results.items():
        regrets = np.array([run["final"]["regret_pct"] for run in runs])
        estimate = Estimate.of(regrets)
        iqm, low, high = interquartile_mean(regrets)
        rows.append({"env_id": runs[0]["env_id"], "algo": runs[0]["algo"], "point": point,
                     "seeds": len(runs), "regret_pct_mean": estimate.mean, "regret_pct_ci95": estimate.half_width,
                     "regret_pct_iqm": iqm, "regret_pct_iqm_low": low, "regret_pct_iqm_high": high,
                     "regret_pct_min": float(regrets.min()), "regret_pct_max": float(regrets.max()),
                     "steps": int(max(run["steps"] for run in runs)),
                     "wall_seconds": float(sum(run["wall_seconds"] for run in runs))})
    return rows


def csv_text(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> str:
    """``rows`` as CSV; an undefined number (nan, e.g. the CI of one seed) is an empty cell."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows({column: "" if isinstance(row[column], float) and not math.isfinite(row[column]) else row[column]
                      for column in columns} for row in rows)
    return buffer.getvalue()


def trial_rows(results: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [{"point": point, "seed": run["seed"], "env_id": run["env_id"], "algo": run["algo"],
             "steps": run["steps"], "wall_seconds": run["wall_seconds"],
             "regret_pct": run["final"]["regret_pct"], "regret_pct_half_width": run["final"]["regret_pct_half_width"],
             "return": run["final"]["return"], "oracle_return": run["final"]["oracle_return"]}
            for point, runs in results.items() for run in runs]


def markdown(rows: list[dict[str, Any]], title: str, failed: list[str] = ()) -> str:
    """The summary table in markdown, with the trials that failed (if any) listed below it."""
    lines = [f"# {title}", "", "Final regret % vs the exact oracle across seeds: mean ± 95 % CI (t), and the "
             "interquartile mean with its 95 % bootstrap interval.", "",
             "| env | agent | point | seeds | regret % (mean ± CI) | IQM [95 % CI] | min | max | steps | wall (s) |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        lines.append(f"| {row['env_id']} | {row['algo']} | {row['point']} | {row['seeds']} | "
                     f"{interval_text(row['regret_pct_mean'], row['regret_pct_ci95'], alone=ONE_SEED)} | "
                     f"{row['regret_pct_iqm']:.3f} "
                     f"[{row['regret_pct_iqm_low']:.3f}, {row['regret_pct_iqm_high']:.3f}] | "
                     f"{row['regret_pct_min']:.3f} | {row['regret_pct_max']:.3f} | {row['steps']:,} | "
                     f"{row['wall_seconds']:.0f} |")
    if failed:
        lines += ["", "Failed trials (after one retry; rerun the sweep to try them again):", ""]
        lines += [f"- {trial}" for trial in failed]
    return "\n".join(lines)


def curve_bands(runs: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(steps, mean regret %, CI half-width) at each evaluation every seed reached, matched by order (seeds
    whose episodes vary in length evaluate at slightly different steps: their mean is used)."""
    count = min(len(run["curve"]) for run in runs)
    steps = np.array([np.mean([run["curve"][i]["steps"] for run in runs]) for i in range(count)])
    bands = [Estimate.of([run["curve"][i]["regret_pct"] for run in runs]) for i in range(count)]
    means, widths = np.array([band.mean for band in bands]), np.array([band.half_width for band in bands])
    return steps, means, np.nan_to_num(widths)


def curves_figure(curves: dict[str, list[dict[str, Any]]], title: str,
                  reference_lines: dict[str, float] | None = None, colors: dict[str, str] | None = None):
    """Mean regret % against training steps with a 95 % CI band per curve (label: its runs' results), on a log
    step axis (agents' budgets differ by 100×) and a symmetric-log regret axis (linear within ±1 %, so the
    last evaluations stay readable beside the first); ``reference_lines`` (name: regret %) are drawn flat
    (e.g. baselines; equal ones share a line, neighbours' names alternate sides); ``colors`` fixes a curve's
    colour by label (the same agent alike across figures)."""
    figure, axes = plt.subplots(figsize=(7.5, 4.5))
    lowest = 0.0
    for label, runs in curves.items():
        steps, means, widths = curve_bands(runs)
        line, = axes.plot(steps, means, marker="o", markersize=3, label=f"{label} ({len(runs)} seeds)",
                          color=(colors or {}).get(label))
        axes.fill_between(steps, means - widths, means + widths, color=line.get_color(), alpha=0.2)
        lowest = min(lowest, float(np.nanmin(means - widths)))
    names_at: dict[float, list[str]] = {}
    for name, regret in (reference_lines or {}).items():
        names_at.setdefault(round(regret, 2), []).append(name)
    for side, (regret, names) in enumerate(sorted(names_at.items())):
        axes.axhline(regret, linestyle="--", linewidth=1, color="grey")
        x, align = (0.995, "right") if side % 2 == 0 else (0.005, "left")
        axes.annotate(" = ".join(names), (x, regret), xycoords=("axes fraction", "data"), ha=align, va="bottom",
                      fontsize=7, color="dimgrey")
        lowest = min(lowest, regret)
    axes.axhline(0.0, color="black", linewidth=0.8)
    axes.set_xscale("log")
    axes.set_yscale("symlog", linthresh=1.0)
    axes.set_ylim(bottom=1.2 * lowest - 0.05)       # autoscale's linear margin would reach far below zero
    axes.set(xlabel="training steps", ylabel="regret vs the exact optimum (%)", title=title)
    axes.legend(fontsize=7)
    figure.tight_layout()
    return figure


def write_report(folder: Path, trials: list[Trial], title: str, failed: list[str] = ()) -> list[dict[str, Any]]:
    """Aggregate the done trials of a sweep into trials.csv, summary.csv, summary.md and regret_curves.png."""
    results = load_results(trials)
    rows = summarise(results)
    trial_columns = ("point", "seed", "env_id", "algo", "steps", "wall_seconds", "regret_pct",
                     "regret_pct_half_width", "return", "oracle_return")
    write_text_atomically(folder / "trials.csv", csv_text(trial_rows(results), trial_columns))
    write_text_atomically(folder / "summary.csv", csv_text(rows, SUMMARY_COLUMNS))
    write_text_atomically(folder / "summary.md", markdown(rows, title, failed) + "\n")
    if results:
        save_png(curves_figure({point if point != "default" else runs[0]["algo"]: runs
                                for point, runs in results.items()}, title), folder / "regret_curves.png")
    return rows
