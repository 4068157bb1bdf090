"""LimitOrMarket-v0's distribution of markets: a child order in large-tick stocks, from busy books to quiet ones.

A market is a stock's book and order flow, in ticks and steps. Eight uniforms u₀..u₇ set it:

| quantity | training range | how it is drawn |
|---|---|---|
| tick | 1 – 10 bps of the mid | log-uniform (u₁): a one-cent tick on prices of 100 down to 10 |
| spread | 1 – 3 ticks | 1 + ⌊3x⌋, x = 0.6(1 − z) + 0.4u₂; z = u₀ is the stock's liquidity rank |
| lots per price level of the bid B | 2 – 10 | 2·5^{0.7z + 0.3u₃}, rounded: deeper books for liquid names |
| fill probability at the touch p₀ | 0.05 – 0.4 per lot and step | 0.05·8^{0.7z + 0.3u₄}: busier flow for liquid names |
| fill decay κ | 0.2 – 1.5 per tick | uniform (u₅): p(4) = p₀·e^{−4κ} is 0.25 % – 45 % of p₀ |
| adverse selection a | 0.1 – 0.7 | uniform (u₆) |
| mid move probability π | 0.2 – 0.8 per step | uniform (u₇) |

The order (N = 20 lots within K = 10 steps), the limit orders offered (depths 0..L, L = 4 ticks), the
market orders (half or all of what is left) and the drift (0) are the defaults, so every market has the
same spaces. Large-tick stocks, whose spread is one to a few ticks and whose fills decay exponentially
behind the touch, are those of the queue-reactive model of Huang, Lehalle & Rosenbaum (2015), "Simulating
and analyzing order book data: the queue-reactive model", Journal of the American Statistical Association
110(509); fill probabilities per step and adverse selection (a fill is likelier when the price moves through
the order) follow the execution models of Guéant, Lehalle & Fernandez-Tapia (2012), "Optimal portfolio
liquidation with limit orders", SIAM Journal on Financial Mathematics 3(1), and Cartea, Jaimungal & Penalva
(2015), "Algorithmic and High-Frequency Trading", ch. 8.

**Out of distribution** (``"ood"``): much stronger adverse selection and sparser fills than any training
market: a of 0.8 – 1 and p₀ of 0.01 – 0.05 (0.01·5^{0.7z + 0.3u₄}); the other quantities as in training.

**Regret** on these markets is scored in % of the cost of selling the whole order by one market order at
arrival (:func:`market_order_cost`), not of the optimum's own value: that is a price improvement over the
arrival mid, which can be near zero (a fifth of the test markets' lie within ±0.5 bps).

**Features** (the observation's last seven entries, each normalised to [−1, 1] over its training range,
:class:`~execgym.distributions.Feature`; computed from the params, so a user's own markets have them too):
the tick (bps), the spread (ticks, linear scale), the lots per level of the bid (1,000 for an unlimited
bid), the fill probability at the touch p(0), the exponential curve's decay κ (linear), the adverse
selection a (linear) and the mid's move probability π (linear).
"""

from __future__ import annotations

import numpy as np

from execgym.distributions import Feature, MarketDistribution, log_uniform, uniform
from execgym.problems.limit_or_market.oracle import policy_value
from execgym.problems.limit_or_market.params import MAX_LOTS, LimitOrMarketParams
from execgym.problems.limit_or_market.policies import always_market

LOTS = 20
DEADLINE = 10
MAX_DEPTH = 4
MARKET_FRACTIONS = (0.5, 1.0)
TICKS_BPS = (1.0, 10.0)
SPREADS = (1, 3)
"""Spread, ticks."""
BOOK_LOTS = (2, 10)
"""Lots per price level of the bid."""
FILL_DECAYS = (0.2, 1.5)
"""κ, per tick."""
MOVE_PROBABILITIES = (0.2, 0.8)
TRAINING = dict(touch=(0.05, 0.4), adverse=(0.1, 0.7))
"""The training regime's fill probability at the touch p₀ and adverse selection a."""
OOD = dict(touch=(0.01, 0.05), adverse=(0.8, 1.0))
"""The out-of-distribution regime's (same keys)."""


