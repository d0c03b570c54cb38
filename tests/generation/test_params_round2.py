"""The subtle parts of round two's parameters: gpt-image-2's ratio and pixel bounds,
output_compression / input_fidelity / moderation passed, honoured or reported, usage in
OpenAI's shape, the warnings header and data URLs."""

from __future__ import annotations

import base64

import pytest

from imagedesigner import errors
from imagedesigner.api.generate import WARNINGS_HEADER, warnings_header
from imagedesigner.generation.normalize import GenerationInput, plan
from imagedesigner.generation.service import merge_usage
from imagedesigner.imaging.dataurl import decode_data_url
from imagedesigner.providers import openai as openai_provider
from imagedesigner.providers._content import usage_of
from imagedesigner.providers.base import ImageInput

MODELS = {m.native_id: m for m in openai_provider.MODELS}
GPT2, GPT15, MINI = MODELS["gpt-image-2"], MODELS["gpt-image-1.5"], MODELS["gpt-image-1-mini"]
IMAGE = ImageInput(b"x", "image/png", 64, 64)


def run(model, **kw):
    return plan(GenerationInput(prompt="p", **kw), model, strict=False, max_prompt=100)


@pytest.mark.parametrize("size", ["1536x864", "3840x2160", "2160x3840", "1008x672", "2400x800"])
def test_gpt_image_2_takes_any_multiple_of_16_within_its_bounds(size):
    p = run(GPT2, size=size)
    assert f"{p.size[0]}x{p.size[1]}" == size and p.warnings == []


@pytest.mark.parametrize(
    ("size", "why"),
    [("3200x800", "1:3 and 3:1"), ("3840x3840", "at most 8,294,400"), ("512x512", "at least")],
)
def test_gpt_image_2_refuses_sizes_outside_its_bounds(size, why):
    with pytest.raises(errors.InvalidRequest) as info:
        run(GPT2, size=size)
    assert info.value.param == "size" and why in info.value.message


def test_gpt_image_2_aspect_ratios_land_inside_the_bounds():
    for ratio in ("1:1", "3:1", "1:3", "16:9", "21:9"):
        w, h = run(GPT2, aspect_ratio=ratio).size
        assert w % 16 == h % 16 == 0 and 655_360 <= w * h <= 3840 * 2160, ratio
    with pytest.raises(errors.InvalidRequest) as info:
        run(GPT2, aspect_ratio="4:1")
    assert info.value.param == "aspect_ratio"


def test_gpt_image_2_snaps_to_16_with_a_warning():
    p = run(GPT2, size="1010x1010")
    assert p.size == (1008, 1008) and [w.param for w in p.warnings] == ["size"]


def test_output_compression_passed_honoured_or_reported():
    native = run(GPT15, output_format="jpeg", output_compression=40)
    assert native.calls[0].output_compression == 40 and native.recompress is None
    assert native.warnings == []
    png = run(GPT15, output_format="png", output_compression=40)
    assert png.calls[0].output_compression is None and png.recompress is None
    assert [(w.param, w.kind) for w in png.warnings] == [("output_compression", "ignored")]
    # a model that cannot compress: this service re-encodes, and says so
    fixed = GPT15.capabilities.__class__(output_formats=("png", "jpeg"), sizes=None)
    other = GPT15.__class__("t/m", "t", "m", "T", "d", capabilities=fixed)
    p = run(other, output_format="jpeg", output_compression=40)
    assert p.recompress == 40 and p.calls[0].output_compression is None
    assert [(w.param, w.kind) for w in p.warnings] == [("output_compression", "emulated")]
    # a format the model lacks is transcoded here, at the asked compression, without a warning
    t = run(other, output_format="webp", output_compression=40)
    assert t.transcode_to == "webp" and t.recompress == 40
    assert "output_compression" not in [w.param for w in t.warnings]


def test_input_fidelity_goes_to_models_that_take_it():
    assert run(GPT15, images=(IMAGE,), input_fidelity="high").calls[0].input_fidelity == "high"
    mini = run(MINI, images=(IMAGE,), input_fidelity="high")
    assert mini.calls[0].input_fidelity is None
    assert "takes input_fidelity low" in mini.warnings[0].message
    gpt2 = run(GPT2, images=(IMAGE,), input_fidelity="low")
    assert gpt2.calls[0].input_fidelity is None and gpt2.warnings[0].param == "input_fidelity"
    assert run(GPT15, input_fidelity="high").warnings[0].message.endswith("edits only.")


def test_moderation_goes_to_models_that_take_it():
    assert run(GPT15, moderation="low").calls[0].moderation == "low"
    sketch_like = GPT15.__class__("t/m", "t", "m", "T", "d")
    assert run(sketch_like, moderation="low").warnings[0].param == "moderation"
    assert run(sketch_like, moderation="auto").warnings == [], "the default is no news"


def test_usage_in_openai_shape_and_summed():
    openrouter = {"prompt_tokens": 10, "completion_tokens": 1290, "total_tokens": 1300,
                  "cost": 0.039, "prompt_tokens_details": {"cached_tokens": 0}, "note": "x"}  # fmt: skip
    assert usage_of(openrouter) == {
        "input_tokens": 10,
        "output_tokens": 1290,
        "total_tokens": 1300,
        "cost": 0.039,
        "input_tokens_details": {"cached_tokens": 0},
    }
    openai = {"input_tokens": 50, "output_tokens": 4160, "total_tokens": 4210,
              "input_tokens_details": {"text_tokens": 50, "image_tokens": 0}}  # fmt: skip
    assert usage_of(openai) == openai and usage_of("junk") is None and usage_of({}) is None
    twice = merge_usage([openai, None, openai])
    assert twice["total_tokens"] == 8420
    assert twice["input_tokens_details"] == {"text_tokens": 100, "image_tokens": 0}


def test_warnings_header_is_compact_and_bounded():
    ws = [{"param": "size", "type": "approximated", "message": "m"},
          {"param": "style", "type": "ignored", "message": "m"},
          {"param": "size", "type": "approximated", "message": "again"}]  # fmt: skip
    assert warnings_header(ws) == {WARNINGS_HEADER: "size=approximated, style=ignored"}
    assert warnings_header([]) == {}
    many = [{"param": f"p{i}", "type": "ignored"} for i in range(500)]
    value = warnings_header(many)[WARNINGS_HEADER]
    assert len(value) <= 1024 and value.endswith(", ...")


def test_data_urls_only():
    raw = b"\x89PNG not really"
    url = "data:image/png;base64," + base64.b64encode(raw).decode()
    assert decode_data_url(url, max_bytes=100, param="images") == raw
    for bad, code in (
        ("https://example.com/a.png", "remote_url_not_supported"),
        ("data:image/png,plain", "invalid_request"),
        ("data:image/png;base64,@@@", "invalid_request"),
        ("nonsense", "invalid_request"),
    ):
        with pytest.raises(errors.InvalidRequest) as info:
            decode_data_url(bad, max_bytes=100, param="images")
        assert info.value.code == code and info.value.param == "images"
    with pytest.raises(errors.PayloadTooLarge):
        decode_data_url(url, max_bytes=4, param="images")
