"""The pricing file format: strict pydantic models, one docstring per field.

The JSON Schema that editors use (``azcost pricing schema``) is generated from
these models, so the file format has exactly one definition.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    create_model,
    field_validator,
)

from ..errors import UnknownDeploymentTypeError
from ._deployment_types import DeploymentType, parse_deployment_type
from ._kinds import KINDS, RATE_FIELDS

__all__ = [
    "DeploymentTypeField",
    "ModelEntry",
    "ModelKind",
    "PricePeriod",
    "PriceSeries",
    "PricingFile",
    "Source",
    "VersionText",
    "describe_error",
    "json_schema",
    "period_rates",
]

SCHEMA_VERSION = 1


def _deployment_type(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return parse_deployment_type(value)
        except UnknownDeploymentTypeError as exc:
            raise ValueError(str(exc)) from None
    return value


def _price(value: Any) -> Any:
    if isinstance(value, (bool, float)):
        raise ValueError(f"price must be a decimal number, not {value!r}")
    if isinstance(value, str):
        raise ValueError(f"price must be a number, not the string {value!r}")
    return value


ModelKind = Literal["chat", "completion", "reasoning", "embedding", "audio", "image"]
"""What a model does: embeddings have no output rate; image models bill image tokens."""

DeploymentTypeField = Annotated[DeploymentType, BeforeValidator(_deployment_type)]
Price = Annotated[Decimal, BeforeValidator(_price), Field(ge=0, allow_inf_nan=False)]

_STRICT = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}\Z")


def _date(value: Any) -> dt.date:
    """An ISO date ``YYYY-MM-DD`` only: never a number (Unix time), a datetime, ``20240613``."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and _ISO_DAY.match(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError("not a calendar date (YYYY-MM-DD)") from None
    raise ValueError("expected an ISO date YYYY-MM-DD")


Date = Annotated[dt.date, BeforeValidator(_date)]


