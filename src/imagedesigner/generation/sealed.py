"""A queued job's input at rest, encrypted: the prompt, the parameters and an edit's uploads,
for the short time between ``POST`` and a dedicated worker picking the job up.

AES-256-GCM with a key derived (HKDF-SHA256) from the server secret, bound to the job id as
associated data, so a sealed input opens only for its own job. The worker deletes the blob as
soon as it has read it into memory; a blob left by a crash is an orphan the sweeper removes
once it is older than the content TTL.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import asdict, dataclass, fields

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from imagedesigner.generation.normalize import GenerationInput
from imagedesigner.imaging.media import ImageInput

VERSION = b"\x01"
NONCE = 12


@dataclass(frozen=True)
class QueuedInput:
    """What a worker needs besides the job row."""

    model_id: str
    inp: GenerationInput


def _key(secret: bytes) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"imagedesigner queued input")
    return hkdf.derive(secret)


def _image(value: dict | None) -> ImageInput | None:
    if value is None:
        return None
    return ImageInput(**{**value, "data": base64.b64decode(value["data"])})


def _image_json(img: ImageInput) -> dict:
    return {**asdict(img), "data": base64.b64encode(img.data).decode()}


def seal(secret: bytes, job_id: str, queued: QueuedInput) -> bytes:
    inp = queued.inp
    plain = {f.name: getattr(inp, f.name) for f in fields(inp) if f.name not in ("images", "mask")}
    body = {
        "model_id": queued.model_id,
        "inp": plain,
        "images": [_image_json(img) for img in inp.images],
        "mask": _image_json(inp.mask) if inp.mask is not None else None,
    }
    nonce = os.urandom(NONCE)
    data = json.dumps(body, separators=(",", ":")).encode()
    return VERSION + nonce + AESGCM(_key(secret)).encrypt(nonce, data, job_id.encode())


class SealBroken(Exception):
    """The sealed input does not open: another secret, another job, or altered bytes."""


def unseal(secret: bytes, job_id: str, blob: bytes) -> QueuedInput:
    if not blob.startswith(VERSION) or len(blob) < 1 + NONCE + 16:
        raise SealBroken("unknown format")
    nonce, sealed = blob[1 : 1 + NONCE], blob[1 + NONCE :]
    try:
        body = json.loads(AESGCM(_key(secret)).decrypt(nonce, sealed, job_id.encode()))
    except InvalidTag:
        raise SealBroken("does not open") from None
    inp = GenerationInput(
        **body["inp"],
        images=tuple(_image(img) for img in body["images"]),
        mask=_image(body["mask"]),
    )
    return QueuedInput(model_id=body["model_id"], inp=inp)
