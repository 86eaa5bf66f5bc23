from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User


class TokenView(APIView):
    """The signed-in user's personal API token (created on first request)."""

    @extend_schema(responses=inline_serializer("TokenResponse", {"token": serializers.CharField()}))
    def get(self, request: Request) -> Response:
        user = request.user
        assert isinstance(user, User)  # IsAuthenticated runs first
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})
