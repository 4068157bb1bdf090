"""Score any policy against the exact optimum, with common random numbers.

:func:`score` takes whatever you hold: a callable policy, an oracle, a trained
SB3 model or a baseline's name. It runs ``episodes`` episodes of the policy and
of the oracle on the same seeds (seed, seed + 1, ...), so both face the same
market, and reports:

* the policy's mean return E[Σ reward] with a 95 % confidence interval;
* the oracle's exact value and its Monte-Carlo estimate on the same episodes;
* the regret, oracle − policy (≥ 0 in expectation), from the paired
  per-episode differences, in the env's reward units (bps for execution) and
  in % of the oracle's |value|, each with its confidence interval;
* the terminal values of per-episode ``info`` entries such as ``shortfall``.

Intervals use Student's t on the episode sample. For execution envs the
return is minus the cost, so the regret is the policy's extra cost.

Where the oracle cannot be built in reasonable time, ``reference=`` (e.g. a
baseline's name) compares the policy with another on the same episodes, and the
result says that there is no oracle, why, and what building it would take.

Over several markets, ``score(policy, env_id, markets=[...])`` scores each market as :func:`score` does alone
(its own exact optimum, the same seeds for the policy and that market's oracle) and adds the regret across
markets (:class:`MarketsScoreResult`); :func:`make_oracles` builds the markets' oracles, those one solver
takes together (OptimalExec's LQ oracles) in one vectorised recursion.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import warnings
from concurrent.futures import ProcessPoolExecutor
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields

import numpy as np
from scipy import stats

from execgym.distributions import MarketSet
from execgym.policy import ORACLE_CACHE, Oracle, OracleCost, Policy
from execgym.registry import Problem, problem

MAX_BATCH = 65_536
MAX_STANDARD_ERRORS = 5.0
"""How far (in standard errors) the oracle's Monte-Carlo mean may lie from its exact value before
:func:`score` warns (a false alarm has probability about 6e-7)."""
MAX_ORACLE_SECONDS = 60.0
"""Longest estimated oracle build :func:`score` starts by default (``max_oracle_seconds``)."""
ORACLE = "oracle"
"""The name of the env's oracle, as a policy or a reference."""
SB3_PACKAGES = ("stable_baselines3", "sb3_contrib")


@dataclass(frozen=True)
class Estimate:
    """A sample mean with the half-width of its confidence interval and the sample's standard deviation."""

    mean: float
    half_width: float
    std: float

    @classmethod
    def of(cls, sample: np.ndarray, confidence: float = 0.95, scale: float = 1.0) -> "Estimate":
        """The estimate of ``sample``'s mean, all numbers multiplied by ``scale``; with one value the
        standard deviation and the interval are undefined (nan)."""
        sample = np.asarray(sample, dtype=np.float64) * scale
        n = sample.shape[0]
        if n < 2:
            return cls(mean=float(sample.mean()), half_width=float("nan"), std=float("nan"))
        std = float(sample.std(ddof=1))
        quantile = float(stats.t.ppf(0.5 + confidence / 2.0, n - 1))
        return cls(mean=float(sample.mean()), half_width=quantile * std / np.sqrt(n), std=std)

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width

    def __str__(self) -> str:
        """``mean ± half-width``; ``mean (one value: no interval)`` where the interval is undefined."""
        if math.isnan(self.half_width):
            return f"{self.mean:.4g} (one value: no interval)"
        return f"{self.mean:.4g} ± {self.half_width:.2g}"