def sample(u: np.ndarray, ood: bool) -> dict:
    """The keyword parameters of the market of uniforms ``u`` (8), training or out-of-distribution regime
    (module docstring)."""
    ranges = OOD if ood else TRAINING
    liquidity = u[0]
    spread = 1 + int(np.floor(3.0 * (0.6 * (1.0 - liquidity) + 0.4 * u[2])))
    return dict(
        lots=LOTS, deadline=DEADLINE, max_depth=MAX_DEPTH, market_fractions=MARKET_FRACTIONS, drift=0.0,
        tick_bps=float(log_uniform(u[1], *TICKS_BPS)), spread_ticks=min(spread, SPREADS[1]),
        book_lots=int(round(log_uniform(0.7 * liquidity + 0.3 * u[3], *BOOK_LOTS))),
        touch_fill_probability=float(log_uniform(0.7 * liquidity + 0.3 * u[4], *ranges["touch"])),
        fill_decay=float(uniform(u[5], *FILL_DECAYS)),
        adverse_selection=float(uniform(u[6], *ranges["adverse"])),
        move_probability=float(uniform(u[7], *MOVE_PROBABILITIES)))


def book_lots(params: LimitOrMarketParams) -> float:
    """B, lots per price level of the bid (:data:`~.params.MAX_LOTS` for an unlimited bid, which absorbs any
    order as such a level does)."""
    return float(MAX_LOTS if params.book_lots is None else params.book_lots)


FEATURES = (
    Feature("tick_bps", "bps of the arrival mid", "one tick", lambda p: p.tick_bps, *TICKS_BPS),
    Feature("spread_ticks", "ticks", "the bid–ask spread", lambda p: float(p.spread_ticks), *map(float, SPREADS),
            log=False),
    Feature("book_lots", "lots", "B: lots per price level of the bid", book_lots, *map(float, BOOK_LOTS)),
    Feature("touch_fill_probability", "per lot and step", "p(0): a lot at the touch fills within a step",
            lambda p: float(p.depth_fill_probabilities[0]), *TRAINING["touch"]),
    Feature("fill_decay", "per tick", "κ: p(d) = p(0)·e^{−κd}", lambda p: p.fill_decay, *FILL_DECAYS, log=False),
    Feature("adverse_selection", "dimensionless", "a: the fill probability given the move ΔS is p(d)·(1 + a·ΔS)",
            lambda p: p.adverse_selection, *TRAINING["adverse"], log=False),
    Feature("move_probability", "per step", "π: the mid moves a tick in a step with this probability",
            lambda p: p.move_probability, *MOVE_PROBABILITIES, log=False),
)

DISTRIBUTION = MarketDistribution(
    env_id="LimitOrMarket-v0",
    description="large-tick stocks (tick 1–10 bps, spread 1–3 ticks, 2–10 lots per level of the bid) whose limit "
                "orders fill with probability 0.05–0.4 per step at the touch, decaying by e^{−κ} per tick (κ "
                "0.2–1.5), with adverse selection 0.1–0.7 and a mid moving a tick in 20–80 % of the steps; a child "
                "order of 20 lots in 10 steps",
    ood_description="much stronger adverse selection (0.8–1) and sparser fills (0.01–0.05 per step at the touch) "
                    "than training",
    dimensions=8, sample=sample, features=FEATURES, regret_scale=lambda params, optimum: market_order_cost(params),
    regret_basis="of the cost of selling the whole order by one market order at arrival (the optimum's own "
                 "value, a price improvement over the arrival mid, can be near zero)")


def market_order_cost(params: LimitOrMarketParams) -> float:
    """What selling every lot by one market order at the first step costs, bps (> 0: half the spread and the
    levels of the bid it walks; exact, :func:`~execgym.problems.limit_or_market.oracle.policy_value`): the scale
    of the family's regret %."""
    return -policy_value(params, always_market(params))
