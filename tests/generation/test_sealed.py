"""A queued job's sealed input: opens only with its secret and for its own job, and holds no
plain prompt or upload bytes."""

from __future__ import annotations

import pytest

from imagedesigner.generation.normalize import GenerationInput
from imagedesigner.generation.sealed import QueuedInput, SealBroken, seal, unseal
from imagedesigner.imaging.media import ImageInput

SECRET = b"s" * 32
UPLOAD = b"\x89PNG-canary-upload-bytes-0451"


def queued() -> QueuedInput:
    image = ImageInput(data=UPLOAD, media_type="image/png", width=8, height=8)
    inp = GenerationInput(
        prompt="canary prompt", n=2, size="256x256", seed=7, images=(image,), mask=image
    )
    return QueuedInput("local/sketch", inp)


def test_round_trip_keeps_every_field():
    box = seal(SECRET, "gen_1", queued())
    assert unseal(SECRET, "gen_1", box) == queued()
    assert UPLOAD not in box and b"canary prompt" not in box


@pytest.mark.parametrize(
    ("secret", "job", "tamper"),
    [(b"t" * 32, "gen_1", False), (SECRET, "gen_2", False), (SECRET, "gen_1", True)],
)
def test_another_secret_another_job_or_altered_bytes_do_not_open(secret, job, tamper):
    box = bytearray(seal(SECRET, "gen_1", queued()))
    if tamper:
        box[-1] ^= 1
    with pytest.raises(SealBroken):
        unseal(secret, job, bytes(box))


def test_two_seals_of_the_same_input_differ():
    assert seal(SECRET, "gen_1", queued()) != seal(SECRET, "gen_1", queued())