@dataclass(frozen=True)
class ScoreResult:
    """What :func:`score` measured. Returns and regrets are in ``units`` per episode.

    ``reference`` names what the policy is compared with: "oracle" (the env's exact optimum, or the
    ``oracle=`` given), else the ``reference=`` policy's name. ``regret`` is reference − policy on the paired
    episodes, and ``regret_pct`` the same in % of |oracle_return| (of the reference's mean return when there is
    no oracle). ``oracle_return`` is the exact value of the oracle, None when none was built; then
    ``oracle_note`` says why and ``oracle_cost`` what building it would take.
    """

    env_id: str
    episodes: int
    seed: int
    units: str
    policy_return: Estimate
    reference: str
    reference_return: Estimate
    regret: Estimate
    regret_pct: Estimate
    oracle_return: float | None
    info: dict[str, Estimate] = field(default_factory=dict)
    oracle_note: str = ""
    oracle_cost: OracleCost | None = None
    warning: str = ""
    """Set when the oracle's Monte-Carlo mean on these episodes is far from its exact value
    (:func:`sample_warning`): the regret measured on them then does not estimate the regret in expectation."""

    def summary(self) -> str:
        """A few lines for a terminal."""
        lines = [f"{self.env_id}: {self.episodes} episodes from seed {self.seed}",
                 f"  policy return   {self.policy_return} {self.units}"]
        if self.oracle_return is not None:
            lines += [f"  oracle return   {self.oracle_return:.4g} {self.units} exact, "
                      f"{self.reference_return} Monte Carlo",
                      f"  regret          {self.regret} {self.units}  ({self.regret_pct} %)"]
        else:
            lines += [f"  {self.reference} return".ljust(18) + f"{self.reference_return} {self.units}",
                      f"  {self.reference} − policy".ljust(18) + f"{self.regret} {self.units}  ({self.regret_pct} % "
                      f"of |{self.reference}|)"]
        lines += [f"  {name:<15} {estimate}" for name, estimate in self.info.items()]
        if self.oracle_note:
            lines.append(f"  {self.oracle_note}")
        if self.warning:
            lines.append(f"  warning: {self.warning}")
        return "\n".join(lines)


class OracleUnavailable(ValueError):
    """The env's oracle cannot be built, or not within ``max_oracle_seconds``; the message says why, what
    building it would take, and how to score without it (``reference=``)."""


def run_episodes(policy: Policy, env_id: str, seeds: np.ndarray, params,
                 info_keys: tuple[str, ...] = ()) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """One episode per seed on the native vector env: returns (n,) and terminal ``info_keys`` values (n,)."""
    spec = problem(env_id)
    returns = np.zeros(seeds.shape[0])
    finals = {key: np.full(seeds.shape[0], np.nan) for key in info_keys}
    for start in range(0, seeds.shape[0], MAX_BATCH):
        chunk = seeds[start:start + MAX_BATCH]
        env = spec.vector_env_class(num_envs=chunk.shape[0], params=params)
        obs, _ = env.reset(seed=chunk.tolist())
        done = np.zeros(chunk.shape[0], dtype=bool)
        while not done.all():
            obs, reward, terminated, truncated, info = env.step(policy(obs))
            returns[start:start + chunk.shape[0]] += np.where(done, 0.0, reward)
            ended = (terminated | truncated) & ~done
            final = info.get("final_info", {})
            for key in info_keys:
                if key in final:
                    finals[key][start:start + chunk.shape[0]][ended] = final[key][ended]
            done |= ended
    return returns, finals


