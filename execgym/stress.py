"""The cost of a wrong model: each model's optimal policy run in every other model's market, scored against
that market's own optimum.

A *model* is a set of params of one env id (``models``: name -> keyword parameters). Cell (i, j) of the
:func:`stress_matrix` is the regret, in % of |optimal value|, of model i's oracle policy in model j's market
against model j's oracle: 0 on the diagonal, and >= 0 everywhere (no policy beats the optimum).

* **Exact** where model i's policy trades on time and inventory only, as every one-way OptimalExec optimum
  and PortfolioExec's optimum do: its trades then follow one schedule whatever the prices, found by playing it (two episodes of
  different noise in its own market must give the same holdings), and that schedule's objective in market j
  is priced in closed form (:func:`execgym.problems.optimal_exec.schedule.expected_return`), where market j
  can execute it as it is (:func:`schedule_fits`: the same order, within its caps, one-way unless j trades both
  ways).
* **Exact** for MarketMaking's, LimitOrMarket's and TwapVwapSwitch's policies too: a policy's actions at every
  (reachable) state of market j are a table, priced by backward induction (:func:`quote_table_value`,
  :func:`action_table_value`, :func:`pace_value`).
* **Monte Carlo** otherwise (a price-dependent policy, or another family): paired episodes in market j against
  its oracle (:func:`execgym.score`), with the 95 % interval; a cell whose two models' action spaces differ
  has no value (None).

:func:`uncertainty_matrix` runs each model's policy in markets drawn around a base (e.g. from a calibration's
estimates, with every model applied to each draw): what the calibration's uncertainty costs each model.
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np

import execgym
from execgym.registry import problem

EXACT_CHECK_SEEDS = (11, 12)
"""The two episodes whose holdings must agree for a policy to count as a schedule."""


@dataclass(frozen=True)
class Cell:
    """One policy in one market: regret % of |optimal value| (mean) with its 95 % half width (0 when exact);
    None where the policy cannot act in that market."""

    regret_pct: float | None
    half_width: float
    exact: bool

    def text(self) -> str:
        if self.regret_pct is None:
            return "–"
        value = 0.0 if abs(self.regret_pct) < 0.005 else self.regret_pct      # no "-0.00"
        return f"{value:.2f}" + ("" if self.exact else f" ± {self.half_width:.2f}")


HOLDINGS = {"OptimalExec": "inventory", "PortfolioExec": "holdings"}
"""The families with schedules, and the info key of their holdings."""


def executed_schedule(env_id: str, params, policy) -> np.ndarray | None:
    """The holdings x_0..x_N (N + 1, or (N + 1, m) for a book) the policy executes in its market if they do not
    depend on the prices (the same in two episodes of different noise), else None. Only OptimalExec and
    PortfolioExec ids have schedules."""
    key = HOLDINGS.get(env_id.split("-")[0])
    if key is None:
        return None
    paths = []
    for seed in EXACT_CHECK_SEEDS:
        env = gym.make(env_id, params=params)
        observation, info = env.reset(seed=seed)
        holdings, done = [np.asarray(info[key], dtype=np.float64)], False
        while not done:
            observation, _, terminated, truncated, info = env.step(policy(observation[None])[0])
            holdings.append(np.asarray(info[key], dtype=np.float64))
            done = terminated or truncated
        paths.append(np.array(holdings))
    same = paths[0].shape == paths[1].shape and np.array_equal(paths[0], paths[1])
    return paths[0] if same else None


def schedule_fits(params, holdings: np.ndarray) -> bool:
    """Whether a schedule can be executed as it is in the market ``params``: OptimalExec's, the same order
    (shares, side, periods), its trades within the market's caps, and one-way unless the market trades both ways;
    PortfolioExec's, the same book and periods, every position moving monotonically to zero."""
    if holdings.ndim == 2:
        from execgym.problems.portfolio_exec import schedule

        try:
            schedule.check_holdings(params, holdings)
        except ValueError:
            return False
        return schedule.first_move_away_from_zero(params, holdings) is None
    if holdings.size != params.periods + 1 or holdings[0] != params.shares:
        return False
    trades = -np.diff(holdings)
    if not params.two_way and np.any(trades < -1e-9 * params.shares):
        return False
    caps = params.trade_caps
    return caps is None or bool(np.all(np.abs(trades) <= np.asarray(caps) * (1 + 1e-12)))


def schedule_value(params, holdings: np.ndarray) -> float:
    """E[Σ reward] of a static schedule in OptimalExec's or PortfolioExec's market ``params``, exactly."""
    if holdings.ndim == 2:
        from execgym.problems.portfolio_exec import schedule
    else:
        from execgym.problems.optimal_exec import schedule
    return float(schedule.expected_return(params, holdings))


ACTION_FIELDS = ("two_way", "max_trade")
"""Params fields that change what an action means (OptimalExec: a two-way action is a multiple of X, a one-way
one a fraction of the inventory)."""


def quote_table_value(market, policy) -> float:
    """E[Σ reward] of a market maker's ``policy`` in MarketMaking's market ``market``, exactly: the policy's
    quotes at every (step, inventory) of the market (what its observations there make it quote, in that market's
    depths) priced by backward induction (:func:`execgym.problems.market_making.oracle.policy_value`)."""
    from execgym.problems.market_making.dynamics import quote_depths
    from execgym.problems.market_making.oracle import policy_value

    steps, inventories = np.meshgrid(np.arange(market.steps), np.arange(-market.max_inventory, market.max_inventory + 1),
                                     indexing="ij")
    observations = np.stack([(market.steps - steps) / market.steps, inventories / market.max_inventory],
                            axis=-1).astype(np.float32).reshape(-1, 2)
    depths = quote_depths(market, np.asarray(policy(observations))).reshape(*steps.shape, 2)
    return policy_value(market, depths[..., 0], depths[..., 1])


