"""Reading Azure Retail Prices API meter names."""

from __future__ import annotations

import pytest
from retail_dump import dump_rows, is_token_row

from azcost.azure import Meter, MeterSkipped, parse_meter
from azcost.pricing import DeploymentType

G, DZ, R = DeploymentType.GLOBAL, DeploymentType.DATA_ZONE, DeploymentType.REGIONAL
GB, DZB = DeploymentType.GLOBAL_BATCH, DeploymentType.DATA_ZONE_BATCH


@pytest.mark.parametrize(
    ("meter", "expected"),
    [
        ("gpt-4o-0806-Inp-glbl", Meter("gpt-4o", "0806", None, "input", G)),
        ("gpt-4o-0806-Inp-glbl Tokens", Meter("gpt-4o", "0806", None, "input", G)),
        ("gpt 4o 0806 Inp Data Zone", Meter("gpt-4o", "0806", None, "input", DZ)),
        ("gpt 4o mini0718 BatchOutp DataZone", Meter("gpt-4o-mini", "0718", None, "output", DZB)),
        (
            "gpt 4o mini 0718 Batch Inp Data Zone Tokens",
            Meter("gpt-4o-mini", "0718", None, "input", DZB),
        ),
        ("gpt 4.1 Inp regnl", Meter("gpt-4.1", None, None, "input", R)),
        ("gpt 4o 1120 cached Inp Data Zone", Meter("gpt-4o", "1120", None, "cached_input", DZ)),
        ("5.4 mini Batch cd Inp Gl 1M", Meter("gpt-5.4-mini", None, None, "cached_input", GB)),
        ("5.4 mini Batch Opt Gl 1M Tokens", Meter("gpt-5.4-mini", None, None, "output", GB)),
        (
            "5 pp cd inp Dz 1M Tokens",
            Meter("gpt-5", None, None, "cached_input", DZ, service_tier="priority"),
        ),
        (
            "4.1 mini pp Opt Gl Tokens",
            Meter("gpt-4.1-mini", None, None, "output", G, service_tier="priority"),
        ),
        ("gpt-35-turbo-16K-0125 Input-regional", Meter("gpt-35-turbo", "0125", "16k", "input", R)),
        ("gpt-35-turbo-4k-Input-regional", Meter("gpt-35-turbo", None, "4k", "input", R)),
        ("gpt-35-trb16K-Batch-Inp-glbl", Meter("gpt-35-turbo", None, "16k", "input", GB)),
        ("Az-GPT-3.5-turbo", Meter("gpt-35-turbo", None, "4k", "flat", R)),
        (
            "Az-GPT35-Turbo-16K-1106 Output Tokens",
            Meter("gpt-35-turbo", "1106", "16k", "output", R),
        ),
        ("Az-GPT4-Turbo-128K-Prompt Tokens", Meter("gpt-4", None, "128k", "input", R)),
        ("Az-GPT4-8K-Completion Tokens", Meter("gpt-4", None, "8k", "output", R)),
        ("gpt-4-turbo-2024-04-09 Input regional", Meter("gpt-4", "2024-04-09", "128k", "input", R)),
        ("GPT 5 Inpt Glbl 1M Tokens", Meter("gpt-5", None, None, "input", G)),
        ("GPT 5 cchd Inpt Dz 1M Tokens", Meter("gpt-5", None, None, "cached_input", DZ)),
        ("GPT 5 Mini outpt DZone 1M Tokens", Meter("gpt-5-mini", None, None, "output", DZ)),
        ("GPT 5 Chat Inpt Glbl 1M Tokens", Meter("gpt-5-chat", None, None, "input", G)),
        ("o3 mini 0131 Inp glbl Tokens", Meter("o3-mini", "0131", None, "input", G)),
        ("o4-mini 0416 Outp glbl Tokens", Meter("o4-mini", "0416", None, "output", G)),
        (
            "text embedding 3 large DZ Tokens",
            Meter("text-embedding-3-large", None, None, "flat", DZ),
        ),
        ("Az-Embeddings-Ada Tokens", Meter("text-embedding-ada-002", None, None, "flat", R)),
        ("gpt-4o-aud-1217-txt Inp glbl", Meter("gpt-4o-audio-preview", "1217", None, "input", G)),
        (
            "gpt-4o-aud-1217 aud Outp glbl",
            Meter("gpt-4o-audio-preview", "1217", None, "audio_output", G),
        ),
        (
            "gpt-5-codex-ccchd-inp-dzone Tokens",
            Meter("gpt-5-codex", None, None, "cached_input", DZ),
        ),
        ("5.1 codex mini opt Gl 1M Tokens", Meter("gpt-5.1-codex-mini", None, None, "output", G)),
        ("codex mini inp cchd rgnl Tokens", Meter("codex-mini", None, None, "cached_input", R)),
        ("o1-pro Batch Inp Data Zone Tokens", Meter("o1-pro", None, None, "input", DZB)),
        ("o1 preview cached input Data Zone", Meter("o1-preview", None, None, "cached_input", DZ)),
        ("gpt 4.5 0227 Inp glbl Tokens", Meter("gpt-4.5-preview", "0227", None, "input", G)),
        (
            "o3-deep research 0626-inp-cchd-dzone 1M Tokens",
            Meter("o3-deep-research", "0626", None, "cached_input", DZ),
        ),
        (
            "gpt aud mn in rg 1215 1M Tokens",
            Meter("gpt-audio-mini", "1215", None, "audio_input", R),
        ),
        ("gpt aud 1.5 txt opt Dz 1M Tokens", Meter("gpt-audio-1.5", None, None, "output", DZ)),
        ("gpt-oss-120B Outp DZone Tokens", Meter("gpt-oss-120b", None, None, "output", DZ)),
        (
            "gpt rt aud 0828 cchd Inp glbl",
            Meter("gpt-realtime", "0828", None, "cached_audio_input", G),
        ),
        ("gpt rt txt mn out rg 1215 1M", Meter("gpt-realtime-mini", "1215", None, "output", R)),
        (
            "gpt rt img 0828 cchd Inp DZn",
            Meter("gpt-realtime", "0828", None, "cached_image_input", DZ),
        ),
        (
            "gpt-4o-rt-aud-1217 Outp regnl",
            Meter("gpt-4o-realtime-preview", "1217", None, "audio_output", R),
        ),
        (
            "gpt4omini-rt-txt1217 cchd Inp DZn",
            Meter("gpt-4o-mini-realtime-preview", "1217", None, "cached_input", DZ),
        ),
        (
            "gpt4o realtimePrvwAudInp DataZone",
            Meter("gpt-4o-realtime-preview", None, None, "audio_input", DZ),
        ),
        (
            "gpt-realtime-2.1 Image inp Gl 1M",
            Meter("gpt-realtime-2.1", None, None, "image_input", G),
        ),
        (
            "gpt-image-1-inp-cached-img-glbl",
            Meter("gpt-image-1", None, None, "cached_image_input", G),
        ),
        ("gpt-image-1-inp-txt-dzone", Meter("gpt-image-1", None, None, "input", DZ)),
        ("gpt img 1 mini out img rgnl", Meter("gpt-image-1-mini", None, None, "image_output", R)),
        ("gpt img 1.5 out txt DZ 1M", Meter("gpt-image-1.5", None, None, "output", DZ)),
        (
            "gpt-4o-transcribe-aud-inp-glbl",
            Meter("gpt-4o-transcribe", None, None, "audio_input", G),
        ),
        (
            "gpt4o mn trscb txt out dz 1215 1M",
            Meter("gpt-4o-mini-transcribe", "1215", None, "output", DZ),
        ),
        ("gpt-4o-mini-tts-aud-out-rgnl", Meter("gpt-4o-mini-tts", None, None, "audio_output", R)),
        (
            "gpt 4o tcrb d txt inp dz",
            Meter("gpt-4o-transcribe-diarize", None, None, "input", DZ),
        ),
    ],
)
def test_meter_names_are_read(meter: str, expected: Meter) -> None:
    assert parse_meter(meter) == expected