def score(policy, env_id: str = "OptimalExec-v0", episodes: int = 10_000, seed: int = 0,
          confidence: float = 0.95, info_keys: tuple[str, ...] = ("shortfall",), params=None,
          oracle: Oracle | None = None, reference=None, max_oracle_seconds: float = MAX_ORACLE_SECONDS,
          markets=None, episodes_per_market: int | None = None, observe_market: bool = True,
          **kwargs) -> "ScoreResult | MarketsScoreResult | SetScore":
    """Score ``policy`` against ``env_id``'s oracle (or ``reference``) on ``episodes`` paired episodes.

    ``policy`` is whatever you hold: any callable policy (observations (n, ...) -> actions (n, ...)), an
    :class:`~execgym.policy.Oracle`, a trained stable-baselines3 / sb3-contrib model (PPO, TRPO, MaskablePPO,
    ...: it acts deterministically, a maskable one with the masks of each observation; :mod:`execgym.sb3`),
    the name of one of the env's baselines (:func:`execgym.make_baseline`) or "oracle":

        model = PPO("MlpPolicy", execgym.sb3.wrap(gym.make_vec("OptimalExec-v0", num_envs=8))).learn(20_000)
        print(execgym.score(model, "OptimalExec-v0").summary())
        execgym.score("twap", "OptimalExec-v0", periods=26)

    Parameters of the env come as ``params=`` (its params object) or keyword
    arguments. ``info_keys`` names terminal ``info`` entries to summarise
    (those the env does not report are skipped). ``oracle`` replaces the env's
    own oracle as the reference, e.g. the exact optimum of a discretised
    version of the problem (its ``expected_return`` must be exact in this env).

    Without an oracle: ``reference=`` (anything ``policy`` may be, e.g. "twap") is the policy compared with in
    its place: the regret is then reference − policy, and the env's oracle is not built; the result says so and
    what building it would take (:attr:`ScoreResult.oracle_note`, :attr:`~ScoreResult.oracle_cost`). Otherwise
    the oracle is built unless its estimated build time (:attr:`execgym.registry.Problem.oracle_cost`) exceeds
    ``max_oracle_seconds`` or it refuses the parameters: then :class:`OracleUnavailable` says so, with the
    estimate and the env's baselines to pass as ``reference``. Nothing falls back silently.

    Several markets: ``markets=`` (a non-empty list of params objects or of dicts of keyword parameters over
    the id's defaults, in place of ``params=`` and keyword arguments) scores the policy on each market as this
    function does for that market alone, with its own oracle and the same seeds, and returns a
    :class:`MarketsScoreResult`: the per-market :class:`ScoreResult` objects (equal, number for number, to
    scoring each market alone) and the regret across markets. A policy given by name ("twap", "oracle") is
    built for each market; the markets' oracles come from :func:`make_oracles`. An error in one market (a
    parameter out of its range, an oracle that refuses it) names the market's index: ``markets[2]: ...``.

    A family's distribution: ``markets="test"`` (or "ood", "train", or a
    :class:`~execgym.distributions.MarketSet`) scores the policy on every market of that set for
    ``episodes_per_market`` episodes (64 by default), and returns a :class:`~execgym.set_scoring.SetScore`:
    regret % per market and over the set (mean with its interval, interquartile mean, worst decile). The
    policy sees the market's features after the observation unless ``observe_market=False``;
    :mod:`execgym.set_scoring` says how, and which names it takes ("median_oracle", "blind").
    """
    if isinstance(markets, (str, MarketSet)):
        from execgym.set_scoring import score_set

        ignored = [name for name, value, default in (
            ("episodes", episodes, 10_000), ("info_keys", info_keys, ("shortfall",)), ("oracle", oracle, None),
            ("reference", reference, None), ("max_oracle_seconds", max_oracle_seconds, MAX_ORACLE_SECONDS))
            if value is not default and value != default]
        if ignored:
            raise ValueError(f"{ignored} apply to one market or a list of markets; on a set of markets (markets="
                             f"{markets!r}) every market is scored against its own oracle, episodes_per_market "
                             "episodes each")

        return score_set(policy, env_id, markets, 64 if episodes_per_market is None else episodes_per_market,
                         seed=seed, confidence=confidence, observe_market=observe_market, params=params, **kwargs)
    if episodes_per_market is not None or observe_market is not True:
        raise ValueError("episodes_per_market= and observe_market= apply to a set of markets: markets='test' (or "
                         "another split, or a MarketSet); a list of markets is scored with episodes=")
    if markets is not None:
        if params is not None or kwargs or oracle is not None:
            given = sorted(kwargs) + [name for name, value in (("params", params), ("oracle", oracle))
                                      if value is not None]
            raise ValueError(f"markets= gives each market's parameters (and its oracle): pass no params=, oracle= or "
                             f"keyword parameters with it (got {given})")
        return _score_markets(policy, env_id, episodes, seed, confidence, info_keys, reference, max_oracle_seconds,
                              markets)
    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 2:
        raise ValueError(f"episodes must be an integer >= 2, got {episodes!r}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    if oracle is not None and reference is not None:
        raise ValueError("give oracle= (an exact optimum to score against) or reference= (a policy to compare "
                         "with in place of the oracle), not both")
    spec = problem(env_id)
    params = spec.params(params, **kwargs)
    oracles = _OracleSource(spec, params, oracle, max_oracle_seconds)
    policy = resolve_policy(policy, spec, params, oracles)
    if reference is None or (isinstance(reference, str) and reference == ORACLE):
        best = oracles.get()
        reference_policy, name, exact, note = best.policy, ORACLE, best.expected_return, ""
    else:
        reference_policy, name = resolve_policy(reference, spec, params, oracles), policy_name(reference)
        exact = reference.expected_return if isinstance(reference, Oracle) else None
        note = "" if exact is not None else (f"no oracle: compared with {name} as asked (reference=); building the "
                                             f"oracle would take {oracles.cost}")
    seeds = seed + np.arange(episodes, dtype=np.int64)
    policy_returns, finals = run_episodes(policy, env_id, seeds, params, info_keys)
    reference_returns, _ = run_episodes(reference_policy, env_id, seeds, params)
    regrets = reference_returns - policy_returns
    value = exact if exact is not None else float(reference_returns.mean())
    scale = 100.0 / abs(value) if value != 0 else np.nan
    warning = "" if exact is None else sample_warning(exact, reference_returns)
    if warning:
        warnings.warn(f"{spec.env_id}: {warning}", stacklevel=2)
    return ScoreResult(
        env_id=spec.env_id, episodes=episodes, seed=seed, units=spec.reward_units,
        policy_return=Estimate.of(policy_returns, confidence),
        reference=name, reference_return=Estimate.of(reference_returns, confidence),
        regret=Estimate.of(regrets, confidence),
        regret_pct=Estimate.of(regrets, confidence, scale=scale),
        oracle_return=exact,
        info={key: Estimate.of(values, confidence) for key, values in finals.items()
              if not np.isnan(values).all()},
        oracle_note=note, oracle_cost=None if exact is not None else oracles.cost, warning=warning)


def sample_warning(exact: float, returns: np.ndarray) -> str:
    """Why the oracle's returns ``returns`` on the scored episodes cannot measure regret, or "" where they can:
    their mean lies more than :data:`MAX_STANDARD_ERRORS` standard errors from the oracle's exact expected
    return (beyond a relative 1e-9 where the return does not vary). That happens where E[Σ reward] is
    dominated by episodes too rare to appear in the sample (e.g. the exponential utility of MarketMaking-v0's
    "cara" objective at a high risk aversion): the paired regret on these episodes is then not the regret in
    expectation, however many digits it shows."""
    mean = float(returns.mean())
    standard_error = float(returns.std(ddof=1)) / np.sqrt(returns.shape[0])
    gap = abs(mean - exact)
    if gap <= max(MAX_STANDARD_ERRORS * standard_error, 1e-9 * abs(exact)):
        return ""
    distance = f"{gap / standard_error:.3g} standard errors" if standard_error > 0 else "beyond rounding"
    return (f"the oracle's mean return on these {returns.shape[0]:,} episodes, {mean:.6g}, is {distance} from its "
            f"exact expected return {exact:.6g}: the expectation is dominated by episodes too rare to appear in "
            "the sample, so the regret measured on them is not the regret in expectation")


class _OracleSource:
    """The oracle of one env and params: the one given, or the env's (from :data:`~execgym.policy.ORACLE_CACHE`),
    built only when asked for, refused (:class:`OracleUnavailable`) past ``max_seconds`` of estimated build time."""

    def __init__(self, spec: Problem, params, given: Oracle | None, max_seconds: float) -> None:
        if not max_seconds > 0:
            raise ValueError(f"max_oracle_seconds must be > 0, got {max_seconds!r}")
        self.spec, self.params, self.oracle, self.max_seconds = spec, params, given, max_seconds
        self._cost: OracleCost | None = None

    @property
    def cost(self) -> OracleCost:
        """The estimate of what building the env's oracle takes (computed once)."""
        if self._cost is None:
            self._cost = self.spec.oracle_cost(self.params)
        return self._cost

    def get(self) -> Oracle:
        if self.oracle is None:
            if self.cost.refusal is not None:
                self._unavailable(str(self.cost))
            if self.cost.seconds > self.max_seconds:
                self._unavailable(f"building it would take {self.cost}, more than max_oracle_seconds = "
                                  f"{self.max_seconds:g}; raise max_oracle_seconds to build it anyway")
            try:
                self.oracle = ORACLE_CACHE.build(self.spec.oracle_factory, self.params)
            except ValueError as error:
                self._unavailable(str(error), error)
        return self.oracle

    def _unavailable(self, reason: str, cause: Exception | None = None):
        baselines = sorted(self.spec.baselines(self.params))
        raise OracleUnavailable(
            f"{self.spec.env_id} has no oracle for these parameters: {reason}. To score without it, compare with a "
            f"baseline: score(policy, {self.spec.env_id!r}, reference=NAME), NAME one of {baselines} (or any "
            "policy)") from cause


def resolve_policy(thing, spec: Problem, params, oracles: _OracleSource) -> Policy:
    """What :func:`score` accepts as a policy (its docstring), as a callable policy of ``spec``'s env with
    ``params``; TypeError listing what is accepted for anything else."""
    if isinstance(thing, Oracle):
        return thing.policy
    if isinstance(thing, str):
        if thing == ORACLE:
            return oracles.get().policy
        named = spec.baselines(params)
        if thing not in named:
            raise ValueError(f"unknown policy name {thing!r} for {spec.env_id}: its baselines are {sorted(named)}, "
                             f"and {ORACLE!r} is its oracle")
        return named[thing]
    if is_sb3_model(thing):
        from execgym.sb3 import as_policy as sb3_policy   # needs the agents extra, which an SB3 model implies

        return sb3_policy(thing, spec.env_id, params)
    if callable(thing):
        return thing
    raise TypeError(f"cannot score a {type(thing).__name__}: score takes a callable policy (observations -> "
                    "actions), an execgym Oracle, a trained stable-baselines3 / sb3-contrib model (PPO, TRPO, "
                    f"MaskablePPO, ...), the name of one of {spec.env_id}'s baselines "
                    f"{sorted(spec.baselines(params))} or 'oracle'")


def policy_name(thing) -> str:
    """A short name of what :func:`score` accepts as a policy: the name given, "oracle" for an Oracle, else its
    ``name``, ``__name__`` or class name."""
    if isinstance(thing, str):
        return thing
    if isinstance(thing, Oracle):
        return ORACLE
    return str(getattr(thing, "name", None) or getattr(thing, "__name__", None) or type(thing).__name__)


def is_sb3_model(thing) -> bool:
    """Whether ``thing`` is a stable-baselines3 or sb3-contrib algorithm or policy (it has ``predict`` and a
    class of those packages among its bases), told without importing them."""
    return callable(getattr(thing, "predict", None)) and any(
        cls.__module__.split(".")[0] in SB3_PACKAGES for cls in type(thing).__mro__)


@dataclass(frozen=True)
class MarketsScoreResult:
    """What :func:`score` measured over several markets (``markets=``).

    ``results[i]`` is the :class:`ScoreResult` of ``markets[i]``, the same as ``score`` returns for that market
    alone. Across markets: ``regret`` and ``regret_pct`` are the mean over markets of each market's mean
    regret (in ``units`` per episode, and in % of that market's |oracle_return|), with the ``confidence``
    Student-t interval across markets (the spread between markets; with one market there is none: nan);
    ``worst`` is the index of the market with the largest mean regret in %.
    """

    env_id: str
    markets: tuple
    results: tuple[ScoreResult, ...]
    regret: Estimate
    regret_pct: Estimate
    worst: int

    @property
    def units(self) -> str:
        return self.results[0].units

    def __len__(self) -> int:
        return len(self.results)

    def summary(self) -> str:
        """A table, one row per market, and the aggregate across markets."""
        first = self.results[0]
        reference = "oracle (exact)" if first.oracle_return is not None else f"{first.reference} (MC)"
        rows = [(str(index), market_label(self.markets[index], self.markets),
                 f"{result.policy_return.mean:.4g}",
                 f"{result.oracle_return:.4g}" if result.oracle_return is not None
                 else f"{result.reference_return.mean:.4g}",
                 str(result.regret), str(result.regret_pct))
                for index, result in enumerate(self.results)]
        header = ("#", "market", f"policy ({self.units})", f"{reference}", f"regret ({self.units})", "regret %")
        widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header))]
        line = lambda row: "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()  # noqa: E731
        worst = self.results[self.worst]
        lines = [f"{self.env_id}: {len(self)} markets, {first.episodes} episodes each from seed {first.seed}",
                 line(header), line(tuple("-" * width for width in widths)), *map(line, rows),
                 f"mean over markets: regret {self.regret} {self.units} ({self.regret_pct} %)",
                 f"worst market: #{self.worst}, regret {worst.regret} {self.units} ({worst.regret_pct} %)"]
        lines += [f"market #{index}: warning: {result.warning}" for index, result in enumerate(self.results)
                  if result.warning]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def market_label(params, markets) -> str:
    """The fields of ``params`` that differ between ``markets`` (all of them when none differ: "same"), as
    ``name=value``; tuples are shown by their length."""
    names = [f.name for f in fields(params) if len({_hashable(getattr(m, f.name)) for m in markets}) > 1]
    parts = []
    for name in names:
        value = getattr(params, name)
        shown = f"({len(value)} values)" if isinstance(value, tuple) else f"{value:.4g}" if isinstance(
            value, float) else repr(value)
        parts.append(f"{name}={shown}")
    return ", ".join(parts) or "same"


