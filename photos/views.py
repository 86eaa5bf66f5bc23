"""Web pages: upload, run progress and results, rating, history. Thin: the work is in services."""

from __future__ import annotations

from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.contrib.staticfiles import finders
from django.core.paginator import Paginator
from django.db.models import OuterRef, Subquery
from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    HttpResponsePermanentRedirect,
    JsonResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts import throttle
from accounts.models import User
from catalogue.models import Track
from photos.forms import FilterForm, RunOptionsForm, UploadForm, rerun_options
from photos.models import Feedback, Photo, Run, RunItem
from photos.services import feedback as feedback_service
from photos.services import filters, results, runs
from photos.services import photos as photo_service
from photos.services.track_photos import photos_for_track


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # login_required runs first
    return request.user


def home(request: HttpRequest) -> HttpResponse:
    """The upload page for a signed-in user; for a visitor, what Photophone does, with a sample result."""
    if not request.user.is_authenticated:
        if request.method != "GET":
            return redirect_to_login(request.get_full_path())
        return render(request, "photos/landing.html")
    user = _user(request)
    initial = {"mode": user.default_mode}
    form = UploadForm(request.POST or None, request.FILES or None, owner=user, initial=initial)
    options = RunOptionsForm(request.POST or None, choices=filters.choices())
    kept: Photo | None = None
    status = 200
    if request.method == "POST":
        if not throttle.may_queue_run(user.pk):
            form.add_error(None, "You are uploading too fast. Please wait a minute.")
            status = 429
        elif form.is_valid():
            # The photo is stored even when the options are bad, so fixing them never means choosing it again.
            kept = form.cleaned_data.get("kept_photo") or _store(form, user)
            if kept is not None and options.is_valid():
                run = runs.create_run(
                    kept,
                    user,
                    mode=form.cleaned_data["mode"],
                    top_k=results.web_top_k(),
                    context=form.cleaned_data.get("context", ""),
                    **options.run_options(),
                )
                return redirect("photos:run", pk=run.pk)
        if status == 200:
            status = 400
    latest_run = Run.objects.filter(photo=OuterRef("pk")).order_by("-created_at")
    recent = Photo.objects.filter(owner=user).annotate(
        latest_run=Subquery(latest_run.values("pk")[:1]),
        latest_status=Subquery(latest_run.values("status")[:1]),
        latest_mood=Subquery(latest_run.values("mood_summary")[:1]),
    )[:6]
    context = {"form": form, "options": options, "kept": kept, "recent": recent}
    return render(request, "photos/home.html", context, status=status)


def _store(form: UploadForm, user: User) -> Photo | None:
    """The uploaded photo, stored; None, with the reason on the form, when it is not a usable photo."""
    upload = form.cleaned_data["image"]
    try:
        return photo_service.store_photo(user, upload, upload.name)
    except photo_service.PhotoRejected as exc:
        form.add_error("image", str(exc))
        return None


@login_required
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = runs.as_seen_now(
        get_object_or_404(Run.objects.select_related("photo"), pk=pk, user=_user(request))
    )
    stored = run.items.count() if run.status == Run.Status.DONE else 0
    shown = results.shown_count(request.GET.get("show"), stored)
    items = list(run.items.select_related("track")[:shown]) if stored else []
    ratings = dict(
        Feedback.objects.filter(user=_user(request), item__run=run).values_list("item_id", "rating")
    )
    more = min(shown + results.page_size(), stored) if stored > shown else 0
    return render(
        request,
        "photos/run.html",
        {
            "run": run,
            "items": results.shown_items(run, items, ratings),
            "photo_mood": results.photo_mood(run),
            "chosen_mood": results.chosen_mood(run),
            "map": results.mood_map(run),
            "filter_words": filters.describe(run.filters),
            "filter_form": FilterForm(initial=run.filters, choices=filters.choices())
            if run.status == Run.Status.DONE
            else None,
            "message": runs.user_message(run),
            "top_emotions": results.top_emotions(run),
            "more": more,
            "more_count": more - len(items),
            "more_anchor": items[-1].pk if more else None,
            "can_extend": stored and stored <= shown and run.top_k < runs.MAX_TOP_K,
        },
    )


