"""Static scripts and styles (``web/static/``) under content-hashed names.

``asset("studio.js")`` (a Jinja global) gives ``/static/studio.<hash>.js``; that URL's bytes never
change, so it is served with a year's ``immutable`` cache, and a new release gets new names.
Only hashed names are served: an old page never mixes with a new script. The files are read once,
at start-up, from the installed package; nothing is fetched at run time.
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse, Response

STATIC = Path(__file__).parent / "static"
PREFIX = "/static/"
LONG_CACHE = "public, max-age=31536000, immutable"
TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Asset:
    name: str  # as written in templates: "studio.js"
    hashed: str  # as served: "studio.1a2b3c4d5e.js"
    body: bytes
    media_type: str


def _hashed_name(path: Path, body: bytes) -> str:
    digest = hashlib.sha256(body).hexdigest()[:12]
    return f"{path.stem}.{digest}{path.suffix}"


@cache
def catalogue() -> dict[str, Asset]:
    """Every static file by its plain name (read once)."""
    out: dict[str, Asset] = {}
    for path in sorted(STATIC.rglob("*")):
        if not path.is_file():
            continue
        body = path.read_bytes()
        name = path.relative_to(STATIC).as_posix()
        media = TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0]
        hashed = str(Path(name).parent / _hashed_name(path, body)).removeprefix("./")
        out[name] = Asset(name, hashed, body, media or "application/octet-stream")
    return out


@cache
def _by_hashed() -> dict[str, Asset]:
    return {a.hashed: a for a in catalogue().values()}


def asset(name: str) -> str:
    """The URL of a static file; an unknown name is a programming error, caught by tests."""
    return PREFIX + catalogue()[name].hashed


@router.get("/static/{filename:path}")
async def static_file(filename: str) -> Response:
    found = _by_hashed().get(filename)
    if found is None:
        return PlainTextResponse(
            "Not found.", status_code=404, headers={"Cache-Control": "no-store"}
        )
    return Response(
        found.body,
        media_type=found.media_type,
        headers={"Cache-Control": LONG_CACHE, "X-Content-Type-Options": "nosniff"},
    )
