"""The deployments map: Azure deployment name -> the model version it serves.

Azure deployment names are arbitrary (``prod-chat``), and responses name only the
base model, so the surest way to know what ran is to say it once::

    prod-chat:
      model: gpt-35-turbo
      model_version: "0301"
      deployment_type: regional
      region: eastus

given inline (a mapping) or as a YAML file of that shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from ._deployment_types import DeploymentType, parse_deployment_type
from ._yaml import Positions, load_yaml
from .errors import DeploymentsFileError, PricingFileError, UnknownDeploymentTypeError

__all__ = ["Deployment", "DeploymentsSource", "load_deployments"]


def _version(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # azcost's YAML reader keeps 0301 a string; 1106 is lossless
    return value


def _dtype(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return parse_deployment_type(value)
        except UnknownDeploymentTypeError as exc:
            raise ValueError(str(exc)) from None
    return value


class Deployment(BaseModel):
    """One Azure deployment: the model version it serves and how it is sold."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    model: str = Field(min_length=1)
    """Model name, base (``gpt-35-turbo``) or versioned (``gpt-4o-2024-08-06``)."""
    model_version: Annotated[str | None, BeforeValidator(_version)] = Field(
        default=None, min_length=1
    )
    """Model version deployed (``0301``, ``2024-08-06``); omit when ``model`` carries it."""
    deployment_type: Annotated[DeploymentType | None, BeforeValidator(_dtype)] = None
    """Deployment type (global, data-zone, regional, ...); default: the model's default."""
    region: str | None = Field(default=None, min_length=1)
    """Azure region of the deployment (``eastus``), for region-specific prices."""


DeploymentsSource = Mapping[str, Any] | str | Path
"""A deployments map: inline mapping, or the path of a YAML file of the same shape."""


def _fail(
    path: str | None, positions: Positions, loc: tuple[str | int, ...], problem: str
) -> DeploymentsFileError:
    line = None
    for n in range(len(loc), -1, -1):
        line = positions.get(loc[:n])
        if line is not None:
            break
    deployment = str(loc[0]) if loc else None
    field = str(loc[1]) if len(loc) > 1 else None
    return DeploymentsFileError(problem, path=path, line=line, deployment=deployment, field=field)


def _describe(err: Any) -> str:
    kind = err.get("type")
    if kind == "extra_forbidden":
        return "unknown field (expected model, model_version, deployment_type, region)"
    if kind == "missing":
        return "required field is missing"
    msg = str(err.get("msg", "invalid value"))
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if "input" in err and kind not in ("dict_type", "model_type"):
        msg += f" (got {err['input']!r})"
    return msg


def load_deployments(source: DeploymentsSource) -> dict[str, Deployment]:
    """Validate a deployments map (inline or YAML); errors name file, line, deployment, field."""
    path: str | None = None
    positions: Positions = {}
    if isinstance(source, (str, Path)):
        path = str(source)
        try:
            data, positions = load_yaml(path)
        except PricingFileError as exc:
            raise DeploymentsFileError(exc.problem, path=path, line=exc.line) from None
    else:
        data = source
    if not isinstance(data, Mapping):
        raise DeploymentsFileError(
            "a deployments map must be a mapping of deployment name -> "
            "{model, model_version, deployment_type, region}",
            path=path,
            line=1 if path else None,
        )
    out: dict[str, Deployment] = {}
    for name, entry in data.items():
        if not isinstance(name, str) or not name.strip():
            raise _fail(path, positions, (str(name),), "deployment names must be non-empty strings")
        if isinstance(entry, Deployment):
            out[name] = entry
            continue
        if not isinstance(entry, Mapping):
            raise _fail(path, positions, (name,), f"expected a mapping with 'model', got {entry!r}")
        try:
            out[name] = Deployment.model_validate(dict(entry))
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            loc = (name, *(str(p) for p in err["loc"][:1]))
            raise _fail(path, positions, loc, _describe(err)) from None
    return out
