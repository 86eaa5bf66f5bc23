from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class TokenView(APIView):
    """The signed-in user's personal API token (created on first request)."""

    @extend_schema(responses=inline_serializer("TokenResponse", {"token": serializers.CharField()}))
    def get(self, request: Request) -> Response:
        token, _ = Token.objects.get_or_create(user=request.user)
        return Response({"token": token.key})
