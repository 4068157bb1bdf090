"""Score a policy on a set of markets: a split of a family's distribution ("test", "ood", "train") or a user's
list, each market against its own exact optimum.

``execgym.score(policy, env_id, markets="test", episodes_per_market=64)`` plays every market of the set for
``episodes_per_market`` episodes E with the policy and with that market's oracle on the same seeds (common
random numbers), in one vector env whose slot (market m, episode e) plays market m from seed + m·E + e: the
markets' seeds differ, so that their estimates are independent (with the same seeds in every market, their
errors would be correlated and the interval across markets too narrow). The policy sees the observation with
the market's features appended (unless ``observe_market=False``); the oracles and baselines see the problem's
own observation.

The returns are summed from each step's expected reward given the state and the action, which every problem
reports (:class:`execgym.wrappers.ExpectedVectorRewards`): the same expectation for every policy that does not
see the future, without the price noise (and the fills'), which in a market whose optimal cost is a few bps
would swamp a regret estimate (64 episodes of a near-TWAP policy: ± 100 % and more).

Per market: the policy's mean return, the oracle's exact value, and the regret (oracle − policy) in the
reward's units and in % of |oracle value| (or of the family's own scale, :attr:`MarketDistribution.regret_scale`:
LimitOrMarket's optimum can be near zero) with its interval over the market's episodes. Over the set
(:class:`SetScore`):

* ``mean``: the mean over markets of the regret %, with the Student-t interval across markets. Each market's
  regret is itself estimated from its episodes, so the spread between the markets' estimates holds both the
  spread between markets and the episodes' noise: the interval is that of the distribution's mean regret,
  with the set a sample of markets from it;
* ``iqm``: the interquartile mean (mean of the middle 50 % of markets), with a percentile bootstrap interval
  over markets;
* ``worst_decile``: the mean regret % of the worst 10 % of markets, with its bootstrap interval. It is taken
  over the markets' estimates, so their noise biases it upwards: few episodes per market overstate it.

Policies by name (``NAMED``): "oracle" (each market's own: regret 0 exactly), any of the env's baselines (each
market's own, e.g. "twap"), "median_oracle" (the oracle of the distribution's median market, run in every
market: what a desk that calibrated once runs) and, where the family has one, "blind" (the best market-blind
policy of the set: :attr:`execgym.registry.Problem.blind_policy`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from execgym.distributions import MarketDistribution, MarketSet, market_set_of
from execgym.policy import Oracle, Policy
from execgym.registry import Problem, problem
from execgym.scoring import MAX_BATCH, ORACLE, Estimate, is_sb3_model, make_oracles, policy_name
from execgym.wrappers import ExpectedVectorRewards

_ORACLE_RETURNS: dict[tuple, np.ndarray] = {}
"""The oracles' returns of the last few (env id, set, episodes per market, seed) scored."""
MEDIAN_ORACLE = "median_oracle"
BLIND = "blind"
BOOTSTRAP_RESAMPLES = 4_000
WORST_FRACTION = 0.1


