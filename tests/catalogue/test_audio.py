"""Tracks added as audio: the admin page, the service, the worker task's logic and the command.

The analysis itself runs for real (vibenet's ONNX model); only the hand-off to the broker is recorded
here (the real worker over Redis is in tests/integration)."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from catalogue import audio
from catalogue.models import Track
from catalogue.selectors import catalogue_version, track_row
from config.celery import app as celery_app
from recommender.audio_analysis import EMBEDDING_DIM
from recommender.tracks import track_position
from recommender.types import TrackRow
from tests.factories import TrackFactory, UserFactory, wav_bytes

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.catalogue.urls")]


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record what would go to the broker instead of sending it."""
    queued: list[int] = []
    monkeypatch.setattr(celery_app, "send_task", lambda name, args: queued.append(args[0]))
    return queued


def stored_audio(settings) -> list[Path]:
    folder = Path(settings.MEDIA_ROOT) / "audio"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def test_admin_adds_a_track_from_audio_and_the_worker_fills_its_features(
    staff_client: Client, sent: list[int], settings, django_capture_on_commit_callbacks
) -> None:
    before = catalogue_version()
    upload = SimpleUploadedFile("Night Drive.wav", wav_bytes(seconds=8, bpm=120), content_type="audio/wav")
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            reverse("admin:catalogue_track_add_audio"),
            {"file": upload, "artist": "Tester", "genre": "synthwave", "tags": "night, drive"},
        )
    track = Track.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{track.pk}/change/")
    assert (track.title, track.artist, track.genre, track.tags) == (
        "Night Drive",
        "Tester",
        "synthwave",
        ["night", "drive"],
    )
    assert track.audio_status == Track.AudioStatus.PENDING and sent == [track.pk]
    assert track.energy is None and track_position(TrackRow(**track_row(track.pk))) is None

    audio.analyse(track.pk)  # what the worker's task does
    track.refresh_from_db()
    assert track.audio_status == Track.AudioStatus.DONE and track.audio_message == ""
    assert track.provenance == Track.Provenance.AUDIO
    assert track.tempo == pytest.approx(120, abs=4)
    assert all(getattr(track, f) is not None for f in ("energy", "valence", "acousticness", "duration_ms"))
    assert track.audio_embedding is not None and len(bytes(track.audio_embedding)) == 4 * EMBEDDING_DIM
    assert track.audio_model.startswith("vibenet-")
    position = track_position(TrackRow(**track_row(track.pk)))
    assert position is not None and position[2].name == "ESTIMATED"
    assert catalogue_version() != before  # the engine's index follows
    page = staff_client.get(reverse("admin:catalogue_track_change", args=[track.pk])).content.decode()
    assert "Analysed" in page


@pytest.mark.parametrize(
    ("name", "payload", "message"),
    [
        ("song.mp3", b"\xff\xfb\x90\x00" + b"\x13" * 4000, "could not be read as audio"),
        ("song.wav", b"", "The submitted file is empty"),
        ("song.txt", wav_bytes(), "is not an audio file we read"),
        ("short.wav", wav_bytes(seconds=1.5), "at least 3 s"),
    ],
)
def test_a_broken_audio_upload_shows_why_and_stores_nothing(
    staff_client: Client, sent: list[int], settings, name: str, payload: bytes, message: str
) -> None:
    response = staff_client.post(
        reverse("admin:catalogue_track_add_audio"), {"file": SimpleUploadedFile(name, payload)}
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert "UploadedFile" not in response.content.decode()  # no Python internals in the message
    assert not Track.objects.exists() and not stored_audio(settings) and not sent


def test_an_upload_over_the_limit_is_refused(staff_client: Client, sent: list[int], settings) -> None:
    settings.AUDIO_UPLOAD_MAX_BYTES = 1024 * 1024
    big = SimpleUploadedFile("long.wav", wav_bytes(seconds=30))
    response = staff_client.post(reverse("admin:catalogue_track_add_audio"), {"file": big})
    assert "the limit is 1 MB" in response.content.decode()
    assert not Track.objects.exists() and not stored_audio(settings)


def test_the_same_audio_twice_is_refused_and_points_at_the_track(sent: list[int]) -> None:
    first = audio.add_track_from_audio(SimpleUploadedFile("a.wav", wav_bytes()), title="A", artist="X")
    with pytest.raises(audio.AudioUploadError, match=f"id {first.pk}"):
        audio.add_track_from_audio(SimpleUploadedFile("b.wav", wav_bytes()), title="B", artist="Y")
    assert Track.objects.count() == 1


def test_audio_fills_only_what_an_imported_track_lacks(sent: list[int]) -> None:
    track = TrackFactory.create(valence=0.9, arousal=None, energy=None, tempo=None)
    audio.attach_audio(track, SimpleUploadedFile("t.wav", wav_bytes(seconds=6, bpm=90)))
    audio.analyse(track.pk)
    track.refresh_from_db()
    assert track.valence == 0.9  # the import's value stays
    assert track.energy is not None and track.tempo == pytest.approx(90, abs=4)
    assert track.provenance == Track.Provenance.IMPORT


def test_a_failed_analysis_keeps_the_track_and_can_run_again(
    staff_client: Client, sent: list[int], settings, django_capture_on_commit_callbacks
) -> None:
    track = audio.add_track_from_audio(SimpleUploadedFile("t.wav", wav_bytes()), title="T", artist="A")
    good = Path(track.audio.path).read_bytes()
    Path(track.audio.path).write_bytes(b"RIFF broken on disk")
    audio.analyse(track.pk)
    track.refresh_from_db()
    assert track.audio_status == Track.AudioStatus.FAILED
    assert "not a readable audio file" in track.audio_message
    assert track.energy is None and Track.objects.filter(pk=track.pk).exists()

    Path(track.audio.path).write_bytes(good)
    sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            reverse("admin:catalogue_track_changelist"),
            {"action": "analyse_audio_again", "_selected_action": [track.pk]},
        )
    assert response.status_code == 302 and sent == [track.pk]
    audio.analyse(track.pk)
    track.refresh_from_db()
    assert track.audio_status == Track.AudioStatus.DONE and track.energy is not None


