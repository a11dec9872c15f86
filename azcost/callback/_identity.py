"""Which model version a call ran on: the deployments map, the client, then the response.

Azure deployment names are arbitrary and responses name only the base model, so a
call's identity is assembled from what the callback saw: the caller's deployments
map first, then the client's own parameters at start (``model_version``,
``ls_model_name``, the model and deployment names), then the model name in the
response. An explicit version that the table does not know is an unknown model,
never silently replaced by the base's default version.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from urllib.parse import urlsplit

from ..errors import AzcostError, UnknownModelError
from ..pricing._deployment_types import DeploymentType
from ..pricing._resolve import MatchKind, undouble
from ..pricing._table import PricingTable
from ._deployments import Deployment

__all__ = ["Identity", "identify", "resource_of_endpoint"]

# hosts of an Azure OpenAI resource: <account name> + one of these
_RESOURCE_HOSTS = (".openai.azure.com", ".cognitiveservices.azure.com", ".services.ai.azure.com")


@functools.lru_cache(maxsize=256)
def resource_of_endpoint(endpoint: str | None) -> str | None:
    """The Azure resource (account) name of ``https://<name>.openai.azure.com/``, else None."""
    if not endpoint or not isinstance(endpoint, str):
        return None
    try:
        host = (urlsplit(endpoint.strip()).hostname or "").lower()
    except ValueError:
        return None
    for suffix in _RESOURCE_HOSTS:
        if host.endswith(suffix) and "." not in host[: -len(suffix)]:
            return host[: -len(suffix)] or None
    return None


class Identity:
    """What one (deployment, version, names) combination resolves to; cached by the handler."""

    __slots__ = ("deployment_type", "error", "match", "model", "region", "resource", "version")

    def __init__(
        self,
        model: str | None,
        match: MatchKind | None,
        version: str | None,
        deployment_type: DeploymentType | None = None,
        region: str | None = None,
        error: AzcostError | None = None,
        resource: str | None = None,
    ) -> None:
        self.model = model
        """Canonical versioned model name, or None when unknown."""
        self.match = match
        """How the name matched."""
        self.version = version
        """Model version configured on the client or in the deployments map."""
        self.deployment_type = deployment_type
        """Deployment type from the deployments map, or None for the model's default."""
        self.region = region
        """Region from the deployments map, or None."""
        self.error = error
        """Why the model could not be resolved."""
        self.resource = resource
        """Azure resource (account) name from the deployments map, or None."""


def identify(
    table: PricingTable,
    deployments: Mapping[str, Deployment],
    deployment: str | None,
    version: str | None,
    ls_model: str | None,
    kw_model: str | None,
    reported: str | None,
) -> Identity:
    """Resolve the model of a call, most reliable source first."""
    mapped = deployments.get(deployment) if deployment else None
    if mapped is not None:
        try:
            res = table.resolve(mapped.model, mapped.model_version)
        except UnknownModelError as exc:
            return Identity(None, None, mapped.model_version, error=exc, resource=mapped.resource)
        return Identity(
            res.model,
            MatchKind.DEPLOYMENT,
            mapped.model_version,
            mapped.deployment_type,
            mapped.region,
            resource=mapped.resource,
        )
    names: list[str] = []
    if reported:
        names.append(undouble(reported, version))
    for name in (ls_model, kw_model, deployment):
        if name and name not in names:
            names.append(name)
    if not names:
        error = UnknownModelError("", detail="no model name reported and no deployment known")
        return Identity(None, None, version, error=error)
    if version:
        for name in names:
            try:
                res = table.resolve(name, version)
            except UnknownModelError:
                continue
            return Identity(res.model, res.match, version)
    fallback = None
    for name in names:
        try:
            res = table.resolve(name)
        except UnknownModelError:
            continue
        if res.match is not MatchKind.BASE_DEFAULT:
            # the name carries its own version: what the service says ran
            return Identity(res.model, res.match, version)
        if fallback is None and not version:
            fallback = res
    if fallback is not None:
        return Identity(fallback.model, fallback.match, version)
    try:
        table.resolve(names[0], version)
    except UnknownModelError as exc:
        return Identity(None, None, version, error=exc)
    raise AssertionError("unreachable: resolution failed above")  # pragma: no cover
