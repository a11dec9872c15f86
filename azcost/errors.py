"""Every error azcost raises, under one base class: :class:`AzcostError`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "AssumedVersionError",
    "AssumedVersionWarning",
    "AzcostError",
    "BudgetExceededError",
    "CurrencyMismatchError",
    "DeploymentsFileError",
    "InputFileError",
    "InvalidUsageError",
    "LedgerError",
    "LedgerWarning",
    "MetricsWarning",
    "NoPriceError",
    "PricingFileError",
    "RetailImportError",
    "UnknownDeploymentTypeError",
    "UnknownModelError",
    "UnpricedCallWarning",
]


class AzcostError(Exception):
    """Base class of every error raised by azcost."""


def _located_message(
    problem: str,
    path: str | None,
    line: int | None,
    subject: tuple[str, str | None],
    field: str | None,
    unnamed: str,
) -> str:
    """``path:line: model 'x': field 'y': problem``, leaving out what is unknown."""
    parts = [(path or unnamed) + (f":{line}" if line is not None else "")]
    kind, name = subject
    if name is not None:
        parts.append(f"{kind} {name!r}")
    if field is not None:
        parts.append(f"field {field!r}")
    parts.append(problem)
    return ": ".join(parts)


class InputFileError(AzcostError, ValueError):
    """A file given to azcost cannot be read safely; the message names file, line and column.

    Missing, unreadable, not a regular file (a FIFO, a device, a folder), larger
    than the size limit, not UTF-8, or nested too deeply.
    """

    def __init__(
        self,
        problem: str,
        *,
        path: str | Path,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.problem = problem
        self.path = str(path)
        self.line = line
        self.column = column
        where = self.path
        if line is not None:
            where += f":{line}"
            if column is not None:
                where += f":{column}"
        super().__init__(f"{where}: {problem}")

    @property
    def problem_at_column(self) -> str:
        """The problem, with its column when known (for errors that carry only a line)."""
        return self.problem if self.column is None else f"{self.problem} (column {self.column})"


class PricingFileError(AzcostError, ValueError):
    """A pricing file is malformed; the message names file, line, model and field."""

    def __init__(
        self,
        problem: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        model: str | None = None,
        field: str | None = None,
    ) -> None:
        self.problem = problem
        self.path = str(path) if path is not None else None
        self.line = line
        self.model = model
        self.field = field
        self.others: list[PricingFileError] = []
        """Further problems found in the same check, in file order."""
        super().__init__(
            _located_message(problem, self.path, line, ("model", model), field, "<pricing>")
        )


class UnknownModelError(AzcostError, LookupError):
    """No model in the pricing table matches the name; ``suggestions`` lists close names."""

    def __init__(self, name: str, suggestions: Sequence[str] = (), *, detail: str = "") -> None:
        self.name = name
        self.suggestions = list(suggestions)
        msg = f"unknown model {name!r}"
        if detail:
            msg += f" ({detail})"
        if self.suggestions:
            msg += "; closest known: " + ", ".join(self.suggestions)
        super().__init__(msg)


class UnknownDeploymentTypeError(AzcostError, ValueError):
    """A deployment type name is not one azcost knows."""

    def __init__(self, value: object, accepted: Sequence[str]) -> None:
        self.value = value
        super().__init__(f"unknown deployment type {value!r}; accepted: " + ", ".join(accepted))


class NoPriceError(AzcostError, LookupError):
    """The model is known but has no price for that deployment type, region or date."""

    def __init__(self, model: str, problem: str) -> None:
        self.model = model
        super().__init__(f"model {model!r}: {problem}")


class InvalidUsageError(AzcostError, ValueError):
    """Token counts passed to a cost computation are inconsistent or negative."""


class BudgetExceededError(AzcostError):
    """The spend inside a ``get_cost_callback(budget=...)`` block reached its budget."""

    def __init__(self, spent: object, budget: object, currency: str = "USD") -> None:
        self.spent = spent
        self.budget = budget
        super().__init__(
            f"budget exceeded: spent {spent} {currency} of a {budget} {currency} budget; "
            "call refused before it was sent"
        )


class CurrencyMismatchError(AzcostError):
    """An export bills in another currency than the ledger and pricing table (or mixes them)."""


class DeploymentsFileError(AzcostError, ValueError):
    """A deployments map is malformed; the message names file, line, deployment and field."""

    def __init__(
        self,
        problem: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        deployment: str | None = None,
        field: str | None = None,
    ) -> None:
        self.problem = problem
        self.path = str(path) if path is not None else None
        self.line = line
        self.deployment = deployment
        self.field = field
        super().__init__(
            _located_message(
                problem, self.path, line, ("deployment", deployment), field, "<deployments>"
            )
        )


class UnpricedCallWarning(UserWarning):
    """A LangChain call could not be priced (unknown model, no usage, no price); it is listed."""


class AssumedVersionWarning(UserWarning):
    """A call named no model version: it was priced as the table's default version of its model."""


class CachedTokensUnknownWarning(UserWarning):
    """A client never reports cached input tokens: its input is priced at the full input rate."""


class AssumedVersionError(AzcostError, LookupError):
    """A call named no model version, under ``on_assumed="raise"``; it was counted first."""


class LedgerError(AzcostError):
    """The spend ledger cannot be opened, migrated, read or written."""


class LedgerWarning(UserWarning):
    """The ledger could not be written; the records were spooled locally for replay."""


class MetricsWarning(UserWarning):
    """Spend metrics could not be recorded (said once per handler); the call was counted."""


class RetailImportError(AzcostError, ValueError):
    """An Azure Retail Prices API response cannot be read or turned into a pricing file."""
