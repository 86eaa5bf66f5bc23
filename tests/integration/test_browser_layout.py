"""The pages in Debian chromium at a phone's width (390 px) and a laptop's (1280x800): layout checked by
element boxes, and an axe-core accessibility check (no serious or critical violations)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.db import connections

from inference import adapter
from photos.models import Run
from photos.services import execution
from tests.factories import PhotoFactory, RunFactory, TrackFactory, UserFactory, jpeg_bytes
from tests.integration.test_browser import CHROMIUM, CHROMIUM_FLAGS, log_in

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.django_db(transaction=True)]
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}
SCREENSHOTS = os.environ.get("PHOTOPHONE_SCREENSHOT_DIR", "")


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"chromium not found at {CHROMIUM} (apt-get install chromium)")
        pytest.skip(f"chromium not found at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        yield browser
        browser.close()
        connections.close_all()


@pytest.fixture
def finished_run() -> Run:
    """A finished run of the real engine for a 320x240 photo over a 40-track catalogue, some with audio."""
    adapter.reset()
    for n in range(40):
        TrackFactory.create(
            artist=f"Band {n % 15}",
            title=f"A rather long song title number {n} (extended mix)" if n % 3 == 0 else f"Song {n}",
            valence=(n % 8) / 7,
            arousal=((n * 3) % 8) / 7,
            audio="audio/x.wav" if n % 4 == 0 else "",
        )
    user = UserFactory.create(username="lena")
    photo = PhotoFactory.create(
        owner=user, image=ContentFile(jpeg_bytes((90, 140, 200), (320, 240)), name="p.jpg")
    )
    run = RunFactory.create(photo=photo, top_k=30)
    execution.execute(run.pk, worker="test")
    run.refresh_from_db()
    assert run.status == Run.Status.DONE, run.error
    return run


def boxes(page, selector: str) -> list[dict[str, float]]:
    return page.eval_on_selector_all(
        selector,
        "els => els.map(e => { const r = e.getBoundingClientRect();"
        " return {x: r.x, y: r.y, right: r.right, bottom: r.bottom, width: r.width, height: r.height}; })",
    )


def overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["x"] < b["right"] - 0.5
        and b["x"] < a["right"] - 0.5
        and a["y"] < b["bottom"] - 0.5
        and b["y"] < a["bottom"] - 0.5
    )


def open_results(browser, live_server, run: Run, viewport: dict[str, int]):
    page = browser.new_page(viewport=viewport)
    log_in(page, live_server.url, "lena")
    page.goto(f"{live_server.url}/runs/{run.pk}/")
    page.wait_for_selector("[data-testid=tracks]")
    page.wait_for_function("document.querySelector('img.photo').complete")
    if SCREENSHOTS:
        page.screenshot(path=f"{SCREENSHOTS}/results-{viewport['width']}.png")
        page.screenshot(path=f"{SCREENSHOTS}/results-{viewport['width']}-full.png", full_page=True)
    return page


def test_results_at_laptop_size_put_tracks_beside_the_photo_above_the_fold(
    browser, live_server, finished_run
):
    page = open_results(browser, live_server, finished_run, LAPTOP)
    photo = boxes(page, "img.photo")[0]
    tracks = boxes(page, "[data-testid=tracks] > li")
    assert len(tracks) == 10
    # Beside the photo, not below it, and at least the first five above the fold.
    assert tracks[0]["x"] >= photo["right"]
    assert all(t["bottom"] <= LAPTOP["height"] for t in tracks[:5]), [t["bottom"] for t in tracks[:5]]
    for panel in boxes(page, ".photo-panel, .mood-panel"):
        assert not overlap(panel, boxes(page, ".tracks-panel")[0])
    # The photo is not blown up beyond its stored size.
    natural = page.eval_on_selector("img.photo", "img => img.naturalWidth")
    assert natural == 320 and photo["width"] <= natural
    assert page.evaluate("document.documentElement.scrollWidth") <= LAPTOP["width"]
    page.close()


def test_results_at_phone_width_fit_and_show_a_track_above_the_fold(browser, live_server, finished_run):
    page = open_results(browser, live_server, finished_run, PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    tracks = boxes(page, "[data-testid=tracks] > li")
    assert tracks[0]["bottom"] <= PHONE["height"], tracks[0]
    for n in range(len(tracks)):
        item = f"[data-testid=tracks] > li:nth-child({n + 1})"
        what, rate = boxes(page, f"{item} .what")[0], boxes(page, f"{item} form.rate")[0]
        assert not overlap(what, rate)
        assert what["width"] >= 250  # text gets the width, the buttons go below it
        assert rate["right"] <= PHONE["width"] and what["right"] <= PHONE["width"]
    # Ten tracks no longer take thousands of pixels.
    assert tracks[-1]["bottom"] - tracks[0]["y"] < 2600
    page.close()


def test_details_open_on_demand_and_more_shows_ten_more(browser, live_server, finished_run):
    page = open_results(browser, live_server, finished_run, LAPTOP)
    first = page.locator("[data-testid=tracks] > li").first
    assert first.locator("[data-testid=reason]").is_visible()
    assert not first.locator(".reasons").is_visible()
    first.locator("summary").click()
    assert first.locator(".reasons").is_visible()
    page.click("[data-testid=more]")
    page.wait_for_function("document.querySelectorAll('[data-testid=tracks] > li').length === 20")
    assert page.locator("[data-testid=tracks] > li").nth(19).locator(".rank").inner_text() == "20"
    page.close()


def test_rating_is_undone_by_pressing_it_again(browser, live_server, finished_run):
    from photos.models import Feedback

    page = open_results(browser, live_server, finished_run, LAPTOP)
    up = page.locator("[data-testid=tracks] > li:first-child button.up")
    up.click()
    page.wait_for_selector("[data-testid=tracks] > li:first-child button.up.chosen")
    assert Feedback.objects.get().rating == 1
    up.click()
    page.wait_for_selector("[data-testid=tracks] > li:first-child button.up:not(.chosen)")
    assert not Feedback.objects.exists()
    page.close()


@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["390px", "1280px"])
def test_no_serious_accessibility_violations(browser, live_server, finished_run, viewport):
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    page = browser.new_page(viewport=viewport)
    log_in(page, live_server.url, "lena")
    found = {}
    for name, path in [
        ("home", "/"),
        ("results", f"/runs/{finished_run.pk}/"),
        ("history", "/history/"),
        ("account", "/accounts/profile/"),
        ("track photos", f"/tracks/{finished_run.items.first().track_id}/photos/"),
    ]:
        page.goto(f"{live_server.url}{path}")
        page.eval_on_selector_all("details", "all => all.forEach(d => { d.open = true; })")
        if SCREENSHOTS:
            page.screenshot(
                path=f"{SCREENSHOTS}/{name.replace(' ', '-')}-{viewport['width']}.png", full_page=True
            )
        results = axe.run(page)
        assert results.response["testEngine"]["name"] == "axe-core"  # it was injected and ran
        found[name] = [
            f"{v['id']} ({v['impact']}): {v['nodes'][0]['target']}"
            for v in results.response["violations"]
            if v["impact"] in ("serious", "critical")
        ]
    assert found == {name: [] for name in found}, found
    page.close()


def test_landing_page_has_no_serious_accessibility_violations(browser, live_server):
    from axe_playwright_python.sync_playwright import Axe

    for viewport in (PHONE, LAPTOP):
        page = browser.new_page(viewport=viewport)
        page.goto(f"{live_server.url}/")
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        if SCREENSHOTS:
            page.screenshot(path=f"{SCREENSHOTS}/landing-{viewport['width']}.png", full_page=True)
        violations = [
            f"{v['id']} ({v['impact']})"
            for v in Axe().run(page).response["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert violations == []
        page.close()


def test_dragging_the_mood_marker_reranks_for_that_mood(browser, live_server, finished_run):
    from photos.services.results import mood_from_map

    page = open_results(browser, live_server, finished_run, LAPTOP)
    square = boxes(page, "#moodmap rect.bg")[0]
    marker = boxes(page, "#mood-marker")[0]
    page.mouse.move(marker["x"] + marker["width"] / 2, marker["y"] + marker["height"] / 2)
    page.mouse.down()
    # To the pleasant, excited corner: 90% across, 10% from the top.
    page.mouse.move(square["x"] + 0.9 * square["width"], square["y"] + 0.1 * square["height"], steps=5)
    page.mouse.up()
    assert float(page.input_value("#mood-valence")) == pytest.approx(0.9, abs=0.02)
    assert float(page.input_value("#mood-arousal")) == pytest.approx(0.9, abs=0.02)
    # The keyboard moves it too: one step left (valence) and one down (arousal).
    page.focus("#mood-marker")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowDown")
    valence, arousal = float(page.input_value("#mood-valence")), float(page.input_value("#mood-arousal"))
    assert valence == pytest.approx(0.85, abs=0.02) and arousal == pytest.approx(0.85, abs=0.02)
    page.click("[data-testid=mood-submit]")
    page.wait_for_url(f"**/runs/{finished_run.pk + 1}/")
    new = Run.objects.get(pk=finished_run.pk + 1)
    assert new.chosen_mood == pytest.approx(mood_from_map(valence, arousal))
    execution.execute(new.pk, worker="test")
    page.reload()
    assert "Matched to the mood you chose" in page.locator("[data-testid=chosen-mood]").inner_text()
    page.close()


def test_upload_with_options_at_phone_width(browser, live_server, finished_run, tmp_path):
    """The upload form's Options: collapsed, fit at 390 px, and what is set there goes into the first run
    (moving a mood slider ticks "match a mood I choose")."""
    from photos.services.results import mood_from_map

    page = browser.new_page(viewport=PHONE)
    log_in(page, live_server.url, "lena")
    assert not page.is_visible("#id_energy_min")  # collapsed
    page.click("#options summary")
    assert page.is_visible("#id_energy_min")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    photo = tmp_path / "p.jpg"
    photo.write_bytes(jpeg_bytes((200, 90, 40), (160, 120)))
    page.set_input_files("#id_image", str(photo))
    page.check("input[name=genres][value=pop]")
    page.fill("#id_energy_max", "0.9")
    assert not page.is_checked("#id_use_mood")
    page.eval_on_selector(
        "#id_valence", "el => { el.value = '0.8'; el.dispatchEvent(new Event('input', {bubbles: true})); }"
    )
    assert page.is_checked("#id_use_mood")
    page.click("#submit")
    page.wait_for_url("**/runs/*/")
    run = Run.objects.exclude(pk=finished_run.pk).get()
    assert run.filters == {"genres": ["pop"], "energy_max": 0.9}
    assert run.chosen_mood == pytest.approx(mood_from_map(0.8, 0.5))
    page.close()
