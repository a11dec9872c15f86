"""azcost: exact, versioned cost of Azure OpenAI calls made through LangChain.

Public names are imported lazily (PEP 562), so ``import azcost`` stays cheap and
the CLI does not pay for LangChain when it only prices a call.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import (
    AzcostError,
    BudgetExceededError,
    DeploymentsFileError,
    InvalidUsageError,
    LedgerError,
    NoPriceError,
    PricingFileError,
    RetailImportError,
    UnknownDeploymentTypeError,
    UnknownModelError,
    UnpricedCallWarning,
)

if TYPE_CHECKING:
    from ._callback import CostCallbackHandler, get_cost_callback, get_openai_callback
    from ._deployment_types import DeploymentType
    from ._ledger import Ledger
    from ._load import load_pricing, shipped_pricing_paths
    from ._pricing import Cost, PricingTable, Rates
    from ._record import CallRecord
    from ._resolve import MatchKind, Resolution

__version__ = "0.1.0"

__all__ = [
    "AzcostError",
    "BudgetExceededError",
    "CallRecord",
    "Cost",
    "CostCallbackHandler",
    "DeploymentType",
    "DeploymentsFileError",
    "InvalidUsageError",
    "Ledger",
    "LedgerError",
    "MatchKind",
    "NoPriceError",
    "PricingFileError",
    "PricingTable",
    "Rates",
    "Resolution",
    "RetailImportError",
    "UnknownDeploymentTypeError",
    "UnknownModelError",
    "UnpricedCallWarning",
    "__version__",
    "get_cost_callback",
    "get_openai_callback",
    "load_pricing",
    "shipped_pricing_paths",
]

_LAZY = {
    "CostCallbackHandler": "._callback",
    "get_cost_callback": "._callback",
    "get_openai_callback": "._callback",
    "Ledger": "._ledger",
    "CallRecord": "._record",
    "Cost": "._pricing",
    "PricingTable": "._pricing",
    "Rates": "._pricing",
    "load_pricing": "._load",
    "shipped_pricing_paths": "._load",
    "MatchKind": "._resolve",
    "Resolution": "._resolve",
    "DeploymentType": "._deployment_types",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'azcost' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
