"""The README's example call on the offline fake model, shared by the callback tests."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from azcost.testing import FakeAzureChatModel

EXAMPLE = Decimal("0.000078")  # 31 + 8 tokens of gpt-35-turbo-0301 at 2.00 / 2.00 per 1M


def example_llm(**kw: Any) -> FakeAzureChatModel:
    """gpt-35-turbo 0301 answering with 31 input and 8 output tokens; ``kw`` overrides."""
    base: dict[str, Any] = {
        "deployment_name": "gpt-35-turbo",
        "model": "gpt-35-turbo",
        "model_version": "0301",
        "input_tokens": 31,
        "output_tokens": 8,
    }
    base.update(kw)
    return FakeAzureChatModel(**base)
