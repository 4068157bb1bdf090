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
from execgym.calibration.optimal_exec import IMPACT_MODELS, Order, cost_interval, estimate, order_params
from execgym.calibration.params_yaml import params_mapping
from execgym.calibration.estimates import limit_fills, realized_covariance, trade_signs
from execgym.calibration.portfolio_exec import book_params
from execgym.calibration.limit_or_market import ChildOrder, child_order_params, improvement_interval, infer_tick
from execgym.calibration.market_making import Quoting, profit_interval, quoting_params
from execgym.calibration.report import (write_limit_or_market_report, write_market_making_report,
                                        write_portfolio_report, write_report, write_twap_vwap_report)
from execgym.calibration.twap_vwap import switch_interval, switch_params
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
                        help="portfolio-exec: the book, one position per subfolder of DATA (+ long, − short)")
    parser.add_argument("--cross-impact", type=float, default=0.3,
                        help="portfolio-exec: the cross-impact ratio c in [0, 1) (default: %(default)s)")
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


PROBLEMS = ("optimal-exec", "market-making", "limit-or-market", "twap-vwap", "portfolio-exec")


def run(args: argparse.Namespace) -> int:
    """Read, estimate, write the params, the config and the report; print the report."""
    if args.problem == "portfolio-exec":
        return _portfolio_exec(args)
    data = load(args.data, **{kind: getattr(args, kind) for kind in KINDS})
    stock = estimate(data, buckets=args.periods if args.problem == "optimal-exec" else 13)
    if args.problem == "market-making":
        return _market_making(args, data, stock)
    if args.problem == "limit-or-market":
        return _limit_or_market(args, data, stock)
    if args.problem == "twap-vwap":
        return _twap_vwap(args, data, stock)
    if args.shares is None:
        raise ValueError("--problem optimal-exec needs --shares (the order's size)")
    order = Order(shares=args.shares, side=args.side, horizon=args.horizon, periods=args.periods,
                  risk_aversion=5e-7 if args.risk_aversion is None else args.risk_aversion)
    cost = cost_interval(stock, order, draws=args.draws, impact=args.impact)
    _write_params(args.out, "OptimalExec-v0", order_params(stock, order, impact=args.impact))
    print(write_report(stock, order, cost, data.sources, args.out, args.impact))
    print(f"\nwrote {args.out / 'params.yaml'}, {args.out / 'config.yaml'} and {args.out / 'report.md'}")
    return 0


def _write_params(folder: Path, env_id: str, params) -> None:
    """``params.yaml`` (gym.make's keywords: :func:`~execgym.calibration.params_yaml.params_mapping`) and
    ``config.yaml`` (PPO on them, ``execgym run``), in ``folder`` (made if need be): written once everything
    else succeeded, just before the report."""
    folder.mkdir(parents=True, exist_ok=True)
    params = params_mapping(params)
    write_text_atomically(folder / "params.yaml", f"# {env_id} params estimated by execgym calibrate\n"
                          + yaml.safe_dump(params, sort_keys=False))
    config = {"env": {"id": env_id, "params": params}, "agent": AGENT,
              "training": {"total_steps": 3_000_000, "eval_every": 250_000, "eval_episodes": 10_000},
              "seeds": [0], "output": str(folder / "ppo")}
    write_text_atomically(folder / "config.yaml", "# PPO on the calibrated market: execgym run config.yaml\n"
                          + yaml.safe_dump(config, sort_keys=False))


def _market_making(args: argparse.Namespace, data, stock) -> int:
    """MarketMaking-v0's params, config and report (:mod:`execgym.calibration.market_making`)."""
    if stock.fill_intensity is None:
        raise ValueError("--problem market-making needs a tape whose market orders go beyond the touch (trades with "
                         "quotes or LOBSTER): bars or prints all at the touch show no fill intensity")
    quoting = Quoting(horizon=args.horizon, risk_aversion=0.1 if args.risk_aversion is None else args.risk_aversion)
    params = quoting_params(stock.arrival_price, stock.volatility, stock.fill_intensity, quoting)
    profit = profit_interval(stock.arrival_price, stock.volatility, stock.fill_intensity, quoting, draws=args.draws)
    _write_params(args.out, "MarketMaking-v0", params)
    print(write_market_making_report(stock, params, profit, data.sources, args.out))
    print(f"\nwrote {args.out / 'params.yaml'}, {args.out / 'config.yaml'} and {args.out / 'report.md'}")
    return 0


