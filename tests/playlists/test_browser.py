"""In Debian chromium: save a result as a playlist, reorder it (drag and drop, keyboard), export JSPF, build
a soundtrack from three photos on a real worker and swap a track."""

from __future__ import annotations

import json
import os

import pytest
from PIL import Image

from photos.models import RunItem
from playlists.models import Playlist, Soundtrack
from tests.factories import RunFactory, UserFactory
from tests.integration.test_browser import log_in
from tests.worker import Worker

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def order(playlist: Playlist) -> list[str]:
    return list(playlist.entries.order_by("position").values_list("title", flat=True))


def test_save_reorder_export_and_a_soundtrack_with_a_swap(
    broker,
    smooth_catalogue,
    live_server,
    browser_page,
    tmp_path,
) -> None:
    user = UserFactory.create(username="curator")
    run = RunFactory.create(user=user, photo__owner=user, status="done", valence=0.6, arousal=0.4)
    for rank, track in enumerate(smooth_catalogue[:4], start=1):
        RunItem.objects.create(run=run, track=track, rank=rank, score=1 - rank / 10)
    worker = Worker(broker, tmp_path / "worker.log")
    page = browser_page
    try:
        log_in(page, live_server.url, "curator")

        # Save the result as a playlist.
        page.goto(f"{live_server.url}/runs/{run.pk}/")
        page.fill("[data-testid=save-result] input[name=title]", "Browser mix")
        page.click("[data-testid=save-as-playlist]")
        page.wait_for_url("**/playlists/*/")
        playlist = Playlist.objects.get(title="Browser mix")
        first, second, third, fourth = order(playlist)
        rows = page.locator("[data-testid=entries] > li")
        assert rows.count() == 4

        # Drag the first track below the third.
        rows.nth(0).drag_to(rows.nth(2), target_position={"x": 20, "y": 30})
        page.wait_for_selector("#status:has-text('Moved')")
        assert order(playlist) == [second, third, first, fourth]

        # Keyboard: Alt+Up on the last one.
        rows.nth(3).focus()
        page.keyboard.press("Alt+ArrowUp")
        moved = json.dumps(f"Moved “{fourth}” to position 3")
        page.wait_for_function(f"document.querySelector('#status').textContent.includes({moved})")
        assert order(playlist) == [second, third, fourth, first]

        # Undo the last change puts it back.
        page.click("[data-testid=undo]")
        last = "document.querySelectorAll('[data-testid=entries] > li')[3].textContent"
        page.wait_for_function(f"{last}.includes({json.dumps(fourth)})")
        assert order(playlist) == [second, third, first, fourth]

        # Export JSPF: the file has the tracks in the page's order.
        with page.expect_download() as download:
            page.click("[data-testid=export-jspf]")
        exported = json.loads(download.value.path().read_text(encoding="utf-8"))
        assert [t["title"] for t in exported["playlist"]["track"]] == [second, third, first, fourth]

        # A soundtrack from three photos, made by the worker.
        worker.wait_ready()
        files = []
        for name, colour in (
            ("01-beach.jpg", (250, 200, 90)),
            ("02-night.jpg", (15, 15, 40)),
            ("03-fire.jpg", (220, 40, 20)),
        ):
            path = tmp_path / name
            Image.new("RGB", (320, 240), colour).save(path)
            files.append(str(path))
        page.goto(f"{live_server.url}/soundtracks/")
        page.set_input_files("input[name=images]", files)
        page.fill("[data-testid=amount]", "6")
        page.click("[data-testid=make-soundtrack]")
        page.wait_for_url("**/soundtracks/*/")
        page.wait_for_selector("[data-testid=trajectory]", timeout=120_000)
        soundtrack = Soundtrack.objects.get()
        assert soundtrack.status == "done", soundtrack.error
        assert page.locator("[data-testid=soundtrack-tracks] > li").count() == 6
        assert page.locator("svg.chart").count() == 2

        # Swap the second track for the next best one for its photo.
        assert soundtrack.playlist is not None
        entry = soundtrack.playlist.entries.order_by("position")[1]
        before = entry.track_id
        page.locator("[data-testid=soundtrack-tracks] > li").nth(1).locator("[data-testid=swap]").click()
        page.wait_for_selector(".flash:has-text('Swapped in')")
        entry.refresh_from_db()
        assert entry.track_id != before and entry.photo_id == soundtrack.photo_ids[0]
        artists = list(soundtrack.playlist.entries.values_list("artist", flat=True))
        assert len(set(artists)) == 6
        if os.environ.get("PHOTOPHONE_SOUNDTRACK_SCREENSHOT"):
            page.screenshot(path=os.environ["PHOTOPHONE_SOUNDTRACK_SCREENSHOT"], full_page=True)
    finally:
        worker.stop()
