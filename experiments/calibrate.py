"""``execgym calibrate DATA --shares X``: OptimalExec-v0's params for an order in a stock, estimated from its
market data, with the optimum's exact expected cost and that cost's interval under the estimates' uncertainty.

    execgym calibrate examples/data/synthetic_stock --shares 200000 --out runs/calibration
    execgym calibrate my_stock/ --shares 5e5 --side buy --risk-aversion 1e-6 --periods 26

DATA is a folder holding ``trades``, ``quotes`` and, optionally, ``executions`` files (``.csv``, ``.csv.gz``,
``.parquet`` or ``.pq``; formats in :mod:`execgym.calibration.formats`), or LOBSTER message and order-book
files in place of trades and quotes (:mod:`execgym.calibration.lobster`), or OHLCV ``bars`` (then impact by
Almgren & Chriss's rules of thumb); or give each file with ``--trades``, ``--quotes``, ``--executions``,
``--bars``. Writes into ``--out``: ``params.yaml`` (``gym.make("OptimalExec-v0",
**yaml.safe_load(...))``), ``config.yaml`` (``execgym run`` trains PPO on the calibrated market),
``report.md`` with its plots (:mod:`execgym.calibration.report`), and prints the report.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from execgym.calibration.data import KINDS, load
from execgym.calibration.optimal_exec import IMPACT_MODELS, Order, as_mapping, cost_interval, estimate, order_params
from execgym.calibration.report import write_report
from execgym.experiments.arguments import integer_at_least
from execgym.experiments.files import write_text_atomically

NAME = "calibrate"
HELP = "estimate OptimalExec-v0's params for an order from a stock's trades, quotes and executions"
AGENT = {"algo": "ppo", "num_envs": 64,
         "hyperparameters": {"n_steps": 128, "batch_size": 2048, "n_epochs": 10, "learning_rate": 3.0e-4,
                             "gamma": 1.0, "gae_lambda": 0.95}}
"""The agent of the written ``config.yaml``: experiments/configs/ppo_optimal_exec.yaml's."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``execgym calibrate``."""
    parser.add_argument("data", type=Path, nargs="?",
                        help="a folder with trades, quotes and executions files, LOBSTER files or bars")
    for kind in KINDS:
        parser.add_argument(f"--{kind}", type=Path, help=f"the {kind} file (default: DATA/{kind}.*)")
    parser.add_argument("--problem", default="optimal-exec", choices=["optimal-exec"], help="default: %(default)s")
    parser.add_argument("--shares", type=float, required=True, help="the order's size X, shares")
    parser.add_argument("--side", default="sell", choices=["sell", "buy"], help="default: %(default)s")
    parser.add_argument("--horizon", type=float, default=1.0, help="T, trading days (default: %(default)s)")
    parser.add_argument("--periods", type=integer_at_least(1), default=13, help="N (default: %(default)s)")
    parser.add_argument("--risk-aversion", type=float, default=5e-7, help="λ, per currency (default: %(default)s)")
    parser.add_argument("--impact", default="linear", choices=IMPACT_MODELS,
                        help="temporary impact of the params: linear at the order's average rate, with the permanent "
                             "impact of the order's own fills within a period added (default), or the fitted power "
                             "law (execgym.calibration.optimal_exec)")
    parser.add_argument("--draws", type=integer_at_least(2), default=200,
                        help="redraws of the estimates for the cost's interval (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=Path("runs/calibration"), help="default: %(default)s")


def run(args: argparse.Namespace) -> int:
    """Read, estimate, write the params, the config and the report; print the report."""
    data = load(args.data, **{kind: getattr(args, kind) for kind in KINDS})
    order = Order(shares=args.shares, side=args.side, horizon=args.horizon, periods=args.periods,
                  risk_aversion=args.risk_aversion)
    stock = estimate(data)
    params = as_mapping(order_params(stock, order, impact=args.impact))
    args.out.mkdir(parents=True, exist_ok=True)
    write_text_atomically(args.out / "params.yaml", "# OptimalExec-v0 params estimated by execgym calibrate\n"
                          + yaml.safe_dump(params, sort_keys=False))
    config = {"env": {"id": "OptimalExec-v0", "params": params}, "agent": AGENT,
              "training": {"total_steps": 3_000_000, "eval_every": 250_000, "eval_episodes": 10_000},
              "seeds": [0], "output": str(args.out / "ppo")}
    write_text_atomically(args.out / "config.yaml", "# PPO on the calibrated market: execgym run config.yaml\n"
                          + yaml.safe_dump(config, sort_keys=False))
    cost = cost_interval(stock, order, draws=args.draws, impact=args.impact)
    print(write_report(stock, order, cost, data.sources, args.out, args.impact))
    print(f"\nwrote {args.out / 'params.yaml'}, {args.out / 'config.yaml'} and {args.out / 'report.md'}")
    return 0
