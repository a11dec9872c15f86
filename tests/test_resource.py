"""The Azure resource a call went to: from the deployments map or the client's endpoint."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import pytest
from fakes import example_llm
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, LLMResult

import azcost
from azcost import CostCallbackHandler
from azcost.callback import resource_of_endpoint
from azcost.ledger import MIGRATIONS, Ledger, create_ledger_engine, migrate


@pytest.mark.parametrize(
    ("endpoint", "resource"),
    [
        ("https://contoso-eu.openai.azure.com/", "contoso-eu"),
        ("https://Contoso-EU.openai.azure.com", "contoso-eu"),
        ("https://contoso.cognitiveservices.azure.com/", "contoso"),
        ("https://contoso.services.ai.azure.com/models", "contoso"),
        ("http://127.0.0.1:8080", None),
        ("https://a.b.openai.azure.com/", None),
        ("https://openai.azure.com/", None),
        ("not a url", None),
        (None, None),
    ],
)
def test_resource_is_the_account_name_of_an_azure_openai_endpoint(
    endpoint: str | None, resource: str | None
) -> None:
    assert resource_of_endpoint(endpoint) == resource


def _stored_resources(url: str) -> list[str | None]:
    with Ledger(url) as ledger:
        return [rec.resource for rec in ledger.iter_records()]


def test_deployments_map_resource_is_recorded(mini: azcost.PricingTable, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'spend.db'}"
    deployments = {"chat": {"model": "gpt-35-turbo", "model_version": "0301", "resource": "ct-eu"}}
    with CostCallbackHandler(mini, deployments=deployments, ledger=url) as handler:
        example_llm(deployment_name="chat").invoke("x", config={"callbacks": [handler]})
    assert _stored_resources(url) == ["ct-eu"]


def test_client_endpoint_names_the_resource_when_the_map_does_not(
    mini: azcost.PricingTable, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'spend.db'}"
    run_id = uuid.uuid4()
    # what AzureChatOpenAI(azure_endpoint=...) hands a callback when a call starts and ends
    serialized = {
        "kwargs": {
            "deployment_name": "gpt-35-turbo",
            "model_version": "0301",
            "azure_endpoint": "https://contoso-eu.openai.azure.com/",
        }
    }
    message = AIMessage(
        "hi",
        usage_metadata={"input_tokens": 31, "output_tokens": 8, "total_tokens": 39},
        response_metadata={"model_name": "gpt-35-turbo"},
    )
    with CostCallbackHandler(mini, ledger=url) as handler:
        handler.on_chat_model_start(serialized, [[]], run_id=run_id)
        handler.on_llm_end(
            LLMResult(generations=[[ChatGeneration(message=message)]]), run_id=run_id
        )
    assert _stored_resources(url) == ["contoso-eu"]


def test_ledger_before_m008_gains_an_empty_resource_column(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    engine = create_ledger_engine(f"sqlite:///{path}")
    names = [name for name, _ in MIGRATIONS]
    migrate(engine, upto=names.index("m008_resource"))
    engine.dispose()
    con = sqlite3.connect(path)
    con.execute(
        "INSERT INTO azcost_calls (run_id, ts, day, input_tokens, cached_input_tokens, "
        "output_tokens, reasoning_tokens, audio_input_tokens, audio_output_tokens, currency, "
        "priced, usage_known, tags, run_metadata) "
        "VALUES ('r1', '2026-11-02T00:00:00+00:00', '2026-11-02', 1, 0, 1, 0, 0, 0, 'USD', 0, 1, "
        "'[]', '{}')"
    )
    con.commit()
    con.close()
    assert _stored_resources(f"sqlite:///{path}") == [None]
