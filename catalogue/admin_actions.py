"""Admin actions and pages for managing the catalogue: CSV export, bulk edit, index rebuild.

Kept out of admin.py (which wires them in) so each concern has its own home; the logic lives in
catalogue.export, catalogue.services.bulk_edit and catalogue.services.index.
"""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, StreamingHttpResponse

from .export import csv_lines, export_filename
from .models import Track


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
