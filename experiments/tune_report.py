"""Outputs of ``execgym tune`` from the study's trials, each written atomically.

* ``best.yaml``: the config with the best trial's hyperparameters, ready for
  ``execgym run``; a comment header gives the trial, its regret and how to
  reproduce it;
* ``trials.csv``: one row per trial: number, state, final regret % (for a
  pruned trial, its last evaluation's), its 95 % CI half-width, steps trained,
  wall time, error, then the values searched (``minibatches`` also as the
  ``batch_size`` it set; lists and mappings as YAML text);
* ``summary.md``: the objective, the counts per state, the best trial and
  every trial by regret;
* ``study.png``: the regret of each trial against its number with the running
  best, beside the learning curves of completed and pruned trials.

Trial attributes read here (set by :mod:`execgym.experiments.tune`):
``hyperparameters``, ``steps``, ``wall_seconds``, ``regret_pct_half_width``,
``error`` and ``rerun_of``.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MaxNLocator
from optuna.trial import FrozenTrial, TrialState

from execgym.atomic import write_text_atomically
from execgym.experiments.config import ExperimentConfig
from execgym.experiments.plots import plt, save_png
from execgym.experiments.sweep_report import csv_text

COLUMNS = ("number", "state", "regret_pct", "regret_pct_half_width", "steps", "wall_seconds", "error")
COLORS = {TrialState.COMPLETE: "tab:blue", TrialState.PRUNED: "tab:orange"}
REGRET_LABEL = "regret vs the exact optimum (%)"


def best_so_far(trials: list[FrozenTrial]) -> FrozenTrial | None:
    """The complete trial of lowest regret (the first of equals), or None."""
    complete = [trial for trial in trials if trial.state == TrialState.COMPLETE]
    return min(complete, key=lambda trial: (trial.value, trial.number)) if complete else None


def write_report(folder: Path, config: ExperimentConfig, seed: int, trials: list[FrozenTrial],
                 plot: bool = True) -> None:
    """Write trials.csv, summary.md, and once a trial is complete best.yaml; if ``plot``, study.png once a
    trial has a regret. ``config`` is the study's (values not searched, budget, evaluation), ``seed`` its
    training seed."""
    shown = [trial for trial in trials if trial.state != TrialState.WAITING]
    best = best_so_far(shown)
    write_text_atomically(folder / "trials.csv", csv_text(*trial_table(shown)))
    write_text_atomically(folder / "summary.md", summary(folder, config, seed, shown, best) + "\n")
    if best is not None:
        write_text_atomically(folder / "best.yaml", best_config_text(folder, config, seed, shown, best))
    if plot and any(trial.intermediate_values for trial in shown):
        save_png(study_figure(shown, best, f"{config.agent.algo} on {config.env.id}"), folder / "study.png")


def trial_table(trials: list[FrozenTrial]) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
    """The rows of trials.csv and its columns: :data:`COLUMNS`, then the values searched."""
    rows, names = [], {}
    for trial in trials:
        values = {**trial.params, **trial.user_attrs.get("hyperparameters", {})}
        names.update(dict.fromkeys(values))
        attrs = trial.user_attrs
        rows.append({"number": trial.number, "state": trial.state.name, "regret_pct": trial.value,
                     **{key: attrs.get(key) for key in COLUMNS[3:]}, **{name: _cell(v) for name, v in values.items()}})
    columns = COLUMNS + tuple(names)
    return [{column: row.get(column) for column in columns} for row in rows], columns


def _cell(value: Any) -> Any:
    """A value as a CSV cell: lists and mappings as one-line YAML."""
    if isinstance(value, (list, dict)):
        return yaml.safe_dump(value, default_flow_style=True, width=10**6).strip()
    return value


def counts(trials: list[FrozenTrial]) -> str:
    """``"8 trials: 5 complete, 2 pruned, 1 fail"`` (states present only)."""
    states = [trial.state for trial in trials]
    parts = [f"{states.count(state)} {state.name.lower()}" for state in TrialState if state in states]
    return f"{len(trials)} trials" + (": " + ", ".join(parts) if parts else "")


def objective_text(config: ExperimentConfig, seed: int) -> str:
    """What each trial is scored by."""
    training = config.training
    return (f"final regret % vs the exact oracle after {training.total_steps:,} steps of training seed {seed}, "
            f"on {training.eval_episodes:,} evaluation episodes from seed {training.eval_seed} (the same for every "
            f"trial); evaluated every {training.eval_every:,} steps, where median pruning may stop a trial")


def summary(folder: Path, config: ExperimentConfig, seed: int, trials: list[FrozenTrial],
            best: FrozenTrial | None) -> str:
    """summary.md: the objective, the counts, the best trial and every trial ordered by regret."""
    lines = [f"# Tuning {config.agent.algo} on {config.env.id}: {counts(trials)}", "",
             f"Objective (minimised): {objective_text(config, seed)}.", ""]
    if best is None:
        lines += ["No trial is complete yet.", ""]
    else:
        lines += [f"## Best: trial {best.number}, regret {_regret(best)}", "",
                  "| hyperparameter | value |", "|---|---|"]
        lines += [f"| {name} | {_cell(value)} |" for name, value in best.user_attrs["hyperparameters"].items()]
        lines += ["", f"Config: {folder / 'best.yaml'} (`execgym run {folder / 'best.yaml'} --seed {seed}` "
                      "reproduces this regret; its other seeds test the hyperparameters on other training runs).", ""]
    order = {TrialState.COMPLETE: 0, TrialState.PRUNED: 1, TrialState.RUNNING: 2, TrialState.FAIL: 3}
    rows, columns = trial_table(sorted(trials, key=lambda t: (order[t.state], t.value if t.value is not None
                                                                      else np.inf, t.number)))
    searched = columns[len(COLUMNS):]
    lines += ["## Trials", "", "Regret of a pruned trial: at its last evaluation.", "",
              "| trial | state | regret % | steps | wall (s) | " + " | ".join(searched) + " |",
              "|---:|---|---:|---:|---:|" + "---:|" * len(searched)]
    for row in rows:
        regret = "" if row["regret_pct"] is None else f"{row['regret_pct']:.3f}"
        steps = "" if row["steps"] is None else f"{row['steps']:,}"
        wall = "" if row["wall_seconds"] is None else f"{row['wall_seconds']:.0f}"
        lines.append(f"| {row['number']} | {row['state']} | {regret} | {steps} | {wall} | "
                     + " | ".join(_text(row[name]) for name in searched) + " |")
    failed = [trial for trial in trials if trial.state == TrialState.FAIL]
    if failed:
        lines += ["", "## Failed trials", ""]
        lines += [f"- trial {trial.number}: {trial.user_attrs.get('error', 'no error recorded')}" for trial in failed]
    return "\n".join(lines)


def _regret(trial: FrozenTrial) -> str:
    half_width = trial.user_attrs.get("regret_pct_half_width")
    return f"{trial.value:.3f}" + (f" ± {half_width:.3f} % (95 % CI)" if half_width is not None else " %")


def _text(value: Any) -> str:
    if value is None:
        return ""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def best_config_text(folder: Path, config: ExperimentConfig, seed: int, trials: list[FrozenTrial],
                     best: FrozenTrial) -> str:
    """best.yaml: ``config`` with the best trial's hyperparameters (output ``<folder>/best``), under a comment
    header naming the trial, its regret and the command that reproduces it."""
    data = config.to_dict()
    data["agent"]["hyperparameters"] = {**data["agent"]["hyperparameters"], **best.user_attrs["hyperparameters"]}
    data["output"] = str(folder / "best")
    header = textwrap.wrap(f"Best hyperparameters found by execgym tune in {folder} ({counts(trials)}): trial "
                           f"{best.number}, regret {_regret(best)}; objective: {objective_text(config, seed)}.", 110)
    header.append(f"Reproduce it: execgym run {folder / 'best.yaml'} --seed {seed}")
    return "".join(f"# {line}\n" for line in header) + yaml.safe_dump(data, sort_keys=False)


def study_figure(trials: list[FrozenTrial], best: FrozenTrial | None, title: str) -> Figure:
    """Left: each trial's regret against its number (pruned ones at their last evaluation, failed ones as
    dotted vertical lines) and the running best; right: the learning curves, completed and pruned trials in two
    colours, the best in black. Regret axes symmetric-log (linear within ±1 %)."""
    figure, (left, right) = plt.subplots(1, 2, figsize=(13.0, 5.0), layout="constrained")
    for state, marker, label in ((TrialState.COMPLETE, "o", "complete: final regret"),
                                 (TrialState.PRUNED, "x", "pruned: regret at its last evaluation")):
        chosen = [trial for trial in trials if trial.state == state and trial.value is not None]
        left.scatter([trial.number for trial in chosen], [trial.value for trial in chosen], marker=marker,
                     color=COLORS[state], label=label, zorder=3)
    complete = sorted((trial for trial in trials if trial.state == TrialState.COMPLETE), key=lambda t: t.number)
    if complete:
        numbers = [trial.number for trial in complete] + [max(trial.number for trial in trials)]
        running = np.minimum.accumulate([trial.value for trial in complete])
        left.step(numbers, np.append(running, running[-1]), where="post", color="black", label="best so far")
    failed = [trial.number for trial in trials if trial.state == TrialState.FAIL]
    for index, number in enumerate(failed):
        left.axvline(number, color="tab:red", linestyle=":", label="failed (no regret)" if index == 0 else None)
    left.xaxis.set_major_locator(MaxNLocator(integer=True))
    left.set(xlabel="trial", title=f"{title}: regret of each trial")
    for trial in sorted(trials, key=lambda t: t is best):
        if not trial.intermediate_values:
            continue
        steps, values = zip(*sorted(trial.intermediate_values.items()))
        is_best = trial is best
        color = "black" if is_best else COLORS.get(trial.state, "grey")
        right.plot(steps, values, color=color, linewidth=2.2 if is_best else 1.0, alpha=1.0 if is_best else 0.6,
                   marker="x" if trial.state == TrialState.PRUNED else None, markevery=[len(steps) - 1])
    right.legend(handles=[Line2D([], [], color=COLORS[TrialState.COMPLETE], label="complete"),
                          Line2D([], [], color=COLORS[TrialState.PRUNED], marker="x", label="pruned (x: stopped)"),
                          Line2D([], [], color="black", linewidth=2.2, label="best")], fontsize=8)
    right.xaxis.set_major_formatter(FuncFormatter(lambda steps, _: f"{steps:,.0f}"))
    right.set(xlabel="training steps (evaluation's nominal step)", title="learning curves")
    regrets = [value for trial in trials for value in trial.intermediate_values.values()]
    for axes in (left, right):
        _regret_axis(axes, regrets)
    left.legend(fontsize=8)
    return figure


def _regret_axis(axes, regrets: list[float]) -> None:
    """A log regret axis, or a symmetric-log one (linear within ±1 %) with the zero line if a regret is ≤ 0
    (an agent at the optimum measures slightly negative regrets on finite episodes)."""
    if min(regrets) > 0:
        axes.set_yscale("log")
    else:
        axes.axhline(0.0, color="grey", linewidth=0.8)
        axes.set_yscale("symlog", linthresh=1.0)
    axes.set_ylabel(REGRET_LABEL)
    axes.grid(alpha=0.3, which="both")
