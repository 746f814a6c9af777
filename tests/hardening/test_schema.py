"""The OpenAPI document declares the errors every operation can answer, in its face's shape — so that a
client, and the schema fuzzer in CI, can hold the API to it."""

import pytest
from drf_spectacular.generators import SchemaGenerator

pytestmark = pytest.mark.django_db

METHODS = {"get", "put", "post", "patch", "delete"}


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema):
    for path, items in schema["paths"].items():
        for method, operation in items.items():
            if method in METHODS:
                yield path, method, operation


def test_every_operation_declares_its_errors_in_its_faces_shape(schema):
    checked = 0
    for path, method, operation in operations(schema):
        ibm = path.startswith(("/v1/", "/v2/", "/identity/"))
        media_type, ref = (("application/json", "IBMError") if ibm else ("application/problem+json", "Problem"))
        expected = {"400", "404", "406", "429"}
        if operation.get("security"):
            expected |= {"401", "403"}
        if method != "get":
            expected.add("409")
        if method in {"post", "put", "patch"}:
            expected |= {"413", "415"}
        for status in expected:
            declared = operation["responses"].get(status)
            assert declared, f"{method.upper()} {path} does not declare {status}"
            assert declared["content"][media_type]["schema"] == {"$ref": f"#/components/schemas/{ref}"}, \
                f"{method.upper()} {path} {status}"
        checked += 1
    assert checked > 70


def test_the_token_endpoint_declares_no_authentication_errors(schema):
    responses = schema["paths"]["/identity/token"]["post"]["responses"]
    assert "401" not in responses and "400" in responses


def test_the_error_schemas_describe_what_the_handlers_answer(schema):
    problem = schema["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "requestId", "errors"} <= set(problem["properties"])
    ibm = schema["components"]["schemas"]["IBMError"]
    assert {"trace", "errors", "status_code"} <= set(ibm["properties"])
