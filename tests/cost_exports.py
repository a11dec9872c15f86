"""Cost Management export files for tests, in the layouts Microsoft Learn documents.

Headers are the documented column lists: "Enterprise Agreement cost details file schema -
version 2021-10-01", "Microsoft Customer Agreement cost details file schema - version
2023-12-01" and "FOCUS cost and usage details file schema" (versions 1.0 and 1.2-preview).
Each usage is written as one row; the columns it does not set stay empty.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

EA_COLUMNS = """
CostInBillingCurrency AccountName AccountOwnerId ProductName ConsumedService
InvoiceSectionName SubscriptionId SubscriptionName Date MeterId MeterCategory
MeterSubCategory MeterRegion MeterName Quantity ResourceLocation ResourceId ServiceInfo1
ServiceInfo2 AdditionalInfo Tags CostCenter UnitOfMeasure ResourceGroup PartNumber OfferId
ChargeType EffectivePrice UnitPrice ReservationId ReservationName ResourceName
ProductOrderId ProductOrderName PlanName PublisherName PublisherType Term BillingAccountId
BillingAccountName BillingProfileName BillingProfileId BillingCurrencyCode ServiceFamily
Frequency IsAzureCreditEligible PayGPrice PricingModel BillingPeriodStartDate
BillingPeriodEndDate AvailabilityZone InvoiceSectionId CostAllocationRuleName benefitId
benefitName""".split()  # noqa: SIM905 - the documented list, as written

MCA_COLUMNS = """
invoiceId previousInvoiceId billingAccountId billingAccountName billingProfileId
billingProfileName invoiceSectionId invoiceSectionName resellerName resellerMpnId
costCenter billingPeriodEndDate billingPeriodStartDate servicePeriodEndDate
servicePeriodStartDate date serviceFamily productOrderId productOrderName consumedService
meterId meterName meterCategory meterSubCategory meterRegion ProductId ProductName
SubscriptionId subscriptionName publisherType publisherId publisherName resourceGroupName
ResourceId resourceLocation location effectivePrice quantity unitOfMeasure chargeType
billingCurrency pricingCurrency costInBillingCurrency costInPricingCurrency costInUsd
paygCostInBillingCurrency paygCostInUsd exchangeRatePricingToBilling exchangeRateDate
isAzureCreditEligible serviceInfo1 serviceInfo2 additionalInfo tags PayGPrice frequency
term reservationId reservationName pricingModel unitPrice costAllocationRuleName benefitId
benefitName provider""".split()  # noqa: SIM905 - the documented list, as written

FOCUS_10_COLUMNS = """
BilledCost BillingAccountId BillingAccountName BillingAccountType BillingCurrency
BillingPeriodEnd BillingPeriodStart ChargeCategory ChargeClass ChargeDescription
ChargeFrequency ChargePeriodEnd ChargePeriodStart CommitmentDiscountCategory
CommitmentDiscountId CommitmentDiscountName CommitmentDiscountStatus CommitmentDiscountType
ConsumedQuantity ConsumedUnit ContractedCost ContractedUnitPrice EffectiveCost
InvoiceIssuerName ListCost ListUnitPrice PricingCategory PricingQuantity PricingUnit
ProviderName PublisherName RegionId RegionName ResourceId ResourceName ResourceType
ServiceCategory ServiceName SkuId SkuPriceId SubAccountId SubAccountName SubAccountType
Tags x_AccountId x_AccountName x_AccountOwnerId x_BilledCostInUsd x_BilledUnitPrice
x_BillingAccountId x_BillingAccountName x_BillingExchangeRate x_BillingExchangeRateDate
x_BillingProfileId x_BillingProfileName x_ContractedCostInUsd x_CostAllocationRuleName
x_CostCenter x_CustomerId x_CustomerName x_EffectiveCostInUsd x_EffectiveUnitPrice
x_InvoiceId x_InvoiceIssuerId x_InvoiceSectionId x_InvoiceSectionName x_ListCostInUsd
x_PartnerCreditApplied x_PartnerCreditRate x_PricingBlockSize x_PricingCurrency
x_PricingSubcategory x_PricingUnitDescription x_PublisherCategory x_PublisherId
x_ResellerId x_ResellerName x_ResourceGroupName x_ResourceType x_ServicePeriodEnd
x_ServicePeriodStart x_SkuDescription x_SkuDetails x_SkuIsCreditEligible x_SkuMeterCategory
x_SkuMeterId x_SkuMeterName x_SkuMeterSubcategory x_SkuOfferId x_SkuOrderId x_SkuOrderName
x_SkuPartNumber x_SkuRegion x_SkuServiceFamily x_SkuTerm x_SkuTier""".split()  # noqa: SIM905 - the documented list, as written

FOCUS_12_COLUMNS = """
BilledCost BillingAccountId BillingAccountName BillingAccountType BillingCurrency
BillingPeriodEnd BillingPeriodStart CapacityReservationId CapacityReservationStatus
ChargeCategory ChargeClass ChargeDescription ChargeFrequency ChargePeriodEnd
ChargePeriodStart CommitmentDiscountCategory CommitmentDiscountId CommitmentDiscountName
CommitmentDiscountQuantity CommitmentDiscountStatus CommitmentDiscountType
CommitmentDiscountUnit ConsumedQuantity ConsumedUnit ContractedCost ContractedUnitPrice
EffectiveCost InvoiceId InvoiceIssuerName ListCost ListUnitPrice PricingCategory
PricingCurrency PricingQuantity PricingUnit ProviderName PublisherName RegionId RegionName
ResourceId ResourceName ResourceType ServiceCategory ServiceName ServiceSubcategory SkuId
SkuMeter SkuPriceDetails SkuPriceId SubAccountId SubAccountName SubAccountType Tags
x_AccountId x_AccountName x_AccountOwnerId x_AmortizationClass x_BilledCostInUsd
x_BilledUnitPrice x_BillingAccountId x_BillingAccountName x_BillingExchangeRate
x_BillingExchangeRateDate x_BillingProfileId x_BillingProfileName x_ContractedCostInUsd
x_CostAllocationRuleName x_CostCenter x_CustomerId x_CustomerName x_EffectiveCostInUsd
x_EffectiveUnitPrice x_InvoiceSectionId x_InvoiceSectionName x_ListCostInUsd
x_PartnerCreditApplied x_PartnerCreditRate x_PricingBlockSize x_PricingCurrency
x_PricingSubcategory x_PricingUnitDescription x_PublisherCategory x_PublisherId
x_ResellerId x_ResellerName x_ResourceGroupName x_ResourceType x_ServiceModel
x_ServicePeriodEnd x_ServicePeriodStart x_SkuDescription x_SkuDetails x_SkuIsCreditEligible
x_SkuMeterCategory x_SkuMeterId x_SkuMeterName x_SkuMeterSubcategory x_SkuOfferId
x_SkuOrderId x_SkuOrderName x_SkuPlanName x_SkuPartNumber x_SkuRegion x_SkuServiceFamily
x_SkuTier""".split()  # noqa: SIM905 - the documented list, as written

SUB = "/subscriptions/00000000-0000-0000-0000-000000000001"
OPENAI_ID = f"{SUB}/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/{{}}"
STORAGE_ID = f"{SUB}/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts/{{}}"


@dataclass(frozen=True)
class Usage:
    """One billed row: a meter's quantity and cost on a UTC day."""

    day: dt.date
    meter: str
    quantity: str  # in units of ``unit``, as the file writes it
    cost: str
    unit: str = "1K"
    resource: str = "contoso-eu"
    currency: str = "USD"
    category: str = "Cognitive Services"
    subcategory: str = "Azure OpenAI"

    @property
    def resource_id(self) -> str:
        template = OPENAI_ID if self.category == "Cognitive Services" else STORAGE_ID
        return template.format(self.resource)


