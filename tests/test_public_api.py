"""The public API: what users import resolves, and every error is importable from azcost."""

from __future__ import annotations

import importlib
import inspect

import pytest

import azcost
import azcost.errors

PUBLIC_MODULES = (
    "azcost",
    "azcost.pricing",
    "azcost.ledger",
    "azcost.callback",
    "azcost.azure",
    "azcost.invoice",
    "azcost.testing",
    "azcost.chat",
    "azcost.embeddings",
    "azcost.errors",
    "azcost.inputs",
)


def test_every_error_is_exported_from_azcost() -> None:
    missing = sorted(set(azcost.errors.__all__) - set(azcost.__all__))
    assert missing == []
    for name in azcost.errors.__all__:
        assert getattr(azcost, name) is getattr(azcost.errors, name)


def test_every_error_derives_from_azcost_error_or_is_a_warning() -> None:
    for name in azcost.errors.__all__:
        value = getattr(azcost.errors, name)
        if isinstance(value, type):
            assert issubclass(value, (azcost.errors.AzcostError, Warning)), name


@pytest.mark.parametrize("module", PUBLIC_MODULES)
def test_every_name_in_all_resolves_to_a_documented_public_object(module: str) -> None:
    mod = importlib.import_module(module)
    names: list[str] = list(mod.__all__)
    assert names == sorted(set(names), key=names.index), "a name listed twice"
    for name in names:
        assert not name.startswith("_") or name == "__version__", name
        value = getattr(mod, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert (getattr(value, "__doc__", None) or "").strip(), f"{module}.{name}: no docstring"
