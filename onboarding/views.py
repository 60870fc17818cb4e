"""The form flow's endpoints: ``/api/v1/onboarding`` and its actions. Thin: validate, call a service, serialize."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import ViewSet

from core.schema import ErrorSerializer
from onboarding import selectors, services
from onboarding.serializers import (
    STEP_DATA_SCHEMA,
    ExportSerializer,
    OnboardingStateSerializer,
    ProgressSerializer,
    StepSubmitSerializer,
)

_ERRORS = {401: ErrorSerializer, 404: ErrorSerializer}
# COMPONENT_SPLIT_REQUEST adds "Request" to request components: this one is published as ``StepSubmitRequest``.
_STEP_REQUEST = inline_serializer(
    "StepSubmit",
    fields={"step": serializers.IntegerField(min_value=1, max_value=9), "data": STEP_DATA_SCHEMA},
)


@extend_schema(tags=["onboarding"])
class OnboardingViewSet(ViewSet):
    """The caller's own onboarding, by form (routed by ``core.routers.OwnResourceRouter``: no pk in URLs).

    Each action's ``name`` and docstring are what OPTIONS and the browsable API show.
    """

    @extend_schema(
        operation_id="onboarding_start",
        request=None,
        responses={200: OnboardingStateSerializer, 201: OnboardingStateSerializer, 401: ErrorSerializer},
    )
    @action(detail=False, methods=["post"], name="Onboarding Start")
    def start(self, request: Request) -> Response:
        """Start onboarding (201), or get the state already started (200)."""
        state, created = services.onboarding_start(user=request.user)
        return Response(
            OnboardingStateSerializer(state).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    @extend_schema(operation_id="onboarding_state", responses={200: OnboardingStateSerializer, **_ERRORS})
    @action(detail=False, methods=["get"], name="Onboarding State")
    def state(self, request: Request) -> Response:
        """The caller's onboarding state."""
        return Response(OnboardingStateSerializer(selectors.onboarding_state_get(user=request.user)).data)

    @extend_schema(operation_id="onboarding_erase", responses={204: OpenApiResponse(description="Erased"), **_ERRORS})
    def erase(self, request: Request) -> Response:
        """``DELETE onboarding``: erase the caller's onboarding (answers, history, agent memory, cached replies)."""
        services.onboarding_erase(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        operation_id="onboarding_step_submit",
        request=_STEP_REQUEST,
        # A body that Swagger UI's "Try it out" can send as is on a freshly started onboarding (step 1 is
        # the only step open then; a later step number answers 409).
        examples=[
            OpenApiExample("Step 1", value={"step": 1, "data": {"fitness_level": "beginner"}}, request_only=True)
        ],
        responses={200: OnboardingStateSerializer, 409: ErrorSerializer, 422: ErrorSerializer, **_ERRORS},
    )
    @action(detail=False, methods=["post"], name="Onboarding Step")
    def step(self, request: Request) -> Response:
        """Submit one step's answer by form."""
        body = StepSubmitSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        state = services.onboarding_step_submit(user=request.user, **body.validated_data)
        return Response(OnboardingStateSerializer(state).data)

    @extend_schema(operation_id="onboarding_progress", responses={200: ProgressSerializer, **_ERRORS})
    @action(detail=False, methods=["get"], name="Onboarding Progress")
    def progress(self, request: Request) -> Response:
        """Completed steps, percentage and the next step's fields."""
        state = selectors.onboarding_state_get(user=request.user)
        return Response(ProgressSerializer(selectors.onboarding_progress_get(state=state)).data)

    @extend_schema(
        operation_id="onboarding_complete",
        request=None,
        responses={200: OnboardingStateSerializer, 409: ErrorSerializer, **_ERRORS},
    )
    @action(detail=False, methods=["post"], name="Onboarding Complete")
    def complete(self, request: Request) -> Response:
        """Finish onboarding once all nine steps are valid."""
        state = services.onboarding_complete(user=request.user)
        return Response(OnboardingStateSerializer(state).data)

    @extend_schema(operation_id="onboarding_export", responses={200: ExportSerializer, **_ERRORS})
    @action(detail=False, methods=["get"], name="Onboarding Export")
    def export(self, request: Request) -> Response:
        """Everything stored about the caller's onboarding, in one JSON document."""
        return Response(selectors.onboarding_export_get(user=request.user))
