"""Azure OpenAI deployment types and the names Azure and users give them."""

from __future__ import annotations

import enum

from ..errors import UnknownDeploymentTypeError

__all__ = [
    "ACCEPTED_DEPLOYMENT_NAMES",
    "DeploymentType",
    "deployment_type_order",
    "parse_deployment_type",
]


class DeploymentType(str, enum.Enum):
    """How an Azure OpenAI deployment is sold; each is priced on its own."""

    GLOBAL = "global"
    DATA_ZONE = "data-zone"
    REGIONAL = "regional"
    GLOBAL_BATCH = "global-batch"
    DATA_ZONE_BATCH = "data-zone-batch"

    def __str__(self) -> str:
        return self.value


_ORDER = {dtype: i for i, dtype in enumerate(DeploymentType)}


def deployment_type_order(dtype: DeploymentType) -> int:
    """Sort key: the order deployment types are declared in (global first)."""
    return _ORDER[dtype]


_NAMES: dict[str, DeploymentType] = {}
for _dtype, _names in {
    DeploymentType.GLOBAL: ("global", "globalstandard", "global-standard", "global_standard"),
    DeploymentType.DATA_ZONE: (
        "data-zone",
        "datazonestandard",
        "datazone",
        "data-zone-standard",
        "data_zone",
        "data_zone_standard",
    ),
    DeploymentType.REGIONAL: ("regional", "standard", "regional-standard", "regional_standard"),
    DeploymentType.GLOBAL_BATCH: ("global-batch", "globalbatch", "global_batch"),
    DeploymentType.DATA_ZONE_BATCH: ("data-zone-batch", "datazonebatch", "data_zone_batch"),
}.items():
    for _name in _names:
        _NAMES[_name] = _dtype

ACCEPTED_DEPLOYMENT_NAMES = (
    "global",
    "data-zone",
    "regional",
    "global-batch",
    "data-zone-batch",
    "GlobalStandard",
    "DataZoneStandard",
    "Standard",
    "GlobalBatch",
    "DataZoneBatch",
)


def parse_deployment_type(value: str | DeploymentType) -> DeploymentType:
    """Map a short name or an Azure SKU name (any case) to a :class:`DeploymentType`."""
    if isinstance(value, DeploymentType):
        return value
    if isinstance(value, str):
        found = _NAMES.get(value.strip().lower())
        if found is not None:
            return found
    raise UnknownDeploymentTypeError(value, ACCEPTED_DEPLOYMENT_NAMES)
