"""Shared fixtures: an isolated environment per test and the small test pricing table."""

from __future__ import annotations

from pathlib import Path

import pytest

import azcost

DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True)
def _isolated_env(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Point azcost's user data (ledger, spool) at a temp dir for every test."""
    home = tmp_path_factory.mktemp("azcost-home")
    monkeypatch.setenv("AZCOST_HOME", str(home))
    monkeypatch.delenv("AZCOST_LEDGER_URL", raising=False)


@pytest.fixture
def mini_path() -> Path:
    """Path of the small test pricing table."""
    return DATA / "mini.yaml"


@pytest.fixture
def mini(mini_path: Path) -> azcost.PricingTable:
    """The small test pricing table, loaded."""
    return azcost.load_pricing(mini_path)
