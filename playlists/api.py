"""REST API for playlists and soundtracks.

Who sees what: your own playlists and everyone's public ones; an unlisted playlist only through its link
(`playlists/shared/<token>/`); anyone else's private playlist is 404. Only the owner changes a playlist
(403 for a public playlist of someone else, 404 for what you cannot see)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from accounts.models import User
from catalogue.models import Track
from photos.models import Photo, Run, RunItem
from playlists.formats import CONTENT_TYPES, NotAPlaylist, TooManyTracks, export
from playlists.models import Playlist, PlaylistTrack, Soundtrack
from playlists.serializers import (
    AddTracksSerializer,
    EntrySerializer,
    FromRunSerializer,
    ImportResultSerializer,
    ImportSerializer,
    MoveSerializer,
    PlaylistSerializer,
    SoundtrackCreateSerializer,
    SoundtrackSerializer,
    SwapSerializer,
)
from playlists.services import playlists as service
from playlists.services import soundtrack_runs
from playlists.services.documents import playlist_document
from playlists.services.imports import import_playlist
from playlists.services.playlists import PlaylistError
from playlists.services.soundtracks import SoundtrackError

ENTRY = OpenApiParameter("entry", OpenApiTypes.INT, OpenApiParameter.PATH, description="playlist entry id")
FMT = OpenApiParameter("fmt", OpenApiTypes.STR, OpenApiParameter.PATH, enum=["jspf", "xspf", "m3u8"])
TOKEN = OpenApiParameter(
    "token", OpenApiTypes.STR, OpenApiParameter.PATH, description="the share link's token"
)
LIST_PARAMETERS = [
    OpenApiParameter(
        "q", OpenApiTypes.STR, description="search titles, descriptions, track titles and artists"
    ),
    OpenApiParameter("sort", OpenApiTypes.STR, enum=list(service.SORTS)),
    OpenApiParameter("mine", OpenApiTypes.BOOL, description="only your own playlists"),
]
FILE_RESPONSE = OpenApiResponse(OpenApiTypes.STR, description="the playlist file (a download)")


def _user(request: Request) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _bad(exc: Exception) -> ValidationError:
    return ValidationError({"detail": str(exc)})


def download(playlist: Playlist, fmt: str, url: str) -> HttpResponse:
    text = export(playlist_document(playlist, url), fmt)
    response = HttpResponse(text, content_type=f"{CONTENT_TYPES[fmt]}; charset=utf-8")
    name = "".join(c if c.isalnum() or c in "-_ " else "_" for c in playlist.title).strip() or "playlist"
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


@extend_schema(tags=["playlists"])
class PlaylistViewSet(viewsets.ModelViewSet[Playlist]):
    serializer_class = PlaylistSerializer
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_queryset(self) -> QuerySet[Playlist]:
        if getattr(self, "swagger_fake_view", False):
            return Playlist.objects.none()
        playlists = service.visible_to(_user(self.request))
        if self.request.query_params.get("mine") in ("1", "true"):
            playlists = playlists.filter(owner=_user(self.request))
        params = self.request.query_params
        return service.listing(playlists, q=params.get("q", ""), sort=params.get("sort", "updated"))

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "with_entries": self.action != "list"}

    def _owned(self) -> Playlist:
        playlist = self.get_object()
        if playlist.owner_id != _user(self.request).pk:
            raise PermissionDenied("Only the owner can change this playlist.")
        return playlist

    def _detail(self, playlist: Playlist, code: int = status.HTTP_200_OK) -> Response:
        playlist.refresh_from_db()
        return Response(self.get_serializer(playlist).data, status=code)

    @extend_schema(parameters=LIST_PARAMETERS)
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    def perform_create(self, serializer: BaseSerializer[Playlist]) -> None:
        data = serializer.validated_data
        try:
            serializer.instance = service.create(
                _user(self.request),
                data["title"],
                description=data.get("description", ""),
                visibility=data.get("visibility", Playlist.Visibility.PRIVATE),
                cover=data.get("cover"),
            )
        except PlaylistError as exc:
            raise _bad(exc) from exc

    def perform_update(self, serializer: BaseSerializer[Playlist]) -> None:
        playlist = self._owned()
        try:
            service.update(playlist, **serializer.validated_data)
        except PlaylistError as exc:
            raise _bad(exc) from exc
        serializer.instance = playlist

    def perform_destroy(self, instance: Playlist) -> None:
        self._owned().delete()

    @extend_schema(request=AddTracksSerializer, responses={201: EntrySerializer(many=True)})
    @action(detail=True, methods=["post"], url_path="tracks")
    def add_tracks(self, request: Request, pk: str | None = None) -> Response:
        playlist = self._owned()
        form = AddTracksSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        user = _user(request)
        photo = run = None
        if "item" in data:
            item = get_object_or_404(
                RunItem.objects.select_related("run", "track"), pk=data["item"], run__user=user
            )
            tracks, run = [item.track], item.run
            photo = Photo.objects.get(pk=run.photo_id)
        else:
            found = Track.objects.in_bulk(data["tracks"])
            missing = [t for t in data["tracks"] if t not in found or not found[t].is_active]
            if missing:
                raise ValidationError({"tracks": f"Not in the catalogue: {missing[:10]}"})
            tracks = [found[t] for t in data["tracks"]]
            if data.get("photo"):
                photo = get_object_or_404(Photo, pk=data["photo"], owner=user)
            if data.get("run"):
                run = get_object_or_404(Run, pk=data["run"], user=user)
        try:
            added = service.add_tracks(
                playlist, user, tracks, photo=photo, run=run, note=data["note"], position=data.get("position")
            )
        except PlaylistError as exc:
            raise _bad(exc) from exc
        return Response(EntrySerializer(added, many=True).data, status=status.HTTP_201_CREATED)

    @extend_schema(parameters=[ENTRY], request=None, responses={204: None})
    @action(detail=True, methods=["delete"], url_path=r"tracks/(?P<entry>\d+)")
    def remove_track(self, request: Request, pk: str | None = None, entry: str = "") -> Response:
        playlist = self._owned()
        try:
            service.remove(playlist, int(entry))
        except PlaylistError as exc:
            raise _bad(exc) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(parameters=[ENTRY], request=MoveSerializer, responses={200: PlaylistSerializer})
    @action(detail=True, methods=["post"], url_path=r"tracks/(?P<entry>\d+)/move")
    def move_track(self, request: Request, pk: str | None = None, entry: str = "") -> Response:
        playlist = self._owned()
        form = MoveSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            service.move(playlist, int(entry), form.validated_data["position"])
        except PlaylistError as exc:
            raise _bad(exc) from exc
        return self._detail(playlist)

    @extend_schema(request=None, responses={200: PlaylistSerializer})
    @action(detail=True, methods=["post"])
    def undo(self, request: Request, pk: str | None = None) -> Response:
        playlist = self._owned()
        try:
            service.undo(playlist)
        except PlaylistError as exc:
            raise _bad(exc) from exc
        return self._detail(playlist)

    @extend_schema(parameters=[FMT], responses={200: FILE_RESPONSE})
    @action(detail=True, methods=["get"], url_path=r"export/(?P<fmt>jspf|xspf|m3u8)")
    def export(self, request: Request, pk: str | None = None, fmt: str = "jspf") -> HttpResponse:
        playlist = self.get_object()
        return download(playlist, fmt, request.build_absolute_uri(f"/p/{playlist.share_token}/"))

    @extend_schema(request={"multipart/form-data": ImportSerializer}, responses={201: ImportResultSerializer})
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[MultiPartParser])
    def import_file(self, request: Request) -> Response:
        form = ImportSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        upload = form.validated_data["file"]
        try:
            result = import_playlist(_user(request), upload.read(), upload.name, form.validated_data["title"])
        except (NotAPlaylist, TooManyTracks, PlaylistError) as exc:
            raise ValidationError({"file": str(exc)}) from exc
        data = {
            "playlist": PlaylistSerializer(result.playlist, context=self.get_serializer_context()).data,
            "matched": result.matched,
            "matched_by": result.matched_by,
            "unmatched": result.unmatched,
        }
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(request=FromRunSerializer, responses={201: PlaylistSerializer})
    @action(detail=False, methods=["post"], url_path="from-run")
    def from_run(self, request: Request) -> Response:
        form = FromRunSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        run = get_object_or_404(
            Run.objects.select_related("photo"), pk=form.validated_data["run"], user=_user(request)
        )
        try:
            playlist = service.save_run(run, _user(request), form.validated_data["title"])
        except PlaylistError as exc:
            raise _bad(exc) from exc
        return self._detail(playlist, status.HTTP_201_CREATED)

    @extend_schema(parameters=[TOKEN], responses={200: PlaylistSerializer})
    @action(detail=False, methods=["get"], url_path=r"shared/(?P<token>[\w-]+)")
    def shared(self, request: Request, token: str = "") -> Response:
        playlist = get_object_or_404(service.shared(token))
        return Response(PlaylistSerializer(playlist, context=self.get_serializer_context()).data)


@extend_schema(tags=["soundtracks"])
class SoundtrackViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet[Soundtrack],
):
    """A soundtrack for an album of your photos: made on the workers (poll it: status, progress), then a
    playlist with the trajectory of moods; swap any track for the next best one."""

    serializer_class = SoundtrackSerializer

    def get_queryset(self) -> QuerySet[Soundtrack]:
        if getattr(self, "swagger_fake_view", False):
            return Soundtrack.objects.none()
        return Soundtrack.objects.filter(owner=_user(self.request)).select_related("playlist")

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "with_trajectory": self.action != "list"}

    def get_object(self) -> Soundtrack:
        return soundtrack_runs.as_seen_now(super().get_object())

    @extend_schema(request=SoundtrackCreateSerializer, responses={202: SoundtrackSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        form = SoundtrackCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        user = _user(request)
        found = Photo.objects.filter(owner=user).in_bulk(data["photos"])
        missing = [p for p in data["photos"] if p not in found]
        if missing:
            raise ValidationError({"photos": f"Not your photos: {missing[:10]}"})
        try:
            soundtrack = soundtrack_runs.create(
                user,
                [found[p] for p in data["photos"]],
                n_tracks=data.get("tracks"),
                minutes=data.get("minutes"),
                title=data["title"],
            )
        except SoundtrackError as exc:
            raise _bad(exc) from exc
        body = SoundtrackSerializer(soundtrack, context=self.get_serializer_context()).data
        headers = {"Location": f"/api/soundtracks/{soundtrack.pk}/"}
        return Response(body, status=status.HTTP_202_ACCEPTED, headers=headers)

    @extend_schema(request=SwapSerializer, responses={200: EntrySerializer})
    @action(detail=True, methods=["post"])
    def swap(self, request: Request, pk: str | None = None) -> Response:
        soundtrack = self.get_object()
        form = SwapSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            entry = soundtrack_runs.swap(soundtrack, form.validated_data["entry"], _user(request))
        except PlaylistError as exc:
            raise _bad(exc) from exc
        return Response(EntrySerializer(PlaylistTrack.objects.select_related("track").get(pk=entry.pk)).data)
