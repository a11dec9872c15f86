"""The token kinds azcost prices: one table the schema, costs, diff, CLI and ledger derive from.

Each kind names its rate field in pricing files (``*_per_mtok``), its token field in
``PricingTable.cost()`` and ledger records (``*_tokens``), its cost field (``*_cost``)
and a short label. Two kinds are the totals a client reports: ``input`` counts every
prompt token and ``output`` every completion token; every other kind is a disjoint part
of one of them, and the total's own rate applies to what the parts leave over (plain
text). A new kind is one line here, plus a ledger migration for its columns.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

__all__ = [
    "BASE_KINDS",
    "COST_FIELDS",
    "DETAIL_KINDS",
    "KINDS",
    "KIND_OF_TOKEN_FIELD",
    "RATE_FIELDS",
    "TOKEN_FIELDS",
    "TokenKind",
]


class TokenKind(NamedTuple):
    """One kind of token Azure prices separately."""

    name: str
    """Identifier: ``audio_input``."""
    label: str
    """Short label for CLI and summary output."""
    side: Literal["input", "output"]
    """The total this kind is part of (or is, for ``input`` and ``output``)."""
    rate_doc: str
    """What the rate field prices, for the schema's field documentation."""
    details: tuple[str, ...] = ()
    """Token counts recorded with this kind but not priced separately (reasoning)."""

    @property
    def rate_field(self) -> str:
        """Field of a price period: USD (the file's currency) per 1M tokens of this kind."""
        return f"{self.name}_per_mtok"

    @property
    def token_field(self) -> str:
        """Token count field of ``PricingTable.cost()``, ``Cost`` and ledger records."""
        return f"{self.name}_tokens"

    @property
    def cost_field(self) -> str:
        """Cost field of ``Cost`` and ledger records: the amount billed for this kind."""
        return f"{self.name}_cost"

    @property
    def is_total(self) -> bool:
        """True for ``input`` and ``output``, whose token field counts every token of its side."""
        return self.name == self.side


KINDS: tuple[TokenKind, ...] = (
    TokenKind(
        "input",
        "input",
        "input",
        "Price per 1M text input (prompt) tokens not read from the cache.",
    ),
    TokenKind(
        "cached_input",
        "cached input",
        "input",
        "Price per 1M text input tokens read from the prompt cache.",
    ),
    TokenKind(
        "output",
        "output",
        "output",
        "Price per 1M text output tokens, reasoning tokens included; absent for embeddings.",
        details=("reasoning_tokens",),
    ),
    TokenKind(
        "audio_input",
        "audio input",
        "input",
        "Price per 1M audio input tokens not read from the cache.",
    ),
    TokenKind(
        "audio_output",
        "audio output",
        "output",
        "Price per 1M audio output tokens.",
    ),
    TokenKind(
        "cached_audio_input",
        "cached audio input",
        "input",
        "Price per 1M audio input tokens read from the prompt cache.",
    ),
    TokenKind(
        "image_input",
        "image input",
        "input",
        "Price per 1M image input tokens not read from the cache.",
    ),
    TokenKind(
        "cached_image_input",
        "cached image input",
        "input",
        "Price per 1M image input tokens read from the prompt cache.",
    ),
    TokenKind(
        "image_output",
        "image output",
        "output",
        "Price per 1M image output tokens.",
    ),
)
"""Every priced token kind, in file and ledger order."""

BASE_KINDS: tuple[TokenKind, ...] = tuple(k for k in KINDS if k.is_total)
"""``input`` and ``output``: the totals."""

DETAIL_KINDS: tuple[TokenKind, ...] = tuple(k for k in KINDS if not k.is_total)
"""The kinds that are a part of a total (cached, audio, image)."""

RATE_FIELDS: tuple[str, ...] = tuple(k.rate_field for k in KINDS)
"""Rate fields of a price period, in file order."""

TOKEN_FIELDS: tuple[str, ...] = tuple(f for k in KINDS for f in (k.token_field, *k.details))
"""Token count fields of a ledger record, in column order (reasoning after output)."""

COST_FIELDS: tuple[str, ...] = (*(k.cost_field for k in KINDS), "total_cost")
"""Cost fields of a ledger record, in column order."""

KIND_OF_TOKEN_FIELD: dict[str, TokenKind] = {k.token_field: k for k in DETAIL_KINDS}
"""Detail kinds by their token field (``cached_input_tokens`` -> cached input)."""
