"""The ``execgym`` command line.

Each subcommand is a module of this package exposing ``NAME``, ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``; listing it in
:data:`COMMANDS` adds it to the parser. A command whose module needs an optional
extra that is not installed (``run`` needs ``execgym[agents]``, say) still
appears, and running it says which extra to install.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType, SimpleNamespace

import execgym
from execgym.experiments.extras import missing_extra_message

COMMANDS = ("quickstart", "run", "sweep", "tune", "leaderboard", "evaluate", "calibrate", "stress", "list_envs")
"""Modules of :mod:`execgym.experiments`, one per subcommand, in the order ``--help`` lists them."""
def missing_extra(module: str, message: str) -> SimpleNamespace:
    """A stand-in for command ``module`` whose import failed for want of an optional extra (``message`` says
    which): it takes any arguments and fails with the install command."""
    def run(args: argparse.Namespace) -> int:
        raise ValueError(message)

    return SimpleNamespace(
        NAME=module, HELP="(needs an optional extra that is not installed)", __doc__=f"execgym {module}: {message}",
        add_arguments=lambda parser: parser.add_argument("arguments", nargs=argparse.REMAINDER), run=run)


def load_command(module: str) -> ModuleType | SimpleNamespace:
    """The module of subcommand ``module``, or its :func:`missing_extra` stand-in."""
    try:
        return importlib.import_module(f"execgym.experiments.{module}")
    except ModuleNotFoundError as error:
        message = missing_extra_message(error)
        if message is None:
            raise
        return missing_extra(module, message)


def build_parser() -> argparse.ArgumentParser:
    """The ``execgym`` parser with one subparser per module of :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="execgym", description="Gymnasium environments for optimal execution, each with its exact optimum.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {execgym.__version__}")
    commands = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND", required=True)
    for command in map(load_command, COMMANDS):
        subparser = commands.add_parser(command.NAME, help=command.HELP, description=command.__doc__.replace("``", ""),
                                        formatter_class=argparse.RawDescriptionHelpFormatter)
        command.add_arguments(subparser)
        subparser.set_defaults(handler=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the subcommand named in ``argv`` (default: ``sys.argv[1:]``); returns the exit code.

    Bad arguments exit with code 2 and a usage message; invalid parameters,
    unwritable output or a missing optional extra return 1 with a one-line error
    on stderr.
    """
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except ModuleNotFoundError as error:
        message = missing_extra_message(error)
        if message is None:
            raise
        print(f"execgym {args.command}: error: {message}", file=sys.stderr)
        return 1
    except (ValueError, OSError) as error:
        print(f"execgym {args.command}: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
