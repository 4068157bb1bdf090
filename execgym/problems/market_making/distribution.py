"""MarketMaking-v0's distribution of markets: quoting a stock from thin, volatile books to deep, quiet ones.

A market is a stock's order flow and a market maker's inventory limits and penalties. Seven uniforms u₀..u₆
set them, in the units of Avellaneda & Stoikov (2008), "High-frequency trading in a limit order book",
Quantitative Finance 8(3), whose simulation is the family's default: a mid-price S₀ = 100, one unit of time
(T = 1) in N = 200 steps.

| quantity | training range | how it is drawn |
|---|---|---|
| arrival intensity A (per side, at the mid) | 50 – 600 per unit time | 50·12^{0.8z + 0.2u₁}; z = u₀: liquidity rank |
| depth decay k | 0.5 – 5 per currency | 0.5·10^{0.6z + 0.4u₂}: flow of liquid names stays nearer the mid |
| volatility σ | 1 – 4 per √time (1 – 4 % of S₀ over T) | 4^{0.6(1 − z) + 0.4u₃}: less liquid names are more volatile |
| risk aversion γ | 0.01 – 0.5 per currency | log-uniform (u₄); the running penalty φ = γσ²/2 (0.005 – 4) |
| terminal penalty α | 0.05 – 1 currency per share² | log-uniform (u₅) |
| inventory bound Q̄ | 10 – 50 shares | 10·5^{u₆}, rounded to the nearest share |

The deepest quote is δ_max = 7.5/k (k·δ_max = 7.5, the default's 1.5 × 5): a quote there fills e^{−7.5}
= 0.06 % as often as one at the mid, in every market. The ranges contain both papers' examples: Avellaneda
& Stoikov's A = 140, k = 1.5, σ = 2 and γ = 0.01, 0.1 and 0.5; and Guéant, Lehalle & Fernandez-Tapia (2013),
"Dealing with the inventory risk: a solution to the market making problem", Mathematics and Financial
Economics 7(4), whose A = 0.9 per second over a horizon of 600 s is 540 orders per side, with k·σ√T =
0.3·0.3·√600 = 2.2 against Avellaneda & Stoikov's 3 (here 1.1 – 8.7). The objective is the risk-neutral
one with φ = γσ²/2, which matches the exponential utility to first order (Guéant et al.; Cartea, Jaimungal &
Penalva, 2015, "Algorithmic and High-Frequency Trading", ch. 10); N, T, S₀, the Poisson fill rule and
continuous depths (no tick) are the defaults, so every market has the same spaces. The oracle's backward
induction costs O(N·(2Q̄ + 1)) states: under 0.15 s (estimated) for every market.

**Out of distribution** (``"ood"``): more volatile and thinner order flow than any training market: σ of
4 – 8 (4 – 8 % of S₀ over T) and A of 10 – 50; the other quantities as in training (σ enters φ = γσ²/2:
0.08 – 16).

**Features** (the observation's last six entries, each normalised to [−1, 1] over its training range,
:class:`~execgym.distributions.Feature`; computed from the params, so a user's own markets have them too):
the volatility over the horizon σ√T (currency, linear scale), the arrivals A·T, the depth scale 1/k
(currency), the inventory bound Q̄, the running penalty φ·T and the terminal penalty α (currency per share²).
The optimal quotes depend on all of them.
"""

from __future__ import annotations

import math

import numpy as np

from execgym.distributions import Feature, MarketDistribution, log_uniform

MID_PRICE = 100.0
HORIZON = 1.0
STEPS = 200
DEPTH_RANGE = 7.5
"""k·δ_max: the deepest quote in units of the depth scale 1/k."""
TRAINING = dict(arrivals=(50.0, 600.0), volatility=(1.0, 4.0))
"""The training regime's arrival intensity A (per unit time, per side) and volatility σ (per √time)."""
OOD = dict(arrivals=(10.0, 50.0), volatility=(4.0, 8.0))
"""The out-of-distribution regime's (same keys)."""
DECAYS = (0.5, 5.0)
"""k, per currency."""
RISK_AVERSIONS = (0.01, 0.5)
"""γ, per currency."""
TERMINAL_PENALTIES = (0.05, 1.0)
"""α, currency per share²."""
INVENTORY_BOUNDS = (10, 50)
"""Q̄, shares."""


def sample(u: np.ndarray, ood: bool) -> dict:
    """The keyword parameters of the market of uniforms ``u`` (7), training or out-of-distribution regime
    (module docstring)."""
    ranges = OOD if ood else TRAINING
    liquidity = u[0]
    arrivals = log_uniform(0.8 * liquidity + 0.2 * u[1], *ranges["arrivals"])
    decay = log_uniform(0.6 * liquidity + 0.4 * u[2], *DECAYS)
    volatility = log_uniform(0.6 * (1.0 - liquidity) + 0.4 * u[3], *ranges["volatility"])
    risk_aversion = log_uniform(u[4], *RISK_AVERSIONS)
    return dict(
        mid_price=MID_PRICE, horizon=HORIZON, steps=STEPS, volatility=float(volatility),
        arrival_rate=float(arrivals), depth_decay=float(decay),
        max_depth=float(DEPTH_RANGE / decay), inventory_penalty=float(risk_aversion * volatility**2 / 2.0),
        terminal_penalty=float(log_uniform(u[5], *TERMINAL_PENALTIES)),
        max_inventory=int(round(log_uniform(u[6], *INVENTORY_BOUNDS))))


def _penalties() -> tuple[float, float]:
    """The training range of φ·T = γσ²T/2 (T = 1)."""
    volatility = TRAINING["volatility"]
    return RISK_AVERSIONS[0] * volatility[0]**2 / 2.0, RISK_AVERSIONS[1] * volatility[1]**2 / 2.0


FEATURES = (
    Feature("volatility", "currency per share", "σ√T: the mid's standard deviation over the horizon",
            lambda p: p.volatility * math.sqrt(p.horizon), *TRAINING["volatility"], log=False),
    Feature("arrivals", "market orders per side", "A·T: the orders reaching a quote at the mid over the horizon",
            lambda p: p.arrival_rate * p.horizon, *TRAINING["arrivals"]),
    Feature("depth_scale", "currency", "1/k: the depth over which the arrival rate falls by e",
            lambda p: 1.0 / p.depth_decay, 1.0 / DECAYS[1], 1.0 / DECAYS[0]),
    Feature("max_inventory", "shares", "Q̄", lambda p: float(p.max_inventory), *map(float, INVENTORY_BOUNDS)),
    Feature("inventory_penalty", "currency per share²", "φ·T: the running penalty over the horizon",
            lambda p: p.inventory_penalty * p.horizon, *_penalties()),
    Feature("terminal_penalty", "currency per share²", "α", lambda p: p.terminal_penalty, *TERMINAL_PENALTIES),
)

DISTRIBUTION = MarketDistribution(
    env_id="MarketMaking-v0",
    description="order flow from thin, volatile books to deep, quiet ones in Avellaneda & Stoikov (2008)'s units "
                "(A 50–600 orders per side, k 0.5–5 per currency, σ 1–4 % of the price over the horizon, the "
                "examples of Avellaneda & Stoikov and of Guéant, Lehalle & Fernandez-Tapia 2013 inside), risk "
                "aversion γ 0.01–0.5 as the running penalty φ = γσ²/2, terminal penalty 0.05–1, inventory bound "
                "10–50",
    ood_description="more volatile (σ 4–8 % of the price over the horizon) with thinner order flow (A 10–50 orders "
                    "per side) than training",
    dimensions=7, sample=sample, features=FEATURES)
