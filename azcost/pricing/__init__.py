"""Pricing tables: the YAML format, its strict loader, name resolution and exact costs.

Owns everything about a price: the schema and YAML reader, the compiled run-time
table, model-name resolution, deployment types, token kinds, service tiers, the
canonical writer and the diff used by updates. Imports nothing else from azcost but
``errors`` and ``_paths``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports
from ._cost import Cost, Rates
from ._deployment_types import DeploymentType, deployment_type_order, parse_deployment_type
from ._kinds import KINDS, TokenKind
from ._load import compile_file, load_pricing, shipped_pricing_paths, validate_files
from ._money import money_str
from ._records import CompiledFile, ModelInfo, Period, SeriesInfo, SourceInfo
from ._resolve import MatchKind, Resolution, join_version, normalize_name, undouble
from ._table import PricingTable
from ._tiers import SERVICE_TIERS, ServiceTier

if TYPE_CHECKING:
    from ._diff import PricingDiff, RateChange, diff_files
    from ._merge import MergeResult, bump_version, merge_import
    from ._schema import ModelEntry, PricingFile, json_schema
    from ._writer import dump_table, read_table, write_atomic
    from ._yaml import load_yaml

__all__ = [
    "KINDS",
    "SERVICE_TIERS",
    "CompiledFile",
    "Cost",
    "DeploymentType",
    "MatchKind",
    "MergeResult",
    "ModelEntry",
    "ModelInfo",
    "Period",
    "PricingDiff",
    "PricingFile",
    "PricingTable",
    "RateChange",
    "Rates",
    "Resolution",
    "SeriesInfo",
    "ServiceTier",
    "SourceInfo",
    "TokenKind",
    "bump_version",
    "compile_file",
    "deployment_type_order",
    "diff_files",
    "dump_table",
    "join_version",
    "json_schema",
    "load_pricing",
    "load_yaml",
    "merge_import",
    "money_str",
    "normalize_name",
    "parse_deployment_type",
    "read_table",
    "shipped_pricing_paths",
    "undouble",
    "validate_files",
    "write_atomic",
]

# the file tools need pydantic and YAML: imported on first use only
__getattr__, __dir__ = lazy_exports(
    __name__,
    globals(),
    {
        "MergeResult": "._merge",
        "PricingDiff": "._diff",
        "RateChange": "._diff",
        "bump_version": "._merge",
        "diff_files": "._diff",
        "merge_import": "._merge",
        "ModelEntry": "._schema",
        "PricingFile": "._schema",
        "json_schema": "._schema",
        "dump_table": "._writer",
        "read_table": "._writer",
        "write_atomic": "._writer",
        "load_yaml": "._yaml",
    },
)
