"""Which model version a call ran on, from what the client and the response say.

Azure deployment names are arbitrary (``prod-chat``) and responses name only the
base model, so a call's identity is assembled from every name the callback saw, in
this order (the first rule that applies wins):

1. **The deployments map**, looked up with each name the call carries: the client's
   ``deployment_name`` / ``azure_deployment``, its ``model`` / ``model_name`` (a
   deployment name when given as ``model``: ``init_chat_model("azure_openai:prod-chat")``,
   ``ChatOpenAI(base_url=".../openai/v1")``, the Foundry clients), ``ls_model_name``,
   then the model name in the response.
2. **With a** ``model_version`` **on the client**: the first of the response's model
   name (LangChain's doubled version undone), ``ls_model_name``, the client's model
   and the deployment name that the table knows with that version. A version the
   table does not know is an unknown model, never replaced by another version.
3. **Without one**: the first of those names that carries its own version (Azure's
   ``gpt-4o-2024-08-06``, a versioned deployment name).
4. Else a bare base name resolves to the table's default version: the version is
   **assumed** (:attr:`Identity.assumed`), and the handler says so.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from ..errors import AzcostError, UnknownModelError
from ..pricing._deployment_types import DeploymentType
from ..pricing._resolve import MatchKind, undouble
from ..pricing._table import PricingTable
from ._deployments import Deployment

__all__ = [
    "Client",
    "ClientCache",
    "Identity",
    "cached_client",
    "client_of",
    "drops_cached_tokens",
    "identify",
    "no_chat_usage_reason",
    "resource_of_endpoint",
]

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


class Client(NamedTuple):
    """What a client said about itself when its call started."""

    deployment: str | None
    """Azure deployment name (``deployment_name`` / ``azure_deployment``), or None."""
    model_version: str | None
    """``model_version`` set on the client, or None."""
    ls_model: str | None
    """LangChain's ``ls_model_name`` run metadata, or None."""
    model: str | None
    """The client's ``model`` / ``model_name``, or None."""
    endpoint: str | None = None
    """The client's ``azure_endpoint``, or None."""


NO_CLIENT = Client(None, None, None, None)
"""A call seen without its start event."""


_new_client = tuple.__new__  # a Client without NamedTuple's Python-level __new__


def client_of(serialized: Mapping[str, Any] | None, metadata: Mapping[str, Any] | None) -> Client:
    """What a client said about itself at start, from its serialized kwargs and metadata."""
    kw = serialized.get("kwargs") if serialized else None
    ls_model = metadata.get("ls_model_name") if metadata else None
    if not kw:
        return _new_client(Client, (None, None, ls_model, None, None))
    return _new_client(
        Client,
        (
            kw.get("deployment_name") or kw.get("azure_deployment"),
            kw.get("model_version") or None,
            ls_model,
            kw.get("model_name") or kw.get("model"),
            kw.get("azure_endpoint"),
        ),
    )


# langchain-azure-ai's chat model over azure-ai-inference; not serializable, so its start
# event carries its class name but no kwargs
_INFERENCE_CLIENT = "AzureAIChatCompletionsModel"
_NO_STREAM_USAGE = "the stream sent no usage chunk: stream_usage=False on the client"
_NO_INFERENCE_STREAM_USAGE = (
    "langchain-azure-ai's AzureAIChatCompletionsModel reports no token usage when streaming "
    "(it reads usage only from chunks with choices; Azure's usage chunk has none): call "
    "invoke(), or use AzureAIOpenAIApiChatModel, whose streams carry usage"
)


def drops_cached_tokens(serialized: Mapping[str, Any] | None) -> bool:
    """True for a client that never passes on cached input tokens (AzureAIChatCompletionsModel)."""
    return bool(serialized) and serialized.get("name") == _INFERENCE_CLIENT  # type: ignore[union-attr]


ClientCache = dict[int, tuple[Mapping[str, Any] | None, Client, bool]]
"""``id(serialized)`` -> (serialized, its :class:`Client`, whether it drops cached tokens)."""
_CLIENT_CACHE_MAX = 256


def cached_client(
    cache: ClientCache, serialized: Mapping[str, Any] | None, metadata: Mapping[str, Any] | None
) -> tuple[Mapping[str, Any] | None, Client, bool]:
    """``(serialized, client_of(...), drops_cached_tokens(...))``, kept per serialized client.

    LangChain passes one serialized dict for every call of a client object (a cached
    property); the cache holds that dict, so its id is not reused while it is kept.
    """
    ls_model = metadata.get("ls_model_name") if metadata else None
    found = cache.get(id(serialized))
    if found is not None and found[0] is serialized and found[1].ls_model == ls_model:
        return found
    found = (serialized, client_of(serialized, metadata), drops_cached_tokens(serialized))
    if len(cache) < _CLIENT_CACHE_MAX:
        cache[id(serialized)] = found
    return found


