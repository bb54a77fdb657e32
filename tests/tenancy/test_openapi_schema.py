"""The OpenAPI schema says what the API does: operations filed by resource, the errors each can
answer with their body, nullable fields marked, lists documented as lists, and only the query
parameters a view reads, with the values it accepts."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator

from tenancy.roles import Role
from tests.conftest import client_for

METHODS = {"get", "post", "put", "patch", "delete"}
ERROR = {"$ref": "#/components/schemas/Error"}


@pytest.fixture(scope="module")
def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def test_operations_are_filed_by_resource(schema):
    tags = {path: operation["tags"] for path, _, operation in _operations(schema)}
    assert all(tag != ["t"] for tag in tags.values())
    assert tags["/api/v1/t/{tenant_slug}/"] == ["tenant"]
    assert tags["/api/v1/t/{tenant_slug}/members/"] == ["people"]
    assert tags["/api/v1/t/{tenant_slug}/partner-imports/"] == ["imports"]
    assert tags["/api/v1/t/{tenant_slug}/programs/{program_id}/terms/"] == ["programs"]
    assert {tag for value in tags.values() for tag in value} >= {
        "partners",
        "programs",
        "enrollments",
        "people",
        "invitations",
        "imports",
        "tiers",
        "tenant",
    }


def test_every_operation_documents_its_error_answers_with_the_error_body(schema):
    body = schema["components"]["schemas"]["Error"]
    assert set(body["required"]) == {"detail", "code", "errors"}
    for path, method, operation in _operations(schema):
        expected = {"401"}
        if "{tenant_slug}" in path:
            expected |= {"400", "403", "404"}
            if method != "get":
                expected.add("409")
        if method != "get":
            expected.add("415")
        responses = operation["responses"]
        assert expected <= set(responses), (method, path, sorted(responses))
        for code in expected:
            assert responses[code]["content"]["application/json"]["schema"] == ERROR


@pytest.mark.parametrize(
    ("component", "field"),
    [
        ("Partner", "tier_name"),
        ("Partner", "channel_manager_email"),
        ("Enrollment", "terms_version"),
        ("Enrollment", "accepted_by"),
        ("Invitation", "invited_by"),
        ("OwnMembership", "partner_name"),
    ],
)
def test_fields_that_answer_null_are_nullable(schema, component, field):
    assert schema["components"]["schemas"][component]["properties"][field].get("nullable")


def test_terms_are_documented_as_the_plain_list_they_are(schema, alpha):
    operation = schema["paths"]["/api/v1/t/{tenant_slug}/programs/{program_id}/terms/"]["get"]
    body = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert body == {"type": "array", "items": {"$ref": "#/components/schemas/Terms"}}
    assert [p["name"] for p in operation["parameters"] if p["in"] == "query"] == []
    url = f"/api/v1/t/alpha/programs/{alpha.program.pk}/terms/"
    answer = client_for(alpha.user(Role.VENDOR_ADMIN)).get(url).json()
    assert isinstance(answer, list)


def _query_parameters(schema, path: str) -> dict[str, dict]:
    operation = schema["paths"][path]["get"]
    return {p["name"]: p["schema"] for p in operation["parameters"] if p["in"] == "query"}


def test_list_parameters_are_the_ones_the_views_read(schema):
    programs = _query_parameters(schema, "/api/v1/t/{tenant_slug}/programs/")
    assert set(programs) == {"status", "kind", "q", "page", "page_size"}
    enrollments = _query_parameters(schema, "/api/v1/t/{tenant_slug}/enrollments/")
    assert "ordering" not in enrollments
    members = _query_parameters(schema, "/api/v1/t/{tenant_slug}/members/")
    assert members["ordering"]["enum"] == [
        "created_at",
        "-created_at",
        "user__email",
        "-user__email",
    ]


@pytest.mark.parametrize(
    ("path", "parameter", "value"),
    [
        ("programs/", "status", "bogus"),
        ("programs/", "kind", "bribe"),
        ("enrollments/", "status", "maybe"),
        ("members/", "ordering", "password"),
    ],
)
def test_a_value_outside_the_documented_ones_is_a_400_naming_the_parameter(
    alpha, path, parameter, value
):
    client = client_for(alpha.user(Role.VENDOR_ADMIN))
    response = client.get(f"/api/v1/t/alpha/{path}", {parameter: value})
    assert response.status_code == 400, response.content[:200]
    assert parameter in response.json()["errors"]


def test_a_change_sent_in_a_content_type_it_does_not_read_is_a_documented_415(schema, alpha):
    """Schemathesis found it: a body in a content type no parser of the operation reads."""
    program = alpha.program
    client = client_for(alpha.user(Role.PARTNER_ADMIN))
    response = client.post(
        f"/api/v1/t/{alpha.tenant.slug}/programs/{program.pk}/enroll/",
        "terms_version=1",
        content_type="text/plain",
    )
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    operation = schema["paths"]["/api/v1/t/{tenant_slug}/programs/{program_id}/enroll/"]["post"]
    assert operation["responses"]["415"]["content"]["application/json"]["schema"] == ERROR
