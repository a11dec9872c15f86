"""The ``azcost`` command line: thin, noun then verb, one error boundary.

Each command group lives in its own module and registers itself; heavy imports
(LangChain, SQLAlchemy) happen inside the commands that need them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..errors import AzcostError, PricingFileError
from . import _demo, _ledger, _price, _reconcile, _retail

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
    _reconcile.register(commands)
    _demo.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; azcost errors become one line on stderr and exit code 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except BrokenPipeError:  # pragma: no cover - `azcost ... | head`
        return 0
    except PricingFileError as exc:
        for problem in (exc, *exc.others):
            _error(str(problem))
        return 2
    except AzcostError as exc:
        _error(str(exc))
        return 2
    except OSError as exc:  # a path the user gave: missing folder, a folder, no permission
        _error(_os_error(exc))
        return 2
    except KeyboardInterrupt:  # pragma: no cover - interactive
        return 130
    return code


# control characters (a newline or a terminal escape in a file name or a value) are shown
# escaped, so an error is always one line and never drives the terminal
_ESCAPE = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F) if c != 0x09}


def _error(message: str) -> None:
    print(f"azcost: error: {message.translate(_ESCAPE)}", file=sys.stderr)


def _os_error(exc: OSError) -> str:
    """``path: reason`` on one line (``path -> other: reason`` for a rename or link)."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.filename is None:
        return reason
    where = str(exc.filename)
    if exc.filename2 is not None:
        where += f" -> {exc.filename2}"
    return f"{where}: {reason}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
