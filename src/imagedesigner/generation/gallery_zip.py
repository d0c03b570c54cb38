"""The gallery as one ZIP: every saved image under a readable name, and ``gallery.json`` with
each item's prompt, model, parameters and files. Images are stored (they are compressed
already); the archive is built off the event loop."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from imagedesigner.db.models import StoredImage
from imagedesigner.generation import gallery
from imagedesigner.generation.history import file_name
from imagedesigner.kit.clock import as_utc
from imagedesigner.storage.base import BlobStore


async def archive(session: AsyncSession, blobs: BlobStore, user_id: str) -> bytes:
    gens, _ = await gallery.listing(session, user_id)
    rows = await session.execute(
        select(StoredImage)
        .where(StoredImage.generation_id.in_([g.id for g in gens]))
        .order_by(StoredImage.created_at, StoredImage.id)
    )
    images: dict[str, list[StoredImage]] = defaultdict(list)
    for row in rows.scalars():
        images[row.generation_id].append(row)
    files: list[tuple[str, bytes]] = []
    index = []
    for gen in gens:
        names = []
        for row in images[gen.id]:
            data = await blobs.get(row.blob_key)
            if data is None:
                continue
            names.append(file_name(gen.prompt or "", row.id, row.media_type))
            files.append((names[-1], data))
        saved = as_utc(gen.saved_at).isoformat() if gen.saved_at else None
        index.append(
            {
                "id": gen.id,
                "prompt": gen.prompt,
                "model": gen.model,
                "params": gen.params,
                "saved_at": saved,
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
