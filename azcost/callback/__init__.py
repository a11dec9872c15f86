"""The cost callback: a LangChain handler that prices every call of a ``with`` block.

Owns reading a call's usage, identifying the model version (deployments map,
client parameters, response), tallying exact totals, handing records to a
ledger and recording live OpenTelemetry metrics. Imports ``pricing`` and ``ledger``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from ._deployments import Deployment, load_deployments
    from ._handler import CostCallbackHandler
    from ._identity import Client, identify, resource_of_endpoint
    from ._scope import CostCallbackScope, get_cost_callback, get_openai_callback
    from ._tally import ModelUsage, UnpricedCall, build_record
    from ._usage import (
        NO_USAGE,
        NO_USAGE_CHAT,
        NO_USAGE_LLM,
        NO_USAGE_TOTAL,
        Usage,
        read_plain_usage,
        read_usage,
    )

__all__ = [
    "NO_USAGE",
    "NO_USAGE_CHAT",
    "NO_USAGE_LLM",
    "NO_USAGE_TOTAL",
    "Client",
    "CostCallbackHandler",
    "CostCallbackScope",
    "Deployment",
    "ModelUsage",
    "UnpricedCall",
    "Usage",
    "build_record",
    "get_cost_callback",
    "get_openai_callback",
    "identify",
    "load_deployments",
    "read_plain_usage",
    "read_usage",
    "resource_of_endpoint",
]

# LangChain is imported on first use only
__getattr__, __dir__ = lazy_exports(
    __name__,
    globals(),
    {
        "Deployment": "._deployments",
        "load_deployments": "._deployments",
        "CostCallbackHandler": "._handler",
        "CostCallbackScope": "._scope",
        "get_cost_callback": "._scope",
        "get_openai_callback": "._scope",
        "Client": "._identity",
        "identify": "._identity",
        "resource_of_endpoint": "._identity",
        "ModelUsage": "._tally",
        "UnpricedCall": "._tally",
        "build_record": "._tally",
        **dict.fromkeys(
            (
                "NO_USAGE",
                "NO_USAGE_CHAT",
                "NO_USAGE_LLM",
                "NO_USAGE_TOTAL",
                "Usage",
                "read_plain_usage",
                "read_usage",
            ),
            "._usage",
        ),
    },
)
