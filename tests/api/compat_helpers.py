"""What the SDK compatibility tests (Python and Node) share: input images, a live server with
an account, and the request ids its request log recorded."""

from __future__ import annotations

import base64
import io
from contextlib import contextmanager

from PIL import Image
from sqlalchemy import select

from imagedesigner.db.engine import create_engine
from imagedesigner.db.models_logs import RequestLog
from tests.api.live import LiveServer, account
from tests.conftest import make_settings, run_in_thread


def png(size: tuple[int, int] = (256, 256), colour=(200, 40, 40, 255)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGBA", size, colour).save(buf, "PNG")
    return buf.getvalue()


def mask_png(size: tuple[int, int] = (256, 256)) -> bytes:
    """Transparent (to be edited) on the left half, opaque on the right."""
    im = Image.new("RGBA", size, (0, 0, 0, 255))
    im.paste((0, 0, 0, 0), (0, 0, size[0] // 2, size[1]))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def data_url(data: bytes, media_type: str = "image/png") -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode()}"


def image_of(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


@contextmanager
def live_account(data_dir):
    """(server, API key, settings); the server is stopped (its log rows written) on exit."""
    settings = make_settings(data_dir)
    _, key = account(settings)
    with LiveServer(settings) as server:
        yield server, key, settings


def logged_request_ids(settings) -> set[str]:
    async def read() -> set[str]:
        engine = create_engine(settings.resolved_database_url())
        try:
            async with engine.connect() as conn:
                rows = await conn.execute(select(RequestLog.request_id))
                return {r for (r,) in rows if r}
        finally:
            await engine.dispose()

    return run_in_thread(read())
