"""The OpenAPI schema's operations list the errors they can answer, not only their success."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

ERROR = inline_serializer("Error", {"detail": serializers.CharField()})
INVALID = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description="The request is invalid: each field or parameter at fault with a list of what is wrong "
    "with it, or a `detail` message.",
)


class PhotophoneAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code, response in self._error_responses().items():
            if str(code) not in responses:
                responses[str(code)] = self._get_response_for_code(response, str(code), direction=direction)
        return responses

    def _error_responses(self) -> dict[int, OpenApiResponse]:
        errors: dict[int, OpenApiResponse] = {}
        has_query = any(p.get("in") == "query" for p in self._get_parameters())
        if self._get_request_body() or has_query:
            errors[400] = INVALID
        if self.get_auth() and not self._allows_anonymous():
            errors[401] = OpenApiResponse(ERROR, description="No valid token or session")
        if "{" in self.path or (self.method == "GET" and self._is_list_view() and has_query):
            errors[404] = OpenApiResponse(
                ERROR, description="Not found (or not yours), or a page past the end"
            )
        errors[429] = OpenApiResponse(
            ERROR,
            description="Too many requests (or failed sign-ins); the Retry-After header says when to retry",
        )
        return errors

    def _allows_anonymous(self) -> bool:
        return any(type(p).__name__ == "AllowAny" for p in self.view.get_permissions())
