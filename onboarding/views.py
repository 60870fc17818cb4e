"""The form flow's endpoints under ``/api/v1/onboarding/``. Thin: validate, call a service, serialize."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from onboarding import selectors, services
from onboarding.serializers import (
    STEP_DATA_SCHEMA,
    ExportSerializer,
    OnboardingStateSerializer,
    ProgressSerializer,
    StepSubmitSerializer,
)
from shuren.schema import ErrorSerializer

_ERRORS = {401: ErrorSerializer, 404: ErrorSerializer}
_STEP_REQUEST = inline_serializer(
    "StepSubmitRequest",
    fields={"step": serializers.IntegerField(min_value=1, max_value=9), "data": STEP_DATA_SCHEMA},
)


class OnboardingStartView(APIView):
    """Start onboarding (201), or get the state already started (200)."""

    @extend_schema(
        request=None, responses={200: OnboardingStateSerializer, 201: OnboardingStateSerializer, 401: ErrorSerializer}
    )
    def post(self, request: Request) -> Response:
        state, created = services.onboarding_start(user=request.user)
        return Response(
            OnboardingStateSerializer(state).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class OnboardingStateView(APIView):
    """The caller's onboarding state."""

    @extend_schema(responses={200: OnboardingStateSerializer, **_ERRORS})
    def get(self, request: Request) -> Response:
        return Response(OnboardingStateSerializer(selectors.onboarding_state_get(user=request.user)).data)


class OnboardingEraseView(APIView):
    """``DELETE onboarding``: erase the caller's onboarding (answers, history, agent memory, cached replies)."""

    @extend_schema(responses={204: OpenApiResponse(description="Erased"), **_ERRORS})
    def delete(self, request: Request) -> Response:
        services.onboarding_erase(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class OnboardingStepView(APIView):
    """Submit one step's answer by form."""

    @extend_schema(
        request=_STEP_REQUEST,
        responses={200: OnboardingStateSerializer, 409: ErrorSerializer, 422: ErrorSerializer, **_ERRORS},
    )
    def post(self, request: Request) -> Response:
        body = StepSubmitSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        state = services.onboarding_step_submit(user=request.user, **body.validated_data)
        return Response(OnboardingStateSerializer(state).data)


class OnboardingProgressView(APIView):
    """Completed steps, percentage and the next step's fields."""

    @extend_schema(responses={200: ProgressSerializer, **_ERRORS})
    def get(self, request: Request) -> Response:
        state = selectors.onboarding_state_get(user=request.user)
        return Response(ProgressSerializer(selectors.onboarding_progress_get(state=state)).data)


class OnboardingCompleteView(APIView):
    """Finish onboarding once all nine steps are valid."""

    @extend_schema(request=None, responses={200: OnboardingStateSerializer, 409: ErrorSerializer, **_ERRORS})
    def post(self, request: Request) -> Response:
        state = services.onboarding_complete(user=request.user)
        return Response(OnboardingStateSerializer(state).data)


class OnboardingExportView(APIView):
    """Everything stored about the caller's onboarding, in one JSON document."""

    @extend_schema(responses={200: ExportSerializer, **_ERRORS})
    def get(self, request: Request) -> Response:
        return Response(selectors.onboarding_export_get(user=request.user))
