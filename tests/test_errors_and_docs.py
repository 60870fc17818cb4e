"""One error shape everywhere, and the OpenAPI schema and docs."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from openapi_schema_validator import OAS30ReadValidator
from openapi_spec_validator import validate
from rest_framework.test import APIClient

from onboarding.steps import STEPS, AgentType, camel
from tests.conftest import client_for


def test_malformed_json_is_a_clean_400(started: APIClient) -> None:
    response = started.post("/api/v1/onboarding/step", "{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert set(response.json()) == {"detail", "code"}


def test_a_body_that_is_not_an_object_is_422(started: APIClient) -> None:
    response = started.post("/api/v1/onboarding/step", {"step": 1, "data": [1, 2]}, format="json")

    assert response.status_code == 422
    assert response.json()["errors"]["data"]


def test_unknown_url_is_json_404(db: None) -> None:
    response = Client().get("/api/v1/nope")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


def test_unexpected_errors_are_500_without_internals(api: APIClient, monkeypatch: Any, caplog: Any) -> None:
    from onboarding import services

    def explode(**_: Any) -> None:
        raise RuntimeError("secret internals: password=hunter2")

    monkeypatch.setattr(services, "onboarding_start", explode)

    response = api.post("/api/v1/onboarding/start")

    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error.", "code": "internal_error"}
    assert "hunter2" not in response.content.decode()
    assert any(record.exc_info and "hunter2" in str(record.exc_info[1]) for record in caplog.records)


def test_wrong_method_is_405_in_the_error_shape(api: APIClient) -> None:
    response = api.put("/api/v1/onboarding/start")

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


@pytest.mark.parametrize(
    ("url", "allow", "name", "description"),
    [
        ("/api/v1/onboarding", "DELETE, OPTIONS", "Onboarding Erase", "``DELETE onboarding``: erase the caller's"),
        ("/api/v1/onboarding/state", "GET, HEAD, OPTIONS", "Onboarding State", "The caller's onboarding state."),
        ("/api/v1/onboarding/chat/stream", "POST, OPTIONS", "Chat Stream", "The chat endpoint as Server-Sent Events"),
    ],
)
def test_options_names_and_describes_each_endpoint_by_its_own_action(
    api: APIClient, url: str, allow: str, name: str, description: str
) -> None:
    # when a client asks an endpoint what it offers
    response = api.options(url)

    # then it answers with that endpoint's methods, name and description (not its viewset's)
    assert response.status_code == 200
    assert response["Allow"] == allow
    assert response.json()["name"] == name
    assert response.json()["description"].startswith(description)


def test_request_id_is_echoed_or_generated(api: APIClient) -> None:
    echoed = api.post("/api/v1/onboarding/start", HTTP_X_REQUEST_ID="abc-123")
    generated = api.get("/api/v1/onboarding/state")
    hostile = api.get("/api/v1/onboarding/state", HTTP_X_REQUEST_ID="bad id\nwith newline")

    assert echoed["X-Request-ID"] == "abc-123"
    assert len(generated["X-Request-ID"]) == 32
    assert hostile["X-Request-ID"] != "bad id\nwith newline"


@pytest.fixture
def schema(db: None) -> dict:
    response = Client().get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    return response.json()


def test_schema_documents_every_step_and_endpoint(schema: dict) -> None:
    components = schema["components"]["schemas"]
    paths = schema["paths"]

    for step in STEPS:
        name = "".join(part.capitalize() for part in step.name.split("_")) + "StepRequest"
        assert name in components, name
        assert set(step.field_names()) <= set(components[name]["properties"])
    goal_ref = components["GoalsStepRequest"]["properties"]["primary_goal"]["allOf"][0]["$ref"]
    assert components[goal_ref.rsplit("/", 1)[-1]]["enum"] == ["fat_loss", "muscle_gain", "general_fitness"]
    for path in ("start", "state", "step", "progress", "complete", "export"):
        assert f"/api/v1/onboarding/{path}" in paths
    assert "/api/v1/auth/register" in paths


# Every operation the API published before its views became viewsets behind a router (issue 10), with the
# tag of its area: the move must not add, drop or rename an operation (account deletion came later, on purpose).
OPERATION_TAGS = {
    ("post", "/api/v1/auth/register"): "auth",
    ("post", "/api/v1/auth/token"): "auth",
    ("post", "/api/v1/auth/token/refresh"): "auth",
    ("post", "/api/v1/auth/token/verify"): "auth",
    ("post", "/api/v1/auth/logout"): "auth",
    ("delete", "/api/v1/auth/account"): "auth",  # added since: deleting one's account (erasure on request)
    ("delete", "/api/v1/onboarding"): "onboarding",
    ("post", "/api/v1/onboarding/start"): "onboarding",
    ("get", "/api/v1/onboarding/state"): "onboarding",
    ("post", "/api/v1/onboarding/step"): "onboarding",
    ("get", "/api/v1/onboarding/progress"): "onboarding",
    ("post", "/api/v1/onboarding/complete"): "onboarding",
    ("get", "/api/v1/onboarding/export"): "onboarding",
    ("post", "/api/v1/onboarding/chat"): "chat",
    ("post", "/api/v1/onboarding/chat/stream"): "chat",
    ("get", "/api/v1/onboarding/current-agent"): "chat",
    ("get", "/health"): "health",
    ("get", "/api/v1/health/ready"): "health",
    ("get", "/api/v1/health/anthropic"): "health",
    ("get", "/api/v1/health/agents"): "health",
}
# What drf-spectacular makes up when a view names no operation id: ``api_v1_onboarding_state_retrieve``.
GENERATED_ID = re.compile(r"^api_|_(list|create|retrieve|update|partial_update|destroy)$")


def _operations(schema: dict) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): operation for path, methods in schema["paths"].items() for method, operation in methods.items()
    }


def test_schema_publishes_the_same_operations_as_before_the_viewsets(schema: dict) -> None:
    assert set(_operations(schema)) == set(OPERATION_TAGS)


def test_every_operation_has_its_areas_tag_and_a_unique_meaningful_id(schema: dict) -> None:
    # given the published operations and the tags the schema declares
    operations = _operations(schema)
    declared = [tag["name"] for tag in schema["tags"]]

    # then the tags are the four areas, and each operation carries exactly its area's
    assert declared == ["auth", "onboarding", "chat", "health"]
    for key, operation in operations.items():
        assert operation["tags"] == [OPERATION_TAGS[key]], key
    # and each operation id is unique, named by hand (snake_case, not generated) and starts with its area's prefix
    ids = [operation["operationId"] for operation in operations.values()]
    assert len(set(ids)) == len(ids)
    for (method, path), operation in operations.items():
        operation_id = operation["operationId"]
        assert re.fullmatch(r"[a-z]+(_[a-z]+)+", operation_id), operation_id
        assert not GENERATED_ID.search(operation_id), operation_id
        area = "onboarding" if OPERATION_TAGS[method, path] == "chat" else OPERATION_TAGS[method, path]
        assert operation_id.startswith(f"{area}_"), operation_id


def test_served_schema_passes_the_openapi_spec_validator(schema: dict) -> None:
    # given the schema as /api/schema/ serves it (JSON)
    # when a strict validator that client generators trust reads it
    # then it raises nothing: no keyword from another OpenAPI version, no broken reference
    validate(schema)


def test_the_sse_stream_is_described_not_typed_and_its_event_shapes_are_named_components(schema: dict) -> None:
    # given the 200 of the stream, as generated clients see it
    stream = schema["paths"]["/api/v1/onboarding/chat/stream"]["post"]["responses"]["200"]["content"]
    body = stream["text/event-stream"]["schema"]

    # then no client is told to parse it as one JSON value, and each event's data has a component the text names
    assert not {"type", "properties", "oneOf", "allOf", "anyOf"} & set(body)
    components = schema["components"]["schemas"]
    for component in ("ChatStreamDelta", "ChatResponse", "Error"):
        assert component in components
        assert f"#/components/schemas/{component}" in body["description"]
    assert components["ChatStreamDelta"]["properties"]["text"]["type"] == "string"


def test_component_names_say_request_once(schema: dict) -> None:
    # given the component names generated clients turn into class names
    names = set(schema["components"]["schemas"])

    # then none doubles the suffix COMPONENT_SPLIT_REQUEST adds, and the two request bodies read plainly
    assert not [name for name in names if name.endswith("RequestRequest")]
    assert {"StepSubmitRequest", "ChatRequest"} <= names


def _enum_of(schema: dict, field: dict) -> tuple[set[Any], bool]:
    """The values a property allows and whether it may be null, following ``$ref``/``allOf``/``oneOf``."""
    components = schema["components"]["schemas"]
    values: set[Any] = set()
    refs = [field, *field.get("allOf", []), *field.get("oneOf", [])]
    for ref in refs:
        target = components[ref["$ref"].rsplit("/", 1)[-1]] if "$ref" in ref else ref
        values |= set(target.get("enum", []))
    return values - {None}, bool(field.get("nullable")) or None in values


@pytest.mark.parametrize(
    ("component", "field", "nullable"),
    [
        ("OnboardingState", "current_agent", True),
        ("CurrentAgent", "agent_type", True),
        ("ChatResponse", "agent_type", False),
        ("ChatResponse", "next_agent_type", True),
        *[(f"{camel(step.name)}NextStep", "agent_type", False) for step in STEPS],
    ],
)
def test_agent_types_are_an_enum_of_the_five_agents(schema: dict, component: str, field: str, nullable: bool) -> None:
    # given a property that names an agent
    properties = schema["components"]["schemas"][component]["properties"]

    # then it allows exactly the five agent types, and null only where the API can answer null
    assert _enum_of(schema, properties[field]) == (set(AgentType.ALL), nullable)


def test_next_action_is_an_enum(schema: dict) -> None:
    properties = schema["components"]["schemas"]["ChatResponse"]["properties"]

    assert _enum_of(schema, properties["next_action"]) == ({"continue", "advance_step", "complete_onboarding"}, False)


def _component(schema: dict, ref: dict) -> tuple[str, dict]:
    """The name and schema of the component a property points to (``$ref`` or a one-item ``allOf``)."""
    target = ref["allOf"][0]["$ref"] if "allOf" in ref else ref["$ref"]
    name = target.rsplit("/", 1)[-1]
    return name, schema["components"]["schemas"][name]


def test_step_data_is_typed_per_step_by_its_key(schema: dict) -> None:
    # given the saved answers of the onboarding state, as generated clients see them
    state = schema["components"]["schemas"]["OnboardingState"]
    name, answers = _component(schema, state["properties"]["step_data"])

    # then each key "1".."9" is optional and holds that step's component, with the step's fields
    assert name == "StepAnswers"
    assert set(answers["properties"]) == {str(step.number) for step in STEPS}
    assert not answers.get("required")
    for step in STEPS:
        component, fields = _component(schema, answers["properties"][str(step.number)])
        assert component == f"{camel(step.name)}Step"
        assert list(fields["properties"]) == list(step.field_names())
        assert set(fields.get("required", [])) == set(step.required_names())


def test_the_next_step_is_one_of_nine_variants_told_apart_by_name(schema: dict) -> None:
    # given the next step of the progress endpoint
    components = schema["components"]["schemas"]
    name, next_step = _component(schema, components["Progress"]["properties"]["next_step"])
    variants = [ref["$ref"].rsplit("/", 1)[-1] for ref in next_step["oneOf"]]

    # then it is one of nine variants, one per step, told apart by "name", which each allows one value of
    assert name == "NextStep"
    assert variants == [f"{camel(step.name)}NextStep" for step in STEPS]
    for step, variant in zip(STEPS, variants, strict=True):
        properties = components[variant]["properties"]
        assert _enum_of(schema, properties["name"]) == ({step.name}, False)
        assert _component(schema, properties["fields"])[0] == "StepFields"
        # and each types its suggestion: the proposal's fields on the plan steps, only null on the others
        suggestion_name, suggestion = _component(schema, properties["suggestion"])
        if step.proposal is None:
            assert suggestion_name == "NullEnum"
            assert suggestion == {"enum": [None]}
        else:
            assert suggestion_name == f"{camel(step.name)}Suggestion"
            assert list(suggestion["properties"]) == [spec.name for spec in step.proposal_fields()]
            assert "approved" not in suggestion["properties"]


def _response_validator(schema: dict, component: str) -> OAS30ReadValidator:
    return OAS30ReadValidator({"$ref": f"#/components/schemas/{component}", "components": schema["components"]})


def test_every_progress_and_state_on_the_way_matches_its_typed_schema(
    schema: dict, started: APIClient, answers: dict[int, dict[str, Any]]
) -> None:
    # given the published Progress and OnboardingState, with the nine next-step variants and typed answers
    progress_schema = _response_validator(schema, "Progress")
    state_schema = _response_validator(schema, "OnboardingState")

    for step, data in answers.items():
        # when the user is about to answer each step, and after answering it
        progress = started.get("/api/v1/onboarding/progress").json()
        state = started.post("/api/v1/onboarding/step", {"step": step, "data": data}, format="json").json()

        # then each body matches exactly one variant (its own step's), and the answers their steps' types
        progress_schema.validate(progress)
        state_schema.validate(state)
        assert progress["next_step"]["name"] == STEPS[step - 1].name
    assert started.get("/api/v1/onboarding/progress").json()["next_step"] is None


@pytest.mark.parametrize("path", ["/api/v1/onboarding/step", "/api/v1/onboarding/chat"])
def test_request_examples_succeed_on_a_freshly_started_onboarding(
    schema: dict, make_user: Callable[..., Any], path: str
) -> None:
    # given the request examples Swagger UI offers for the operation
    examples = schema["paths"][path]["post"]["requestBody"]["content"]["application/json"].get("examples", {})
    assert examples, f"{path} documents no request example"

    for name, example in examples.items():
        # when each is sent as is by a user who has just started onboarding
        client = client_for(make_user())
        assert client.post("/api/v1/onboarding/start").status_code == 201
        response = client.post(path, example["value"], format="json")

        # then it succeeds, as "Try it out" would
        assert 200 <= response.status_code < 300, (name, response.status_code, response.content)


def test_swagger_ui_is_served_with_bundled_assets(db: None) -> None:
    page = Client().get("/api/docs/")

    assert page.status_code == 200
    assert b"drf_spectacular_sidecar" in page.content or b"/static/" in page.content
    assert b"cdn.jsdelivr" not in page.content
    assert b"unpkg.com" not in page.content
