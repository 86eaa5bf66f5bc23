"""Web pages for playlists and soundtracks. Thin: the work is in services; the playlist page's
reordering, removing and undo go through the REST API from static/playlists/playlist.js."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User
from photos.models import Photo, Run, RunItem
from photos.services import photos as photo_service
from playlists import drawing
from playlists.api import download
from playlists.formats import FORMATS, NotAPlaylist, TooManyTracks
from playlists.models import Playlist, Soundtrack
from playlists.services import playlists as service
from playlists.services import soundtrack_runs
from playlists.services.imports import import_playlist
from playlists.services.playlists import PlaylistError
from playlists.services.soundtracks import MAX_PHOTOS, SoundtrackError


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _share_url(request: HttpRequest, playlist: Playlist) -> str:
    return request.build_absolute_uri(reverse("playlists:shared", args=[playlist.share_token]))


@login_required
def playlist_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    q, sort = request.GET.get("q", "").strip(), request.GET.get("sort", "updated")
    scope = request.GET.get("scope", "mine")
    playlists = service.visible_to(user)
    if scope != "public":
        playlists = playlists.filter(owner=user)
    else:
        playlists = playlists.filter(visibility=Playlist.Visibility.PUBLIC)
    page = Paginator(service.listing(playlists, q=q, sort=sort), 24).get_page(request.GET.get("page"))
    return render(
        request,
        "playlists/list.html",
        {"page": page, "q": q, "sort": sort, "scope": scope, "sorts": list(service.SORTS)},
    )


@login_required
@require_POST
def create(request: HttpRequest) -> HttpResponse:
    try:
        playlist = service.create(_user(request), request.POST.get("title", ""))
    except PlaylistError as exc:
        messages.error(request, str(exc))
        return redirect("playlists:list")
    return redirect("playlists:detail", pk=playlist.pk)


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    playlist = get_object_or_404(service.visible_to(_user(request)).select_related("owner", "cover"), pk=pk)
    if playlist.owner_id != _user(request).pk:
        return redirect("playlists:shared", token=playlist.share_token)
    return render(
        request,
        "playlists/detail.html",
        {
            "playlist": playlist,
            "entries": service.entries(playlist),
            "photos": Photo.objects.filter(owner=_user(request))[:60],
            "share_url": _share_url(request, playlist),
            "visibilities": Playlist.Visibility.choices,
            "soundtrack": Soundtrack.objects.filter(playlist=playlist).first(),
        },
    )


@login_required
@require_POST
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    playlist = get_object_or_404(Playlist, pk=pk, owner=_user(request))
    fields: dict[str, object] = {}
    for name in ("title", "description"):
        if name in request.POST:
            fields[name] = request.POST[name]
    if request.POST.get("visibility") in Playlist.Visibility.values:
        fields["visibility"] = request.POST["visibility"]
    if "cover" in request.POST:
        cover = request.POST["cover"]
        fields["cover"] = get_object_or_404(Photo, pk=cover, owner=_user(request)) if cover else None
    try:
        service.update(playlist, **fields)
    except PlaylistError as exc:
        messages.error(request, str(exc))
    return redirect("playlists:detail", pk=pk)


@login_required
@require_POST
def delete(request: HttpRequest, pk: int) -> HttpResponse:
    get_object_or_404(Playlist, pk=pk, owner=_user(request)).delete()
    messages.success(request, "The playlist was deleted.")
    return redirect("playlists:list")


@login_required
@require_GET
def export(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    if fmt not in FORMATS:
        raise Http404("unknown format")
    playlist = get_object_or_404(service.visible_to(_user(request)), pk=pk)
    return download(playlist, fmt, _share_url(request, playlist))


@require_GET
def shared(request: HttpRequest, token: str) -> HttpResponse:
    """The read-only page of an unlisted or public playlist; no account needed."""
    playlist = get_object_or_404(service.shared(token).select_related("owner", "cover"), pk__isnull=False)
    entries = service.entries(playlist)
    cover_url = (
        request.build_absolute_uri(reverse("playlists:shared_cover", args=[token])) if playlist.cover else ""
    )
    return render(
        request,
        "playlists/shared.html",
        {
            "playlist": playlist,
            "entries": entries,
            "available": sum(1 for e in entries if e.available),
            "share_url": _share_url(request, playlist),
            "cover_url": cover_url,
            "is_owner": request.user.is_authenticated and request.user.pk == playlist.owner_id,
        },
    )


@require_GET
def shared_export(request: HttpRequest, token: str, fmt: str) -> HttpResponse:
    if fmt not in FORMATS:
        raise Http404("unknown format")
    playlist = get_object_or_404(service.shared(token), pk__isnull=False)
    return download(playlist, fmt, _share_url(request, playlist))


@require_GET
def shared_cover(request: HttpRequest, token: str) -> FileResponse:
    """The cover of a shared playlist: the one photo its owner chose to show with it."""
    playlist = get_object_or_404(service.shared(token).select_related("cover"), pk__isnull=False)
    if playlist.cover is None or playlist.cover.awaits_normalising:  # never served as it was uploaded
        raise Http404("no cover")
    response = FileResponse(playlist.cover.image.open("rb"), content_type="image/jpeg")
    response["Cache-Control"] = "public, max-age=3600"
    return response


@login_required
def import_view(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            messages.error(request, "Choose a JSPF or XSPF file.")
        else:
            try:
                result = import_playlist(
                    _user(request), upload.read(), upload.name or "", request.POST.get("title", "")
                )
            except (NotAPlaylist, TooManyTracks, PlaylistError) as exc:
                messages.error(request, str(exc))
            else:
                messages.success(request, f"Imported {result.matched} tracks.")
                for row in result.unmatched[:50]:
                    messages.warning(
                        request, f"Not in the catalogue: #{row['position']} {row['artist']} – {row['title']}"
                    )
                if len(result.unmatched) > 50:
                    messages.warning(request, f"…and {len(result.unmatched) - 50} more not in the catalogue.")
                return redirect("playlists:detail", pk=result.playlist.pk)
    return render(request, "playlists/import.html", status=400 if request.method == "POST" else 200)


@login_required
@require_POST
def from_run(request: HttpRequest, run_pk: int) -> HttpResponse:
    run = get_object_or_404(Run.objects.select_related("photo"), pk=run_pk, user=_user(request))
    try:
        playlist = service.save_run(run, _user(request), request.POST.get("title", ""))
    except PlaylistError as exc:
        messages.error(request, str(exc))
        return redirect("photos:run", pk=run_pk)
    messages.success(request, f"Saved as “{playlist.title}”.")
    return redirect("playlists:detail", pk=playlist.pk)


@login_required
@require_POST
def add_item(request: HttpRequest) -> HttpResponse:
    """Add one track of a result to one of your playlists (or to a new one)."""
    user = _user(request)
    item = get_object_or_404(
        RunItem.objects.select_related("run__photo", "track"),
        pk=request.POST.get("item") or 0,
        run__user=user,
    )
    try:
        if request.POST.get("playlist"):
            playlist = get_object_or_404(Playlist, pk=request.POST["playlist"], owner=user)
        else:
            playlist = service.create(user, request.POST.get("title") or "New playlist", cover=item.run.photo)
        service.add_tracks(playlist, user, [item.track], photo=item.run.photo, run=item.run)
    except PlaylistError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Added “{item.track.title}” to “{playlist.title}”.")
    return redirect(reverse("photos:run", args=[item.run_id]) + f"#item-{item.pk}")


# --- soundtracks ---------------------------------------------------------------------------------------


@login_required
def soundtrack_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    photos = list(Photo.objects.filter(owner=user)[:200])
    if request.method == "POST":
        chosen = sorted(
            (int(request.POST[f"order-{p.pk}"]), n, p)
            for n, p in enumerate(photos)
            if request.POST.get(f"order-{p.pk}", "").strip().isdigit()
        )
        album = [p for _, _, p in chosen]
        try:
            for upload in sorted(request.FILES.getlist("images"), key=lambda f: f.name or ""):
                album.append(photo_service.store_photo(user, upload, upload.name or "photo"))
            length = request.POST.get("length", "tracks")
            amount = int(request.POST.get("amount") or 0)
            soundtrack = soundtrack_runs.create(
                user,
                album,
                n_tracks=amount if length == "tracks" else None,
                minutes=amount if length == "minutes" else None,
                title=request.POST.get("title", ""),
            )
        except (photo_service.PhotoRejected, SoundtrackError) as exc:
            messages.error(request, str(exc))
        except ValueError:
            messages.error(request, "Give the length as a whole number.")
        else:
            return redirect("playlists:soundtrack", pk=soundtrack.pk)
    recent = Soundtrack.objects.filter(owner=user).select_related("playlist")[:20]
    return render(
        request,
        "playlists/soundtrack_new.html",
        {"photos": photos, "recent": recent, "max_photos": MAX_PHOTOS},
    )


@login_required
def soundtrack_detail(request: HttpRequest, pk: int) -> HttpResponse:
    soundtrack = soundtrack_runs.as_seen_now(
        get_object_or_404(Soundtrack.objects.select_related("playlist"), pk=pk, owner=_user(request))
    )
    context: dict[str, object] = {"soundtrack": soundtrack}
    if soundtrack.status == Soundtrack.Status.DONE and soundtrack.playlist is not None:
        path = soundtrack_runs.trajectory(soundtrack)
        context.update({"path": path, "chart": drawing.chart(path)})
    return render(request, "playlists/soundtrack.html", context)


@login_required
@require_GET
def soundtrack_status(request: HttpRequest, pk: int) -> JsonResponse:
    soundtrack = soundtrack_runs.as_seen_now(get_object_or_404(Soundtrack, pk=pk, owner=_user(request)))
    return JsonResponse(
        {
            "status": soundtrack.status,
            "progress": soundtrack.progress,
            "message": soundtrack.error or soundtrack.progress_message,
            "finished": soundtrack.is_finished,
        }
    )


@login_required
@require_POST
def soundtrack_swap(request: HttpRequest, pk: int, entry: int) -> HttpResponse:
    soundtrack = get_object_or_404(Soundtrack.objects.select_related("playlist"), pk=pk, owner=_user(request))
    try:
        new = soundtrack_runs.swap(soundtrack, entry, _user(request))
    except PlaylistError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Swapped in “{new.title}” by {new.artist}.")
    return redirect(reverse("playlists:soundtrack", args=[pk]) + f"#entry-{entry}")