@dataclass(frozen=True)
class SetScore:
    """What :func:`score_set` measured (module docstring). Arrays are per market, in the order of ``indices``
    (the markets' indices in the set ``set_name``); returns and regrets in ``units`` per episode."""

    env_id: str
    set_name: str
    policy: str
    indices: np.ndarray
    episodes_per_market: int
    seed: int
    units: str
    policy_return: np.ndarray
    oracle_return: np.ndarray
    regret: np.ndarray
    regret_pct: np.ndarray
    regret_pct_half_width: np.ndarray
    mean: Estimate
    iqm: Estimate
    worst_decile: Estimate
    feature_names: tuple[str, ...]
    features: np.ndarray
    """(markets, F): each market's features in their units (not normalised)."""
    regret_basis: str = MarketDistribution.regret_basis
    """What each market's regret % is a percentage of (the family's :attr:`MarketDistribution.regret_scale`)."""
    confidence: float = 0.95

    def summary(self) -> str:
        """A few lines for a terminal."""
        worst = np.argsort(self.regret_pct)[::-1][:3]
        return "\n".join([
            f"{self.env_id}: {self.policy} on {len(self.indices)} markets ({self.set_name}), "
            f"{self.episodes_per_market} episodes each from seed {self.seed} (market m: seeds from seed + m·E)",
            f"  regret %                 mean {self.mean}   IQM {self.iqm}   worst decile {self.worst_decile}",
            f"  (% {self.regret_basis}, per market)",
            f"  regret ({self.units})         mean {Estimate.of(self.regret, self.confidence)}",
            "  worst markets: " + ", ".join(f"#{self.indices[i]} {self.regret_pct[i]:.3g} %" for i in worst)])

    def __str__(self) -> str:
        return self.summary()

    def to_dict(self) -> dict:
        """A JSON-ready summary: the aggregates and, per market, its index, features and regret."""
        aggregate = {name: {"mean": value.mean, "half_width": _finite(value.half_width)}
                     for name, value in (("mean", self.mean), ("iqm", self.iqm), ("worst_decile", self.worst_decile))}
        return {"env_id": self.env_id, "set": self.set_name, "policy": self.policy, "seed": self.seed,
                "episodes_per_market": self.episodes_per_market, "units": self.units, "regret_pct": aggregate,
                "markets": [{"index": int(index), "regret_pct": float(self.regret_pct[i]),
                             "regret_pct_half_width": _finite(float(self.regret_pct_half_width[i])),
                             "oracle_return": float(self.oracle_return[i]),
                             "features": dict(zip(self.feature_names, self.features[i].tolist()))}
                            for i, index in enumerate(self.indices)]}

    def plot(self, path):
        """Regret % of every market against each of its features (where does the policy fail?), as a PNG at
        ``path`` (written atomically); returns the path."""
        from execgym.experiments.plots import regret_by_feature_figure, save_png

        return save_png(regret_by_feature_figure(self), path)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def score_set(policy, env_id: str, markets="test", episodes_per_market: int = 64, seed: int = 0,
              confidence: float = 0.95, observe_market: bool = True, params=None, **kwargs) -> SetScore:
    """Score ``policy`` on every market of ``markets`` (a split's name, a
    :class:`~execgym.distributions.MarketSet` or a list of markets) of ``env_id``; module docstring. Keyword
    parameters apply over every market (as in ``gym.make(env_id, markets=..., **kwargs)``)."""
    if params is not None:
        raise ValueError("markets= gives each market's parameters: pass no params= with it")
    if isinstance(episodes_per_market, bool) or not isinstance(episodes_per_market, int) or episodes_per_market < 2:
        raise ValueError(f"episodes_per_market must be an integer >= 2, got {episodes_per_market!r}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    spec = problem(env_id)
    if isinstance(markets, MarketSet) and kwargs:
        raise ValueError(f"a MarketSet holds its markets' parameters (set over them: {markets.keywords}); pass no "
                         f"keyword parameters with it (got {sorted(kwargs)})")
    market_set = market_set_of(spec.vector_env_class.problem, markets, {**spec.defaults, **kwargs})
    markets = list(market_set)
    oracles = make_oracles(spec.env_id, markets)
    base = _base_size(spec, markets[0])
    acting = _policy_of(policy, spec, market_set, markets, base, oracles)
    slot_markets = np.repeat(np.arange(len(markets)), episodes_per_market)
    seeds = seed + np.arange(len(markets) * episodes_per_market, dtype=np.int64)    # independent between markets
    played = _returns(acting, spec, market_set, slot_markets, seeds, observe_market)
    key = (spec.env_id, market_set, episodes_per_market, seed)
    best = _ORACLE_RETURNS.get(key)
    if best is None:          # the same at every evaluation of a training run: computed once
        best = _returns(PerMarket([oracle.policy for oracle in oracles], base), spec, market_set, slot_markets, seeds,
                        observe_market=False)
        _ORACLE_RETURNS[key] = best
        while len(_ORACLE_RETURNS) > 8:
            _ORACLE_RETURNS.pop(next(iter(_ORACLE_RETURNS)))
    regrets = (best - played).reshape(len(markets), episodes_per_market)
    exact = np.array([oracle.expected_return for oracle in oracles])
    distribution = spec.vector_env_class.problem.distribution
    basis = distribution.regret_basis if distribution is not None else MarketDistribution.regret_basis
    scale = 100.0 / _scales(distribution, basis, market_set, markets, exact)
    per_market = [Estimate.of(row, confidence) for row in regrets * scale[:, None]]
    percent = np.array([estimate.mean for estimate in per_market])
    names, features = _raw_features(distribution, markets)
    return SetScore(
        env_id=spec.env_id, set_name=market_set.name,
        policy="a given oracle" if isinstance(policy, Oracle) else policy_name(policy), indices=np.arange(len(markets)),
        episodes_per_market=episodes_per_market, seed=seed, units=spec.reward_units,
        policy_return=played.reshape(len(markets), -1).mean(axis=1), oracle_return=exact,
        regret=regrets.mean(axis=1), regret_pct=percent,
        regret_pct_half_width=np.array([estimate.half_width for estimate in per_market]),
        mean=Estimate.of(percent, confidence), iqm=_bootstrapped(percent, _interquartile_mean, confidence),
        worst_decile=_bootstrapped(percent, _worst_decile, confidence), feature_names=names, features=features,
        regret_basis=basis, confidence=confidence)


def _raw_features(distribution, markets: list) -> tuple[tuple[str, ...], np.ndarray]:
    """The names and values (markets, F) of the distribution's features of every market, in their units; none
    (F = 0) without a distribution or where a market has no finite value of one, or none at all (a user's own
    market)."""
    if distribution is None:
        return (), np.empty((len(markets), 0))
    try:
        values = np.array([[float(feature.value(params)) for feature in distribution.features]
                           for params in markets])
    except ValueError:                          # a market the features do not describe (a basket's cost matrix)
        return (), np.empty((len(markets), 0))
    if not np.isfinite(values).all():
        return (), np.empty((len(markets), 0))
    return tuple(feature.name for feature in distribution.features), values


def _interquartile_mean(values: np.ndarray, axis: int = -1) -> np.ndarray:
    return stats.trim_mean(values, 0.25, axis=axis)


def _worst_decile(values: np.ndarray, axis: int = -1) -> np.ndarray:
    """The mean of the largest ⌈10 %⌉ of ``values`` along ``axis``."""
    count = max(1, math.ceil(WORST_FRACTION * values.shape[axis]))
    return np.take(np.sort(values, axis=axis), np.arange(-count, 0), axis=axis).mean(axis=axis)


def _scales(distribution: MarketDistribution | None, basis: str, market_set: MarketSet, markets: list,
            exact: np.ndarray) -> np.ndarray:
    """What the regret % of each market of the set is a percentage of, given their optima's values: the family's
    :attr:`~execgym.distributions.MarketDistribution.regret_scale` (|value| for a problem without a distribution,
    ``basis`` naming it). ValueError where one is not positive and finite."""
    scales = np.array([distribution.regret_scale(params, value) if distribution is not None else abs(value)
                       for params, value in zip(markets, exact)])
    bad = ~(np.isfinite(scales) & (scales > 0))
    if bad.any():
        index = int(np.argmax(bad))
        raise ValueError(f"{market_set.label(index)}: its regret cannot be a percentage {basis}, which is "
                         f"{scales[index]!r} (the optimum's exact value is {exact[index]!r})")
    return scales


def _bootstrapped(values: np.ndarray, statistic, confidence: float) -> Estimate:
    """``statistic`` of ``values`` with the half-width of its percentile bootstrap interval over markets (the
    larger side; nan with fewer than 2 markets) and the bootstrap standard error."""
    point = float(statistic(values))
    if values.shape[0] < 2 or np.ptp(values) == 0.0:
        width = 0.0 if values.shape[0] >= 2 else float("nan")
        return Estimate(mean=point, half_width=width, std=width)
    result = stats.bootstrap((values,), statistic, n_resamples=BOOTSTRAP_RESAMPLES, confidence_level=confidence,
                             method="percentile", rng=np.random.default_rng(0))
    interval = result.confidence_interval
    return Estimate(mean=point, half_width=float(max(point - interval.low, interval.high - point)),
                    std=float(result.standard_error))


def _base_size(spec: Problem, params) -> int:
    """The size of the problem's own observation (before the market's features)."""
    return spec.vector_env_class.problem.dynamics.observation_size(params)


class PerMarket:
    """A policy per market, each acting on its markets' slots and seeing the problem's own observation
    (the first ``base_size`` entries). :meth:`bind` sets which market each slot of the batch plays."""

    def __init__(self, policies: list[Policy], base_size: int) -> None:
        self.policies, self.base_size, self._groups = policies, base_size, None

    def bind(self, slot_markets: np.ndarray) -> "PerMarket":
        order = np.argsort(slot_markets, kind="stable")
        markets, starts = np.unique(slot_markets[order], return_index=True)
        self._groups = [(int(m), rows) for m, rows in zip(markets, np.split(order, starts[1:]))]
        return self

    def __call__(self, observations: np.ndarray) -> np.ndarray:
        base = observations[:, :self.base_size]
        out = None
        for market, rows in self._groups:
            actions = np.asarray(self.policies[market](base[rows]))
            if out is None:
                out = np.empty((observations.shape[0], *actions.shape[1:]), dtype=actions.dtype)
            out[rows] = actions
        return out


class OnOwnObservation:
    """One policy for every market, seeing the problem's own observation (the first ``base_size`` entries)."""

    def __init__(self, policy: Policy, base_size: int, name: str) -> None:
        self.policy, self.base_size, self.name = policy, base_size, name

    def bind(self, slot_markets: np.ndarray) -> "OnOwnObservation":
        return self

    def __call__(self, observations: np.ndarray) -> np.ndarray:
        return self.policy(observations[:, :self.base_size])


def _policy_of(thing, spec: Problem, market_set: MarketSet, markets: list, base: int, oracles: list[Oracle]):
    """What :func:`score_set` plays for ``thing`` (module docstring) on ``markets`` (those of ``market_set``,
    whose own observation has ``base`` entries): a per-market policy, a policy of the problem's own observation,
    or a policy of the full observation (an agent)."""
    if isinstance(thing, str):
        if thing == ORACLE:
            return PerMarket([oracle.policy for oracle in oracles], base)
        if thing == MEDIAN_ORACLE:
            distribution = spec.vector_env_class.problem.distribution
            if distribution is None:
                raise ValueError(f"{spec.env_id} has no market distribution, hence no median market")
            median = spec.params_class.from_kwargs(**{**distribution.median(), **market_set.keywords})
            return OnOwnObservation(make_oracles(spec.env_id, [median])[0].policy, base, MEDIAN_ORACLE)
        if thing == BLIND:
            if spec.blind_policy is None:
                raise ValueError(f"{spec.env_id} has no exact best market-blind policy")
            return OnOwnObservation(spec.blind_policy(markets, oracles), base, BLIND)
        named = spec.baselines(markets[0])
        if thing not in named:
            raise ValueError(f"unknown policy name {thing!r} for {spec.env_id} on a set of markets: its baselines are "
                             f"{sorted(named)}, and {sorted(NAMED)} are named too")
        return PerMarket([spec.baselines(params)[thing] for params in markets], base)
    if isinstance(thing, Oracle):
        return OnOwnObservation(thing.policy, base, "a given oracle")
    if is_sb3_model(thing):
        from execgym.sb3 import as_policy as sb3_policy   # needs the agents extra, which an SB3 model implies

        return _Unbound(sb3_policy(thing, spec.env_id, markets[0]))
    if callable(thing):
        return _Unbound(thing)
    raise TypeError(f"cannot score a {type(thing).__name__} on a set of markets: pass a callable policy "
                    "(observations -> actions), a trained stable-baselines3 model, or a name of "
                    f"{sorted(NAMED)} or of {spec.env_id}'s baselines")


NAMED = (ORACLE, MEDIAN_ORACLE, BLIND)


class _Unbound:
    """A policy of the full observation (the market's features included), as it is."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    def bind(self, slot_markets: np.ndarray) -> "_Unbound":
        return self

    def __call__(self, observations: np.ndarray) -> np.ndarray:
        return self.policy(observations)


def _returns(policy, spec: Problem, market_set: MarketSet, slot_markets: np.ndarray, seeds: np.ndarray,
             observe_market: bool) -> np.ndarray:
    """One episode per slot (market ``slot_markets[i]`` of the set from ``seeds[i]``): the returns, summed from the
    expected rewards (:mod:`execgym.wrappers`)."""
    returns = np.zeros(seeds.shape[0])
    for start in range(0, seeds.shape[0], MAX_BATCH):
        chunk = slice(start, start + MAX_BATCH)
        count = seeds[chunk].shape[0]
        env = ExpectedVectorRewards(spec.vector_env_class(num_envs=count, markets=market_set,
                                                          observe_market=observe_market))
        observations, _ = env.reset(seed=seeds[chunk].tolist(), options={"market_indices": slot_markets[chunk]})
        acting = policy.bind(slot_markets[chunk])
        done = np.zeros(count, dtype=bool)
        while not done.all():
            observations, reward, terminated, truncated, _ = env.step(acting(observations))
            returns[chunk] += np.where(done, 0.0, reward)
            done |= terminated | truncated
    return returns