def _int_as_str(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # the reader keeps 0301 a string; a plain 1106 or 2 is lossless
    return value


VersionText = Annotated[str, BeforeValidator(_int_as_str)]
"""A model version: YAML integers such as ``2`` or ``1106`` are read as their text."""


def describe_error(err: Any, unknown_field: str) -> str:
    """One pydantic error as a short sentence; ``unknown_field`` explains a forbidden extra."""
    kind = err.get("type")
    if kind == "extra_forbidden":
        return f"unknown field ({unknown_field})"
    if kind == "missing":
        return "required field is missing"
    msg = str(err.get("msg", "invalid value"))
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if "input" in err and kind not in ("dict_type", "list_type", "model_type"):
        msg += f" (got {err['input']!r})"
    return msg


class Source(BaseModel):
    """A public source of prices, and when it was read."""

    model_config = _STRICT

    title: str = Field(min_length=1)
    """What the source is, in a few words."""
    url: str = Field(pattern=r"^(https?://|pypi:|git:)\S+$")
    """Where to find it: an https URL (or pypi:/git: for a package's or repository's file)."""
    retrieved_on: Date
    """The date the figures were read from the source."""
    note: str | None = None
    """Anything a reader must know about this source."""


_PERIOD_DOC = (
    "Rates in force from ``effective_from`` until the next period of the same series.\n\n"
    "Every rate is per 1M tokens of one kind. A call with tokens of a kind whose rate the "
    "period lacks is not priced (never at another kind's rate). Azure bills cached input "
    "at a discount only for models that support prompt caching (GPT-4o and newer; older "
    "models report no cached tokens), on a meter of its own: where a source shows cached "
    "tokens billed at the full input rate, write that rate as ``cached_input_per_mtok``."
)


def _period_fields() -> dict[str, Any]:
    fields: dict[str, Any] = {
        "effective_from": (Date, Field(description="First day (UTC) these rates apply.")),
    }
    for kind in KINDS:
        if kind.name == "input":
            fields[kind.rate_field] = (Price, Field(description=kind.rate_doc))
        else:
            fields[kind.rate_field] = (Price | None, Field(None, description=kind.rate_doc))
    fields["source"] = (
        str,
        Field(
            min_length=1,
            description="Id of the entry in the file's ``sources`` these rates were read from.",
        ),
    )
    fields["note"] = (
        str | None,
        Field(
            None,
            description="How the figures were derived when not read directly "
            "(inferred version, cross-checks).",
        ),
    )
    return fields


if TYPE_CHECKING:

    class PricePeriod(BaseModel):
        """Rates in force from ``effective_from``; one ``*_per_mtok`` field per token kind."""

        effective_from: dt.date
        source: str
        note: str | None

        def __init__(self, **data: Any) -> None: ...

        def __getattr__(self, name: str) -> Decimal | None: ...

else:
    PricePeriod = create_model(
        "PricePeriod", __config__=_STRICT, __doc__=_PERIOD_DOC, **_period_fields()
    )


def period_rates(period: PricePeriod) -> dict[str, Decimal | None]:
    """A period's rates by field (``input_per_mtok``...), in file order."""
    return {name: getattr(period, name) for name in RATE_FIELDS}


class PriceSeries(BaseModel):
    """The price history of one model for one deployment type (and optionally one region)."""

    model_config = _STRICT

    deployment_type: DeploymentTypeField
    """Deployment type: global, data-zone, regional, global-batch or data-zone-batch."""
    region: str | None = Field(default=None, pattern=r"^[a-z0-9]+$")
    """Azure region (armRegionName, e.g. ``swedencentral``) where prices differ; absent for all."""
    periods: list[PricePeriod] = Field(min_length=1)
    """Price periods, oldest first, with strictly increasing ``effective_from``."""


class ModelEntry(BaseModel):
    """One Azure OpenAI model version, keyed by its canonical name ``base-version``."""

    model_config = _STRICT

    base: str = Field(pattern=r"^[a-z0-9][a-z0-9.\-]*$")
    """Azure's model name without version, as responses report it (``gpt-35-turbo``)."""
    version: VersionText = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9.\-]*$")
    """Azure's model version (``0301``, ``2024-08-06``, ``turbo-2024-04-09``)."""
    kind: ModelKind = "chat"
    """What the model does; embeddings have no output rate."""
    display_name: str | None = None
    """A human name, for listings."""
    aliases: list[str] = Field(default_factory=list)
    """Other spellings of this exact version (OpenAI's ``gpt-3.5-turbo-0301``)."""
    default_for_base: bool = False
    """The bare base name (``gpt-4o``) resolves to this version, marked as assumed."""
    default_deployment_type: DeploymentTypeField
    """Deployment type used when the caller names none."""
    retired_on: Date | None = None
    """Date Azure retired this version; its prices stay so old usage can be audited."""
    note: str | None = None
    """Why this entry is as it is: the default-version choice, where dates come from."""
    prices: list[PriceSeries] = Field(min_length=1)
    """One price series per deployment type (and region where prices differ)."""

    @field_validator("aliases")
    @classmethod
    def _aliases_are_names(cls, value: list[str]) -> list[str]:
        for alias in value:
            if not alias or alias != alias.strip() or alias.lower() != alias:
                raise ValueError(f"alias {alias!r} must be lower-case with no surrounding space")
        return value


class PricingFile(BaseModel):
    """An azcost pricing file: a dated, sourced table of per-token rates."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        use_attribute_docstrings=True,
        json_schema_extra={"$schema": "https://json-schema.org/draft/2020-12/schema"},
    )

    schema_version: Literal[1]
    """Version of this file format; this is version 1."""
    version: str = Field(pattern=r"^\d{4}\.\d{2}\.\d{2}(\.\d+)?([+-][A-Za-z0-9.\-]+)?$")
    """Version of the table itself, date-based: ``2026.11.25`` (optionally ``.N`` or ``+local``)."""
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    """ISO 4217 currency of every price in the file."""
    description: str | None = None
    """What this table is for."""
    sources: dict[str, Source] = Field(min_length=1)
    """Public sources, by id; every price period names one."""
    models: dict[str, ModelEntry]
    """Model versions by canonical name ``base-version`` (``gpt-35-turbo-0301``)."""


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a pricing file."""
    schema = PricingFile.model_json_schema(mode="validation")
    schema["title"] = "azcost pricing file"
    return schema
