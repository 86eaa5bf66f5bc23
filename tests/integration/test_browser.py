"""The real page in Debian chromium via Playwright: log in, upload, watch progress, see results, rate."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from django.db import connections
from PIL import Image

from photos.models import Feedback, Run
from tests.factories import UserFactory
from tests.worker import Worker

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# Playwright's sync API runs an event loop in this thread; the ORM calls the test makes are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def browser_page(tmp_path):
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"chromium not found at {CHROMIUM} (apt-get install chromium)")
        pytest.skip(f"chromium not found at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1100, "height": 1300})
        yield page
        browser.close()
        # While Playwright's loop runs, Django sees a separate context and opened its own connection.
        connections.close_all()


def log_in(page, base_url: str, username: str, *, admin: bool = False) -> None:
    page.goto(f"{base_url}/{'admin' if admin else 'accounts'}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "correct horse battery staple")
    page.click("input[type=submit]" if admin else "button[type=submit]")
    page.wait_for_url(f"{base_url}/admin/" if admin else f"{base_url}/")


def test_upload_watch_progress_see_results_and_rate(
    broker, catalogue, live_server, browser_page, tmp_path
) -> None:
    UserFactory.create(username="dana")
    photo = tmp_path / "sunny-beach.jpg"
    Image.new("RGB", (640, 480), (250, 200, 90)).save(photo)
    # The worker waits 3 s before analysing, so the progress state is there to be seen.
    worker = Worker(broker, tmp_path / "worker.log", PHOTOPHONE_RUN_FAULT_DELAY="3")
    page = browser_page
    try:
        worker.wait_ready()
        log_in(page, live_server.url, "dana")

        page.set_input_files("#id_image", str(photo))
        page.wait_for_selector("#preview", state="visible", timeout=5_000)  # the preview shows before upload
        page.click("#submit")
        page.wait_for_url("**/runs/*/")
        assert page.locator("#run").get_attribute("data-status") in ("pending", "running")
        assert page.locator("[data-testid=progress]").is_visible()

        page.wait_for_selector("[data-testid=tracks]", timeout=60_000)
        tracks = page.locator("[data-testid=tracks] > li")
        assert tracks.count() == 10
        assert page.locator("[data-testid=mood-summary]").inner_text()
        assert page.locator("svg.moodmap circle").count() == 1
        assert "valence" in page.content()
        first = tracks.nth(0)
        assert first.locator(".reasons li").count() >= 1

        first.locator("button.up").click()
        page.wait_for_selector("[data-testid=tracks] > li:first-child button.up.chosen")
        run = Run.objects.get()
        item = run.items.get(rank=1)
        assert Feedback.objects.get(item=item).rating == 1

        page.screenshot(path=str(tmp_path / "results.png"), full_page=True)
        if os.environ.get("PHOTOPHONE_SCREENSHOT"):
            shutil.copy(tmp_path / "results.png", os.environ["PHOTOPHONE_SCREENSHOT"])
    finally:
        worker.stop()


def test_bad_upload_shows_the_message_in_the_page(live_server, browser_page, tmp_path) -> None:
    UserFactory.create(username="erin")
    bad = tmp_path / "holiday.jpg"
    bad.write_bytes(b"definitely not a jpeg")
    page = browser_page
    log_in(page, live_server.url, "erin")
    page.set_input_files("#id_image", str(bad))
    page.click("#submit")
    error = page.locator("[data-testid=upload-error]")
    assert "not an image we can read" in error.inner_text()
    assert not Run.objects.exists()


def test_admin_adds_a_track_from_audio_and_sees_it_analysed(
    broker, live_server, browser_page, tmp_path, settings
) -> None:
    from catalogue.models import Track
    from tests.factories import wav_bytes

    UserFactory.create(username="admin", is_staff=True, is_superuser=True)
    broken = tmp_path / "broken.mp3"
    broken.write_bytes(b"no audio in here" * 200)
    good = tmp_path / "Morning Run.wav"
    good.write_bytes(wav_bytes(seconds=6, bpm=128))
    worker = Worker(broker, tmp_path / "worker.log", PHOTOPHONE_PRELOAD="0")
    page = browser_page
    try:
        worker.wait_ready()
        log_in(page, live_server.url, "admin", admin=True)
        page.goto(f"{live_server.url}/admin/catalogue/track/")
        page.click("text=Add track from audio")

        page.set_input_files("#id_file", str(broken))
        page.click("input[type=submit]")
        assert "could not be read as audio" in page.locator(".errorlist").inner_text()
        assert not Track.objects.exists()

        page.set_input_files("#id_file", str(good))
        page.fill("#id_artist", "Browser Band")
        page.click("input[type=submit]")
        page.wait_for_url("**/change/")
        assert "features are being computed" in page.locator(".messagelist").inner_text()
        track = Track.objects.get()
        for _ in range(100):  # the worker takes about a second
            track.refresh_from_db()
            if track.audio_status != Track.AudioStatus.PENDING:
                break
            page.wait_for_timeout(100)
        page.reload()
        assert track.audio_status == Track.AudioStatus.DONE, track.audio_message
        assert "Analysed" in page.content()
        assert track.title == "Morning Run" and track.tempo == pytest.approx(128, abs=4)
    finally:
        worker.stop()