def tokens(meter: str, n: int, per_1k: str, day: dt.date, **kw: str) -> Usage:
    """A token meter's row: ``n`` tokens at ``per_1k`` per 1K, cost exact."""
    qty = Decimal(n) / 1000
    return Usage(day, meter, format(qty, "f"), format(qty * Decimal(per_1k), "f"), **kw)


def _common(u: Usage) -> dict[str, str]:
    product = "Azure OpenAI" if u.category == "Cognitive Services" else u.subcategory
    return {"ResourceId": u.resource_id, "ProductName": f"{product} - {u.meter}"}


def ea_row(u: Usage) -> dict[str, str]:
    """An EA (or pay-as-you-go) cost details row."""
    return {
        **_common(u),
        "Date": u.day.strftime("%m/%d/%Y"),
        "MeterCategory": u.category,
        "MeterSubCategory": u.subcategory,
        "MeterName": u.meter,
        "MeterRegion": "East US",
        "Quantity": u.quantity,
        "UnitOfMeasure": u.unit,
        "CostInBillingCurrency": u.cost,
        "BillingCurrencyCode": u.currency,
        "ConsumedService": "Microsoft.CognitiveServices",
        "ResourceName": u.resource,
        "ChargeType": "Usage",
        "PricingModel": "OnDemand",
        "Tags": '{"team": "search", "note": "a, quoted \\"value\\""}',
    }


