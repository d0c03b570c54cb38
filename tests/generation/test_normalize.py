"""Mapping a request onto a model's capabilities: the subtle cases."""

from __future__ import annotations

import pytest

from imagedesigner import errors
from imagedesigner.generation.normalize import GenerationInput, plan
from imagedesigner.providers.base import Capabilities, ImageInput, ModelInfo

LISTED = Capabilities(
    sizes=((1024, 1024), (1536, 1024), (1024, 1536)),
    max_n=10,
    output_formats=("png", "jpeg", "webp"),
    qualities=("low", "medium", "high"),
)
ANY16 = Capabilities(sizes=None, min_side=256, max_side=3840, size_multiple=16, max_n=1,
                     max_total_n=4, seeds=True)  # fmt: skip


def model(caps: Capabilities) -> ModelInfo:
    return ModelInfo("t/m", "t", "m", "T", "test", capabilities=caps)


def run(caps, strict=False, **kw):
    return plan(GenerationInput(prompt="p", **kw), model(caps), strict=strict, max_prompt=100)


@pytest.mark.parametrize(
    ("asked", "snapped"),
    [("1024x1024", (1024, 1024)), ("1000x1000", (1024, 1024)), ("1920x1080", (1536, 1024)),
     ("600x1000", (1024, 1536)), ("4000x2600", (1536, 1024))],
)  # fmt: skip
def test_sizes_snap_to_the_nearest_listed_by_shape_then_area(asked, snapped):
    p = run(LISTED, size=asked)
    assert p.size == snapped
    assert [w.param for w in p.warnings] == ([] if asked == "1024x1024" else ["size"])


def test_multiples_are_rounded_and_said():
    p = run(ANY16, size="1010x1010")
    assert p.size == (1008, 1008) and p.warnings[0].kind == "approximated"
    assert run(ANY16, size="1024x768").warnings == []


def test_aspect_ratio_exact_on_any_size_models_and_approximated_on_lists():
    assert run(ANY16, aspect_ratio="16:9").size == (1024, 576)
    p = run(LISTED, aspect_ratio="16:9")
    assert p.size == (1536, 1024) and p.warnings[0].param == "aspect_ratio"
    assert run(LISTED, aspect_ratio="3:2").warnings == []


def test_n_is_split_into_calls_with_consecutive_seeds():
    p = run(ANY16, n=3, seed=10)
    assert [c.n for c in p.calls] == [1, 1, 1]
    assert [c.seed for c in p.calls] == [10, 11, 12]
    assert [w.param for w in p.warnings] == ["n"]
    assert len(run(LISTED, n=10).calls) == 1


def test_strict_turns_any_warning_into_a_400():
    with pytest.raises(errors.InvalidRequest) as info:
        run(LISTED, strict=True, size="1000x1000")
    assert info.value.code == "unsupported_parameter"
    run(LISTED, strict=True, size="1024x1024")  # nothing to warn about: fine


def test_impossible_requests_name_what_would_work():
    with pytest.raises(errors.InvalidRequest, match="local/sketch"):
        run(LISTED, seed=1)
    img = ImageInput(b"", "image/png", 10, 10)
    with pytest.raises(errors.InvalidRequest, match="cannot edit"):
        run(LISTED, images=(img,))
    with pytest.raises(errors.InvalidRequest, match="masks"):
        run(Capabilities(edits=True, max_input_images=1), images=(img,), mask=img)


def test_unsupported_format_is_emulated_and_unknown_quality_ignored():
    p = run(ANY16, output_format="webp", quality="high")
    assert p.transcode_to == "webp" and p.calls[0].output_format == "png"
    assert {w.param: w.kind for w in p.warnings} == {
        "output_format": "emulated",
        "quality": "ignored",
    }