def test_hyphens_and_spaces_read_the_same() -> None:
    assert parse_meter("gpt-4o-0806-Inp-glbl") == parse_meter("gpt 4o 0806 Inp glbl")


@pytest.mark.parametrize(
    ("meter", "reason"),
    [
        ("Az-GPT35-Turbo-4K-FTuned Training Unit", "fine-tuning"),
        ("Az-GPT35-Turbo-4K-FTuned Deployment Hosting Unit", "fine-tuning"),
        ("gpt 4.1 ft training Dz Tokens", "fine-tuning"),
        ("gpt 4o mini dev ft cchd inpt glbl Tokens", "fine-tuning"),
        ("Provisioned Managed Global Unit", "provisioned"),
        ("Az-Image-Dall-E-3 Standard LR Images", "image"),
        ("Az-Speech-Whisper Hours", "speech"),
        ("Speech-Text to Speech HD-global Characters", "speech"),
        ("Az-Assistants-Code-Interpreter Session", "tool call"),
        ("Az-Assistants-File-Search Vector Storage", "tool call"),
        ("5.5 ShortCo inp Dz 1M Tokens", "context band"),
        ("5.6 sol ShortCo Cd Wr Std Gl 1M Tokens", "context band"),
        ("gpt 4o Inp Outp glbl", "both input and output"),
        ("Tokens", "names no model"),
        ("gpt 4o Batch Inp regnl", "regional batch"),
    ],
)
def test_non_token_and_unreadable_meters_are_skipped_with_reason(meter: str, reason: str) -> None:
    with pytest.raises(MeterSkipped, match=reason):
        parse_meter(meter)


def test_every_token_meter_of_the_full_dump_is_read_or_skipped_with_a_reason() -> None:
    names = sorted({r.meter_name for r in dump_rows() if is_token_row(r)})
    read: list[Meter] = []
    reasons: dict[str, str] = {}
    for name in names:
        try:
            read.append(parse_meter(name))
        except MeterSkipped as exc:
            reasons[name] = exc.reason
    assert len(names) == len(read) + len(reasons) > 1100
    assert [n for n, why in reasons.items() if len(why) < 10] == []
    assert all(m.family and m.family[0].isalnum() for m in read)
    assert len(read) > 500