def _hashable(value):
    try:
        hash(value)
        return value
    except TypeError:
        return repr(value)


def market_params(spec: Problem, markets) -> list:
    """``markets`` as validated params objects of ``spec``: each a params object (kept as it is) or a dict of
    keyword parameters over the id's defaults. ValueError for an empty list or a parameter out of its range
    (naming the market's index), TypeError for anything else."""
    kind = spec.params_class.__name__
    if isinstance(markets, (str, bytes, Mapping)) or not isinstance(markets, Sequence):
        raise TypeError(f"markets must be a list of {kind} objects or of dicts of keyword parameters, got "
                        f"{type(markets).__name__}")
    if len(markets) == 0:
        raise ValueError(f"markets must hold at least one market ({kind} or dict of keyword parameters), got an "
                         "empty list")
    out = []
    for index, market in enumerate(markets):
        if isinstance(market, spec.params_class):
            out.append(market)
        elif isinstance(market, Mapping):
            if not all(isinstance(key, str) for key in market):
                raise TypeError(f"markets[{index}]: the keys of a market's dict must be parameter names (str), got "
                                f"{sorted(map(repr, market))}")
            try:
                out.append(spec.params(**market))
            except ValueError as error:
                raise ValueError(f"markets[{index}]: {error}") from error
        else:
            raise TypeError(f"markets[{index}] must be a {kind} or a dict of keyword parameters, got "
                            f"{type(market).__name__}")
    return out


