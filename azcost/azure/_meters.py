"""Reading Azure Retail Prices API meter names: model, version hint, token kind, deployment type.

Azure's meter names are written for billing, not for people, and they were
spelled differently in each model generation::

    gpt-4o-0806-Inp-glbl Tokens              gpt-4o, 0806, input, global
    gpt 4o 0806 Inp Data Zone Tokens         gpt-4o, 0806, input, data-zone
    gpt 4o mini0718 BatchOutp DataZone       gpt-4o-mini, 0718, output, data-zone-batch
    gpt 4.1 Inp regnl                        gpt-4.1, no version, input, regional
    gpt 4o 1120 cached Inp Data Zone         gpt-4o, 1120, cached input, data-zone
    5.4 mini Batch cd Inp Gl 1M              gpt-5.4-mini, no version, cached input, global-batch
    gpt-35-turbo-16K-0125 Input-regional     gpt-35-turbo, 0125 (16K context), input, regional
    Az-GPT-3.5-turbo Tokens                  gpt-35-turbo, no version, one flat rate, regional
    5 pp cd inp Dz 1M Tokens                 gpt-5, no version, cached input, data-zone, priority

The name is split into words (spaces, hyphens, glued camel case and ``mini0718``
alike), each word is classified against Azure's spellings kept as data in
``meter_words.json`` beside this module, and the words left over name the model.
A meter that is not a per-token price of a base model (fine-tuning, provisioned
throughput, speech, tool calls, context bands, cache writes) raises
:class:`MeterSkipped` with the reason: nothing is guessed. A service-tier word
(``pp``: priority processing) marks the tier the price is for.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

from ..pricing._deployment_types import DeploymentType
from ..pricing._tiers import TIER_NAMES

__all__ = ["Meter", "MeterSkipped", "TokenKind", "parse_meter"]

TokenKind = Literal[
    "input",
    "cached_input",
    "output",
    "audio_input",
    "audio_output",
    "cached_audio_input",
    "image_input",
    "cached_image_input",
    "image_output",
    "flat",
]
"""A kind name of :data:`azcost.pricing.KINDS`, or ``flat`` (one rate for input and output)."""


class MeterSkipped(Exception):
    """A meter that is not a base model's token price, or cannot be read; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class Meter:
    """What a meter name says about the price it carries."""

    family: str
    """Model name without version, azcost spelling (``gpt-4o-mini``, ``gpt-35-turbo``)."""
    version_hint: str | None
    """Version as the meter spells it (``0806``, ``1106-preview``), or None when it names none."""
    context: str | None
    """Context size the meter names instead of a version (``4k``, ``16k``, ``128k``)."""
    kind: TokenKind
    """Which tokens the price is for; ``flat`` is one rate for input and output alike."""
    deployment_type: DeploymentType
    """Deployment type the price applies to."""
    service_tier: str | None = None
    """Service tier the meter prices (``priority``: Azure's ``pp`` meters), None for standard."""


