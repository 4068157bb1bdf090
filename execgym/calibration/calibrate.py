"""``calibrate``: a problem's params from a stock's market data, the optimum's value under the estimates'
uncertainty, and its report: the Python function behind ``execgym calibrate``.

    result = calibrate("examples/data/synthetic_stock", "optimal-exec", out="runs/calibration", shares=2e5)
    env = gym.make(result.env_id, params=result.params)

Each problem's calibration is in its module (:mod:`.optimal_exec`, :mod:`.market_making`,
:mod:`.limit_or_market`, :mod:`.twap_vwap`, :mod:`.portfolio_exec`); with ``out`` the params are written as
``params.yaml`` (``gym.make(env_id, **yaml.safe_load(...))``) and ``config.yaml`` (``execgym run`` trains PPO on
them), and the report as ``report.md`` with its plots (:mod:`.report`), once everything else succeeded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from execgym.calibration import report
from execgym.calibration.basket_sequence import basket_params
from execgym.calibration.data import KINDS, load
from execgym.calibration.estimates import limit_fills, realized_covariance, trade_signs
from execgym.calibration.formats import REGULAR, Session
from execgym.calibration.limit_or_market import ChildOrder, child_order_params, improvement_interval, infer_tick
from execgym.calibration.market_making import Quoting, profit_interval, quoting_params
from execgym.calibration.optimal_exec import Order, cost_interval, estimate, order_params
from execgym.calibration.params_yaml import params_mapping
from execgym.calibration.portfolio_exec import book_params
from execgym.calibration.twap_vwap import switch_interval, switch_params
from execgym.calibration.uncertainty import Interval
from execgym.atomic import write_text_atomically

PROBLEMS = {"optimal-exec": "OptimalExec-v0", "market-making": "MarketMaking-v0",
            "limit-or-market": "LimitOrMarket-v0", "twap-vwap": "TwapVwapSwitch-v0",
            "portfolio-exec": "PortfolioExec-v0", "basket-sequence": "BasketSequence-v0"}
"""The problems calibrate knows, and their env ids."""
AGENT = {"algo": "ppo", "num_envs": 64,
         "hyperparameters": {"n_steps": 128, "batch_size": 2048, "n_epochs": 10, "learning_rate": 3.0e-4,
                             "gamma": 1.0, "gae_lambda": 0.95}}
"""The agent of the written ``config.yaml``: experiments/configs/ppo_optimal_exec.yaml's."""


@dataclass(frozen=True)
class Calibration:
    """What :func:`calibrate` found: the env id, its params object, the optimum's value with its interval over
    redraws of the estimates (None where not computed: a book), and the report's markdown ("" without ``out``)."""

    env_id: str
    params: Any
    value: Interval | None
    report: str


def write_params(folder: Path, env_id: str, params) -> None:
    """``params.yaml`` (the keywords that rebuild ``params``: :func:`~.params_yaml.params_mapping`) and
    ``config.yaml`` (PPO on them) in ``folder``, made if need be."""
    folder.mkdir(parents=True, exist_ok=True)
    mapping = params_mapping(params)
    write_text_atomically(folder / "params.yaml", f"# {env_id} params estimated by execgym calibrate\n"
                          + yaml.safe_dump(mapping, sort_keys=False))
    config = {"env": {"id": env_id, "params": mapping}, "agent": AGENT,
              "training": {"total_steps": 3_000_000, "eval_every": 250_000, "eval_episodes": 10_000},
              "seeds": [0], "output": str(folder / "ppo")}
    write_text_atomically(folder / "config.yaml", "# PPO on the calibrated market: execgym run config.yaml\n"
                          + yaml.safe_dump(config, sort_keys=False))


