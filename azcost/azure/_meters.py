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

The name is split into words (spaces, hyphens, glued camel case and ``mini0718``
alike), each word is classified against small vocabularies, and the words left
over name the model. A meter that is not a per-token price of a base model
(fine-tuning, provisioned throughput, images, speech, tool calls, realtime
audio, context bands, cache writes) raises :class:`MeterSkipped` with the reason:
nothing is guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ..pricing._deployment_types import DeploymentType

__all__ = ["Meter", "MeterSkipped", "TokenKind", "parse_meter"]

TokenKind = Literal["input", "cached_input", "output", "audio_input", "audio_output", "flat"]


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


_DEPLOYMENT = {
    "glbl": "global",
    "global": "global",
    "gl": "global",
    "glb": "global",
    "dz": "data-zone",
    "dzone": "data-zone",
    "datazone": "data-zone",
    "regnl": "regional",
    "rgnl": "regional",
    "regional": "regional",
    "rg": "regional",
    "regnal": "regional",
}
_INPUT = {"inp", "inpt", "input", "in", "prompt"}
_OUTPUT = {"outp", "outpt", "out", "output", "opt", "completion"}
_CACHED = {"cached", "cchd", "cd", "cach", "cache"}
_AUDIO = {"aud", "audio"}
_TEXT = {"txt", "text"}
_NOISE = {"tokens", "token", "1m", "1k", "std", "standard", "az"}

# word -> why a meter containing it is not a base model's token price
_NOT_TOKEN_PRICE: dict[str, str] = {}
for _markers, _reason in (
    (
        (
            "ft",
            "ftuned",
            "fine",
            "tuned",
            "finetune",
            "finetuned",
            "trng",
            "training",
            "hosting",
            "hstng",
            "grader",
            "rft",
            "developer",
            "dev",
        ),
        "fine-tuning (training, hosting or fine-tuned inference), not a base model's token price",
    ),
    (("provisioned", "ptu", "ptus", "reservation"), "provisioned throughput, billed per unit-hour"),
    (("pp", "priority"), "priority processing tier, not priced by azcost"),
    (("flex",), "flex processing tier, not priced by azcost"),
    (("dall", "dalle", "image", "images", "img"), "image generation, not priced per token"),
    (
        ("whisper", "speech", "tts", "transcribe", "transcription", "trscb", "transc", "hd"),
        "speech (transcription or text to speech), not a chat token price",
    ),
    (
        (
            "assistants",
            "interpreter",
            "session",
            "sessions",
            "search",
            "file",
            "vector",
            "tool",
            "tools",
            "browser",
            "container",
        ),
        "tool call or tool storage, not a token price",
    ),
    (("realtime", "rt", "realtimeprvw"), "realtime audio, not priced by azcost"),
    (("sora", "video"), "video generation, not priced per token"),
    (("research", "computer"), "deep research or computer use, priced per call as well"),
    (("shortco", "longco", "shco", "loco"), "short/long context band pricing, not modelled"),
    (("wr", "write"), "cache write, not modelled by azcost"),
):
    for _word in _markers:
        _NOT_TOKEN_PRICE[_word] = _reason

_FAMILY_FIXUPS = {
    "gpt-3.5-turbo": "gpt-35-turbo",
    "gpt-35-trb": "gpt-35-turbo",
    "gpt-35-turbo": "gpt-35-turbo",
    "gpt-3.5-turbo-instruct": "gpt-35-turbo-instruct",
    "embeddings-ada": "text-embedding-ada-002",
    "embedding-ada": "text-embedding-ada-002",
    "text-embedding-ada": "text-embedding-ada-002",
    "ada": "text-embedding-ada-002",
    "embeddings-ada-002": "text-embedding-ada-002",
    "gpt-4-turbo": "gpt-4",  # the GPT-4 Turbo versions are versions of base gpt-4
}
# meters that name neither version nor context size, but a model sold in one context size
_IMPLIED_CONTEXT = {
    "gpt-4-turbo": "128k",
    "gpt-3.5-turbo": "4k",  # Az-GPT-3.5-turbo: the original 4K ChatGPT meter, one flat rate
}

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
        if pair in ("data zone", "short co", "long co"):
            out.append(pair.replace(" ", ""))
            i += 2
            continue
        out.append(words[i])
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


def parse_meter(meter_name: str) -> Meter:
    """Read one meter name; raise :class:`MeterSkipped` when it is not a token price of a model."""
    words = _words(meter_name)
    if not words:
        raise MeterSkipped("empty meter name")
    for word in words:
        reason = _NOT_TOKEN_PRICE.get(word)
        if reason is not None:
            raise MeterSkipped(reason)
    deployment: str | None = None
    batch = input_ = output = cached = audio = text = False
    version: str | None = None
    context: str | None = None
    model: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if word in _DEPLOYMENT:
            if deployment is not None and deployment != _DEPLOYMENT[word]:
                other = _DEPLOYMENT[word]
                raise MeterSkipped(f"names two deployment types ({deployment}, {other})")
            deployment = _DEPLOYMENT[word]
        elif word == "batch":
            batch = True
        elif word in _INPUT:
            input_ = True
        elif word in _OUTPUT:
            output = True
        elif word in _CACHED:
            cached = True
        elif word in _AUDIO:
            audio = True
        elif word in _TEXT and model:
            text = True
        elif word in _NOISE:
            continue
        elif _CONTEXT.match(word):
            context = word
        elif _MMDD.match(word) and len(word) == 4 and model:
            if version is not None:
                raise MeterSkipped(f"names two versions ({version}, {word})")
            version = word
            if i < len(words) and words[i] in ("preview", "prvw"):
                version += "-preview"
                i += 1
        elif (dated := _date_version(words, i - 1)) is not None and model:
            version = dated
            i += 2
        else:
            model.append(word)
    if input_ and output:
        raise MeterSkipped("names both input and output")
    if cached and output:
        raise MeterSkipped("names cached output, which Azure does not sell")
    kind: TokenKind
    if audio and not text:
        if cached:
            raise MeterSkipped("cached audio input, not modelled by azcost")
        if not (input_ or output):
            raise MeterSkipped("audio meter naming neither input nor output")
        kind = "audio_output" if output else "audio_input"
    elif cached:
        kind = "cached_input"
    elif output:
        kind = "output"
    elif input_:
        kind = "input"
    else:
        kind = "flat"
    family = _family(model, audio)
    if not family:
        raise MeterSkipped("names no model")
    context = context or _IMPLIED_CONTEXT.get("-".join(model))
    if deployment is None:
        if batch:
            raise MeterSkipped("batch meter naming no deployment type")
        deployment = "regional"  # the pre-2024 meters carry no deployment word: regional
    if batch:
        deployment = {"global": "global-batch", "data-zone": "data-zone-batch"}.get(deployment)
        if deployment is None:
            raise MeterSkipped("regional batch, a deployment type Azure does not sell")
    return Meter(family, version, context, kind, DeploymentType(deployment))


def _family(model: list[str], audio: bool) -> str:
    if not model:
        return ""
    if re.match(r"\d", model[0]):  # "4.1", "5.4 mini": GPT models written without "gpt"
        model = ["gpt", *model]
    name = "-".join(model)
    if audio and "audio" not in model:
        name += "-audio"
    return _FAMILY_FIXUPS.get(name, name)
