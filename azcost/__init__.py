"""azcost: exact, versioned cost of Azure OpenAI calls made through LangChain.

Public names are imported lazily (PEP 562), so ``import azcost`` stays cheap and
the CLI does not pay for LangChain when it only prices a call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_exports
from ._version import __version__
from .errors import (
    AssumedVersionError,
    AssumedVersionWarning,
    AzcostError,
    BudgetExceededError,
    CachedTokensUnknownWarning,
    CurrencyMismatchError,
    DeploymentsFileError,
    InputFileError,
    InvalidUsageError,
    LedgerError,
    LedgerWarning,
    MetricsWarning,
    NoPriceError,
    PricingFileError,
    RetailImportError,
    UnknownDeploymentTypeError,
    UnknownModelError,
    UnpricedCallWarning,
)

if TYPE_CHECKING:
    from .callback import (
        CostCallbackHandler,
        ModelUsage,
        UnpricedCall,
        get_cost_callback,
        get_openai_callback,
    )
    from .embeddings import track
    from .invoice import ReconcileRow, Reconciliation, reconcile
    from .ledger import AuditRow, CallRecord, Ledger, audit
    from .pricing import (
        Cost,
        DeploymentType,
        MatchKind,
        PricingTable,
        Rates,
        Resolution,
        load_pricing,
        shipped_pricing_paths,
    )

__all__ = [
    "AssumedVersionError",
    "AssumedVersionWarning",
    "AuditRow",
    "AzcostError",
    "BudgetExceededError",
    "CachedTokensUnknownWarning",
    "CallRecord",
    "Cost",
    "CostCallbackHandler",
    "CurrencyMismatchError",
    "DeploymentType",
    "DeploymentsFileError",
    "InputFileError",
    "InvalidUsageError",
    "Ledger",
    "LedgerError",
    "LedgerWarning",
    "MatchKind",
    "MetricsWarning",
    "ModelUsage",
    "NoPriceError",
    "PricingFileError",
    "PricingTable",
    "Rates",
    "ReconcileRow",
    "Reconciliation",
    "Resolution",
    "RetailImportError",
    "UnknownDeploymentTypeError",
    "UnknownModelError",
    "UnpricedCall",
    "UnpricedCallWarning",
    "__version__",
    "audit",
    "get_cost_callback",
    "get_openai_callback",
    "load_pricing",
    "reconcile",
    "shipped_pricing_paths",
    "track",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    globals(),
    {
        **dict.fromkeys(
            ("CostCallbackHandler", "ModelUsage", "UnpricedCall", "get_cost_callback"),
            ".callback",
        ),
        "get_openai_callback": ".callback",
        **dict.fromkeys(("AuditRow", "CallRecord", "Ledger", "audit"), ".ledger"),
        **dict.fromkeys(
            ("Cost", "DeploymentType", "MatchKind", "PricingTable", "Rates", "Resolution"),
            ".pricing",
        ),
        **dict.fromkeys(("Reconciliation", "ReconcileRow", "reconcile"), ".invoice"),
        "load_pricing": ".pricing",
        "shipped_pricing_paths": ".pricing",
        "track": ".embeddings",  # needs the openai extra
    },
)