def action_table_value(market, policy) -> float:
    """E[Σ reward] of a ``policy`` in LimitOrMarket's market ``market``, exactly: its action at every (steps
    done, lots left) of the market (its observations there) priced by backward induction
    (:func:`execgym.problems.limit_or_market.oracle.policy_value`)."""
    from execgym.problems.limit_or_market.oracle import policy_value

    done, left = np.meshgrid(np.arange(market.deadline), np.arange(market.lots + 1), indexing="ij")
    observations = np.stack([(market.deadline - done) / market.deadline, left / market.lots],
                            axis=-1).astype(np.float32).reshape(-1, 2)
    return policy_value(market, np.asarray(policy(observations)).reshape(done.shape).astype(np.int64))


def pace_value(market, policy) -> float:
    """E[Σ reward] of a ``policy`` in TwapVwapSwitch's market ``market``, exactly: its pace at every reachable
    state of the market (:func:`execgym.problems.twap_vwap.oracle.policy_value`)."""
    from execgym.problems.twap_vwap.oracle import policy_value

    return policy_value(market, policy)


TABLE_VALUES = {"MarketMaking": quote_table_value, "LimitOrMarket": action_table_value,
                "TwapVwapSwitch": pace_value}
"""Families whose policies are priced exactly over the market's finite (reachable) states."""


def _same_actions(env_id: str, first, second) -> bool:
    """Whether a policy of one market can act in the other: the same action space, and the same meaning."""
    spec = problem(env_id)
    same_meaning = all(getattr(first, name, None) == getattr(second, name, None) for name in ACTION_FIELDS)
    return same_meaning and spec.env_class(params=first).action_space == spec.env_class(params=second).action_space


def stress_matrix(env_id: str, models: dict[str, dict], episodes: int = 10_000, seed: int = 0
                  ) -> dict[str, dict[str, Cell]]:
    """{policy's model: {market's model: Cell}} (module docstring)."""
    spec = problem(env_id)
    params = {name: spec.params(**keywords) for name, keywords in models.items()}
    oracles = {name: execgym.make_oracle(env_id, params=value) for name, value in params.items()}
    schedules = {name: executed_schedule(env_id, params[name], oracles[name].policy) for name in models}
    matrix: dict[str, dict[str, Cell]] = {}
    for policy_model in models:
        row = matrix.setdefault(policy_model, {})
        for market_model in models:
            market, optimum = params[market_model], oracles[market_model].expected_return
            same_order = params[policy_model].side == market.side if hasattr(market, "side") else True
            if schedules[policy_model] is not None and same_order and schedule_fits(market, schedules[policy_model]):
                value = schedule_value(market, schedules[policy_model])
                row[market_model] = Cell(100.0 * (optimum - value) / abs(optimum), 0.0, True)
            elif env_id.split("-")[0] in TABLE_VALUES and _same_actions(env_id, params[policy_model], market):
                value = TABLE_VALUES[env_id.split("-")[0]](market, oracles[policy_model].policy)
                row[market_model] = Cell(100.0 * (optimum - value) / abs(optimum), 0.0, True)
            elif _same_actions(env_id, params[policy_model], market):
                result = execgym.score(oracles[policy_model].policy, env_id, episodes=episodes, seed=seed,
                                       params=market, oracle=oracles[market_model])
                row[market_model] = Cell(result.regret_pct.mean, result.regret_pct.half_width, False)
            else:
                row[market_model] = Cell(None, 0.0, False)
    return matrix


def uncertainty_matrix(env_id: str, policies: dict[str, dict], markets: list[dict[str, dict]]
                       ) -> dict[str, dict[str, tuple[float, float, float]]]:
    """{policy's model: {market's model: (mean, 2.5 %, 97.5 % quantiles of the regret %)}}: each policy (its
    model's keyword parameters, e.g. at a calibration's estimates) run in every drawn market of each model
    (``markets``: per draw, model -> keyword parameters), against that market's
    optimum; exact (schedules) only, so policies must trade on time and inventory alone."""
    spec = problem(env_id)
    schedules = {}
    for name, keywords in policies.items():
        params = spec.params(**keywords)
        schedules[name] = executed_schedule(env_id, params, execgym.make_oracle(env_id, params=params).policy)
        if schedules[name] is None:
            raise ValueError(f"model {name!r}: its optimum trades on prices, so its regret in a drawn market is "
                             "not exact; use stress_matrix (Monte Carlo) for it")
    regrets: dict[str, dict[str, list[float]]] = {name: {} for name in policies}
    for draw in markets:
        for market_model, keywords in draw.items():
            try:
                market = spec.params(**keywords)
                optimum = execgym.make_oracle(env_id, params=market).expected_return
            except ValueError:
                continue
            for name, holdings in schedules.items():
                if not schedule_fits(market, holdings):
                    continue
                value = schedule_value(market, holdings)
                regrets[name].setdefault(market_model, []).append(100.0 * (optimum - value) / abs(optimum))
    return {name: {model: (float(np.mean(values)), *map(float, np.quantile(values, [0.025, 0.975])))
                   for model, values in row.items()} for name, row in regrets.items()}