def _limit_or_market(args: argparse.Namespace, data, stock) -> int:
    """LimitOrMarket-v0's params, config and report (:mod:`execgym.calibration.limit_or_market`)."""
    if data.trades is None:
        raise ValueError("--problem limit-or-market needs trades and quotes (or LOBSTER): bars show no fills")
    order = ChildOrder(lots=args.lots, lot_shares=args.lot_shares, deadline=args.deadline,
                       step_seconds=args.step_seconds, max_depth=args.max_depth)
    signs = trade_signs(data.trades, data.quotes)
    fills = limit_fills(data.trades, signs, data.quotes, order.step_seconds, order.max_depth, infer_tick(data.quotes))
    params = child_order_params(stock.arrival_price, data.quotes, fills, order)
    improvement = improvement_interval(stock.arrival_price, data.quotes, fills, order, draws=args.draws)
    _write_params(args.out, "LimitOrMarket-v0", params)
    print(write_limit_or_market_report(stock, fills, params, improvement, data.sources, args.out))
    print(f"\nwrote {args.out / 'params.yaml'}, {args.out / 'config.yaml'} and {args.out / 'report.md'}")
    return 0


def _twap_vwap(args: argparse.Namespace, data, stock) -> int:
    """TwapVwapSwitch-v0's params, config and report (:mod:`execgym.calibration.twap_vwap`)."""
    if args.shares is None:
        raise ValueError("--problem twap-vwap needs --shares (the order's size)")
    order = Order(shares=args.shares, side=args.side)
    risk_aversion = 2e-4 if args.risk_aversion is None else args.risk_aversion
    params = switch_params(stock, order, args.day_types, risk_aversion)
    value = switch_interval(stock, order, args.day_types, risk_aversion, draws=args.draws)
    _write_params(args.out, "TwapVwapSwitch-v0", params)
    print(write_twap_vwap_report(stock, params, value, data.sources, args.out))
    print(f"\nwrote {args.out / 'params.yaml'}, {args.out / 'config.yaml'} and {args.out / 'report.md'}")
    return 0


def parse_holdings(text: str | None) -> dict[str, float]:
    """``A=1e5,B=-5e4`` as {name: shares}; ValueError naming the malformed entry."""
    if not text:
        raise ValueError("--problem portfolio-exec needs --holdings NAME=SHARES,... (one per subfolder of DATA)")
    holdings = {}
    for entry in text.split(","):
        name, _, shares = entry.partition("=")
        try:
            holdings[name.strip()] = float(shares)
        except ValueError:
            raise ValueError(f"--holdings: {entry!r} is not NAME=SHARES") from None
    return holdings


def _portfolio_exec(args: argparse.Namespace) -> int:
    """PortfolioExec-v0's params, config and report (:mod:`execgym.calibration.portfolio_exec`): DATA holds one
    subfolder of data per stock of the book."""
    holdings = parse_holdings(args.holdings)
    if args.data is None:
        raise ValueError("--problem portfolio-exec needs DATA, a folder with one subfolder per stock")
    data = {name: load(args.data / name) for name in holdings}
    stocks = {name: estimate(value) for name, value in data.items()}
    if any(value.quotes is None for value in data.values()):
        raise ValueError("--problem portfolio-exec needs each stock's quotes (or LOBSTER): the covariance is of mids")
    covariance = realized_covariance({name: value.quotes for name, value in data.items()})
    params = book_params(stocks, covariance, holdings, cross_impact=args.cross_impact, horizon=args.horizon,
                         periods=args.periods, risk_aversion=5e-7 if args.risk_aversion is None else args.risk_aversion)
    _write_params(args.out, "PortfolioExec-v0", params)
    sources = {name: f"{args.data / name}" for name in holdings}
    print(write_portfolio_report(stocks, covariance, params, sources, args.out))
    print(f"\nwrote {args.out / 'params.yaml'}, {args.out / 'config.yaml'} and {args.out / 'report.md'}")
    return 0
