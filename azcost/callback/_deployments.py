"""The deployments map: Azure deployment name -> the model version it serves.

Azure deployment names are arbitrary (``prod-chat``), and responses name only the
base model, so the surest way to know what ran is to say it once::

    prod-chat:
      model: gpt-35-turbo
      model_version: "0301"
      deployment_type: regional
      region: eastus
      resource: contoso-openai

given inline (a mapping) or as a YAML file of that shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import DeploymentsFileError, PricingFileError
from ..pricing._schema import DeploymentTypeField, VersionText, describe_error
from ..pricing._yaml import Positions, line_for, load_yaml

__all__ = ["Deployment", "DeploymentsSource", "load_deployments"]


class Deployment(BaseModel):
    """One Azure deployment: the model version it serves and how it is sold."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    model: str = Field(min_length=1)
    """Model name, base (``gpt-35-turbo``) or versioned (``gpt-4o-2024-08-06``)."""
    model_version: VersionText | None = Field(default=None, min_length=1)
    """Model version deployed (``0301``, ``2024-08-06``); omit when ``model`` carries it."""
    deployment_type: DeploymentTypeField | None = None
    """Deployment type (global, data-zone, regional, ...); default: the model's default."""
    region: str | None = Field(default=None, min_length=1)
    """Azure region of the deployment (``eastus``), for region-specific prices."""
    resource: str | None = Field(default=None, min_length=1)
    """Azure OpenAI resource (account) name serving it, as in cost exports' ResourceId."""


DeploymentsSource = Mapping[str, Any] | str | Path
"""A deployments map: inline mapping, or the path of a YAML file of the same shape."""


def _fail(
    path: str | None, positions: Positions, loc: tuple[str | int, ...], problem: str
) -> DeploymentsFileError:
    line = line_for(positions, loc)
    deployment = str(loc[0]) if loc else None
    field = str(loc[1]) if len(loc) > 1 else None
    return DeploymentsFileError(problem, path=path, line=line, deployment=deployment, field=field)


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
            "{model, model_version, deployment_type, region, resource}",
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
            raise _fail(
                path,
                positions,
                loc,
                describe_error(
                    err, "expected model, model_version, deployment_type, region, resource"
                ),
            ) from None
    return out