def _load_words() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("meter_words.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


_WORDS = _load_words()
_DEPLOYMENT: dict[str, str] = {
    word: dtype for dtype, words in _WORDS["deployment_types"].items() for word in words
}
_TOKEN_WORD: dict[str, str] = {
    word: role for role, words in _WORDS["token_words"].items() for word in words
}
_TIER_WORD: dict[str, str] = {
    word: tier for tier, words in _WORDS["service_tiers"].items() for word in words
}
if not set(_TIER_WORD.values()) <= set(TIER_NAMES):  # pragma: no cover - a data error
    raise RuntimeError(f"meter_words.json names a tier not in {TIER_NAMES}")
_NOISE: frozenset[str] = frozenset(_WORDS["noise"])
_ALIASES: dict[str, str] = _WORDS["word_aliases"]
_JOINED: frozenset[str] = frozenset(_WORDS["joined_pairs"])
_VERSION_SUFFIXES: frozenset[str] = frozenset(_WORDS["version_suffixes"])
# word -> why a meter containing it is not a token price azcost models
_NOT_TOKEN_PRICE: dict[str, str] = {
    word: group["reason"] for group in _WORDS["not_token_price"] for word in group["words"]
}
_FAMILY_FIXUPS: dict[str, str] = _WORDS["families"]
_GPT_MODEL_WORDS: dict[str, str] = _WORDS["gpt_model_words"]
_AUDIO_IS_MODALITY_IN: frozenset[str] = frozenset(_WORDS["audio_is_modality_in"])
# meters that name neither version nor context size, but a model sold in one context size
_IMPLIED_CONTEXT: dict[str, str] = _WORDS["implied_context"]

_GLUED_DIGITS = re.compile(r"(?i)([a-z]{3,})(?=\d)")  # mini0718, trb16K, GPT35 -> split
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")  # BatchOutp, DataZone -> split
_SPLIT = re.compile(r"[\s\-_/,()]+")
_MMDD = re.compile(r"(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])\Z")
_CONTEXT = re.compile(r"(\d+)k\Z")


def _words(meter_name: str) -> list[str]:
    text = _CAMEL.sub(" ", meter_name.strip())
    text = _GLUED_DIGITS.sub(r"\1 ", text)
    words = [w for w in _SPLIT.split(text.lower()) if w]
    out: list[str] = []
    i = 0
    while i < len(words):
        pair = " ".join(words[i : i + 2])
        if pair in _JOINED:
            out.append(pair.replace(" ", ""))
            i += 2
            continue
        out.append(_ALIASES.get(words[i], words[i]))
        i += 1
    return out


def _date_version(words: list[str], i: int) -> str | None:
    """``2024 04 09`` at ``i`` -> ``2024-04-09``."""
    part = words[i : i + 3]
    if (
        len(part) == 3
        and re.fullmatch(r"20\d\d", part[0])
        and re.fullmatch(r"\d\d", part[1])
        and re.fullmatch(r"\d\d", part[2])
    ):
        return "-".join(part)
    return None


@dataclass
class _Read:
    """What the words of one meter name said, before it is checked and turned into a Meter."""

    roles: set[str]
    deployment: str | None = None
    tier: str | None = None
    version: str | None = None
    context: str | None = None
    model: list[str] | None = None


def _read_words(words: list[str]) -> _Read:
    read = _Read(roles=set(), model=[])
    model: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        role = _TOKEN_WORD.get(word)
        if model == ["gpt"] and word in _GPT_MODEL_WORDS:
            model.append(_GPT_MODEL_WORDS[word])  # gpt-image-1, "gpt img 1.5"
        elif word in _DEPLOYMENT:
            if read.deployment is not None and read.deployment != _DEPLOYMENT[word]:
                other = _DEPLOYMENT[word]
                raise MeterSkipped(f"names two deployment types ({read.deployment}, {other})")
            read.deployment = _DEPLOYMENT[word]
        elif word in _TIER_WORD:
            read.tier = _TIER_WORD[word]
        elif role is not None and (role not in ("text", "image") or model):
            read.roles.add(role)
        elif word in _NOISE:
            continue
        elif _CONTEXT.match(word):
            read.context = word
        elif _MMDD.match(word) and len(word) == 4 and model:
            if read.version is not None:
                raise MeterSkipped(f"names two versions ({read.version}, {word})")
            read.version = word
            if i < len(words) and words[i] in _VERSION_SUFFIXES:
                read.version += "-preview"
                i += 1
        elif (dated := _date_version(words, i - 1)) is not None and model:
            read.version = dated
            i += 2
        else:
            model.append(word)
    read.model = model
    return read


def _kind(roles: set[str]) -> TokenKind:
    if "input" in roles and "output" in roles:
        raise MeterSkipped("names both input and output")
    if "cached" in roles and "output" in roles:
        raise MeterSkipped("names cached output, which Azure does not sell")
    modality = "text"
    if "text" not in roles:
        modality = "audio" if "audio" in roles else "image" if "image" in roles else "text"
    if modality != "text":
        if not roles & {"input", "output"}:
            raise MeterSkipped(f"{modality} meter naming neither input nor output")
        cached = "cached_" if "cached" in roles else ""
        direction = "output" if "output" in roles else "input"
        return f"{cached}{modality}_{direction}"  # type: ignore[return-value]  # a TokenKind
    for role, kind in (("cached", "cached_input"), ("output", "output"), ("input", "input")):
        if role in roles:
            return kind  # type: ignore[return-value]  # the literals above are TokenKinds
    return "flat"


def _deployment_type(deployment: str | None, batch: bool) -> DeploymentType:
    if deployment is None:
        if batch:
            raise MeterSkipped("batch meter naming no deployment type")
        deployment = "regional"  # the pre-2024 meters carry no deployment word: regional
    if batch:
        batched = {"global": "global-batch", "data-zone": "data-zone-batch"}.get(deployment)
        if batched is None:
            raise MeterSkipped("regional batch, a deployment type Azure does not sell")
        deployment = batched
    return DeploymentType(deployment)


def parse_meter(meter_name: str) -> Meter:
    """Read one meter name; raise :class:`MeterSkipped` when it is not a token price of a model."""
    words = _words(meter_name)
    if not words:
        raise MeterSkipped("empty meter name")
    for word in words:
        reason = _NOT_TOKEN_PRICE.get(word)
        if reason is not None:
            raise MeterSkipped(reason)
    read = _read_words(words)
    model = read.model or []
    kind = _kind(read.roles)
    family = _family(model, "audio" in read.roles)
    if not family:
        raise MeterSkipped("names no model")
    context = read.context or _IMPLIED_CONTEXT.get("-".join(model))
    dtype = _deployment_type(read.deployment, "batch" in read.roles)
    if read.tier is not None and kind == "flat":
        raise MeterSkipped(f"{read.tier} tier meter naming neither input nor output")
    return Meter(family, read.version, context, kind, dtype, read.tier)


def _family(model: list[str], audio: bool) -> str:
    if not model:
        return ""
    if re.match(r"\d", model[0]):  # "4.1", "5.4 mini": GPT models written without "gpt"
        model = ["gpt", *model]
    name = "-".join(model)
    if audio and "audio" not in model and not _AUDIO_IS_MODALITY_IN & set(model):
        name += "-audio"
    return _FAMILY_FIXUPS.get(name, name)
