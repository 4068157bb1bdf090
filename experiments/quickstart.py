"""``execgym quickstart``: the oracle and every baseline on OptimalExec-v0 with default parameters.

Scores each policy on the same episodes (common random numbers), prints a
table of costs and regrets in bps of arrival notional, and writes to the
output folder:

* ``summary.md``: the same table in Markdown;
* ``trajectories.png``: inventory (fraction of the order) against time (fraction of the horizon);
* ``frontier.png``: the efficient frontier, E[IS] against std[IS] in bps, with every schedule placed on it.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from execgym import make_oracle, score
from execgym.atomic import write_text_atomically
from execgym.problems.optimal_exec.policies import BASELINES
from execgym.problems.optimal_exec.params import OptimalExecParams
from execgym.scoring import Estimate, ScoreResult
from execgym.experiments.arguments import integer_at_least
from execgym.experiments.frontier import (Frontier, SchedulePoint, efficient_frontier, risk_aversion_grid,
                                  schedule_point)
from execgym.experiments.plots import ORACLE, frontier_figure, save_png, trajectories_figure

NAME = "quickstart"
HELP = "score the oracle and the baselines; plot their schedules and the efficient frontier"
ENV_ID = "OptimalExec-v0"
COLUMNS = ("policy", "cost (bps)", "regret (bps)", "regret (%)", "E[IS] (bps)", "std IS (bps)")
"""Column titles; the printed table breaks each before its unit to fit 80 characters."""


@dataclass(frozen=True)
class Row:
    """One policy's Monte-Carlo results: bps of arrival notional, except ``regret_pct`` (% of the oracle's cost).

    ``cost`` is minus the episode return, IS + λσ²τ·Σx_k², whose mean is the
    mean–variance objective E[IS] + λ·Var[IS]; ``shortfall`` is the terminal
    implementation shortfall IS, with its sample standard deviation.
    """

    name: str
    cost: Estimate
    regret: Estimate
    regret_pct: Estimate
    shortfall: Estimate

    @classmethod
    def of(cls, name: str, result: ScoreResult, params: OptimalExecParams) -> "Row":
        """The row of policy ``name`` from its :func:`execgym.score` result (units: the env's bps and currency)."""
        returns, shortfall = result.policy_return, result.info["shortfall"]
        scale = params.bps_per_currency
        return cls(name=name,
                   cost=Estimate(-returns.mean, returns.half_width, returns.std),
                   regret=result.regret, regret_pct=result.regret_pct,
                   shortfall=Estimate(shortfall.mean * scale, shortfall.half_width * scale, shortfall.std * scale))

    def cells(self) -> tuple[str, ...]:
        """The row's table cells, in the order of :data:`COLUMNS`."""
        return (self.name, _interval(self.cost), _interval(self.regret), _interval(self.regret_pct, 1),
                _interval(self.shortfall), f"{self.shortfall.std:.2f}")


@dataclass(frozen=True)
class QuickstartResult:
    """What :func:`quickstart` computed and wrote.

    ``schedules`` are holdings x_0..x_N (shares); ``points`` their exact E[IS]
    (currency) and Var[IS] (currency²); ``oracle_cost`` the oracle's exact
    cost, bps; ``paths`` maps "summary", "trajectories", "frontier" to files.
    """

    params: OptimalExecParams
    oracle_cost: float
    rows: tuple[Row, ...]
    schedules: dict[str, np.ndarray]
    points: dict[str, SchedulePoint]
    frontier: Frontier
    paths: dict[str, Path]


def quickstart(episodes: int = 10_000, seed: int = 0, out: str | Path = "runs/quickstart",
               console: Console | None = None) -> QuickstartResult:
    """Score the oracle and every baseline on seeds seed..seed+episodes−1, print the table, write the files."""
    console = Console() if console is None else console
    params = OptimalExecParams()
    oracle = make_oracle(ENV_ID, params)
    policies = {ORACLE: oracle.policy} | {name: factory(params) for name, factory in BASELINES.items()}
    schedules = {ORACLE: oracle.schedule} | {name: policies[name].schedule for name in BASELINES}
    rows = tuple(Row.of(name, score(policy, ENV_ID, episodes=episodes, seed=seed, params=params), params)
                 for name, policy in policies.items())
    points = {name: schedule_point(params, holdings) for name, holdings in schedules.items()}
    frontier = efficient_frontier(params, risk_aversion_grid(params))

    header = _header(params, -oracle.expected_return)
    caption = (f"mean ± 95 % CI over {episodes:,} episodes, seeds {seed}..{seed + episodes - 1} "
               "for every policy; cost = E[IS] + λ·Var[IS]; regret = cost − oracle's cost")
    console.print(Text(header))
    console.print(_table(rows, caption))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"summary": write_text_atomically(out / "summary.md", _markdown(header, rows, caption)),
             "trajectories": save_png(trajectories_figure(params, schedules), out / "trajectories.png"),
             "frontier": save_png(frontier_figure(params, frontier, points), out / "frontier.png")}
    console.print(Text(f"wrote {', '.join(str(path) for path in paths.values())}"))
    return QuickstartResult(params=params, oracle_cost=-oracle.expected_return, rows=rows,
                            schedules=schedules, points=points, frontier=frontier, paths=paths)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``execgym quickstart``."""
    parser.add_argument("--episodes", type=integer_at_least(2), default=10_000,
                        help="episodes per policy (default: %(default)s)")
    parser.add_argument("--seed", type=integer_at_least(0), default=0,
                        help="seed of the first episode; episode i uses seed + i (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=Path("runs/quickstart"),
                        help="folder for summary.md, trajectories.png and frontier.png (default: %(default)s)")


def run(args: argparse.Namespace) -> int:
    """Run :func:`quickstart` with the parsed options."""
    quickstart(episodes=args.episodes, seed=args.seed, out=args.out)
    return 0


def _header(params: OptimalExecParams, oracle_cost: float) -> str:
    days = "day" if params.horizon == 1 else "days"
    return (f"{ENV_ID}: {params.side} {params.shares:,.0f} shares over {params.horizon:g} {days} in "
            f"{params.periods} periods, λ = {params.risk_aversion:g} per unit of currency; "
            f"oracle's exact cost {oracle_cost:.3f} bps of notional")


def _interval(estimate: Estimate, decimals: int = 2) -> str:
    return f"{estimate.mean:.{decimals}f} ± {estimate.half_width:.{decimals}f}"


def _table(rows: tuple[Row, ...], caption: str) -> Table:
    table = Table(caption=caption, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for index, column in enumerate(COLUMNS):
        table.add_column(Text(column.replace(" (", "\n(")), justify="left" if index == 0 else "right",
                         no_wrap=True)
    for row in rows:
        table.add_row(*map(Text, row.cells()), style="bold" if row.name == ORACLE else None)
    return table


def _markdown(header: str, rows: tuple[Row, ...], caption: str) -> str:
    lines = [header, "", "| " + " | ".join(COLUMNS) + " |", "|---" + "|---:" * (len(COLUMNS) - 1) + "|"]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines + ["", caption, ""])