def test_while_the_broker_is_down_the_analysis_waits_and_is_sent_later(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks
) -> None:
    def broker_down(name: str, args: list[int]) -> None:
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(celery_app, "send_task", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        track = audio.add_track_from_audio(SimpleUploadedFile("t.wav", wav_bytes()), title="T", artist="A")
    track.refresh_from_db()
    assert track.audio_status == Track.AudioStatus.PENDING and track.audio

    queued: list[int] = []
    monkeypatch.setattr(celery_app, "send_task", lambda name, args: queued.append(args[0]))
    assert audio.resend_pending(older_than_seconds=0) == {"resent": 1, "failed": 0} and queued == [track.pk]
    assert audio.analyse(track.pk) is not None
    assert audio.analyse(track.pk) is None  # a second delivery finds it done and leaves it alone


def test_an_analysis_no_worker_finishes_fails_after_the_last_resend(sent: list[int]) -> None:
    track = audio.add_track_from_audio(SimpleUploadedFile("t.wav", wav_bytes()), title="T", artist="A")
    for _ in range(audio.MAX_RESENDS):
        assert audio.resend_pending(older_than_seconds=0) == {"resent": 1, "failed": 0}
    assert audio.resend_pending(older_than_seconds=0) == {"resent": 0, "failed": 1}
    track.refresh_from_db()
    assert track.audio_status == Track.AudioStatus.FAILED
    assert "No worker finished analysing this audio after 4 attempts" in track.audio_message
    assert audio.request_analysis([track.pk]) == 1  # the admin can try again, with a fresh count
    track.refresh_from_db()
    assert (track.audio_status, track.audio_resends) == (Track.AudioStatus.PENDING, 0)


def test_add_audio_command_adds_a_folder_and_reports_rejects(
    tmp_path: Path, sent: list[int], django_capture_on_commit_callbacks
) -> None:
    folder = tmp_path / "ambient"
    folder.mkdir()
    (folder / "one.wav").write_bytes(wav_bytes(seconds=5, bpm=80))
    (folder / "two.wav").write_bytes(wav_bytes(seconds=5, bpm=140))
    (folder / "broken.mp3").write_bytes(b"not audio at all" * 100)
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(CommandError, match="1 of 3"):
        call_command("add_audio", str(folder), "--genre-from-folder", "--json", stdout=out)
    results = {Path(r["file"]).name: r for r in map(json.loads, out.getvalue().splitlines())}
    assert results["broken.mp3"]["status"] == "rejected"
    assert results["one.wav"]["status"] == results["two.wav"]["status"] == "done"
    assert results["two.wav"]["features"]["tempo"] == pytest.approx(140, abs=5)
    assert set(Track.objects.values_list("genre", flat=True)) == {"ambient"}
    assert not sent  # analysed in the command, nothing queued


@pytest.mark.urls("config.urls")
def test_the_uploaded_audio_plays_for_signed_in_users_only(client: Client, sent: list[int]) -> None:
    track = audio.add_track_from_audio(SimpleUploadedFile("t.wav", wav_bytes()), title="T", artist="A")
    url = reverse("catalogue:track_audio", args=[track.pk])
    assert client.get(url).status_code == 302  # to the login page
    client.force_login(UserFactory.create())
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "audio/wav"
    assert response.getvalue() == wav_bytes()
    assert client.get(reverse("catalogue:track_audio", args=[TrackFactory.create().pk])).status_code == 404
    Track.objects.filter(pk=track.pk).update(is_active=False)
    assert client.get(url).status_code == 404
