"""The cost callback: a LangChain handler that prices every call of a ``with`` block.

Owns reading a call's usage, identifying the model version (deployments map,
client parameters, response), tallying exact totals and handing records to a
ledger. Imports ``pricing`` and ``ledger``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from ._deployments import Deployment, load_deployments
    from ._handler import CostCallbackHandler
    from ._scope import CostCallbackScope, get_cost_callback, get_openai_callback
    from ._tally import ModelUsage, UnpricedCall

__all__ = [
    "CostCallbackHandler",
    "CostCallbackScope",
    "Deployment",
    "ModelUsage",
    "UnpricedCall",
    "get_cost_callback",
    "get_openai_callback",
    "load_deployments",
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
        "ModelUsage": "._tally",
        "UnpricedCall": "._tally",
    },
)