def make_oracles(env_id: str, markets, workers: int | None = None) -> list[Oracle]:
    """The oracle of ``env_id`` for each of ``markets`` (params objects or dicts of keyword parameters), in order:
    ``make_oracles(env_id, markets)[i]`` is the same object as ``execgym.make_oracle(env_id, params=markets[i])``.

    Oracles already built come from :data:`execgym.policy.ORACLE_CACHE`; of the others, those one solver builds
    together are built in one go (OptimalExec's LQ oracles: one Riccati recursion vectorised over markets,
    each oracle equal to the one built alone to the bit), the rest one by one, in ``workers`` processes (None:
    one per core where their estimated build time exceeds :data:`PARALLEL_SECONDS`, e.g. MarketMaking's
    dynamic programmes over a set of markets; 1: in this process); all are kept in the cache.
    A market the problem or its oracle refuses raises ValueError naming its index and the parameter.
    """
    spec = problem(env_id)
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be None or an integer >= 1, got {workers!r}")
    built = _oracles(spec, market_params(spec, markets), workers=workers)
    for index, each in enumerate(built):
        if isinstance(each, ValueError):
            raise ValueError(f"markets[{index}]: {each}") from each
    return built


def _oracles(spec: Problem, markets: list, skip: frozenset = frozenset(),
             workers: int | None = None) -> list[Oracle | ValueError | None]:
    """The oracle of each market, or the ValueError saying why it is refused; None for the indices in ``skip``."""
    out: list = [None if index in skip else ORACLE_CACHE.get(spec.oracle_factory, params)
                 for index, params in enumerate(markets)]
    missing = [index for index, oracle in enumerate(out) if oracle is None and index not in skip]
    if spec.solve_together is not None and missing:
        together = spec.solve_together([markets[index] for index in missing])
        for position, built in together.items():
            index = missing[position]
            out[index] = built if isinstance(built, ValueError) else ORACLE_CACHE.put(spec.oracle_factory,
                                                                                       markets[index], built)
    alone = [index for index, oracle in enumerate(out) if oracle is None and index not in skip]
    for index, built in zip(alone, _build_each(spec, [markets[index] for index in alone], workers)):
        out[index] = built if isinstance(built, ValueError) else ORACLE_CACHE.put(spec.oracle_factory,
                                                                                   markets[index], built)
    return out


