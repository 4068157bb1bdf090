"""Markets, not a market: each problem family's distribution of markets, its splits, and the numbered sets of
markets the envs draw from.

A family's :class:`MarketDistribution` (``problems/<name>/distribution.py``) is a documented prior over its
params: ``sample(u, ood)`` turns ``dimensions`` uniforms into one market's keyword parameters, in the training
regime or the out-of-distribution one, and ``features`` are the numbers of a market a trader knows, normalised
(:class:`Feature`). Three splits come from it (:data:`SPLITS`):

* ``"train"``: :data:`SPLIT_SIZES` ["train"] = 65,536 markets of the training regime;
* ``"test"``: 256 held-out markets of the same regime;
* ``"ood"``: 256 markets of the out-of-distribution regime (documented per family).

Market j of a split is a pure function of (family, split, j): its uniforms are :func:`execgym.noise.uniforms`
of the key ``episode_keys(split_seed(env_id, split), j)``, so every split is stable across versions (the tests
pin a hash of every market of the test and OOD sets), and the splits' keys are disjoint (their seeds differ;
the tests check every key of the three splits).

A :class:`MarketSet` is a numbered set of markets of one env id: a split, or a user's list. Its markets are
built (validated params objects, and the rows compiled code reads) when first asked for and kept, so an env
that draws from it pays for each market once. An env made with ``markets="train"`` (or another split, or a
:class:`MarketSet`) draws episode e's market as :func:`draw_indices` of the episode's noise key: the same
market in the scalar env at seed s + i as in slot i of the vector env at seed s.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from execgym import noise
from execgym.records import empty_rows, market_table, take_rows

SPLITS = ("train", "test", "ood")
SPLIT_SIZES = {"train": 65_536, "test": 256, "ood": 256}
"""How many markets each split holds."""
DRAW_SALT = np.uint64(0x6D61726B65747321)
"""Mixed into an episode's noise key to draw its market (:func:`draw_indices`): the draw is independent of the
episode's own noise, which uses the key itself."""


@dataclass(frozen=True)
class Feature:
    """One number of a market a trader knows, as the observation shows it: ``value(params)`` in ``unit``,
    normalised to [−1, 1] over the training range [``low``, ``high``] (on a log scale when ``log``):
    2·(t(x) − t(low))/(t(high) − t(low)) − 1, t = log or identity. Out-of-distribution markets fall outside
    [−1, 1]."""

    name: str
    unit: str
    description: str
    value: Callable[[Any], float]
    low: float
    high: float
    log: bool = True

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low < self.high) or (
                self.log and self.low <= 0.0):
            raise ValueError(f"feature {self.name}: needs finite low < high (> 0 on a log scale), got "
                             f"[{self.low}, {self.high}]")

    def normalised(self, params) -> float:
        """The feature of ``params`` on the observation's scale (class docstring); ValueError where it has none
        (a value that is not finite, or not positive on a log scale)."""
        value = float(self.value(params))
        if not math.isfinite(value) or (self.log and value <= 0.0):
            raise ValueError(f"the market's feature {self.name} is {value!r} ({self.description}): the observation "
                             f"shows it on a {'log' if self.log else 'linear'} scale, which needs a finite"
                             f"{' positive' if self.log else ''} number; make the env with observe_market=False "
                             "(or observe_market='index') to play this market without its features")
        transform = math.log if self.log else float
        low, high = transform(self.low), transform(self.high)
        return 2.0 * (transform(value) - low) / (high - low) - 1.0


def normalised_features(features: tuple[Feature, ...], params) -> np.ndarray:
    """The values of ``features`` of the market ``params`` on the observation's scale (float64 (F,);
    :meth:`Feature.normalised`)."""
    return np.array([feature.normalised(params) for feature in features], dtype=np.float64)


@dataclass(frozen=True)
class MarketDistribution:
    """A family's prior over markets (module docstring).

    ``sample(u, ood)`` maps ``dimensions`` uniforms in (0, 1) to one market's keyword parameters (over the
    family's defaults): the training regime, or with ``ood`` the out-of-distribution one. ``median()`` is the
    market of every uniform at 0.5 in the training regime: the market a desk that calibrated once on the
    typical stock would assume. ``description`` states the prior with its sources, ``ood_description`` how
    the OOD regime differs.

    Regret is scored in % of each market's ``regret_scale(params, optimum)`` (positive; the optimum's exact
    E[Σ reward] is ``optimum``), by default |optimum|; a family whose optimum can be near zero (a price
    improvement) names another scale, and ``regret_basis`` says what it is."""

    env_id: str
    description: str
    ood_description: str
    dimensions: int
    sample: Callable[[np.ndarray, bool], dict]
    features: tuple[Feature, ...]
    regret_scale: Callable[[Any, float], float] = lambda params, optimum: abs(optimum)
    regret_basis: str = "of |the optimum's E[Σ reward]|"

    def median(self) -> dict:
        """The median market's keyword parameters (class docstring)."""
        return self.sample(np.full(self.dimensions, 0.5), False)

    def market(self, split: str, index: int) -> dict:
        """The keyword parameters of market ``index`` of ``split`` (module docstring)."""
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}: the splits are {list(SPLITS)}")
        key = market_keys(self.env_id, split, np.array([index]))[0]
        return self.sample(noise.uniforms(np.full(self.dimensions, key), np.arange(self.dimensions)),
                           split == "ood")


