"""``execgym calibrate DATA --problem P``: a problem's params estimated from a stock's market data (for
optimal-exec, an order of ``--shares``), with the optimum's exact value and its interval under the estimates'
uncertainty; the problems and their options in :mod:`execgym.calibration.calibrate`.

    execgym calibrate examples/data/synthetic_stock --shares 200000 --out runs/calibration
    execgym calibrate my_stock/ --shares 5e5 --side buy --risk-aversion 1e-6 --periods 26 --session 08:00-16:30
    execgym calibrate examples/data/synthetic_stock --problem market-making --out runs/quoting

DATA is a folder holding ``trades``, ``quotes`` and, optionally, ``executions`` files (``.csv``, ``.csv.gz``,
``.parquet`` or ``.pq``; formats in :mod:`execgym.calibration.formats`), or LOBSTER message and order-book
files in place of trades and quotes (:mod:`execgym.calibration.lobster`), or OHLCV ``bars`` (then impact by
Almgren & Chriss's rules of thumb); or give each file with ``--trades``, ``--quotes``, ``--executions``,
``--bars``; for portfolio-exec and basket-sequence, one such folder per stock of ``--holdings``. A day is the
exchange's ``--session`` (local time); rows outside it are left out, and the report counts them. Writes into
``--out``: ``params.yaml`` (``gym.make(ENV, **yaml.safe_load(...))``), ``config.yaml`` (``execgym run`` trains
PPO on the calibrated market), ``report.md`` with its plots (:mod:`execgym.calibration.report`), and prints the
report.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from execgym.calibration.calibrate import PROBLEMS, calibrate
from execgym.calibration.data import KINDS
from execgym.calibration.optimal_exec import IMPACT_MODELS
from execgym.experiments.arguments import integer_at_least, trading_session

NAME = "calibrate"
HELP = "estimate a problem's params from a stock's trades and quotes (or LOBSTER files, or bars) and executions"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``execgym calibrate``."""
    parser.add_argument("data", type=Path, nargs="?",
                        help="a folder with trades, quotes and executions files, LOBSTER files or bars")
    for kind in KINDS:
        parser.add_argument(f"--{kind}", type=Path, help=f"the {kind} file (default: DATA/{kind}.*)")
    parser.add_argument("--session", type=trading_session, default="09:30-16:00", metavar="OPEN-CLOSE",
                        help="the exchange's trading day, local time: a day's variance, volume and profile are over "
                             "it, rows outside it are left out (default: %(default)s)")
    parser.add_argument("--problem", default="optimal-exec", choices=list(PROBLEMS), help="default: %(default)s")
    parser.add_argument("--shares", type=float, help="optimal-exec: the order's size X, shares (required)")
    parser.add_argument("--side", default="sell", choices=["sell", "buy"], help="default: %(default)s")
    parser.add_argument("--horizon", type=float, default=1.0, help="T, trading days (default: %(default)s)")
    parser.add_argument("--periods", type=integer_at_least(1), default=13,
                        help="N, optimal-exec's periods (default: %(default)s)")
    parser.add_argument("--risk-aversion", type=float,
                        help="optimal-exec's λ per currency (default 5e-7), market-making's γ per currency (default "
                             "0.1), twap-vwap's λ per bps (default 2e-4)")
    parser.add_argument("--holdings", metavar="NAME=SHARES,...",
                        help="portfolio-exec, basket-sequence: the book, one position per subfolder of DATA (+ long, "
                             "− short)")
    parser.add_argument("--cross-impact", type=float, default=0.3,
                        help="portfolio-exec: the cross-impact ratio c in [0, 1); basket-sequence: the share κ of a "
                             "trade's impact left when the next starts (default: %(default)s)")
    parser.add_argument("--day-types", type=integer_at_least(1), default=2,
                        help="twap-vwap: day types to cluster the days into (default: %(default)s)")
    parser.add_argument("--lots", type=integer_at_least(1), default=20, help="limit-or-market: N (default: %(default)s)")
    parser.add_argument("--lot-shares", type=float, default=100.0,
                        help="limit-or-market: shares a lot (default: %(default)s)")
    parser.add_argument("--deadline", type=integer_at_least(1), default=10,
                        help="limit-or-market: K steps (default: %(default)s)")
    parser.add_argument("--step-seconds", type=float, default=5.0,
                        help="limit-or-market: a step's length (default: %(default)s)")
    parser.add_argument("--max-depth", type=integer_at_least(0), default=4,
                        help="limit-or-market: L, the deepest limit order in ticks (default: %(default)s)")
    parser.add_argument("--impact", default="linear", choices=IMPACT_MODELS,
                        help="temporary impact of the params: linear at the order's average rate, with the permanent "
                             "impact of the order's own fills within a period added (default), or the fitted power "
                             "law (execgym.calibration.optimal_exec)")
    parser.add_argument("--draws", type=integer_at_least(2), default=200,
                        help="redraws of the estimates for the cost's interval (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=Path("runs/calibration"), help="default: %(default)s")


def parse_holdings(text: str | None) -> dict[str, float] | None:
    """``A=1e5,B=-5e4`` as {name: shares} (None for None); ValueError naming the malformed entry."""
    if not text:
        return None
    holdings = {}
    for entry in text.split(","):
        name, _, shares = entry.partition("=")
        try:
            holdings[name.strip()] = float(shares)
        except ValueError:
            raise ValueError(f"--holdings: {entry!r} is not NAME=SHARES") from None
    return holdings


def run(args: argparse.Namespace) -> int:
    """Calibrate (:func:`execgym.calibration.calibrate.calibrate`), writing into ``--out``; print the report."""
    result = calibrate(
        args.data, args.problem, args.out, files={kind: getattr(args, kind) for kind in KINDS}, shares=args.shares,
        side=args.side, horizon=args.horizon, periods=args.periods, risk_aversion=args.risk_aversion,
        impact=args.impact, draws=args.draws, holdings=parse_holdings(args.holdings), cross_impact=args.cross_impact,
        day_types=args.day_types, lots=args.lots, lot_shares=args.lot_shares, deadline=args.deadline,
        step_seconds=args.step_seconds, max_depth=args.max_depth, session=args.session)
    print(result.report)
    print(f"\nwrote {args.out / 'params.yaml'}, {args.out / 'config.yaml'} and {args.out / 'report.md'}")
    return 0