def mca_row(u: Usage, *, iso: bool = True) -> dict[str, str]:
    """An MCA cost details row (camelCase columns)."""
    return {
        **_common(u),
        "date": u.day.isoformat() if iso else u.day.strftime("%m/%d/%Y"),
        "meterCategory": u.category,
        "meterSubCategory": u.subcategory,
        "meterName": u.meter,
        "quantity": u.quantity,
        "unitOfMeasure": u.unit,
        "costInBillingCurrency": u.cost,
        "billingCurrency": u.currency,
        "chargeType": "Usage",
    }


def focus_row(u: Usage, *, version: str = "1.0") -> dict[str, str]:
    """A FOCUS row; 1.0 writes minutes, 1.0r2 and 1.2 seconds; 1.2 names the meter SkuMeter."""
    seconds = ":00" if version != "1.0" else ""
    start = f"{u.day.isoformat()}T00:00{seconds}Z"
    end = f"{(u.day + dt.timedelta(days=1)).isoformat()}T00:00{seconds}Z"
    block = {"1K": "1000", "1M": "1000000"}.get(u.unit, "1")
    row = {
        "ResourceId": u.resource_id,
        "ChargePeriodStart": start,
        "ChargePeriodEnd": end,
        "BilledCost": u.cost,
        "EffectiveCost": u.cost,
        "BillingCurrency": u.currency,
        "ChargeCategory": "Usage",
        "PricingQuantity": u.quantity,
        "PricingUnit": f"{u.unit} Tokens" if block != "1" else u.unit,
        "x_PricingUnitDescription": f"{u.unit} Tokens" if block != "1" else u.unit,
        "x_PricingBlockSize": block,
        "ConsumedQuantity": format(Decimal(u.quantity) * int(block), "f"),
        "ConsumedUnit": "Tokens" if block != "1" else u.unit,
        "ServiceName": "Azure OpenAI Service" if u.category == "Cognitive Services" else "Storage",
        "x_SkuMeterCategory": u.category,
        "x_SkuMeterSubcategory": u.subcategory,
        "x_SkuMeterName": u.meter,
        "RegionId": "eastus",
    }
    if version == "1.2":
        row["SkuMeter"] = u.meter
    return row


def write_export(
    path: Path, columns: Sequence[str], rows: Sequence[dict[str, str]], *, gz: bool = False
) -> Path:
    """Write the rows under the documented header (CRLF, as Cost Management writes CSV)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), restval="", lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        assert set(row) <= set(columns), set(row) - set(columns)
        writer.writerow(row)
    data = ("\ufeff" + buf.getvalue()).encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def ea(path: Path, usages: Sequence[Usage], *, gz: bool = False) -> Path:
    """An EA cost details file."""
    return write_export(path, EA_COLUMNS, [ea_row(u) for u in usages], gz=gz)


def mca(path: Path, usages: Sequence[Usage], *, iso: bool = True) -> Path:
    """An MCA cost details file."""
    return write_export(path, MCA_COLUMNS, [mca_row(u, iso=iso) for u in usages])


def focus(path: Path, usages: Sequence[Usage], *, version: str = "1.0") -> Path:
    """A FOCUS 1.0 / 1.0r2 / 1.2 file."""
    columns = FOCUS_12_COLUMNS if version == "1.2" else FOCUS_10_COLUMNS
    return write_export(path, columns, [focus_row(u, version=version) for u in usages])


IN, CACHED, OUT = (
    "gpt-4o-0806-Inp-glbl Tokens",
    "gpt 4o 0806 cached Inp glbl Tokens",
    "gpt-4o-0806-Outp-glbl Tokens",
)
# list prices per 1K of gpt-4o-2024-08-06 Global (the shipped table, Azure retail 2026-08)
RATE = {IN: "0.0025", CACHED: "0.00125", OUT: "0.01"}


def gpt4o_day(day: dt.date, calls: int, *, scale: int = 1, price: str = "1") -> list[Usage]:
    """What Azure bills for ``calls`` of 600 uncached + 400 cached in, 100 out (x scale)."""
    n = {IN: 600, CACHED: 400, OUT: 100}
    return [
        tokens(m, n[m] * calls * scale, format(Decimal(RATE[m]) * Decimal(price), "f"), day)
        for m in (IN, CACHED, OUT)
    ]
