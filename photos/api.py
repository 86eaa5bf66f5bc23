"""REST API for photos, runs and ratings. Every query is scoped to the signed-in user."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from accounts.models import User
from accounts.throttle import RunBudgetThrottle
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
from photos.services import idempotency, runs
from photos.services import photos as photo_service
from photos.services.track_photos import photos_for_track


def _schema_only(view: viewsets.GenericViewSet[Any]) -> bool:
    """True while drf-spectacular inspects the view (there is no signed-in user then)."""
    return bool(getattr(view, "swagger_fake_view", False))


def _user(request: Request) -> User:
    user = request.user
    assert isinstance(user, User)  # IsAuthenticated runs first
    return user


IDEMPOTENCY_KEY = OpenApiParameter(
    idempotency.HEADER,
    OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description="Any unique string (e.g. a UUID). A request repeated with the same key within a day answers "
    "with the run the first one started instead of starting another; the same key with a different request "
    "is a 422, and while the first request is still being handled a 409.",
)
IDEMPOTENCY_RESPONSES = {
    409: OpenApiResponse(description="The first request with this Idempotency-Key is still being handled"),
    422: OpenApiResponse(description="The Idempotency-Key was used before for a different request"),
}


def _start_run(request: Request, photo: Photo, options: dict[str, Any]) -> Run:
    """Queue a run for the photo with the request's mode/top_k/context."""
    return runs.create_run(
        photo,
        _user(request),
        mode=options.get("mode"),
        top_k=options.get("top_k"),
        context=options.get("context", ""),
        mood=chosen_mood(options),
        filters=options.get("filters"),
    )


def _once_per_key(
    request: Request, scope: str, request_fingerprint: str, start: Callable[[], Run]
) -> Response:
    """Start a run (202), unless an earlier request with the same Idempotency-Key did: then answer with it."""
    key = request.headers.get(idempotency.HEADER)
    if key is None:
        return _accepted(request, start())
    user = _user(request)
    try:
        with idempotency.reserve(user.pk, scope, key, request_fingerprint) as slot:
            earlier = Run.objects.filter(pk=slot.run_id, user=user).first() if slot.run_id else None
            if earlier is not None:
                return _accepted(request, earlier)
            run = start()
            slot.record(run.pk)
            return _accepted(request, run)
    except idempotency.KeyRejected as exc:
        return Response({"detail": str(exc)}, status=exc.status)


def _accepted(request: Request, run: Run) -> Response:
    # Read back: the dispatch (after commit) has recorded whether the broker took the task.
    run.refresh_from_db()
    data = RunSerializer(runs.as_seen_now(run), context={"request": request}).data
    # str(): the URL is a DRF Hyperlink (a str subclass), which WSGI servers refuse as a header value.
    return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": str(data["url"])})


class PhotoViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet[Photo]
):
    """Your photos. POST a multipart `image` to upload one and start a recommendation run."""

    serializer_class = PhotoSerializer
    parser_classes = [MultiPartParser, FormParser]

    def get_throttles(self) -> list[Any]:
        return [RunBudgetThrottle()] if self.action == "create" else []

    def get_queryset(self) -> QuerySet[Photo]:
        if _schema_only(self):
            return Photo.objects.none()
        return Photo.objects.filter(owner=_user(self.request))

    @extend_schema(
        request={"multipart/form-data": PhotoUploadSerializer},
        parameters=[IDEMPOTENCY_KEY],
        responses={
            202: RunSerializer,
            400: OpenApiResponse(description="Not a usable photo"),
            **IDEMPOTENCY_RESPONSES,
        },
    )
    def create(self, request: Request) -> Response:
        upload = PhotoUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        data = upload.validated_data

        def start() -> Run:
            try:
                photo = photo_service.store_photo(_user(request), data["image"], data["image"].name)
            except photo_service.PhotoRejected as exc:
                raise ValidationError({"image": [str(exc)]}) from exc
            return _start_run(request, photo, data)

        image = data["image"]
        options = sorted((name, value) for name, value in data.items() if name != "image")
        request_fingerprint = idempotency.fingerprint(image.name, image.size, options)
        return _once_per_key(request, "photos", request_fingerprint, start)

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

    def get_throttles(self) -> list[Any]:
        # Each new run or retry queues inference: the same budget as uploads (API and web together).
        return [RunBudgetThrottle()] if self.action in ("create", "retry") else []

    def get_queryset(self) -> QuerySet[Run]:
        if _schema_only(self):
            return Run.objects.none()
        return Run.objects.filter(user=_user(self.request)).select_related("photo")

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        run = runs.as_seen_now(self.get_object())
        context = dict(self.get_serializer_context())
        # Only a finished run has items: a client polling a pending run costs two reads, not four.
        if run.status == Run.Status.DONE:
            context["with_items"] = True
            rated = Feedback.objects.filter(user=_user(request), item__run_id=run.pk)
            context["ratings"] = dict(rated.values_list("item_id", "rating"))
        return Response(self.get_serializer_class()(run, context=context).data)

    @extend_schema(
        request=RunCreateSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            202: RunSerializer,
            404: OpenApiResponse(description="No such photo of yours"),
            **IDEMPOTENCY_RESPONSES,
        },
    )
    def create(self, request: Request) -> Response:
        """Run the recommender again for one of your photos (e.g. in the other mode)."""
        form = RunCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        photo = get_object_or_404(Photo, pk=data["photo"], owner=_user(request))
        options = sorted(data.items())  # every option: the same key with other options is refused
        return _once_per_key(
            request, "runs", idempotency.fingerprint(options), lambda: _start_run(request, photo, data)
        )

    @extend_schema(
        request=None, responses={202: RunSerializer, 409: OpenApiResponse(description="Not failed")}
    )
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str | None = None) -> Response:
        run = self.get_object()
        if not runs.retry(run):
            return Response({"detail": "Only a failed run can be retried."}, status=status.HTTP_409_CONFLICT)
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
