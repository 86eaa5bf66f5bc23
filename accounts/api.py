from collections.abc import Sequence
from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import throttle
from accounts.models import User

TOKEN_RESPONSE = inline_serializer("TokenResponse", {"token": serializers.CharField()})


class TokenView(APIView):
    """Your personal API token: GET it while signed in, or POST your username and password for it.
    The token is created on first request and stays the same until you replace it on your account page."""

    def get_permissions(self) -> Sequence[Any]:
        if self.request.method == "POST":
            return [AllowAny()]
        return super().get_permissions()

    @extend_schema(responses=TOKEN_RESPONSE)
    def get(self, request: Request) -> Response:
        user = request.user
        assert isinstance(user, User)  # IsAuthenticated runs first
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})

    @extend_schema(
        request=AuthTokenSerializer,
        responses={200: TOKEN_RESPONSE, 400: OpenApiResponse(description="Wrong username or password")},
    )
    def post(self, request: Request) -> Response:
        address = throttle.client_address(request)
        username = str(request.data.get("username", "")) if isinstance(request.data, dict) else ""
        if throttle.sign_in_refused(address, username):
            raise exceptions.Throttled(wait=throttle.WINDOW_SECONDS)
        credentials = AuthTokenSerializer(data=request.data, context={"request": request})
        if not credentials.is_valid():
            throttle.sign_in_failed(address, username)
            raise exceptions.ValidationError(credentials.errors)
        token, _ = Token.objects.get_or_create(user=credentials.validated_data["user"])
        return Response({"token": token.key})