PARALLEL_SECONDS = 5.0
"""Estimated build time (:attr:`execgym.registry.Problem.oracle_cost`, summed over the markets) beyond which
:func:`make_oracles` builds oracles solved one at a time in parallel processes."""


def _build_each(spec: Problem, markets: list, workers: int | None) -> list[Oracle | ValueError]:
    """The oracle of each market built alone (or its ValueError): in ``workers`` processes (None: one per core
    when the estimated total exceeds :data:`PARALLEL_SECONDS`; forked, where the platform forks), else here."""
    if workers is None:
        seconds = sum(spec.oracle_cost(params).seconds for params in markets) if len(markets) > 1 else 0.0
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        workers = min(cores, len(markets)) if seconds > PARALLEL_SECONDS else 1
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return [_built_or_error(spec.oracle_factory, params) for params in markets]
    # forked workers inherit the problem (and a script's own problems) without importing the caller's main module
    # again, which a spawned worker would do (and fail from a notebook or stdin)
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
        return list(pool.map(_built_or_error, [spec.oracle_factory] * len(markets), markets,
                             chunksize=max(1, len(markets) // (4 * workers))))


def _built_or_error(factory, params) -> Oracle | ValueError:
    try:
        return factory(params)
    except ValueError as error:
        return error


def _score_markets(policy, env_id: str, episodes: int, seed: int, confidence: float, info_keys: tuple[str, ...],
                   reference, max_oracle_seconds: float, markets) -> MarketsScoreResult:
    """:func:`score` over ``markets`` (its docstring)."""
    spec = problem(env_id)
    markets = market_params(spec, markets)
    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 2:
        raise ValueError(f"episodes must be an integer >= 2, got {episodes!r}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    if not max_oracle_seconds > 0:
        raise ValueError(f"max_oracle_seconds must be > 0, got {max_oracle_seconds!r}")
    by_oracle = reference is None or (isinstance(reference, str) and reference == ORACLE)
    oracles: list = [None] * len(markets)
    if by_oracle or (isinstance(policy, str) and policy == ORACLE):
        # Build the oracles the time budget allows together; the others (and refusals) are left to score, whose
        # error then says why, as for one market.
        costs = [spec.oracle_cost(params) for params in markets]
        skip = frozenset(index for index, cost in enumerate(costs)
                         if cost.refusal is not None or not cost.seconds <= max_oracle_seconds)
        oracles = [each if isinstance(each, Oracle) else None for each in _oracles(spec, markets, skip)]
    results = []
    for index, params in enumerate(markets):
        given = oracles[index] if by_oracle else None
        try:
            results.append(score(policy, spec.env_id, episodes=episodes, seed=seed, confidence=confidence,
                                 info_keys=info_keys, params=params, oracle=given,
                                 reference=None if given is not None else reference,
                                 max_oracle_seconds=max_oracle_seconds))
        except OracleUnavailable as error:
            raise OracleUnavailable(f"markets[{index}]: {error}") from error
        except ValueError as error:
            raise ValueError(f"markets[{index}]: {error}") from error
    means = np.array([result.regret.mean for result in results])
    percents = np.array([result.regret_pct.mean for result in results])
    worst = int(np.nanargmax(percents)) if not np.isnan(percents).all() else int(np.argmax(means))
    return MarketsScoreResult(env_id=spec.env_id, markets=tuple(markets), results=tuple(results),
                              regret=Estimate.of(means, confidence), regret_pct=Estimate.of(percents, confidence),
                              worst=worst)
