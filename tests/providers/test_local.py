"""LocalProvider: the offline local/sketch model behind the provider interface."""

from __future__ import annotations

import io

from PIL import Image, ImageStat

from imagedesigner.providers import local
from imagedesigner.providers.base import ImageInput, ImageRequest


def make() -> local.LocalProvider:
    return local.LocalProvider()


def as_input(img: Image.Image) -> ImageInput:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return ImageInput(buf.getvalue(), "image/png", img.width, img.height)


def open_(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def test_model_listing():
    p = make()
    assert p.name == "local" and p.available
    [m] = p.models()
    assert m.id == "local/sketch" and m.native_id == "sketch" and m.provider == "local"
    assert "Not an AI model" in m.description
    assert m.kind == "offline procedural renderer"
    caps = m.capabilities
    assert caps.sizes is None and (caps.min_side, caps.max_side) == (256, 2048)
    assert caps.edits and caps.masks and caps.seeds and caps.max_input_images == 16
    assert caps.output_formats == ("png", "jpeg", "webp")


async def test_deterministic_png_without_metadata():
    p = make()
    req = ImageRequest(prompt="a red house under a starry night sky", size=(512, 512), seed=42)
    a = await p.generate(p.models()[0], req)
    b = await p.generate(p.models()[0], req)
    assert a.images[0].data == b.images[0].data
    img = open_(a.images[0].data)
    assert img.format == "PNG" and img.size == (512, 512)
    assert not img.info.get("exif") and not getattr(img, "text", {})
    assert a.images[0].seed == 42 and a.images[0].revised_prompt is None
    await p.aclose()


async def test_default_size_and_derived_seed():
    p = make()
    res = await p.generate(p.models()[0], ImageRequest(prompt="a cat"))
    g = res.images[0]
    assert (g.width, g.height) == (1024, 1024) and open_(g.data).size == (1024, 1024)
    assert g.seed == local.sketch.derive_seed("a cat")


async def test_n_images_distinct_with_consecutive_seeds_and_progress():
    p, events = make(), []

    async def progress(ev):
        events.append(ev)

    req = ImageRequest(prompt="trees by a lake", n=3, size=(256, 384), seed=10)
    res = await p.generate(p.models()[0], req, progress=progress)
    assert [g.seed for g in res.images] == [10, 11, 12]
    assert len({g.data for g in res.images}) == 3
    assert all(open_(g.data).size == (256, 384) for g in res.images)
    assert events[0] == {"stage": "rendering", "done": 0, "total": 3}
    assert events[-1]["done"] == 3


async def test_jpeg_and_webp():
    p = make()
    for fmt, pil_name, media in (("jpeg", "JPEG", "image/jpeg"), ("webp", "WEBP", "image/webp")):
        req = ImageRequest(prompt="sunset over the sea", size=(320, 256), output_format=fmt)
        res = await p.generate(p.models()[0], req)
        img = open_(res.images[0].data)
        assert img.format == pil_name and img.size == (320, 256)
        assert res.images[0].media_type == media
        assert res.warnings == []


async def test_transparent_background_png_and_ignored_for_jpeg():
    p = make()
    req = ImageRequest(prompt="a blue circle", size=(256, 256), background="transparent")
    img = open_((await p.generate(p.models()[0], req)).images[0].data)
    assert img.mode == "RGBA" and img.getchannel("A").getextrema() == (0, 255)
    jreq = ImageRequest(
        prompt="a blue circle", size=(256, 256), background="transparent", output_format="jpeg"
    )
    res = await p.generate(p.models()[0], jreq)
    assert open_(res.images[0].data).mode == "RGB"
    [w] = res.warnings
    assert (w.param, w.kind) == ("background", "ignored")


async def test_edit_follows_the_input_image():
    p = make()
    plain = await p.generate(
        p.models()[0], ImageRequest(prompt="a green tree", size=(256, 256), seed=1)
    )
    red = as_input(Image.new("RGB", (300, 200), (230, 20, 20)))
    edit = await p.generate(
        p.models()[0], ImageRequest(prompt="a green tree", size=(256, 256), seed=1, images=(red,))
    )
    r_plain = ImageStat.Stat(open_(plain.images[0].data)).mean[0]
    r_edit = ImageStat.Stat(open_(edit.images[0].data)).mean[0]
    assert r_edit > r_plain + 40


async def test_mask_limits_the_edit_to_the_masked_area():
    p = make()
    src = Image.new("RGB", (256, 256), (230, 20, 20))
    mask = Image.new("RGBA", (256, 256), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (0, 0, 256, 100))  # top band transparent: the area to edit
    req = ImageRequest(
        prompt="a starry night sky", size=(256, 256), images=(as_input(src),), mask=as_input(mask)
    )
    img = open_((await p.generate(p.models()[0], req)).images[0].data).convert("RGB")
    assert img.crop((0, 100, 256, 256)).getcolors() == [(256 * 156, (230, 20, 20))]
    top = ImageStat.Stat(img.crop((0, 0, 256, 100))).mean
    assert top[0] < 100  # the night sky replaced the red there


async def test_seeds_of_one_call_wrap_at_two_to_the_32():
    p = make()
    req = ImageRequest(prompt="a cat", size=(256, 256), seed=2**32 - 1, n=2)
    res = await p.generate(p.models()[0], req)
    assert [g.seed for g in res.images] == [2**32 - 1, 0]
    await p.aclose()
