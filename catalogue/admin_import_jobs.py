"""Admin for ImportJob: the history of imports, a page per import with its progress and report, and
"Add" as the upload form of an import (or dry run) that a worker runs (catalogue.services.import_jobs)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from .models import ImportJob
from .services import import_jobs


class ImportJobForm(forms.Form):
    file = forms.FileField(help_text="CSV (with a header line) or JSON Lines, UTF-8. Any size.")
    dry_run = forms.BooleanField(
        required=False,
        initial=True,
        help_text="Show what would be created, updated and rejected; write nothing.",
    )


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin[ImportJob]):
    list_display = ("created_at", "source_name", "dry_run", "status", "progress", "outcome", "created_by")
    list_filter = ("status", "dry_run")
    change_form_template = "admin/catalogue/importjob/change_form.html"
    # The report is shown as tables above the fields (a dry run's can list thousands of tracks), not as JSON.
    exclude = ("report",)
    readonly_fields = [f.name for f in ImportJob._meta.fields if f.name != "report"]

    @admin.display(description="Progress")
    def progress(self, job: ImportJob) -> str:
        if job.status != ImportJob.Status.RUNNING:
            return "-"
        return f"{job.phase} {job.percent}%" if job.percent is not None else job.phase

    @admin.display(description="Outcome")
    def outcome(self, job: ImportJob) -> str:
        if job.error:
            return job.error[:120]
        if not job.report:
            return "-"
        r = job.report
        verb = "would be " if job.dry_run else ""
        return (
            f"{r['created']} {verb}created, {r['updated']} {verb}updated, {r['unchanged']} unchanged, "
            f"{r.get('rejected_total', len(r['rejected']))} rejected"
        )

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a record of what happened: read only

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Not a queued or running job: its worker reads the stored file (an ended job's goes with it)."""
        if obj is not None and obj.status in import_jobs.ACTIVE:
            return False
        return super().has_delete_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Whoever may import tracks (the import page asks the same: add and change on tracks)."""
        return request.user.has_perms(["catalogue.add_track", "catalogue.change_track"])

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("catalogue.view_importjob") or self.has_add_permission(request)

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> HttpResponse:
        """Upload a file; the import (or dry run) runs on a worker and its page shows the progress."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ImportJobForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            job = import_jobs.create(
                form.cleaned_data["file"], dry_run=form.cleaned_data["dry_run"], user=request.user
            )
            messages.success(request, f"{job} queued: a worker runs it; this page shows its progress.")
            return redirect("admin:catalogue_importjob_change", job.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": "Import tracks on a worker",
            "opts": self.model._meta,
            "form": form,
        }
        return TemplateResponse(request, "admin/catalogue/importjob/add.html", context)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        job = self.get_object(request, object_id)
        if request.method == "POST" and job is not None and "send_again" in request.POST:
            if not self.has_add_permission(request):
                raise PermissionDenied
            if job.status == ImportJob.Status.QUEUED and import_jobs.send(job):
                messages.success(request, "Sent to a worker again.")
            return redirect("admin:catalogue_importjob_change", job.pk)
        if request.method == "POST" and job is not None and "start_again" in request.POST:
            if not self.has_add_permission(request):
                raise PermissionDenied
            if import_jobs.start_again(job):
                messages.success(request, "Queued again: a worker runs it.")
            else:
                messages.error(request, "Only a failed job whose file is still stored can be started again.")
            return redirect("admin:catalogue_importjob_change", job.pk)
        extra = {
            **(extra_context or {}),
            "job": job,
            "retention_days": settings.IMPORT_JOB_FILE_RETENTION_DAYS,
            "rejected": ((job.report if job else None) or {}).get("rejected", [])[:200],
            "diff": import_jobs.diff_page(job, request.GET.get("diff"), request.GET.get("page"))
            if job
            else None,
        }
        return super().change_view(request, object_id, form_url, extra)
