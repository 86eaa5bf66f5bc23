"""REST API for photos, runs and ratings. Every query is scoped to the signed-in user."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.throttling import ScopedRateThrottle

from accounts.models import User
from catalogue.models import Track
from photos.models import Feedback, Photo, Run, RunItem
from photos.serializers import (
    FeedbackSerializer,
    PhotoMatchSerializer,
    PhotoSerializer,
    PhotoUploadSerializer,
    RunCreateSerializer,
    RunSerializer,
    chosen_mood,
)
from photos.services import feedback as feedback_service
from photos.services import photos as photo_service
from photos.services import runs
from photos.services.track_photos import photos_for_track


def _schema_only(view: viewsets.GenericViewSet[Any]) -> bool:
    """True while drf-spectacular inspects the view (there is no signed-in user then)."""
    return bool(getattr(view, "swagger_fake_view", False))


def _user(request: Request) -> User:
    user = request.user
    assert isinstance(user, User)  # IsAuthenticated runs first
    return user


def _start_run(request: Request, photo: Photo, options: dict[str, Any]) -> Response:
    """Queue a run for the photo with the request's mode/top_k/context; 202 with the run's URL."""
    run = runs.create_run(
        photo,
        _user(request),
        mode=options.get("mode"),
        top_k=options.get("top_k"),
        context=options.get("context", ""),
        mood=chosen_mood(options),
        filters=options.get("filters"),
    )
    return _accepted(request, run)


def _accepted(request: Request, run: Run) -> Response:
    data = RunSerializer(run, context={"request": request}).data
    return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": data["url"]})


class PhotoViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet[Photo]
):
    """Your photos. POST a multipart `image` to upload one and start a recommendation run."""

    serializer_class = PhotoSerializer
    parser_classes = [MultiPartParser, FormParser]
    throttle_scope = "uploads"

    def get_throttles(self) -> list[Any]:
        return [ScopedRateThrottle()] if self.action == "create" else []

    def get_queryset(self) -> QuerySet[Photo]:
        if _schema_only(self):
            return Photo.objects.none()
        return Photo.objects.filter(owner=_user(self.request))

    @extend_schema(
        request={"multipart/form-data": PhotoUploadSerializer},
        responses={202: RunSerializer, 400: OpenApiResponse(description="Not a usable photo")},
    )
    def create(self, request: Request) -> Response:
        upload = PhotoUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        data = upload.validated_data
        try:
            photo = photo_service.store_photo(_user(request), data["image"], data["image"].name)
        except photo_service.PhotoRejected as exc:
            raise ValidationError({"image": [str(exc)]}) from exc
        return _start_run(request, photo, data)

    def perform_destroy(self, instance: Photo) -> None:
        photo_service.delete_photo(instance)

    @extend_schema(responses=PhotoMatchSerializer(many=True))
    @action(detail=False, url_path=r"for-track/(?P<track_id>[0-9]+)", pagination_class=None)
    def for_track(self, request: Request, track_id: str) -> Response:
        """Your photos that fit a track, best first (music -> photo retrieval in the joint space)."""
        track = get_object_or_404(Track, pk=int(track_id))
        matches = photos_for_track(_user(request), track)
        data = [
            {"photo": PhotoSerializer(m.photo, context={"request": request}).data, "score": round(m.score, 4)}
            for m in matches
        ]
        return Response(data)


class RunViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Run]
):
    """Your recommendation runs, newest first; a run's detail has its ranked tracks with reasons."""

    serializer_class = RunSerializer
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    def get_queryset(self) -> QuerySet[Run]:
        if _schema_only(self):
            return Run.objects.none()
        return Run.objects.filter(user=_user(self.request)).select_related("photo")

    def get_serializer_context(self) -> dict[str, Any]:
        context = dict(super().get_serializer_context())
        if self.action == "retrieve":
            context["with_items"] = True
            context["ratings"] = dict(
                Feedback.objects.filter(user=_user(self.request), item__run_id=self.kwargs["pk"]).values_list(
                    "item_id", "rating"
                )
            )
        return context

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        run = runs.as_seen_now(self.get_object())
        return Response(self.get_serializer(run).data)

    @extend_schema(request=RunCreateSerializer, responses={202: RunSerializer})
    def create(self, request: Request) -> Response:
        """Run the recommender again for one of your photos (e.g. in the other mode)."""
        form = RunCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        photo = get_object_or_404(Photo, pk=data["photo"], owner=_user(request))
        return _start_run(request, photo, data)

    @extend_schema(
        request=None, responses={202: RunSerializer, 409: OpenApiResponse(description="Not failed")}
    )
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str | None = None) -> Response:
        run = self.get_object()
        if not runs.retry(run):
            return Response({"detail": "Only a failed run can be retried."}, status=status.HTTP_409_CONFLICT)
        run.refresh_from_db()
        return _accepted(request, run)


class FeedbackViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[Feedback],
):
    """Your ratings. POST {item, rating: 1|-1} to rate a recommended track (again to change it)."""

    serializer_class = FeedbackSerializer

    def get_queryset(self) -> QuerySet[Feedback]:
        if _schema_only(self):
            return Feedback.objects.none()
        return Feedback.objects.filter(user=_user(self.request))

    def perform_create(self, serializer: BaseSerializer[Feedback]) -> None:
        item: RunItem = serializer.validated_data["item"]
        # Another user's item is reported exactly like a missing one.
        if item.run.user_id != _user(self.request).pk:
            raise ValidationError({"item": ["Invalid pk - object does not exist."]})
        try:
            serializer.instance = feedback_service.rate(
                _user(self.request), item, serializer.validated_data["rating"]
            )
        except ValueError as exc:
            raise ValidationError({"rating": [str(exc)]}) from exc
