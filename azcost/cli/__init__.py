"""The ``azcost`` command line: thin, noun then verb, one error boundary.

Each command group lives in its own module and registers itself; heavy imports
(LangChain, SQLAlchemy) happen inside the commands that need them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..errors import AzcostError, PricingFileError
from . import _demo, _ledger, _price, _retail

__all__ = ["main"]


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser."""
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="azcost",
        description="Exact cost of Azure OpenAI calls, per model version.",
    )
    parser.add_argument("--version", action="version", version=f"azcost {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _price.register_price(commands)
    pricing = commands.add_parser("pricing", help="validate, show, list and update pricing tables")
    pricing_commands = pricing.add_subparsers(dest="verb", metavar="VERB", required=True)
    _price.register_pricing(pricing_commands)
    _retail.register(pricing_commands)
    _ledger.register(commands)
    _demo.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; azcost errors become one line on stderr and exit code 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except PricingFileError as exc:
        for problem in (exc, *exc.others):
            print(f"azcost: error: {problem}", file=sys.stderr)
        return 2
    except AzcostError as exc:
        print(f"azcost: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # pragma: no cover - interactive
        return 130
    except BrokenPipeError:  # pragma: no cover - `azcost ... | head`
        return 0
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
