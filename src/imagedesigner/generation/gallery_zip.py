"""The gallery as one ZIP: every saved image under a readable name, and ``gallery.json`` with
each item's prompt, model, parameters and files. Images are stored (they are compressed
already); the archive is built off the event loop."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from imagedesigner.db.models import StoredImage
from imagedesigner.generation import gallery
from imagedesigner.generation.history import file_name
from imagedesigner.kit.clock import as_utc
from imagedesigner.storage.base import BlobStore


async def archive(session: AsyncSession, blobs: BlobStore, user_id: str) -> bytes:
    gens, _ = await gallery.listing(session, user_id)
    files: list[tuple[str, bytes]] = []
    index = []
    for gen in gens:
        rows = (
            await session.execute(
                select(StoredImage)
                .where(StoredImage.generation_id == gen.id)
                .order_by(StoredImage.created_at, StoredImage.id)
            )
        ).scalars()
        names = []
        for row in rows:
            data = await blobs.get(row.blob_key)
            if data is None:
                continue
            name = file_name(gen.prompt or "", row.id, row.media_type)
            files.append((name, data))
            names.append(name)
        index.append(
            {
                "id": gen.id,
                "prompt": gen.prompt,
                "model": gen.model,
                "params": gen.params,
                "saved_at": as_utc(gen.saved_at).isoformat() if gen.saved_at else None,
                "files": names,
            }
        )
    return await asyncio.to_thread(_zip, files, index)


def _zip(files: list[tuple[str, bytes]], index: list[dict]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("gallery.json", json.dumps({"items": index}, indent=2, ensure_ascii=False))
        for name, data in files:
            zf.writestr(name, data)
    return buf.getvalue()
