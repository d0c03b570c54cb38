"""providers/_lift.py: long base64 values cut out of a JSON answer before it is parsed. The
result must be what a full parse gives, value for value, or the document is refused the same
way; anything unusual is left to the parser."""

from __future__ import annotations

import base64
import os

import orjson
import pytest

from imagedesigner.providers import _content
from imagedesigner.providers._lift import MIN_LIFT, json_lifting, lifted_value
from imagedesigner.providers.base import ProviderBadResponse

B64 = base64.b64encode(os.urandom(3 * MIN_LIFT)).decode()


def resolved(doc, lifted):
    """The document with every placeholder replaced by the text it stands for."""
    if isinstance(doc, dict):
        return {k: resolved(v, lifted) for k, v in doc.items()}
    if isinstance(doc, list):
        return [resolved(v, lifted) for v in doc]
    value = lifted_value(doc, lifted)
    return bytes(value).decode() if isinstance(value, memoryview) else value


@pytest.mark.parametrize(
    "raw",
    [
        # OpenAI's shape, compact and pretty-printed
        orjson.dumps({"created": 1, "data": [{"b64_json": B64, "revised_prompt": "a fox"}]}),
        orjson.dumps(
            {"data": [{"b64_json": B64}, {"b64_json": B64[::-1]}]}, option=orjson.OPT_INDENT_2
        ),
        f'{{"data" : [ {{ "b64_json"\t:\r\n "{B64}" }} ]}}'.encode(),
        # short values stay in the document
        b'{"data": [{"b64_json": "aGVsbG8="}]}',
        # an escaped value (a JSON encoder that writes "\/") is left to the parser
        orjson.dumps({"data": [{"b64_json": B64}]}).replace(b"/", b"\\/"),
        # the key's text inside other strings, and as a value
        orjson.dumps({"note": 'say "b64_json": "x"', "k": "b64_json", "data": [{"b64_json": B64}]}),
        # a key that merely ends in the name (an escaped quote before it)
        b'{"a\\"b64_json": "' + B64.encode() + b'", "data": []}',
        # unicode around it
        orjson.dumps({"revised_prompt": "un renard \u00e9l\u00e9gant \U0001f98a", "b64_json": B64}),
    ],
)
def test_same_as_a_full_parse(raw):
    doc, lifted = json_lifting(raw, "b64_json")
    assert resolved(doc, lifted) == orjson.loads(raw)


def test_a_long_plain_value_is_lifted_as_bytes():
    raw = orjson.dumps({"data": [{"b64_json": B64}]})
    doc, lifted = json_lifting(raw, "b64_json")
    value = doc["data"][0]["b64_json"]
    assert value in lifted and bytes(lifted[value]) == B64.encode()
    assert len(orjson.dumps(doc)) < 200  # the image never became part of the parsed text


@pytest.mark.parametrize(
    "raw",
    [
        b'{"data": [{"b64_json": "' + B64.encode() + b'"}]',  # unclosed object
        b'{"data": [{"b64_json": "' + B64.encode(),  # unterminated string
        b'{"data": [{"b64_json": "' + B64.encode() + b'" "x"}]}',  # garbage after the value
        b'{"data": [{"b64_json": "' + B64.encode() + b'"}], }',  # trailing comma
    ],
)
def test_not_json_is_refused_like_a_full_parse(raw):
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(raw)
    with pytest.raises(ProviderBadResponse, match="not valid JSON"):
        _content.json_object_lifting(raw, "Fake", "b64_json")


def test_a_lifted_value_that_is_not_base64_is_refused_when_decoded():
    bad = B64[:100] + "!" + B64[101:]  # not of the alphabet; still a plain JSON string
    doc, lifted = _content.json_object_lifting(orjson.dumps({"b64_json": bad}), "Fake", "b64_json")
    with pytest.raises(ProviderBadResponse, match="not valid base64"):
        _content.decode_b64(lifted_value(doc["b64_json"], lifted), "Fake")


def test_decoding_from_the_buffer_gives_the_image():
    image = os.urandom(3 * MIN_LIFT)
    raw = orjson.dumps({"data": [{"b64_json": base64.b64encode(image).decode()}]})
    doc, lifted = _content.json_object_lifting(raw, "Fake", "b64_json")
    assert _content.decode_b64(lifted_value(doc["data"][0]["b64_json"], lifted), "Fake") == image