@login_required
@require_GET
def run_status(request: HttpRequest, pk: int) -> JsonResponse:
    """Polled by the run page while a worker is busy."""
    run = runs.as_seen_now(get_object_or_404(Run, pk=pk, user=_user(request)))
    return JsonResponse(
        {
            "status": run.status,
            "message": runs.user_message(run),
            "finished": run.is_finished,
            "url": reverse("photos:run", args=[run.pk]),
        }
    )


@login_required
@require_POST
def rerun(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(Run, pk=pk, user=_user(request))
    if not throttle.may_queue_run(run.user_id):  # the same budget as uploads and the API's runs
        messages.error(request, "You are starting runs too fast. Please wait a minute.")
        return redirect("photos:run", pk=run.pk)
    if run.status == Run.Status.FAILED:
        runs.retry(run)
        return redirect("photos:run", pk=run.pk)
    try:
        options = rerun_options(request.POST, run)
    except ValueError as exc:
        messages.error(request, str(exc))
        return redirect("photos:run", pk=run.pk)
    new_run = runs.create_run(run.photo, _user(request), context=run.context, **options)
    if request.POST.get("more"):
        return redirect(reverse("photos:run", args=[new_run.pk]) + f"?show={run.top_k + results.page_size()}")
    return redirect("photos:run", pk=new_run.pk)


@login_required
@require_POST
def rate(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(
        RunItem.objects.select_related("run"), pk=pk, run__user=_user(request)
    )
    rating: int | None = None
    try:
        if request.POST.get("clear"):
            feedback_service.clear(_user(request), item)
        else:
            rating = int(request.POST.get("rating", ""))
            feedback_service.rate(_user(request), item, rating)
    except ValueError:
        if request.headers.get("Accept") == "application/json":
            return JsonResponse({"detail": "rating must be 1 or -1"}, status=400)
        messages.error(request, "That rating was not understood.")
    if request.headers.get("Accept") == "application/json":
        return JsonResponse({"item": item.pk, "rating": rating})
    return redirect(reverse("photos:run", args=[item.run_id]) + f"?show={item.rank}#item-{item.pk}")


@login_required
def history(request: HttpRequest) -> HttpResponse:
    photos = Photo.objects.filter(owner=_user(request)).prefetch_related("runs")
    page = Paginator(photos, 12).get_page(request.GET.get("page"))
    return render(request, "photos/history.html", {"page": page})


@login_required
@require_GET
def track_photos(request: HttpRequest, pk: int) -> HttpResponse:
    """Which of your photos fit this track."""
    track = get_object_or_404(Track, pk=pk)
    matches = photos_for_track(_user(request), track)
    return render(request, "photos/track_photos.html", {"track": track, "matches": matches})


PREPARING_PLACEHOLDER = Path(str(finders.find("photo-preparing.svg"))).read_bytes()

@login_required
@require_GET
def photo_image(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Photos are private: served only to their owner, never from a public media URL."""
    photo = get_object_or_404(Photo, pk=pk, owner=_user(request))
    if photo.awaits_normalising:
        # A big upload the worker has not re-encoded yet is never served as it came: a placeholder stands in,
        # never cached, so the page's reload when the run finishes shows the photo.
        placeholder = HttpResponse(PREPARING_PLACEHOLDER, content_type="image/svg+xml")
        placeholder["Cache-Control"] = "no-store"
        return placeholder
    response = FileResponse(photo.image.open("rb"), content_type="image/jpeg")
    # Short: a deleted photo must not linger in the browser's cache.
    response["Cache-Control"] = "private, max-age=60"
    return response


@login_required
@require_POST
def delete_photo(request: HttpRequest, pk: int) -> HttpResponse:
    photo = get_object_or_404(Photo, pk=pk, owner=_user(request))
    photo_service.delete_photo(photo)
    messages.success(request, "The photo, its results and its ratings were deleted.")
    return redirect("photos:history")


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever the page says."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))
