"""The ``execgym`` command line.

Each subcommand is a module of this package exposing ``NAME``, ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``; listing it in
:data:`COMMANDS` adds it to the parser.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import execgym
from experiments import evaluate, leaderboard, list_envs, quickstart, run, sweep

COMMANDS = (quickstart, run, sweep, leaderboard, evaluate, list_envs)


def build_parser() -> argparse.ArgumentParser:
    """The ``execgym`` parser with one subparser per module of :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="execgym", description="Gymnasium environments for optimal execution, each with its exact optimum.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {execgym.__version__}")
    commands = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        subparser = commands.add_parser(command.NAME, help=command.HELP, description=command.__doc__.replace("``", ""),
                                        formatter_class=argparse.RawDescriptionHelpFormatter)
        command.add_arguments(subparser)
        subparser.set_defaults(handler=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the subcommand named in ``argv`` (default: ``sys.argv[1:]``); returns the exit code.

    Bad arguments exit with code 2 and a usage message; invalid parameters or
    unwritable output return 1 with a one-line error on stderr.
    """
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (ValueError, OSError) as error:
        print(f"execgym {args.command}: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
