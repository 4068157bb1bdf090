"""``execgym stress``: what a wrong model costs. Every model's optimal policy run in every model's market,
scored against that market's own optimum (:mod:`execgym.stress`), as a table and a heat map.

    execgym stress --params runs/calibration/params.yaml               # the default scenarios around it
    execgym stress --models scenarios.yaml --episodes 5000
    execgym stress --calibration examples/data/synthetic_stock --shares 200000 --draws 50

``--params`` (a params YAML, e.g. ``execgym calibrate``'s) sets the base market (default: the env's defaults);
``--models`` a YAML mapping of model names to params over the base, where a value like ``2x`` multiplies the
base's. Without it OptimalExec-v0's scenarios are: as given, square-root impact, twice the volatility, a
risk-neutral desk, and a mean-reverting price (two-way trading, no spread: where the exact optimum exists).
``--calibration DATA --shares X`` takes the base from a calibration (:mod:`execgym.calibration`) and adds the
regret over ``--draws`` redraws of its estimates: each model's policy at the estimates, in each model's market
at every draw. Writes ``stress.md`` and ``stress.png`` into ``--out`` and prints the tables.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import yaml

from execgym.atomic import write_text_atomically
from execgym.registry import PROBLEMS, problem
from execgym.stress import stress_matrix, uncertainty_matrix
from execgym.experiments.arguments import integer_at_least, trading_session
from execgym.experiments.plots import save_png

NAME = "stress"
HELP = "run each model's optimal policy in every model's market, scored against that market's optimum"
SCENARIOS = {"as given": {}, "square-root impact": {"impact_exponent": 0.5}, "2x volatility": {"volatility": "2x"},
             "risk neutral": {"risk_aversion": 0.0},
             "mean reverting": {"mean_reversion": 5.0, "two_way": True, "half_spread": 0.0}}
"""OptimalExec-v0's default models, over the base market."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``execgym stress``."""
    parser.add_argument("--env", default="OptimalExec-v0", choices=sorted(PROBLEMS), help="default: %(default)s")
    parser.add_argument("--params", type=Path, help="a params YAML for the base market (default: the env's defaults)")
    parser.add_argument("--models", type=Path, help="a YAML mapping of model names to params over the base")
    parser.add_argument("--calibration", type=Path, metavar="DATA", help="take the base from this calibration folder")
    parser.add_argument("--shares", type=float, help="the order of --calibration, shares")
    parser.add_argument("--session", type=trading_session, default="09:30-16:00", metavar="OPEN-CLOSE",
                        help="the trading day of --calibration's data, exchange local time (default: %(default)s)")
    parser.add_argument("--draws", type=integer_at_least(2), default=50, help="redraws of a calibration's estimates")
    parser.add_argument("--episodes", type=integer_at_least(2), default=5_000,
                        help="episodes of a Monte Carlo cell (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=Path("runs/stress"), help="default: %(default)s")


def resolve(base: dict, overrides: dict, model: str, env_id: str = "OptimalExec-v0") -> dict:
    """``base`` with ``overrides``, a value "<k>x" being k times the base's (or the env's default where the base
    does not set it); ValueError naming the model."""
    resolved = dict(base)
    defaults = problem(env_id).params()
    for key, value in overrides.items():
        if isinstance(value, str) and value.endswith("x"):
            reference = base.get(key, getattr(defaults, key, None))
            if not isinstance(reference, (int, float)) or isinstance(reference, bool):
                raise ValueError(f"model {model!r}: {key}: {value!r} multiplies the base's {key}, which is not a "
                                 "number; give the number")
            try:
                value = float(value[:-1]) * reference
            except ValueError:
                raise ValueError(f"model {model!r}: {key}: {value!r} is neither a number nor '<factor>x'") from None
        resolved[key] = value
    return resolved


def read_mapping(path: Path, what: str) -> dict:
    """A YAML mapping from ``path`` (ValueError naming the file otherwise)."""
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of {what}, got {type(data).__name__}")
    return data


def heat_map(matrix, title: str):
    """Regret % per (policy's model, market's model), colour on a log scale, the numbers written in."""
    names = list(matrix)
    values = np.array([[np.nan if cell.regret_pct is None else cell.regret_pct for cell in matrix[row].values()]
                       for row in names])
    figure, axes = plt.subplots(figsize=(1.6 * len(names) + 3, 1.1 * len(names) + 2), layout="constrained")
    image = axes.imshow(np.log10(np.maximum(values, 0.0) + 0.01), cmap="magma_r")
    for i, row in enumerate(names):
        for j, cell in enumerate(matrix[row].values()):
            axes.text(j, i, cell.text(), ha="center", va="center", fontsize=9,
                      color="white" if cell.regret_pct is not None and cell.regret_pct > 30 else "black")
    axes.set_xticks(range(len(names)), names, rotation=30, ha="right")
    axes.set_yticks(range(len(names)), names)
    axes.set_xlabel("the market's true model")
    axes.set_ylabel("the policy's model")
    axes.set_title(title)
    figure.colorbar(image, ax=axes, label="log10(regret % + 0.01)")
    return figure


def table(rows: list[str], columns: list[str], cells) -> list[str]:
    """A markdown table of ``rows`` (policy's model) and ``columns`` (market's model), ``cells(row, column)``."""
    return ["| policy's model \\ market's model | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns),
            *(f"| {row} | " + " | ".join(cells(row, column) for column in columns) + " |" for row in rows)]


def calibrated_base(args: argparse.Namespace):
    """(the base params of a calibration, the drawn bases) from ``--calibration`` and ``--shares``."""
    import numpy.random

    from execgym.calibration.data import load
    from execgym.calibration.optimal_exec import Order, estimate, order_params, uncertain_estimates
    from execgym.calibration.params_yaml import params_mapping
    from execgym.calibration.uncertainty import redraw

    if args.shares is None:
        raise ValueError("--calibration needs --shares (the order's size)")
    stock = estimate(load(args.calibration, args.session))
    order = Order(shares=args.shares)
    rng = numpy.random.default_rng(0)
    base = params_mapping(order_params(stock, order))              # refuses an invalid order before any draw
    draws = []
    for _ in range(10 * args.draws):
        try:
            draws.append(params_mapping(order_params(stock, order, redraw(uncertain_estimates(stock), rng))))
        except ValueError:
            continue
        if len(draws) == args.draws:
            return base, draws
    raise ValueError(f"fewer than {args.draws} of {10 * args.draws} draws of the estimates gave valid params: the "
                     "estimates are too uncertain for --draws")


def run(args: argparse.Namespace) -> int:
    """Build the matrices, write ``stress.md`` and ``stress.png``, print the tables."""
    draws = None
    if args.calibration is not None:
        base, draws = calibrated_base(args)
    else:
        base = read_mapping(args.params, "params") if args.params else {}
    overrides = read_mapping(args.models, "models") if args.models else (SCENARIOS if args.env == "OptimalExec-v0" else None)
    if overrides is None:
        raise ValueError(f"--models: {args.env} has no default scenarios; give a YAML of models")
    models = {name: resolve(base, dict(values or {}), name, args.env) for name, values in overrides.items()}
    matrix = stress_matrix(args.env, models, episodes=args.episodes)
    names = list(models)
    lines = [f"# What a wrong model costs: {args.env}", "",
             "Regret % of |optimal value| of each model's optimal policy (rows) in each model's market (columns), "
             "against that market's optimum: exact where the policy is a schedule, else ± the 95 % half width of "
             f"{args.episodes:,} paired episodes; – where the policy cannot act in that market.", "",
             *table(names, names, lambda row, column: matrix[row][column].text()), "", "![stress](stress.png)", ""]
    if draws is not None:
        schedules = {name: models[name] for name in names if all(cell.exact for cell in matrix[name].values())}
        markets = [{name: resolve({**base, **draw}, dict(overrides[name] or {}), name, args.env) for name in names}
                   for draw in draws]
        spread = uncertainty_matrix(args.env, schedules, markets)
        lines += ["## Over the calibration's uncertainty", "",
                  f"The same, each policy at the estimates and each market at {len(draws)} redraws of them (the "
                  "policies that are schedules): mean regret % [2.5 %, 97.5 % quantiles].", "",
                  *table(list(spread), names, lambda row, column: "–" if column not in spread[row] else
                         "{:.2f} [{:.2f}, {:.2f}]".format(*spread[row][column]))]
    args.out.mkdir(parents=True, exist_ok=True)
    save_png(heat_map(matrix, f"{args.env}: regret % of each model's optimum in each market"), args.out / "stress.png")
    text = "\n".join(lines) + "\n"
    write_text_atomically(args.out / "stress.md", text)
    print(text)
    return 0
