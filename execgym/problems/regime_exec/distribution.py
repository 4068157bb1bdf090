"""OptimalExecRegimes-v0's distribution of markets: OptimalExec-v0's stocks and orders, each in a market that
switches between calm and stressed.

A market is an OptimalExec-v0 market (:mod:`execgym.problems.optimal_exec.distribution`: seven uniforms u₀..u₆
for the stock and the order, the calm regime's numbers) and four more uniforms for its stress:

| quantity | training range | out of distribution |
|---|---|---|
| stressed volatility, a multiple v of the calm one | 1.5 – 3 | 3 – 5 |
| stressed temporary impact, a multiple ℓ of the calm one | 2 – 8 | 8 – 20 |
| probability that a calm half hour stays calm | 0.8 – 0.97 | 0.6 – 0.8 |
| probability that a stressed half hour stays stressed | 0.5 – 0.9 | 0.9 – 0.97 |

all log-uniform (the probabilities uniform); every episode starts calm. Out of distribution the stock and the
order are OptimalExec-v0's out-of-distribution ones too, and stress is stronger, more frequent and longer.

**Features** (the observation's last eleven entries, each normalised to [−1, 1] over its training range):
OptimalExec-v0's seven of the calm market, then v, ℓ and the two probabilities of staying.
"""

from __future__ import annotations

import numpy as np

from execgym.distributions import Feature, MarketDistribution, log_uniform
from execgym.problems.optimal_exec import distribution as single

STRESS = {"volatility": ((1.5, 3.0), (3.0, 5.0)), "liquidity": ((2.0, 8.0), (8.0, 20.0)),
          "calm_stays": ((0.8, 0.97), (0.6, 0.8)), "stress_stays": ((0.5, 0.9), (0.9, 0.97))}
"""Each stress quantity's (training, out-of-distribution) range (module docstring)."""


def sample(u: np.ndarray, ood: bool) -> dict:
    """The keyword parameters of the market of uniforms ``u`` (11): OptimalExec-v0's market of u₀..u₆ and its
    stress of u₇..u₁₀ (module docstring)."""
    market = single.sample(u[:7], ood)
    pick = 1 if ood else 0
    volatility = log_uniform(u[7], *STRESS["volatility"][pick])
    liquidity = log_uniform(u[8], *STRESS["liquidity"][pick])
    calm_low, calm_high = STRESS["calm_stays"][pick]
    stress_low, stress_high = STRESS["stress_stays"][pick]
    calm_stays = float(calm_low + (calm_high - calm_low) * u[9])
    stress_stays = float(stress_low + (stress_high - stress_low) * u[10])
    return dict(market, regime_volatility=(1.0, float(volatility)), regime_liquidity=(1.0, float(liquidity)),
                transitions=((calm_stays, 1.0 - calm_stays), (1.0 - stress_stays, stress_stays)), initial_regime=0)


FEATURES = (
    *(Feature(f.name, f.unit, f"{f.description} (calm)", lambda p, value=f.value: value(p.base), f.low, f.high, f.log)
      for f in single.FEATURES),
    Feature("stress_volatility", "multiple of the calm volatility", "v", lambda p: p.regime_volatility[1],
            *STRESS["volatility"][0]),
    Feature("stress_impact", "multiple of the calm impact", "ℓ", lambda p: p.regime_liquidity[1],
            *STRESS["liquidity"][0]),
    Feature("calm_stays", "probability per period", "T[calm, calm]", lambda p: p.transitions[0][0],
            *STRESS["calm_stays"][0], log=False),
    Feature("stress_stays", "probability per period", "T[stressed, stressed]", lambda p: p.transitions[1][1],
            *STRESS["stress_stays"][0], log=False),
)

DISTRIBUTION = MarketDistribution(
    env_id="OptimalExecRegimes-v0",
    description="OptimalExec-v0's stocks and orders, each switching between calm and stress (1.5–3 times the "
                "volatility, 2–8 times the temporary impact; calm stays calm a half hour with probability "
                "0.8–0.97, stress stays with 0.5–0.9)",
    ood_description="OptimalExec-v0's out-of-distribution stocks and orders, with stronger, more frequent and longer "
                    "stress (3–5 times the volatility, 8–20 times the temporary impact; calm stays 0.6–0.8, stress "
                    "0.9–0.97)",
    dimensions=11, sample=sample, features=FEATURES)