def log_uniform(u, low: float, high: float):
    """low·(high/low)^u: log-uniform on [low, high] for a uniform u (a number or an array)."""
    return low * (high / low) ** u


def uniform(u, low: float, high: float):
    """low + (high − low)·u: uniform on [low, high] for a uniform u (a number or an array)."""
    return low + (high - low) * u


def split_seed(env_id: str, split: str) -> int:
    """The seed of ``env_id``'s split ``split``: the first 8 bytes of BLAKE2b of "env_id/split" (stable)."""
    digest = hashlib.blake2b(f"{env_id}/{split}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def market_keys(env_id: str, split: str, indices: np.ndarray) -> np.ndarray:
    """The noise keys of markets ``indices`` of ``env_id``'s split ``split``."""
    seeds = np.full(np.shape(indices), split_seed(env_id, split), dtype=np.uint64)
    return noise.episode_keys(seeds, np.asarray(indices, dtype=np.uint64))


def draw_indices(keys: np.ndarray, size: int) -> np.ndarray:
    """The market index in [0, size) of each episode whose noise key is in ``keys`` (uint64): uniform, and
    independent of the episode's own noise (:data:`DRAW_SALT`)."""
    mixed = noise.mix(np.asarray(keys, dtype=np.uint64) ^ DRAW_SALT)
    return (mixed % np.uint64(size)).astype(np.int64)


class MarketSet:
    """A numbered set of markets of one problem: a split of its family's distribution (:func:`split_set`) or a
    user's list (:func:`listed_set`).

    ``params(j)`` is market j (a validated params object), ``features(indices)`` the normalised features
    (float32 (n, F); F = 0 without a distribution; computed when first asked for), ``rows(indices)`` the market
    table of those markets as compiled code reads it. Markets are built when first asked for and kept
    (thread-safe); they must share the model variant and the observation size, and a user's markets also the
    observation and action spaces (a split's share them by construction; ValueError naming the market
    otherwise). ``label(j)`` names market j in messages."""

    def __init__(self, problem, name: str, size: int, make: Callable[[int], Any],
                 features: tuple[Feature, ...] = (), recipe: tuple = (), keywords: Mapping | None = None,
                 check_spaces: bool = False) -> None:
        self.problem, self.name, self.size, self._make = problem, name, size, make
        self.keywords = dict(keywords or {})
        """The keyword parameters set over every market of the set (the env's, when it made the set)."""
        self._check_spaces = check_spaces    # a user's markets: also compare the spaces (a split's share them)
        self._recipe = recipe       # how to make the set again elsewhere (pickling): see __reduce__
        self.feature_specs = features
        self._params = np.empty(size, dtype=object)     # gathered by index faster than a list
        self._built = np.zeros(size, dtype=bool)
        self._features = np.zeros((size, len(features)), dtype=np.float32)
        self._featured = np.zeros(size, dtype=bool)        # features computed (only when an env shows them)
        self._table = None
        self._lock = threading.Lock()
        self._reference = None        # what every market must share (see _checked), of the first market built

    def __len__(self) -> int:
        return self.size

    def __reduce__(self):
        """Pickled as the recipe that makes it (a split's name and keywords, or the listed params objects), the
        markets built again where it is unpickled (its functions, lambdas among them, do not pickle)."""
        return _set_from_recipe, (_problem_id(self.problem), *self._recipe)

    def __repr__(self) -> str:
        return f"MarketSet({self.name!r}, {self.size} markets of {self.problem.params_class.__name__})"

    def label(self, index: int) -> str:
        return f"{self.name}[{index}]"

    def params(self, index: int):
        """Market ``index`` (built if needed)."""
        self.build(np.array([index]))
        return self._params[index]

    def __getitem__(self, index: int):
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < self.size:
            raise IndexError(f"{self.label(index)}: market indices are in [0, {self.size - 1}]")
        return self.params(int(index))

    def __iter__(self):
        self.build(np.arange(self.size))
        return iter(self._params.tolist())

    def params_of(self, indices: np.ndarray) -> tuple:
        """Markets ``indices`` (built if needed), as a tuple."""
        self.build(indices)
        return tuple(self._params[indices].tolist())

    def features(self, indices: np.ndarray) -> np.ndarray:
        """The normalised features (float32 (n, F)) of markets ``indices`` (built if needed; ValueError naming
        the market where a feature cannot be shown, :meth:`Feature.normalised`)."""
        self.build(indices)
        if not self._featured[indices].all():
            with self._lock:
                for index in np.unique(indices[~self._featured[indices]]).tolist():
                    try:
                        self._features[index] = normalised_features(self.feature_specs, self._params[index])
                    except ValueError as error:
                        raise ValueError(f"{self.label(index)}: {error}") from None
                    self._featured[index] = True
        return np.take(self._features, indices, axis=0)

    def rows(self, indices: np.ndarray) -> tuple:
        """The market table (:func:`execgym.records.market_table`) whose row i is market ``indices[i]``."""
        self.build(indices)
        return take_rows(self._table, indices)

    def build(self, indices: np.ndarray) -> None:
        """Build the markets ``indices`` not built yet: their params and compiled rows (IndexError for an index
        outside the set)."""
        indices = np.asarray(indices, dtype=np.int64)
        if indices.size and (indices.min() < 0 or indices.max() >= self.size):
            raise IndexError(f"{self!r}: market indices are in [0, {self.size - 1}], got {indices.min()}.."
                             f"{indices.max()}")
        if self._built[indices].all():
            return
        with self._lock:
            missing = np.unique(indices[~self._built[indices]])
            if missing.size == 0:
                return
            dynamics = self.problem.dynamics
            built = [self._checked(int(index), self._make(int(index))) for index in missing]
            table = market_table([dynamics.market(params) for params in built])
            if self._table is None:
                self._table = empty_rows(table, self.size)
            _put_rows(self._table, missing, table, self.label(int(missing[0])))
            for index, params in zip(missing.tolist(), built):
                self._params[index] = params
            self._built[missing] = True

    def _checked(self, index: int, params):
        """``params`` if it has the set's model variant and observation size (and, for a user's markets, its
        observation and action spaces), else ValueError naming it."""
        problem = self.problem
        shape = (problem.dynamics.variant(params), problem.dynamics.observation_size(params))
        if self._check_spaces:
            shape += (problem.observation_space(params), problem.action_space(params))
        if self._reference is None:
            self._reference = shape
        elif shape != self._reference:
            what = ("model variant", "observation size", "observation space", "action space")
            name = next(what[k] for k, (a, b) in enumerate(zip(shape, self._reference)) if a != b)
            differs = next((a, b) for a, b in zip(shape, self._reference) if a != b)
            raise ValueError(f"{self.label(index)} has the {name} {differs[0]}, not the set's {differs[1]}: the "
                             "markets of one set must share their variant and spaces")
        return params

    def fingerprint(self) -> str:
        """A hex digest of every market's params: what pins a split across versions. Each market is written as
        the repr of its fields that differ from their declared defaults (a repr shows every float exactly), so
        a field added later with a default that leaves the model unchanged leaves the digest unchanged."""
        digest = hashlib.blake2b(digest_size=16)
        for params in self:
            changed = (f"{field.name}={getattr(params, field.name)!r}" for field in dataclasses.fields(params)
                       if getattr(params, field.name) != field.default)
            digest.update(f"{type(params).__name__}({', '.join(changed)})".encode())
        return digest.hexdigest()


def _put_rows(pool: tuple, indices: np.ndarray, table: tuple, label: str) -> None:
    """Write the rows of ``table`` into rows ``indices`` of ``pool`` (same layout; ValueError naming a market
    whose sequences are longer than the pool's)."""
    for name, target, rows in zip(type(pool)._fields, pool, table):
        if rows.shape[1:] != target.shape[1:]:
            raise ValueError(f"{label}: its market field {name!r} has shape {rows.shape[1:]}, not the set's "
                             f"{target.shape[1:]}: the markets of one set must share the shapes of their sequences")
        target[indices] = rows


def split_set(problem, distribution: MarketDistribution, split: str, keywords: Mapping | None = None,
              size: int | None = None) -> MarketSet:
    """The set of markets of ``distribution``'s split ``split`` (its first ``size`` markets, all by default),
    each the split's keyword parameters with ``keywords`` (the env's own) over them."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: the splits are {list(SPLITS)} (or pass a list of markets)")
    full = SPLIT_SIZES[split]
    if size is None:
        size = full
    elif isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not 1 <= size <= full:
        raise ValueError(f"the number of {split} markets must be an integer in [1, {full}], got {size!r}")
    keywords = dict(keywords or {})
    params_class = problem.params_class

    def make(index: int):
        sampled = distribution.market(split, index)
        try:
            return params_class.from_kwargs(**{**sampled, **keywords})
        except ValueError as error:
            raise ValueError(f"{split}[{index}]: {error}") from None

    return MarketSet(problem, split, int(size), make, distribution.features,
                     recipe=("split", split, tuple(sorted(keywords.items())), int(size)), keywords=keywords)


def listed_set(problem, markets: Sequence, keywords: Mapping | None = None,
               distribution: MarketDistribution | None = None, name: str = "markets") -> MarketSet:
    """A set of the markets ``markets`` (params objects, or dicts of keyword parameters over ``keywords``), with
    ``distribution``'s features when given. ValueError for an empty list or an invalid market (naming its
    index), TypeError for anything else."""
    params_class = problem.params_class
    kind = params_class.__name__
    if isinstance(markets, (str, bytes, Mapping)) or not isinstance(markets, Sequence):
        raise TypeError(f"markets must be a split name {list(SPLITS)}, a MarketSet or a list of {kind} objects or "
                        f"of dicts of keyword parameters, got {type(markets).__name__}")
    if len(markets) == 0:
        raise ValueError(f"markets must hold at least one market ({kind} or dict of keyword parameters)")
    keywords = dict(keywords or {})
    built = []
    for index, market in enumerate(markets):
        if isinstance(market, params_class):
            built.append(market)
        elif isinstance(market, Mapping):
            try:
                built.append(params_class.from_kwargs(**{**keywords, **market}))
            except (ValueError, TypeError) as error:
                raise ValueError(f"{name}[{index}]: {error}") from None
        else:
            raise TypeError(f"{name}[{index}] must be a {kind} or a dict of keyword parameters, got "
                            f"{type(market).__name__}")
    features = () if distribution is None else distribution.features
    return MarketSet(problem, name, len(built), built.__getitem__, features, recipe=("listed", tuple(built), name),
                     keywords=keywords, check_spaces=True)


def _problem_id(problem) -> str:
    """The env id of the registered problem whose envs run ``problem``."""
    from execgym.registry import PROBLEMS

    return next(env_id for env_id, spec in PROBLEMS.items() if spec.vector_env_class.problem is problem)


def _set_from_recipe(env_id: str, kind: str, *args) -> MarketSet:
    """The :class:`MarketSet` a recipe of :meth:`MarketSet.__reduce__` describes."""
    from execgym.registry import problem as registered

    problem = registered(env_id).vector_env_class.problem
    if kind == "split":
        split, keywords, size = args
        if size == SPLIT_SIZES[split]:
            return market_set_of(problem, split, dict(keywords))
        return split_set(problem, problem.distribution, split, dict(keywords), size)
    markets, name = args
    listed = listed_set(problem, list(markets), None, problem.distribution, name)
    listed.build(np.arange(listed.size))      # in one go: sequences of different lengths are padded together
    return listed


_SETS: dict[tuple, MarketSet] = {}
_SETS_LOCK = threading.Lock()


def market_set_of(problem, markets, keywords: Mapping | None = None) -> MarketSet:
    """The :class:`MarketSet` an env of ``problem`` draws from: ``markets`` itself (a set of the same problem),
    a split's set (one per split, env keywords and process: envs made alike share their built markets), or a
    set of the listed markets. ValueError for an unknown split, a family without a distribution, a set of
    another problem or an invalid market."""
    distribution = problem.distribution
    kind = problem.params_class.__name__
    if isinstance(markets, MarketSet):
        if markets.problem is not problem:
            raise ValueError(f"markets is a set of {markets.problem.params_class.__name__} markets, not of this env's "
                             f"{kind}")
        return markets
    if isinstance(markets, str):
        if distribution is None:
            raise ValueError(f"{kind} has no market distribution: pass markets= as a list of markets instead of "
                             f"{markets!r}")
        if markets not in SPLITS:
            raise ValueError(f"unknown split {markets!r}: the splits are {list(SPLITS)} (or pass a list of markets)")
        key = (id(problem), markets, repr(sorted(dict(keywords or {}).items())))
        with _SETS_LOCK:
            if key not in _SETS:
                _SETS[key] = split_set(problem, distribution, markets, keywords)
            return _SETS[key]
    listed = listed_set(problem, markets, keywords, distribution)
    listed.build(np.arange(listed.size))      # a list's errors now, naming the market
    try:                                      # one set for equal lists (what a run scores again and again)
        key = (id(problem), "listed", tuple(listed), repr(sorted(dict(keywords or {}).items())))
        hash(key)
    except TypeError:
        return listed
    with _SETS_LOCK:
        return _SETS.setdefault(key, listed)


def market_set(env_id: str, markets="test", **params) -> MarketSet:
    """The set of markets an env of ``env_id`` made with ``markets=`` (and these keyword parameters, over the
    id's own: a registered variant's) draws from: a split's name, or a list of markets (params objects or dicts
    of keyword parameters over ``params``)."""
    from execgym.registry import problem

    spec = problem(env_id)
    return market_set_of(spec.vector_env_class.problem, markets, {**spec.defaults, **params})
