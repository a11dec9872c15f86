"""Pricing one request: an identified model version and a usage -> its exact cost, or why not."""

from __future__ import annotations

from ..errors import AzcostError, InvalidUsageError, NoPriceError
from ..pricing._table import Cost, PricingTable
from ..pricing._tiers import STANDARD_NAMES
from ._identity import Identity
from ._usage import Usage

__all__ = ["price"]


def price(
    table: PricingTable, ident: Identity, usage: Usage
) -> tuple[Cost | None, AzcostError | None]:
    """The exact cost of one prompt's usage, or why there is none."""
    if not usage.known:  # unpriceable whatever the model: the reason that matters
        name = usage.reported_model or ident.deployment or ident.model
        where = f"model {name!r}: " if name else ""
        return None, InvalidUsageError(f"{where}{usage.missing}")
    if ident.error is not None:
        return None, ident.error
    tier = usage.service_tier
    details = usage.details
    try:
        if details or (tier is not None and tier not in STANDARD_NAMES):
            # a tier other than the standard one is priced at its own rates, or not at all
            cost = table.cost(
                ident.model,  # type: ignore[arg-type]  # set whenever error is None
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                reasoning_tokens=usage.reasoning_tokens,
                deployment_type=ident.deployment_type,
                region=ident.region,
                service_tier=tier,
                **details,  # type: ignore[arg-type]  # token fields of kinds only
            )
        else:  # the usual call: standard tier, text tokens, no **details unpacking
            cost = table.cost(
                ident.model,  # type: ignore[arg-type]  # set whenever error is None
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                reasoning_tokens=usage.reasoning_tokens,
                deployment_type=ident.deployment_type,
                region=ident.region,
            )
    except (NoPriceError, InvalidUsageError) as exc:
        return None, exc
    return cost, None
