"""The offline sketch renderer: deterministic, follows the prompt, fast primitives only."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageChops, ImageStat

from imagedesigner.imaging import sketch


def png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def count(img: Image.Image, pred) -> int:
    """Pixels matching pred(r, g, b), counted on a small copy (the test may loop, not the code)."""
    small = img.convert("RGB").resize((64, 64), Image.Resampling.NEAREST)
    return sum(1 for px in small.getdata() if pred(*px))


def is_red(r, g, b):
    return r > 150 and g < 90 and b < 90


def is_blue(r, g, b):
    return b > 150 and r < 90 and g < 120


def test_same_inputs_give_identical_bytes():
    a = png(sketch.render("a red house under a starry night sky", 7, 512, 384))
    b = png(sketch.render("a red house under a starry night sky", 7, 512, 384))
    assert a == b


def test_seed_none_is_derived_from_prompt_and_stable():
    assert sketch.derive_seed("x") == sketch.derive_seed("x")
    assert sketch.derive_seed("x") != sketch.derive_seed("y")
    a = png(sketch.render("mountains at dawn", None, 256, 256))
    assert a == png(
        sketch.render("mountains at dawn", sketch.derive_seed("mountains at dawn"), 256, 256)
    )


def test_different_seeds_give_different_images():
    a = png(sketch.render("mountains and trees by a lake", 1, 512, 512))
    b = png(sketch.render("mountains and trees by a lake", 2, 512, 512))
    assert a != b


def test_colour_word_changes_dominant_colour():
    red = sketch.render("a red square", 3, 512, 512)
    blue = sketch.render("a blue square", 3, 512, 512)
    assert count(red, is_red) > 10 * max(1, count(blue, is_red))
    assert count(blue, is_blue) > 10 * max(1, count(red, is_blue))
    assert count(red, is_red) > 400  # a good share of the 64x64 sample


def test_unbound_colour_tints_the_picture():
    purple = ImageStat.Stat(sketch.render("something purple", 1, 256, 256)).mean
    green = ImageStat.Stat(sketch.render("something green", 1, 256, 256)).mean
    assert purple[2] > green[2] and green[1] > purple[1]


def sky_brightness(img: Image.Image) -> float:
    top = img.crop((0, 0, img.width, img.height // 4)).convert("L")
    return ImageStat.Stat(top).mean[0]


def test_night_sky_is_much_darker_than_noon():
    night = sketch.render("a mountain at night", 5, 512, 512)
    noon = sketch.render("a mountain at noon", 5, 512, 512)
    assert sky_brightness(noon) > sky_brightness(night) + 80


def test_sunset_sky_is_warm():
    top_to_horizon = sketch.render("sunset over the sea", 5, 512, 512).crop((0, 200, 512, 280))
    r, g, b = ImageStat.Stat(top_to_horizon).mean
    assert r > b + 40


def test_subjects_are_drawn():
    plain = sketch.render("a field at noon", 9, 512, 512)
    with_house = sketch.render("a house in a field at noon", 9, 512, 512)
    diff = ImageChops.difference(plain, with_house).convert("L")
    assert diff.getbbox() is not None


@pytest.mark.parametrize("size", [(256, 256), (2048, 2048), (640, 360), (256, 2048)])
def test_exact_sizes(size):
    img = sketch.render("a cat by the sea at sunset", 1, *size)
    assert img.size == size and img.mode == "RGB"


@pytest.mark.parametrize("size", [(255, 512), (512, 2049), (0, 0), (100, 3000)])
def test_out_of_range_sizes_raise(size):
    with pytest.raises(ValueError):
        sketch.render("x", 1, *size)


def test_transparent_background():
    img = sketch.render("a yellow circle", 1, 256, 256, transparent=True)
    assert img.mode == "RGBA"
    alpha = img.getchannel("A")
    assert alpha.getpixel((2, 2)) == 0
    assert alpha.getpixel((128, 128)) == 255


def test_blend_inputs_follows_the_input():
    base = sketch.render("a grey cloud", 1, 256, 256)
    red_input = Image.new("RGB", (400, 300), (230, 20, 20))
    blended = sketch.blend_inputs(base, [red_input])
    assert blended.size == base.size
    assert ImageStat.Stat(blended).mean[0] > ImageStat.Stat(base).mean[0] + 40


def test_blend_inputs_mask_limits_the_change():
    base = sketch.render("stars at night", 1, 256, 256)
    red_input = Image.new("RGB", (256, 256), (230, 20, 20))
    mask = Image.new("RGBA", (256, 256), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (0, 0, 128, 256))  # left half transparent: edit it
    out = sketch.blend_inputs(base, [red_input], mask)
    assert out.crop((128, 0, 256, 256)).getcolors() == [(128 * 256, (230, 20, 20))]
    assert out.crop((0, 0, 128, 256)).tobytes() == base.crop((0, 0, 128, 256)).tobytes()
