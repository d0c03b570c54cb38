"""Prompt reading for the ``local/sketch`` renderer: colour, light and subject word tables and
the :class:`Scene` they add up to."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

RGB = tuple[int, int, int]

COLOURS: dict[str, RGB] = {
    "red": (210, 40, 40), "blue": (40, 80, 210), "green": (40, 160, 70),
    "yellow": (245, 210, 40), "orange": (245, 140, 30), "purple": (130, 60, 170),
    "violet": (140, 90, 200), "pink": (240, 130, 180), "black": (20, 20, 24),
    "white": (245, 245, 245), "grey": (128, 128, 128), "gray": (128, 128, 128),
    "brown": (120, 75, 40), "teal": (20, 140, 140), "gold": (212, 175, 55),
    "golden": (212, 175, 55), "silver": (192, 192, 200), "cyan": (40, 210, 230),
    "magenta": (220, 40, 200), "navy": (25, 35, 100), "crimson": (180, 20, 50),
    "turquoise": (60, 210, 200), "lime": (150, 220, 50), "beige": (225, 210, 170),
    "maroon": (120, 20, 30), "indigo": (75, 40, 140), "coral": (250, 120, 90),
    "lavender": (190, 170, 230), "olive": (120, 130, 40), "amber": (250, 180, 40),
    "emerald": (30, 160, 100), "scarlet": (230, 40, 30), "azure": (40, 140, 240),
}  # fmt: skip
_SUBJECTS = {
    "sun": "sun suns", "moon": "moon moons moonlit moonlight", "stars": "star stars starry",
    "mountain": "mountain mountains hill hills peak peaks alps",
    "water": "sea seas ocean oceans lake lakes water river bay waves", "sky": "sky skies",
    "tree": "tree trees forest forests woods pine pines", "ground": "grass field meadow ground",
    "house": "house houses cottage cabin home barn", "city": "city town buildings skyline",
    "circle": "circle circles ball balls orb", "square": "square squares box boxes cube",
    "triangle": "triangle triangles pyramid", "cat": "cat cats kitten kittens",
    "bird": "bird birds gull gulls seagull seagulls", "cloud": "cloud clouds cloudy",
    "flower": "flower flowers rose roses tulip tulips daisy",
}  # fmt: skip
SUBJECT_WORDS = {w: k for k, words in _SUBJECTS.items() for w in words.split()}
_PLURAL = set("suns moons stars mountains hills peaks alps trees forest forests woods pines "
              "houses circles balls squares boxes triangles cats kittens birds gulls seagulls "
              "clouds cloudy flowers roses tulips".split())  # fmt: skip
_TIMES = [
    ("night", "night nights midnight nighttime moonlit moonlight"),
    ("sunset", "sunset sunsets dusk twilight evening"),
    ("dawn", "sunrise dawn daybreak morning"),
    ("noon", "noon midday day daytime sunny afternoon daylight"),
]
_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}
# sky stops top -> horizon, light factor for lit objects, tint mixed into lit objects
_SKY = {
    "day": ([(0, (95, 150, 225)), (1, (200, 225, 245))], 1.0, None),
    "noon": ([(0, (45, 115, 225)), (1, (165, 210, 250))], 1.05, None),
    "dawn": ([(0, (70, 80, 150)), (0.6, (230, 150, 160)), (1, (255, 205, 140))], 0.85,
             (255, 180, 150)),
    "sunset": ([(0, (45, 40, 110)), (0.55, (220, 90, 90)), (1, (255, 170, 70))], 0.72,
               (255, 120, 70)),
    "golden": ([(0, (100, 140, 200)), (0.6, (250, 200, 130)), (1, (255, 185, 90))], 0.95,
               (255, 190, 100)),
    "night": ([(0, (4, 6, 22)), (1, (28, 38, 80))], 0.5, (60, 70, 140)),
    "storm": ([(0, (40, 44, 54)), (1, (100, 106, 116))], 0.62, (90, 95, 110)),
}  # fmt: skip
_NICE = [(231, 111, 81), (244, 162, 97), (233, 196, 106), (42, 157, 143), (38, 70, 83),
         (131, 56, 236), (58, 134, 255), (255, 0, 110), (251, 86, 7), (6, 214, 160)]  # fmt: skip


@dataclass
class Scene:
    time: str = "day"
    fog: bool = False
    storm: bool = False
    subjects: dict[str, int] = field(default_factory=dict)  # kind -> count
    colours: dict[str, RGB] = field(default_factory=dict)  # kind -> bound colour
    theme: list[RGB] = field(default_factory=list)  # colours not bound to a subject
    timed: bool = False  # an explicit time/light word was given
    forest: bool = False


def derive_seed(prompt: str) -> int:
    """A stable seed from the prompt (sha256, never Python's salted ``hash()``)."""
    return int.from_bytes(hashlib.sha256(prompt.encode("utf-8")).digest()[:4], "big")


def parse(prompt: str) -> Scene:
    words = re.findall(r"[a-z]+|\d+", prompt.lower())
    sc = Scene()
    times = {w: t for t, ws in _TIMES for w in ws.split()}
    found = set()
    pending: list[tuple[int, RGB]] = []
    number: tuple[int, int] | None = None
    for i, w in enumerate(words):
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if w == "golden" and nxt == "hour":
            found.add("golden")
            continue
        if w in times:
            found.add(times[w])
        if w in ("fog", "foggy", "mist", "misty", "haze", "hazy"):
            sc.fog = True
        if w in ("storm", "stormy", "thunder", "thunderstorm", "lightning", "rain", "rainy"):
            sc.storm = True
        if w in _NUMBERS or w.isdigit():
            number = (i, min(int(w) if w.isdigit() else _NUMBERS[w], 12))
        sc.forest = sc.forest or w in ("forest", "forests", "woods")
        if w in COLOURS:
            pending.append((i, COLOURS[w]))
        kind = SUBJECT_WORDS.get(w)
        if kind is None:
            continue
        count = 1 if w not in _PLURAL else 0  # 0 = "several", resolved by the seed
        if number and i - number[0] <= 3:
            count, number = number[1], None
        sc.subjects[kind] = max(sc.subjects.get(kind, 0), count) if kind in sc.subjects else count
        near = [c for j, c in pending if i - j <= 3]
        if near and kind not in sc.colours:
            sc.colours[kind] = near[-1]
        sc.theme += [c for j, c in pending if i - j > 3]
        pending = []
    sc.theme += [c for _, c in pending]
    if "stars" in sc.subjects and not found:
        found.add("night")
    for t in ("night", "sunset", "dawn", "golden", "noon"):
        if t in found:
            sc.time, sc.timed = t, True
            break
    return sc
