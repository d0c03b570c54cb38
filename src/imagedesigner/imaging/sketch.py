"""The offline ``local/sketch`` renderer: a procedural drawing of what the prompt names.

Not an AI model. It reads colour, light and subject words from the prompt and draws them with
Pillow primitives (no per-pixel Python loops). Same (prompt, seed, size) gives the same pixels.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from functools import partialmethod

from PIL import Image, ImageDraw, ImageOps

from imagedesigner.imaging._sketch_words import _NICE, _SKY, RGB, Scene, derive_seed, parse

MIN_SIDE, MAX_SIDE = 256, 2048


def _mix(a, b, t: float) -> RGB:
    return tuple(int(round(x + (y - x) * t)) for x, y in zip(a, b, strict=False))  # type: ignore


def _gradient(stops, w: int, h: int, mode: str = "RGB") -> Image.Image:
    n = max(2, min(h, 256))
    rows = []
    for i in range(n):
        t = i / (n - 1)
        for (p0, c0), (p1, c1) in zip(stops, stops[1:], strict=False):
            if p0 <= t <= p1:
                k = (t - p0) / ((p1 - p0) or 1)
                rows.append(_mix(c0, c1, k) if mode == "RGB" else int(c0 + (c1 - c0) * k))
                break
    strip = Image.new(mode, (1, n))
    strip.putdata(rows)
    return strip.resize((w, h), Image.Resampling.BILINEAR)


class _Painter:
    """Draws on the RGB canvas and, for transparent output, the same shape into an alpha mask."""

    def __init__(self, img: Image.Image, mask: Image.Image | None) -> None:
        self.img, self.d = img, ImageDraw.Draw(img, "RGBA")
        self.m = ImageDraw.Draw(mask) if mask is not None else None

    def _do(self, op: str, xy, c, a: int = 255, **kw) -> None:
        getattr(self.d, op)(xy, fill=(*c[:3], a), **kw)
        if self.m is not None and a >= 100:
            getattr(self.m, op)(xy, fill=a, **kw)

    ellipse = partialmethod(_do, "ellipse")
    polygon = partialmethod(_do, "polygon")
    rect = partialmethod(_do, "rectangle")

    def disc(self, cx, cy, r, c, a=255) -> None:
        self._do("ellipse", (cx - r, cy - r, cx + r, cy + r), c, a)

    def line(self, xy, c, a=255, width=1) -> None:
        self._do("line", xy, c, a, width=max(1, int(width)), joint="curve")

    def glow(self, cx, cy, r, c, strength: float) -> None:
        size = max(2, int(r * 2))
        lut = [int(max(0.0, 1 - v / 128) ** 2 * 255 * strength) for v in range(256)]
        m = Image.radial_gradient("L").point(lut).resize((size, size))
        self.img.paste(c, (int(cx - r), int(cy - r)), m)


@dataclass
class _Ctx:
    p: _Painter
    sc: Scene
    rng: random.Random
    w: int
    h: int
    transparent: bool
    stops: list = field(default_factory=list)
    light: float = 1.0
    tint: RGB | None = None
    hy: int = 0  # horizon
    top: int = 0  # where the ground objects stand from
    celestial: tuple | None = None  # (x, colour) of the sun or moon, for its path on water

    @property
    def s(self) -> int:
        return min(self.w, self.h)

    @property
    def night(self) -> bool:
        return self.sc.time == "night"

    def shade(self, c: RGB) -> RGB:
        lit = tuple(min(255, int(v * self.light)) for v in c)
        return _mix(lit, self.tint, 0.2) if self.tint else lit  # type: ignore

    def colour(self, kind: str, default: RGB) -> RGB:
        return self.sc.colours.get(kind) or default

    def count(self, kind: str, lo: int, hi: int) -> int:
        if kind not in self.sc.subjects:
            return 0
        return self.sc.subjects[kind] or self.rng.randint(lo, hi)


def render(
    prompt: str, seed: int | None, width: int, height: int, *, transparent: bool = False
) -> Image.Image:
    """Draw the prompt. RGB, or RGBA with a transparent background when asked."""
    for side in (width, height):
        if not isinstance(side, int) or not MIN_SIDE <= side <= MAX_SIDE:
            raise ValueError(f"width and height must be between {MIN_SIDE} and {MAX_SIDE} px")
    seed = derive_seed(prompt) if seed is None else seed
    sc, w, h = parse(prompt), width, height
    img = Image.new("RGB", (w, h), (0, 0, 0))
    mask = Image.new("L", (w, h), 0) if transparent else None
    c = _Ctx(_Painter(img, mask), sc, random.Random(seed), w, h, transparent)
    if sc.timed or sc.fog or sc.storm or _SCENIC & sc.subjects.keys():
        _sky(c)
        _land(c)
        _objects(c)
        _weather(c)
    else:
        _studio(c)
    if mask is not None:
        img.putalpha(mask)
    return img


_SCENIC = {"sun", "moon", "stars", "mountain", "water", "tree", "house", "city", "sky", "cloud"}
_SCENIC |= {"bird", "ground"}
_GROUNDED = {"mountain", "tree", "house", "city", "cat", "flower", "ground"}
_SHAPES = ("circle", "square", "triangle")


def _studio(c: _Ctx) -> None:
    p, sc, rng, w, h, s, u = c.p, c.sc, c.rng, c.w, c.h, c.s, c.rng.uniform
    if not c.transparent:
        top, bottom = (238, 235, 228), (205, 200, 192)
        if sc.theme:
            top, bottom = _mix(top, sc.theme[0], 0.3), _mix(bottom, sc.theme[0], 0.45)
        p.img.paste(_gradient([(0, top), (1, bottom)], w, h))
        p.rect((0, int(h * 0.74), w, h), _mix(bottom, (0, 0, 0), 0.12), 120)
    palette = sc.theme or rng.sample(_NICE, 4)
    if not sc.subjects:  # nothing we know how to draw: an abstract composition in the colours
        for _ in range(rng.randint(5, 9)):
            x, y, size = u(0.15, 0.85) * w, u(0.15, 0.85) * h, u(0.12, 0.3) * s
            _shape(p, rng.choice(_SHAPES), x, y, size, rng.choice(palette), rng, 215)
        return
    items = [k for k in _SHAPES for _ in range(c.count(k, 2, 4))]
    size = s * (0.55 if len(items) == 1 else max(0.14, 0.75 / (len(items) + 0.5)))
    for n, kind in enumerate(items):
        x = w * (n + 0.5) / len(items) + rng.uniform(-0.03, 0.03) * w
        colour = c.colour(kind, palette[n % len(palette)])
        _shape(p, kind, x, h * rng.uniform(0.42, 0.55), size, colour, rng)
    for kind, draw in (("flower", _flower), ("cat", _cat)):
        k = c.count(kind, 2, 4)
        for i in range(k):
            draw(c, w * (i + 0.5) / k, h * 0.87, s * (0.55 if k == 1 else 0.3))


def _shape(p, kind, cx, cy, size, colour, rng, alpha=255) -> None:
    r, shadow = size / 2, (0, 0, 0)
    if kind == "circle":
        p.disc(cx + r * 0.08, cy + r * 0.1, r, shadow, 45)
        p.disc(cx, cy, r, colour, alpha)
        p.disc(cx - r * 0.33, cy - r * 0.4, r * 0.22, (255, 255, 255), 60)
        return
    n, rot = (4, rng.uniform(-0.25, 0.25) + math.pi / 4) if kind == "square" else (3, -math.pi / 2)
    rr, dy = r * (1.35 if n == 4 else 1.2), (0 if n == 4 else r * 0.15)
    angles = [rot + 2 * math.pi * i / n for i in range(n)]
    pts = [(cx + rr * math.cos(a), cy + dy + rr * math.sin(a)) for a in angles]
    p.polygon([(x + r * 0.08, y + r * 0.1) for x, y in pts], shadow, 45)
    p.polygon(pts, colour, alpha)


def _sky(c: _Ctx) -> None:
    p, sc, rng, w, h, s, sub = c.p, c.sc, c.rng, c.w, c.h, c.s, c.sc.subjects
    u = rng.uniform
    stops, c.light, c.tint = _SKY["storm" if sc.storm else sc.time]
    if sc.storm and c.night:
        stops = [(0, (8, 9, 14)), (1, (40, 44, 55))]
    if "sky" in sc.colours or sc.theme:
        k, tc = (0.45, sc.colours["sky"]) if "sky" in sc.colours else (0.22, sc.theme[0])
        stops = [(pos, _mix(v, tc, k)) for pos, v in stops]
    c.stops = stops
    grounded = "water" in sub or _GROUNDED & sub.keys() or sc.timed
    c.hy = hy = int(h * rng.uniform(0.58, 0.68)) if grounded else h
    if not c.transparent:
        p.img.paste(_gradient(stops, w, max(1, hy)), (0, 0))
        for _ in range(int(w * hy / (3500 if "stars" in sub else 7000)) if c.night else 0):
            x, y, r = rng.uniform(0, w), rng.uniform(0, hy * 0.95), rng.uniform(0.5, 1.6) * s / 1400
            p.disc(x, y, r, (255, 250, 235), rng.randint(120, 255))
    if "sun" in sub or (sc.time in ("dawn", "sunset", "golden", "noon") and not sc.storm):
        r, cx = s * rng.uniform(0.055, 0.08), w * rng.uniform(0.25, 0.75)
        cy = h * (0.3 if sc.time == "golden" else 0.17)
        if sc.time in ("dawn", "sunset") and hy < h:
            cy = hy - (h * 0.3 if "mountain" in sub else r * 0.35)
        disc = c.colour("sun", _SUN.get(sc.time, (255, 236, 150)))
        p.glow(cx, cy, r * 5, _mix(disc, (255, 255, 255), 0.3), 0.55)
        p.disc(cx, cy, r, disc)
        c.celestial = (cx, disc)
    if "moon" in sub or (c.night and "sun" not in sub):
        r, cx, cy = s * u(0.045, 0.065), w * u(0.2, 0.8), h * u(0.12, 0.25)
        moon = c.colour("moon", (240, 238, 220))
        p.glow(cx, cy, r * 4, (150, 160, 200), 0.35)
        p.disc(cx, cy, r, moon)
        if rng.random() < 0.5 and not c.transparent:  # crescent: cover with the sky colour
            p.disc(cx + r * 0.45, cy - r * 0.18, r, p.img.getpixel((int(cx), int(cy - r * 1.5))))
        else:
            for _ in range(3):
                p.disc(cx + u(-0.4, 0.5) * r, cy + u(-0.4, 0.5) * r, r * 0.18, (0, 0, 0), 22)
        c.celestial = c.celestial or (cx, moon)
    clouds = c.count("cloud", 3, 5)
    for i in range(clouds + (6 if sc.storm else 0)):
        dark = sc.storm and i >= clouds
        base = c.colour("cloud", (70, 74, 84) if dark else (250, 250, 252))
        cx, cy, size = rng.uniform(0, w), rng.uniform(0.05, 0.4) * hy, s * rng.uniform(0.1, 0.18)
        for _ in range(rng.randint(5, 7)):
            dx, r = rng.uniform(-1, 1) * size, size * rng.uniform(0.35, 0.6)
            y = cy - abs(rng.uniform(0, 0.5)) * size * (1 - abs(dx) / size)
            box = (cx + dx - r, y - r, cx + dx + r, min(cy + size * 0.2, y + r))
            p.ellipse(box, base if dark else c.shade(base), 225)
    for _ in range(c.count("bird", 3, 7)):
        x, y, bw = u(0.1, 0.9) * w, u(0.1, 0.45) * hy, s * u(0.02, 0.04)
        wings = [(x - bw, y - bw * 0.4), (x, y), (x + bw, y - bw * 0.4)]
        p.line(wings, c.colour("bird", (30, 30, 40)), width=s / 260 + 1)


_SUN = {"sunset": (255, 150, 70), "dawn": (255, 190, 110)}


def _land(c: _Ctx) -> None:
    p, sc, rng, w, h, s, hy, sub = c.p, c.sc, c.rng, c.w, c.h, c.s, c.hy, c.sc.subjects
    if "mountain" in sub:
        base = c.colour("mountain", (95, 105, 130))
        _mountains(p, rng, w, hy, h * 0.36, _mix(c.shade(base), c.stops[-1][1], 0.45), False)
        _mountains(p, rng, w, hy, h * 0.26, c.shade(base), c.night or sc.storm)
    if "city" in sub:
        _city(c, c.shade(c.colour("city", (70, 80, 100))))
    standing = _GROUNDED - {"mountain", "city"} & sub.keys()
    c.top, water = hy, "water" in sub
    if water and not c.transparent:
        near = c.shade(c.colour("water", (35, 95, 165)))
        far, deep = _mix(near, c.stops[-1][1], 0.5), _mix(near, (0, 0, 0), 0.25)
        p.img.paste(_gradient([(0, far), (1, deep)], w, h - hy), (0, hy))
        if c.celestial:  # the sun's or moon's path on the water
            cx, col = c.celestial
            for i in range(int((h - hy) / (s / 60)) + 1):
                y = hy + i * s / 60 + rng.uniform(0, s / 120)
                half = s * rng.uniform(0.02, 0.07) * (1 + 0.8 * (y - hy) / (h - hy))
                p.rect((cx - half, y, cx + half, y + s / 250 + 1), col, rng.randint(60, 150))
        for _ in range(int(w * (h - hy) / 9000)):
            x, y = rng.uniform(0, w), rng.uniform(hy, h)
            p.line([(x, y), (x + s * 0.03, y)], _mix(near, (255, 255, 255), 0.35), 90, s / 500)
        if standing:
            c.top = int(h * 0.86)
    if (standing or not water and hy < h) and not c.transparent:
        gc = c.colour("ground", (214, 190, 140) if water else (85, 150, 70))
        g = [(0, c.shade(_mix(gc, (255, 255, 255), 0.15))), (1, c.shade(_mix(gc, (0, 0, 0), 0.3)))]
        p.img.paste(_gradient(g, w, h - c.top), (0, c.top))


def _objects(c: _Ctx) -> None:
    sc, rng, w, h, s, top = c.sc, c.rng, c.w, c.h, c.s, c.top
    objs: list[tuple[float, str]] = []
    for kind, lo, hi in (("tree", 3, 6), ("house", 2, 4), ("flower", 5, 9), ("cat", 2, 3)):
        if kind == "tree" and sc.forest and not sc.subjects.get(kind):
            lo, hi = 14, 22
        objs += [(rng.uniform(0, 1), kind) for _ in range(c.count(kind, lo, hi))]
    scale = {"tree": 0.28, "house": 0.2, "flower": 0.09, "cat": 0.22}
    for n, (depth, kind) in enumerate(sorted(objs)):
        y = top + (h - top) * (0.15 + 0.75 * depth)
        k = (0.55 + depth * 0.8) * (1.5 if len(objs) == 1 else 1)
        x = w * (n + rng.uniform(0.2, 0.8)) / len(objs)
        _DRAW[kind](c, x, y, s * scale[kind] * k)
    for kind in _SHAPES:
        for _ in range(c.count(kind, 2, 3)):
            col = c.colour(kind, (sc.theme or rng.sample(_NICE, 1))[0])
            x, y = w * rng.uniform(0.2, 0.8), min(c.hy, h) * rng.uniform(0.3, 0.6)
            _shape(c.p, kind, x, y, s * 0.22, col, rng)


def _weather(c: _Ctx) -> None:
    p, rng, w, h, s = c.p, c.rng, c.w, c.h, c.s
    if c.sc.storm:
        for _ in range(int(w * h / 4000)):
            x, y, ln = rng.uniform(-0.1, 1) * w, rng.uniform(0, 1) * h, s * rng.uniform(0.02, 0.05)
            p.line([(x, y), (x + ln * 0.3, y + ln)], (200, 210, 225), 70, s / 700 + 1)
        x, y, pts = rng.uniform(0.2, 0.8) * w, 0.0, []
        while y < c.hy * 0.8:
            pts.append((x, y))
            x, y = x + rng.uniform(-0.04, 0.04) * s, y + rng.uniform(0.04, 0.08) * s
        p.line(pts, (255, 255, 230), 255, s / 200 + 1)
    if c.sc.fog and not c.transparent:
        fog = (70, 75, 90) if c.night else (205, 210, 215)
        m = _gradient([(0, 90), (0.65, 175), (1, 130)], w, h, "L")
        p.img.paste(Image.composite(Image.new("RGB", (w, h), fog), p.img, m))


def _mountains(p, rng, w, hy, height, colour, dark_snow) -> None:
    n, pts, peaks = rng.randint(3, 5), [(-w * 0.05, hy)], []
    for i in range(n):
        peaks.append((w * (i + rng.uniform(0.3, 0.7)) / n, hy - height * rng.uniform(0.55, 1.0)))
        pts += [peaks[-1], (w * (i + 1) / n, hy - height * rng.uniform(0.1, 0.35))]
    p.polygon([*pts, (w * 1.05, hy)], colour)
    snow, t = ((200, 205, 215) if dark_snow else (248, 248, 252)), 0.28
    for i, (px, py) in enumerate(peaks):
        (lx, ly), (rx, ry) = pts[2 * i], pts[2 * i + 2]
        lp, rp = (px + (lx - px) * t, py + (ly - py) * t), (px + (rx - px) * t, py + (ry - py) * t)
        p.polygon([(px, py), lp, (px, py + (ly - py) * t * 0.7), rp], snow)


def _city(c: _Ctx, colour: RGB) -> None:
    p, rng, s, hy, step = c.p, c.rng, c.s, c.hy, c.s / 45
    x = -rng.uniform(0, 0.05) * c.w
    while x < c.w:
        bw, bh = s * rng.uniform(0.06, 0.12), s * rng.uniform(0.12, 0.4)
        p.rect((x, hy - bh, x + bw, hy + 2), _mix(colour, (0, 0, 0), rng.uniform(0, 0.25)))
        for wy in range(int(hy - bh + step), int(hy - step), int(step * 1.6)):
            for wx in range(int(x + step * 0.6), int(x + bw - step * 0.6), int(step * 1.3)):
                box = (wx, wy, wx + step * 0.6, wy + step * 0.8)
                if not c.night:
                    p.rect(box, (180, 205, 230), 120)
                elif rng.random() < 0.55:
                    p.rect(box, (255, 215, 120))
        x += bw + s * rng.uniform(0, 0.015)


def _tree(c: _Ctx, x, y, size) -> None:
    leaf, p = c.shade(c.colour("tree", (40, 120, 60))), c.p
    p.rect((x - size * 0.05, y - size * 0.45, x + size * 0.05, y), c.shade((95, 65, 40)))
    if c.rng.random() < 0.5:  # conifer
        for i in range(3):
            top, half, dy = y - size * (1.0 - i * 0.18), size * (0.22 + i * 0.06), size * 0.42
            tri = [(x, top), (x - half, top + dy), (x + half, top + dy)]
            p.polygon(tri, _mix(leaf, (0, 0, 0), 0.1 * i))
    else:
        for dx, dy, r in ((0, -0.75, 0.3), (-0.2, -0.55, 0.24), (0.2, -0.55, 0.24)):
            tone = _mix(leaf, (255, 255, 255), abs(dx) * 0.3)
            p.disc(x + dx * size, y + dy * size, r * size, tone)


def _house(c: _Ctx, x, y, size) -> None:
    p, hw, hh = c.p, size * 0.5, size * 0.7
    roof = c.shade((140, 55, 45))
    p.rect((x - hw, y - hh, x + hw, y), c.shade(c.colour("house", (205, 175, 135))))
    p.polygon([(x - hw * 1.2, y - hh), (x, y - hh - size * 0.5), (x + hw * 1.2, y - hh)], roof)
    p.rect((x + hw * 0.4, y - hh - size * 0.4, x + hw * 0.65, y - hh - size * 0.1), roof)
    p.rect((x - size * 0.1, y - size * 0.35, x + size * 0.1, y), c.shade((90, 60, 40)))
    glass = (255, 215, 120) if c.night else c.shade((175, 205, 230))
    for wx in (x - size * 0.33, x + size * 0.33):
        p.rect((wx - size * 0.09, y - size * 0.55, wx + size * 0.09, y - size * 0.38), glass)
        if c.night:
            p.glow(wx, y - size * 0.46, size * 0.3, (255, 210, 120), 0.35)


def _flower(c: _Ctx, x, y, size) -> None:
    petal = c.shade(c.colour("flower", c.rng.choice([*_NICE[:3], (240, 130, 180)])))
    c.p.line([(x, y), (x + size * 0.1, y - size)], c.shade((50, 140, 60)), width=size / 12)
    cx, cy, r = x + size * 0.1, y - size, size * 0.22
    for i in range(6):
        a = i * math.pi / 3
        c.p.disc(cx + math.cos(a) * r * 1.2, cy + math.sin(a) * r * 1.2, r, petal)
    c.p.disc(cx, cy, r * 0.7, c.shade((250, 200, 40)))


def _cat(c: _Ctx, x, y, size) -> None:
    p, col = c.p, c.shade(c.colour("cat", (55, 55, 60)))
    tail = [(x + size * 0.2, y - size * 0.08), (x + size * 0.45, y - size * 0.12),
            (x + size * 0.52, y - size * 0.3), (x + size * 0.45, y - size * 0.5)]  # fmt: skip
    p.line(tail, col, width=size * 0.08)
    p.ellipse((x - size * 0.32, y - size * 0.7, x + size * 0.32, y), col)
    hr, hy = size * 0.2, y - size * 0.78
    p.disc(x, hy, hr, col)
    for sgn in (-1, 1):
        ear = [(x + sgn * hr * 0.9, hy - hr * 0.2), (x + sgn * hr * 0.75, hy - hr * 1.45),
               (x + sgn * hr * 0.15, hy - hr * 0.85)]  # fmt: skip
        p.polygon(ear, col)
        ex = x + sgn * hr * 0.4
        p.ellipse((ex - hr * 0.14, hy - hr * 0.2, ex + hr * 0.14, hy + hr * 0.1), (190, 220, 80))


_DRAW = {"tree": _tree, "house": _house, "flower": _flower, "cat": _cat}


def blend_inputs(
    base: Image.Image, inputs: list[Image.Image], mask: Image.Image | None = None
) -> Image.Image:
    """Fit the input image(s) into the canvas and blend the sketch over them (55% input).

    With a mask (RGBA, transparent = area to edit) only the masked area takes the sketch;
    the rest stays the (first) input image.
    """
    if not inputs:
        return base
    mode, size = base.mode, base.size
    fitted = [ImageOps.fit(ImageOps.exif_transpose(im).convert(mode), size) for im in inputs]
    combined = fitted[0]
    for i, im in enumerate(fitted[1:], start=2):
        combined = Image.blend(combined, im, 1 / i)  # running mean of all inputs
    if mask is None:
        return Image.blend(combined, base, 0.45)
    alpha = ImageOps.fit(mask.convert("RGBA"), size).getchannel("A")
    edit_area = ImageOps.invert(alpha)  # transparent in the mask -> 255 -> take the sketch
    return Image.composite(base, fitted[0], edit_area)
