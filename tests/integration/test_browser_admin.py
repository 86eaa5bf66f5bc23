"""The admin's catalogue pages in Debian chromium (issue 10): an import job's page (queued, its progress
while running, its report and dry-run diff), the track list's bulk edit, and the export; each page at a
phone's width (390 px) and a laptop's (1280x800) with the axe-core check (no serious or critical
violations)."""

from __future__ import annotations

import csv
import os

import pytest

from catalogue.models import ImportJob, Track
from catalogue.services import import_jobs
from tests.factories import TrackFactory, UserFactory
from tests.integration.test_browser import log_in
from tests.integration.test_browser_layout import LAPTOP, PHONE, SCREENSHOTS, browser  # noqa: F401 - fixture

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.django_db(transaction=True)]
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

FILE = (
    "id,title,artist,genre,language,valence\n"
    "k1,Kept,Band A,rock,en,0.5\n"
    "k2,New title,Band B,jazz,es,0.2\n"
    "n1,Brand new,Band C,soul,en,0.7\n"
    "bad,Broken,Band D,pop,en,9\n"
)


@pytest.fixture
def admin_user() -> None:
    UserFactory.create(username="boss", is_staff=True, is_superuser=True)
    same = {"source": "cat.csv", "arousal": None}
    TrackFactory.create(
        external_id="k1", title="Kept", artist="Band A", genre="rock", language="en", valence=0.5, **same
    )
    TrackFactory.create(
        external_id="k2", title="Old title", artist="Band B", genre="jazz", language="es", valence=0.2, **same
    )
    for n in range(6):
        TrackFactory.create(external_id=f"x{n}", title=f"Extra {n}", artist=f"Band X{n}", genre="pop")


def serious_violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    assert results.response["testEngine"]["name"] == "axe-core"  # it was injected and ran
    return [
        f"{v['id']} ({v['impact']}): {v['nodes'][0]['target']}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def without_self_refresh(route) -> None:
    """The job page reloads itself every 2 s while the job waits or runs; the checks of one state need it
    to hold still."""
    response = route.fetch()
    route.fulfill(response=response, body=response.text().replace('http-equiv="refresh"', 'data-off="1"'))


def check(page, name: str, viewport: dict[str, int], found: dict[str, list[str]]) -> None:
    if SCREENSHOTS:
        page.screenshot(path=f"{SCREENSHOTS}/admin-{name}-{viewport['width']}.png", full_page=True)
    found[f"{name} at {viewport['width']}"] = serious_violations(page)


@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["390px", "1280px"])
def test_an_import_job_from_upload_to_report_and_diff(browser, live_server, admin_user, tmp_path, viewport):  # noqa: F811
    found: dict[str, list[str]] = {}
    page = browser.new_page(viewport=viewport)
    log_in(page, live_server.url, "boss", admin=True)
    page.goto(f"{live_server.url}/admin/catalogue/track/")
    page.click(".object-tools >> text=Import tracks")
    page.wait_for_selector("#import-job-form")
    check(page, "import-form", viewport, found)
    upload = tmp_path / "cat.csv"
    upload.write_text(FILE)
    page.set_input_files("#id_file", str(upload))
    assert page.is_checked("#id_dry_run")  # a dry run first, by default
    page.route("**/admin/catalogue/importjob/*/change/", without_self_refresh)
    page.click("#import-job-form input[type=submit]")
    page.wait_for_selector("#import-job")
    page.reload()  # a route sees the first request only, not the page a redirect leads to
    job = ImportJob.objects.get()
    assert job.status == "queued" and job.dry_run
    assert "Waiting for a worker" in page.inner_text("#import-job")
    check(page, "job-queued", viewport, found)

    # While a worker reads the file: the phase and a progress bar (the page reloads itself).
    ImportJob.objects.filter(pk=job.pk).update(status="running", phase="reading", done=30, total=120)
    page.reload()
    assert "Reading: 25%" in page.inner_text("#import-progress")
    bar = page.locator("#import-progress progress")
    assert bar.get_attribute("value") == "30" and bar.get_attribute("max") == "120"
    assert bar.bounding_box()["width"] > 0
    check(page, "job-running", viewport, found)

    ImportJob.objects.filter(pk=job.pk).update(status="queued", phase="", done=0, total=0)
    page.unroute("**/admin/catalogue/importjob/*/change/")
    page.reload()
    assert import_jobs.run(job.pk) == "done"  # what the worker does
    page.wait_for_selector("#import-report", timeout=10_000)  # the page's own reload shows it
    report = page.inner_text("#import-report")
    assert "Dry run: nothing was written" in report and "Would be created\t1" in report
    assert "valence 9 is out of range" in page.inner_text("#rejected-rows")
    assert "title: Old title → New title" in page.inner_text("#diff-changed")
    page.click("#diff-kinds >> text=Added (1)")
    assert "Band C – Brand new" in page.inner_text("#diff-added")
    check(page, "job-report", viewport, found)
    page.goto(f"{live_server.url}/admin/catalogue/importjob/")
    assert "1 would be created, 1 would be updated, 1 unchanged, 1 rejected" in page.inner_text(
        "#result_list"
    )
    check(page, "import-history", viewport, found)
    assert Track.objects.get(external_id="k2").title == "Old title"  # a dry run writes nothing
    assert found == {name: [] for name in found}, found
    page.close()


@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["390px", "1280px"])
def test_bulk_edit_from_the_track_list(browser, live_server, admin_user, viewport):  # noqa: F811
    found: dict[str, list[str]] = {}
    page = browser.new_page(viewport=viewport)
    log_in(page, live_server.url, "boss", admin=True)
    page.goto(f"{live_server.url}/admin/catalogue/track/?genre=pop")
    check(page, "track-list", viewport, found)
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 6
    for n in range(2):
        rows.nth(n).locator("input.action-select").check()
    page.select_option("select[name=action]", "bulk_edit")
    page.click("button[name=index]")
    page.wait_for_selector("#bulk-edit-form")
    assert page.locator("#bulk-edit-tracks li").count() == 2
    check(page, "bulk-edit", viewport, found)
    page.fill("#id_language", "pt-BR")
    page.fill("#id_add_tags", "road trip, night")
    page.click("#bulk-edit-form input[type=submit]")
    page.wait_for_selector(".messagelist")
    assert "2 of 2 selected track(s) changed" in page.inner_text(".messagelist")
    changed = Track.objects.filter(language="pt-BR")
    assert changed.count() == 2 and all(t.tags == ["road trip", "night"] for t in changed)
    assert Track.objects.filter(genre="pop").exclude(language="pt-BR").count() == 4
    assert found == {name: [] for name in found}, found
    page.close()


def test_export_all_downloads_the_catalogue_as_csv(browser, live_server, admin_user):  # noqa: F811
    Track.objects.filter(external_id="x0").update(title="=HYPERLINK(1)")
    page = browser.new_page(viewport=LAPTOP)
    log_in(page, live_server.url, "boss", admin=True)
    page.goto(f"{live_server.url}/admin/catalogue/track/")
    with page.expect_download() as download_info:
        page.click("text=Export all as CSV")
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    with open(download.path(), encoding="utf-8") as exported:
        rows = list(csv.DictReader(exported))
    assert {row["id"] for row in rows} == set(Track.objects.values_list("external_id", flat=True))
    assert next(row for row in rows if row["id"] == "x0")["title"] == "'=HYPERLINK(1)"  # neutralised
    assert next(row for row in rows if row["id"] == "k2")["language"] == "es"
    page.close()