def calibrate(data=None, problem: str = "optimal-exec", out=None, *, files: dict | None = None,
              shares: float | None = None, side: str = "sell", horizon: float = 1.0, periods: int = 13,
              risk_aversion: float | None = None, impact: str = "linear", draws: int = 200,
              holdings: dict[str, float] | None = None, cross_impact: float = 0.3, day_types: int = 2,
              lots: int = 20, lot_shares: float = 100.0, deadline: int = 10, step_seconds: float = 5.0,
              max_depth: int = 4, session: Session | str = REGULAR) -> Calibration:
    """Calibrate ``problem`` (:data:`PROBLEMS`) from the market data in folder ``data`` (``files`` by kind take
    precedence: :func:`~.data.load`; for "portfolio-exec" one subfolder per name of ``holdings``), a day being
    the exchange's ``session`` (a :class:`~.formats.Session` or "09:30-16:00"; rows outside it are left out and
    counted in the report), writing the params, config and report into ``out`` if given. The options are each problem's (module docstring of each;
    ``risk_aversion`` defaults to 5e-7 per currency for optimal-exec and portfolio-exec, 0.1 per currency for
    market-making, 2e-4 per bps for twap-vwap). ValueError names what is missing or invalid."""
    if problem not in PROBLEMS:
        raise ValueError(f"problem must be one of {list(PROBLEMS)}, got {problem!r}")
    folder = None if data is None else Path(data)
    out = None if out is None else Path(out)
    session = Session.parse(session) if isinstance(session, str) else session
    if problem in ("portfolio-exec", "basket-sequence"):
        return _book(problem, folder, out, holdings, cross_impact, horizon, periods, risk_aversion, session)
    market = load(folder, session, **{kind: (files or {}).get(kind) for kind in KINDS})
    stock = estimate(market, buckets=periods if problem == "optimal-exec" else 13)
    if problem == "market-making":
        if stock.fill_intensity is None:
            raise ValueError("market-making needs a tape whose market orders go beyond the touch (trades with quotes, "
                             "or LOBSTER): bars, or prints all at the touch, show no fill intensity")
        quoting = Quoting(horizon=horizon, risk_aversion=0.1 if risk_aversion is None else risk_aversion)
        params = quoting_params(stock.arrival_price, stock.volatility, stock.fill_intensity, quoting)
        value = profit_interval(stock.arrival_price, stock.volatility, stock.fill_intensity, quoting, draws=draws)
        write = lambda: report.write_market_making_report(stock, params, value, market.sources, out)  # noqa: E731
    elif problem == "limit-or-market":
        if market.trades is None:
            raise ValueError("limit-or-market needs trades and quotes (or LOBSTER): bars show no fills")
        order = ChildOrder(lots=lots, lot_shares=lot_shares, deadline=deadline, step_seconds=step_seconds,
                           max_depth=max_depth)
        fills = limit_fills(market.trades, trade_signs(market.trades, market.quotes), market.quotes,
                            order.step_seconds, order.max_depth, infer_tick(market.quotes))
        params = child_order_params(stock.arrival_price, market.quotes, fills, order)
        value = improvement_interval(stock.arrival_price, market.quotes, fills, order, draws=draws)
        write = lambda: report.write_limit_or_market_report(stock, fills, params, value, market.sources, out)  # noqa: E731
    else:
        if shares is None:
            raise ValueError(f"{problem} needs shares (the order's size)")
        if problem == "twap-vwap":
            order = Order(shares=shares, side=side)
            aversion = 2e-4 if risk_aversion is None else risk_aversion
            params = switch_params(stock, order, day_types, aversion)
            value = switch_interval(stock, order, day_types, aversion, draws=draws)
            write = lambda: report.write_twap_vwap_report(stock, params, value, market.sources, out)  # noqa: E731
        else:
            order = Order(shares=shares, side=side, horizon=horizon, periods=periods,
                          risk_aversion=5e-7 if risk_aversion is None else risk_aversion)
            params = order_params(stock, order, impact=impact)
            value = cost_interval(stock, order, draws=draws, impact=impact)
            write = lambda: report.write_report(stock, order, value, market.sources, out, impact)  # noqa: E731
    return _finish(out, PROBLEMS[problem], params, value, write)


def _finish(out: Path | None, env_id: str, params, value: Interval | None, write) -> Calibration:
    """Write the params, the config and (``write()``) the report into ``out`` if given; the result."""
    if out is None:
        return Calibration(env_id, params, value, "")
    write_params(out, env_id, params)
    return Calibration(env_id, params, value, write())


def _book(problem: str, folder: Path | None, out: Path | None, holdings: dict[str, float] | None,
          cross_impact: float, horizon: float, periods: int, risk_aversion: float | None,
          session: Session) -> Calibration:
    """PortfolioExec-v0 or BasketSequence-v0 from one subfolder of ``folder`` per stock of ``holdings``, a day
    being the ``session``."""
    if not holdings:
        raise ValueError(f"{problem} needs holdings, NAME=SHARES for each stock (a subfolder of the data each)")
    if folder is None:
        raise ValueError(f"{problem} needs the data folder, one subfolder per stock")
    markets = {name: load(folder / name, session) for name in holdings}
    if any(market.quotes is None for market in markets.values()):
        raise ValueError(f"{problem} needs each stock's quotes (or LOBSTER): the correlations are of quoted mids")
    stocks = {name: estimate(market) for name, market in markets.items()}
    covariance = realized_covariance({name: market.quotes for name, market in markets.items()}, session=session)
    sources = {name: str(folder / name) for name in holdings}
    sources["session"] = "; ".join(f"{name}: {market.sources['session']}" for name, market in markets.items())
    if problem == "basket-sequence":
        params = basket_params(stocks, covariance, holdings, cross_impact=cross_impact, horizon=horizon)
        return _finish(out, "BasketSequence-v0", params, None,
                       lambda: report.write_basket_report(stocks, covariance, params, sources, out))
    params = book_params(stocks, covariance, holdings, cross_impact=cross_impact, horizon=horizon, periods=periods,
                         risk_aversion=5e-7 if risk_aversion is None else risk_aversion)
    return _finish(out, "PortfolioExec-v0", params, None,
                   lambda: report.write_portfolio_report(stocks, covariance, params, sources, out))
