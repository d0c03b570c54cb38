"""/openapi.json describes what the API really sends and takes: response models on every JSON
route, the error envelope for every error status (and no 422, which is never sent), a
multipart body for edits, and the limits the server enforces."""

from __future__ import annotations

import pytest

from imagedesigner.api.schemas import ImageParams

ERROR_REF = "#/components/schemas/ErrorResponse"
METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture
async def spec(client) -> dict:
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    return r.json()


def operations(spec: dict):
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item:
                yield method, path, item[method]


async def test_no_422_anywhere(spec):
    text = str(spec)
    assert "422" not in text and "HTTPValidationError" not in text


async def test_every_operation_documents_its_errors_with_the_envelope(spec):
    seen = 0
    for method, path, op in operations(spec):
        responses = op["responses"]
        assert "500" in responses, (method, path)
        for status, response in responses.items():
            if int(status) >= 400 and (path, status) != ("/readyz", "503"):  # its own body
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": ERROR_REF}, (method, path, status)
        if op.get("security"):
            assert {"401", "403", "429"} <= set(responses), (method, path)
        if "{" in path:
            assert "404" in responses, (method, path)
        if "requestBody" in op:
            assert {"400", "413"} <= set(responses), (method, path)
        seen += 1
    assert seen >= 30
    envelope = spec["components"]["schemas"]["ErrorResponse"]
    assert envelope["required"] == ["error"]
    detail = spec["components"]["schemas"]["ErrorDetail"]
    assert set(detail["properties"]) == {"message", "type", "param", "code"}


async def test_every_json_success_has_a_response_schema(spec):
    for method, path, op in operations(spec):
        for status, response in op["responses"].items():
            if not status.startswith("2") or status == "204":
                continue
            content = response.get("content", {})
            assert content, (method, path, status)
            for media, body in content.items():
                if media == "application/json":
                    assert body["schema"].get("$ref"), (method, path, status)


async def test_images_and_export_document_their_binary_types(spec):
    image = spec["paths"]["/v1/images/{image_id}"]["get"]["responses"]["200"]["content"]
    assert set(image) == {"image/png", "image/jpeg", "image/webp"}
    export = spec["paths"]["/v1/me/export"]["get"]["responses"]["200"]["content"]
    assert set(export) == {"application/zip"}


async def test_edits_has_a_multipart_body_with_the_generation_fields(spec):
    body = spec["paths"]["/v1/images/edits"]["post"]["requestBody"]
    assert body["required"] is True
    form = body["content"]["multipart/form-data"]["schema"]
    assert set(ImageParams.model_fields) | {"image", "image[]", "mask"} == set(form["properties"])
    assert form["properties"]["image"]["format"] == "binary"
    assert form["required"] == ["prompt"] and form["additionalProperties"] is False
    assert form["properties"]["n"] == {**form["properties"]["n"], "minimum": 1, "maximum": 10}


async def test_limits_are_in_the_schema(spec, container):
    schemas = spec["components"]["schemas"]
    params = schemas["ImageParams"]["properties"]
    assert params["prompt"]["minLength"] == 1
    assert params["prompt"]["maxLength"] == container.settings.max_prompt_chars
    assert params["stream"]["anyOf"][0] == {"type": "boolean"}
    assert {"minimum": 0, "maximum": 2**32 - 1}.items() <= params["seed"]["anyOf"][0].items()
    ticket = schemas["TicketBody"]["properties"]
    assert (ticket["subject"]["minLength"], ticket["subject"]["maxLength"]) == (1, 200)
    assert ticket["body"]["maxLength"] == 20_000
    assert schemas["SignupBody"]["properties"]["email"]["maxLength"] == 320
    limit = next(
        p for p in spec["paths"]["/v1/generations"]["get"]["parameters"] if p["name"] == "limit"
    )
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 100)


@pytest.mark.parametrize("settings_overrides", [{"max_prompt_chars": 1000}])
async def test_the_prompt_limit_is_the_setting(client, auth, settings_overrides):
    spec = (await client.get("/openapi.json")).json()
    assert spec["components"]["schemas"]["ImageParams"]["properties"]["prompt"]["maxLength"] == 1000
    edit_form = spec["paths"]["/v1/images/edits"]["post"]["requestBody"]["content"]
    assert edit_form["multipart/form-data"]["schema"]["properties"]["prompt"]["maxLength"] == 1000
    r = await client.post("/v1/images/generations", json={"prompt": "x" * 1001}, headers=auth)
    assert r.status_code == 400 and r.json()["error"]["param"] == "prompt"


async def test_the_security_schemes_are_declared(spec):
    schemes = spec["components"]["securitySchemes"]
    assert schemes["apiKey"] == {**schemes["apiKey"], "type": "http", "scheme": "bearer"}
    assert schemes["session"]["in"] == "cookie"
    generation = spec["paths"]["/v1/images/generations"]["post"]
    assert {"apiKey": []} in generation["security"]