def no_chat_usage_reason(serialized: Mapping[str, Any] | None) -> str | None:
    """Why a chat client's call has no usage, when the client says why; else None."""
    if not serialized:
        return None
    kw = serialized.get("kwargs")
    if kw and kw.get("stream_usage") is False:
        return _NO_STREAM_USAGE
    if serialized.get("name") == _INFERENCE_CLIENT:
        return _NO_INFERENCE_STREAM_USAGE
    return None


class Identity:
    """What one (client, reported name) combination resolves to; cached by the handler."""

    __slots__ = (
        "assumed",
        "deployment",
        "deployment_type",
        "error",
        "match",
        "model",
        "region",
        "resource",
        "version",
    )

    def __init__(
        self,
        model: str | None,
        match: MatchKind | None,
        version: str | None,
        deployment_type: DeploymentType | None = None,
        region: str | None = None,
        error: AzcostError | None = None,
        deployment: str | None = None,
        resource: str | None = None,
    ) -> None:
        self.model = model
        """Canonical versioned model name, or None when unknown."""
        self.match = match
        """How the name matched (``base-default`` when the version is assumed)."""
        self.assumed = match is MatchKind.BASE_DEFAULT
        """True when nothing named the version and the table's default was assumed."""
        self.version = version
        """Model version configured on the client or in the deployments map."""
        self.deployment_type = deployment_type
        """Deployment type from the deployments map, or None for the model's default."""
        self.region = region
        """Region from the deployments map, or None."""
        self.error = error
        """Why the model could not be resolved."""
        self.deployment = deployment
        """The deployment name: the deployments map's entry, else the client's, else None."""
        self.resource = resource
        """Azure resource (account): the deployments map's, else the endpoint's host, else None."""


def _mapped(table: PricingTable, name: str, entry: Deployment, client: Client) -> Identity:
    pinned = entry.model_version
    resource = entry.resource or resource_of_endpoint(client.endpoint)
    try:
        res = table.resolve(entry.model, pinned)
    except UnknownModelError as exc:
        return Identity(None, None, pinned, error=exc, deployment=name, resource=resource)
    match = MatchKind.BASE_DEFAULT if res.assumed else MatchKind.DEPLOYMENT
    return Identity(
        res.model, match, pinned, entry.deployment_type, entry.region, None, name, resource
    )


def identify(
    table: PricingTable,
    deployments: Mapping[str, Deployment],
    client: Client,
    reported: str | None,
) -> Identity:
    """Resolve the model of a call by the rules of this module's docstring."""
    deployment, _, ls_model, kw_model, endpoint = client
    if deployments:
        for name in (deployment, kw_model, ls_model, reported):
            entry = deployments.get(name) if name else None
            if entry is not None:
                return _mapped(table, name, entry, client)  # type: ignore[arg-type]  # name set
    ident = _named(table, client, reported)
    ident.resource = resource_of_endpoint(endpoint)
    return ident


def _named(table: PricingTable, client: Client, reported: str | None) -> Identity:
    """Rules 2 to 4: the version from the names alone."""
    deployment, version, ls_model, kw_model, _ = client
    names: list[str] = []
    if reported:
        names.append(undouble(reported, version))
    for name in (ls_model, kw_model, deployment):
        if name and name not in names:
            names.append(name)
    if not names:
        error = UnknownModelError("", detail="no model name reported and no deployment known")
        return Identity(None, None, version, error=error, deployment=deployment)
    if version:
        for name in names:
            try:
                res = table.resolve(name, version)
            except UnknownModelError:
                continue
            return Identity(res.model, res.match, version, deployment=deployment)
    fallback = None
    for name in names:
        try:
            res = table.resolve(name)
        except UnknownModelError:
            continue
        if res.match is not MatchKind.BASE_DEFAULT:
            # the name carries its own version: what the service says ran
            return Identity(res.model, res.match, version, deployment=deployment)
        if fallback is None and not version:
            fallback = res
    if fallback is not None:
        return Identity(fallback.model, fallback.match, version, deployment=deployment)
    try:
        table.resolve(names[0], version)
    except UnknownModelError as exc:
        return Identity(None, None, version, error=exc, deployment=deployment)
    raise AssertionError("unreachable: resolution failed above")  # pragma: no cover
