"""The pricing file format: strict pydantic models, one docstring per field.

The JSON Schema that editors use (``azcost pricing schema``) is generated from
these models, so the file format has exactly one definition.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
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
from ._tiers import SERVICE_TIERS, TIER_NAMES, split_tier_key, tier_key

__all__ = [
    "DeploymentTypeField",
    "ModelEntry",
    "ModelKind",
    "PricePeriod",
    "PriceSeries",
    "PricingFile",
    "Source",
    "TierRates",
    "VersionText",
    "all_rates",
    "describe_error",
    "json_schema",
    "period_of",
    "period_rates",
    "rate_of",
    "with_rates",
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
    shown = "input" in err and not isinstance(err["input"], (dict, list))
    if shown and kind not in ("dict_type", "list_type", "model_type"):
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


def _rate_fields() -> dict[str, Any]:
    """One ``*_per_mtok`` field per token kind; ``input`` is required, the others optional."""
    fields: dict[str, Any] = {}
    for kind in KINDS:
        if kind.name == "input":
            fields[kind.rate_field] = (Price, Field(description=kind.rate_doc))
        else:
            fields[kind.rate_field] = (Price | None, Field(None, description=kind.rate_doc))
    return fields


_TIER_DOC = (
    "The rates of one service tier in a period, one ``*_per_mtok`` field per token kind as "
    "in the period itself. A call on the tier with tokens of a kind the tier lacks a rate "
    "for is not priced (never at the standard tier's rate)."
)

if TYPE_CHECKING:

    class TierRates(BaseModel):
        """A service tier's rates; one ``*_per_mtok`` field per token kind."""

        def __init__(self, **data: Any) -> None: ...

        def __getattr__(self, name: str) -> Decimal | None: ...

else:
    TierRates = create_model("TierRates", __config__=_STRICT, __doc__=_TIER_DOC, **_rate_fields())


def _known_tiers(value: Any) -> Any:
    if isinstance(value, dict):
        for tier in value:
            if tier not in TIER_NAMES:
                known = ", ".join(TIER_NAMES)
                raise ValueError(f"unknown service tier {tier!r}; known: {known}")
    return value


def _tiers_field() -> dict[str, Any]:
    names = "; ".join(f"``{t.name}``: {t.doc}" for t in SERVICE_TIERS)
    tier = Literal[TIER_NAMES]  # type: ignore[valid-type]  # the tiers table's names
    return {
        "service_tiers": (
            Annotated[dict[tier, TierRates] | None, BeforeValidator(_known_tiers)],
            Field(
                None,
                description="Rates of the service tiers sold at rates of their own, by tier ("
                f"{names}). The period's own rates are the standard tier's; a call on a tier "
                "absent here is not priced.",
            ),
        )
    }


def _period_fields() -> dict[str, Any]:
    fields: dict[str, Any] = {
        "effective_from": (Date, Field(description="First day (UTC) these rates apply.")),
    }
    fields.update(_rate_fields())
    fields.update(_tiers_field())
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
        service_tiers: dict[str, TierRates] | None
        source: str
        note: str | None

        def __init__(self, **data: Any) -> None: ...

        def __getattr__(self, name: str) -> Decimal | None: ...

else:
    PricePeriod = create_model(
        "PricePeriod", __config__=_STRICT, __doc__=_PERIOD_DOC, **_period_fields()
    )


def period_rates(period: PricePeriod) -> dict[str, Decimal | None]:
    """A period's standard rates by field (``input_per_mtok``...), in file order."""
    return {name: getattr(period, name) for name in RATE_FIELDS}


def all_rates(period: PricePeriod) -> dict[str, Decimal | None]:
    """Every rate of a period by key: the standard fields, then ``priority.input_per_mtok``..."""
    out = period_rates(period)
    for tier, rates in (period.service_tiers or {}).items():
        out.update({tier_key(tier, f): getattr(rates, f) for f in RATE_FIELDS})
    return out


def rate_of(period: PricePeriod, key: str) -> Decimal | None:
    """One rate of a period by key (``output_per_mtok``, ``priority.output_per_mtok``)."""
    tier, field = split_tier_key(key)
    if tier is None:
        value: Decimal | None = getattr(period, field)
        return value
    rates = (period.service_tiers or {}).get(tier)
    return None if rates is None else getattr(rates, field)


def period_of(rates: Mapping[str, Decimal], **fields: Any) -> PricePeriod:
    """A period from its rates by key (tier rates included) and its other fields."""
    plain = dict(fields)
    tiers: dict[str, dict[str, Decimal]] = {}
    for key, value in rates.items():
        tier, field = split_tier_key(key)
        if tier is None:
            plain[field] = value
        else:
            tiers.setdefault(tier, {})[field] = value
    if tiers:
        plain["service_tiers"] = {t: TierRates(**tiers[t]) for t in TIER_NAMES if t in tiers}
    return PricePeriod(**plain)


def with_rates(period: PricePeriod, rates: Mapping[str, Decimal], **update: Any) -> PricePeriod:
    """``period`` with some rates (by key, tier rates included) and fields replaced."""
    kept = {k: v for k, v in all_rates(period).items() if v is not None}
    fields = {"effective_from": period.effective_from, "source": period.source}
    fields["note"] = period.note
    return period_of({**kept, **rates}, **{**fields, **update})


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
