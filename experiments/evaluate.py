"""``execgym evaluate``: score a trained agent, a baseline or the oracle against the exact optimum.

    execgym evaluate --run runs/ppo [--run-seed 0]          # the latest checkpoint of a run that loads
    execgym evaluate --baseline twap [--param shares=5e5]   # a baseline, on any parameters
    execgym evaluate --oracle --env OptimalExec-v0          # the oracle itself (regret 0)
    execgym evaluate --baseline vwap --env TwapVwapSwitch-v0 --param buckets=390 --reference twap
                                                            # against a baseline where no oracle can be built
    execgym evaluate --baseline median_oracle --markets test [--plot regret.png]
                                                            # every market of a split, each against its optimum

Prints the score (return, oracle value, regret in the env's units and % with
95 % CIs); ``--json`` prints it as strict JSON instead (an undefined number
is ``null``, with a ``_note``). A corrupt latest checkpoint is reported and the
previous one scored. ``--reference NAME`` compares with one of the env's
baselines (or "oracle") instead of the oracle, which is then not built; without
it an oracle estimated to take longer than ``--max-oracle-seconds`` to build is
refused with that estimate (:func:`execgym.score`).

``--markets SPLIT`` (test, ood or train) scores on every market of the family's split, ``--episodes-per-market``
episodes each, against each market's own optimum (a run trained on a distribution is scored on its first
evaluation set by default); ``--plot FILE`` draws the regret per market against the markets' features.
"""

from __future__ import annotations

import argparse
import dataclasses
from functools import partial
from pathlib import Path

from execgym.distributions import SPLITS
from execgym.registry import PROBLEMS, problem
from execgym.scoring import MAX_ORACLE_SECONDS, score
from execgym.experiments.arguments import integer_at_least, yaml_value
from execgym.experiments.checkpoints import restore_latest
from execgym.experiments.config import load_config
from execgym.experiments.files import json_text
from execgym.experiments.progress import warn

NAME = "evaluate"
HELP = "score a saved run, a baseline or the oracle against the exact optimum"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``execgym evaluate``."""
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--run", type=Path, help="output folder of `execgym run` (its latest checkpoint)")
    what.add_argument("--baseline", metavar="NAME",
                      help="a baseline of the env (e.g. twap, vwap for OptimalExec-v0; an unknown name lists them)")
    what.add_argument("--oracle", action="store_true", help="the oracle itself")
    parser.add_argument("--run-seed", type=integer_at_least(0), help="which seed of --run (default: its first)")
    parser.add_argument("--env", default="OptimalExec-v0", choices=sorted(PROBLEMS),
                        help="env id for --baseline and --oracle (default: %(default)s)")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="env parameter for --baseline and --oracle (repeatable), e.g. shares=5e5")
    parser.add_argument("--episodes", type=integer_at_least(2), default=10_000, help="default: %(default)s")
    parser.add_argument("--seed", type=integer_at_least(0), default=0, help="first episode seed (default: 0)")
    parser.add_argument("--reference", metavar="NAME",
                        help="compare with this baseline of the env (or 'oracle') instead of the oracle, which is "
                             "then not built: for markets whose oracle would take too long")
    parser.add_argument("--max-oracle-seconds", type=float, default=MAX_ORACLE_SECONDS,
                        help="refuse an oracle estimated to take longer to build (default: %(default)g)")
    parser.add_argument("--json", action="store_true", help="print the score as JSON")
    parser.add_argument("--markets", choices=SPLITS,
                        help="score on every market of this split of the env's distribution (default for a run on "
                             "a distribution: its first evaluation set)")
    parser.add_argument("--episodes-per-market", type=integer_at_least(2), default=64,
                        help="with --markets (default: %(default)s)")
    parser.add_argument("--plot", type=Path, metavar="FILE", help="with --markets: a PNG of the regret per market")


def parse_params(pairs: list[str]) -> dict:
    """``["shares=5e5", "side=buy"]`` -> {"shares": 500000.0, "side": "buy"}."""
    params = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ValueError(f"--param must look like NAME=VALUE, got {pair!r}")
        params[name] = yaml_value(value)
    return params


def run(args: argparse.Namespace) -> int:
    """Score what the options name and print the result."""
    if args.run is not None:
        if args.param:
            raise ValueError("--param applies to --baseline and --oracle; a run uses its own config's parameters")
        config = load_config(args.run / "config.yaml")
        seed = config.seeds[0] if args.run_seed is None else args.run_seed
        env_id, params = config.env.id, config.env_params()
        markets = args.markets or (config.market_sets()[0] if config.env.markets is not None else None)
        keywords, observe = dict(config.env.params), config.env.observe_market
        from execgym.experiments.trainers import load_policy   # needs the agents extra; baselines do not

        restored = restore_latest(args.run / f"seed_{seed}" / "checkpoints", partial(load_policy, config), warn)
        if restored is None:
            raise ValueError(f"{args.run}/seed_{seed} has no checkpoint")
        checkpoint, policy = restored
        label = f"{config.agent.algo} ({checkpoint})"
    else:
        env_id = args.env
        keywords, observe, markets = parse_params(args.param), True, args.markets
        params = problem(env_id).params(**keywords)
        policy, label = ("oracle", "oracle") if args.oracle else (args.baseline, args.baseline)
    if markets is not None:
        return _score_set(args, policy, label, env_id, markets, keywords, observe)
    if args.plot is not None:
        raise ValueError("--plot draws the regret per market: it needs --markets")
    result = score(policy, env_id, episodes=args.episodes, seed=args.seed, params=params, reference=args.reference,
                   max_oracle_seconds=args.max_oracle_seconds)
    if args.json:
        print(json_text({"policy": label, **dataclasses.asdict(result)}))
    else:
        print(f"{label}\n{result.summary()}")
    return 0


def _score_set(args: argparse.Namespace, policy, label: str, env_id: str, markets, keywords: dict, observe) -> int:
    """Score ``policy`` on every market of ``markets`` and print (and plot) the result."""
    if args.reference is not None:
        raise ValueError("--reference compares with a policy on one market; on a set of markets every market is "
                         "scored against its own optimum")
    result = score(policy, env_id, markets=markets, episodes_per_market=args.episodes_per_market, seed=args.seed,
                   observe_market=observe, **keywords)
    if args.plot is not None:
        result.plot(args.plot)
    print(json_text({"policy": label, **result.to_dict()}) if args.json else f"{label}\n{result.summary()}")
    return 0
