"""Admin actions and pages for managing the catalogue: CSV export, bulk edit, index rebuild.

Kept out of admin.py (which wires them in) so each concern has its own home; the logic lives in
catalogue.export, catalogue.services.bulk_edit and catalogue.services.index.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from .export import csv_lines, export_filename
from .forms import BulkEditForm
from .models import Track
from .services import bulk_edit as bulk_edit_service
from .services import index


def csv_response(tracks: QuerySet[Track] | None = None) -> StreamingHttpResponse:
    """The tracks as a CSV download, streamed (a whole catalogue never sits in memory)."""
    response = StreamingHttpResponse(csv_lines(tracks), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{export_filename()}"'
    return response


@admin.action(description="Export selected tracks as CSV", permissions=["view"])
def export_selected(
    modeladmin: admin.ModelAdmin[Track], request: HttpRequest, queryset: QuerySet[Track]
) -> StreamingHttpResponse:
    return csv_response(queryset)


def export_all_view(modeladmin: admin.ModelAdmin[Track], request: HttpRequest) -> StreamingHttpResponse:
    """The whole catalogue (active and inactive tracks) as CSV."""
    if not modeladmin.has_view_permission(request):
        raise PermissionDenied
    return csv_response()


@admin.action(
    description="Edit genre, language, tags or active flag of selected tracks", permissions=["change"]
)
def bulk_edit(
    modeladmin: admin.ModelAdmin[Track], request: HttpRequest, queryset: QuerySet[Track]
) -> TemplateResponse | None:
    """First the form (with the selection), then, when it comes back with "apply", the edit."""
    applying = "apply" in request.POST
    form = BulkEditForm(request.POST if applying else None)
    if applying and form.is_valid():
        edit = form.edit()
        if edit.is_empty():
            form.add_error(None, "Nothing to change: fill in at least one field.")
        else:
            count = bulk_edit_service.apply(queryset, edit)
            modeladmin.message_user(request, f"{count} of {queryset.count()} selected track(s) changed.")
            return None  # back to the change list
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": "Edit selected tracks",
        "opts": modeladmin.model._meta,
        "form": form,
        "tracks": queryset[:50],
        "count": queryset.count(),
        "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
        "select_across": request.POST.get("select_across", "0"),
    }
    return TemplateResponse(request, "admin/catalogue/track/bulk_edit.html", context)


def index_view(modeladmin: admin.ModelAdmin[Track], request: HttpRequest) -> HttpResponse:
    """The engine index's status; POST queues a rebuild on a worker (needs the change permission)."""
    if not modeladmin.has_view_permission(request):
        raise PermissionDenied
    if request.method == "POST":
        if not modeladmin.has_change_permission(request):
            raise PermissionDenied
        if index.request_rebuild():
            messages.success(
                request, "Index rebuild queued: a worker builds it for the current catalogue version."
            )
        else:
            messages.error(request, "The task broker did not answer; the rebuild was not queued. Try again.")
        return redirect("admin:catalogue_track_index")
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": "Engine index",
        "opts": modeladmin.model._meta,
        "status": index.status(),
        "can_rebuild": modeladmin.has_change_permission(request),
    }
    return TemplateResponse(request, "admin/catalogue/track/index_status.html", context)
