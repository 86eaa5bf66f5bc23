"""The web request decodes at most PHOTO_REQUEST_DECODE_MAX_PIXELS. A bigger image is checked from its header
only and kept as uploaded; the worker re-encodes it (metadata stripped, at most 2048 px) before its run,
and a file that turns out undecodable fails its run with a clear message, the photo kept. A JPEG is
decoded at a smaller scale to stay within the request's budget."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageFile, PngImagePlugin
from rest_framework.test import APIClient

from inference import adapter
from photos.models import Photo, Run
from photos.services import execution
from photos.services.photos import normalise_stored_upload
from tests.factories import TrackFactory, jpeg_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue() -> None:
    adapter.reset()
    for n in range(30):
        TrackFactory.create(artist=f"Artist {n % 10}", valence=(n % 10) / 9, arousal=((n * 7) % 10) / 9)


@pytest.fixture
def no_decoding(monkeypatch):
    """Any pixel decoded while this is active fails the test (Pillow decodes in ImageFile.load)."""

    def refuse(self):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)
    return monkeypatch


def big_png(size=(3000, 2000), secret: str = "") -> bytes:
    info = PngImagePlugin.PngInfo()
    if secret:
        info.add_text("Comment", secret)
    buffer = io.BytesIO()
    Image.new("RGB", size, (40, 90, 160)).save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


def png_with_bad_pixels(size=(3000, 2000)) -> bytes:
    """A PNG whose chunks are all well formed (checksums right) but whose pixel data is not zlib."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", size[0], size[1], 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"not zlib" * 64) + chunk(b"IEND", b"")
    )


def upload(api: APIClient, name: str, data: bytes):
    return api.post("/api/photos/", {"image": SimpleUploadedFile(name, data)}, format="multipart")


def test_a_big_png_is_checked_from_its_header_only_and_kept_as_uploaded(api, no_decoding) -> None:
    data = big_png()  # 6 MP: over the request's 4.2 MP
    response = upload(api, "big.png", data)
    no_decoding.undo()
    assert response.status_code == 202, response.content
    photo = Photo.objects.get()
    assert photo.awaits_normalising and (photo.width, photo.height) == (3000, 2000)
    assert Path(photo.image.path).read_bytes() == data
    assert Run.objects.get().photo == photo
    assert upload(api, "again.png", data).status_code == 202
    assert Photo.objects.count() == 1  # the same file is the same photo


def test_the_worker_re_encodes_a_big_upload_before_its_run(api, client, catalogue) -> None:
    response = upload(api, "big.png", big_png(secret="12 Home Street"))
    photo = Photo.objects.get()
    original = Path(photo.image.path)
    client.force_login(photo.owner)
    waiting = client.get(f"/photos/{photo.pk}/image/")  # never served as it came: a placeholder, never cached
    assert waiting.status_code == 200 and waiting["Content-Type"] == "image/svg+xml"
    assert b"Preparing your photo" in waiting.content and waiting["Cache-Control"] == "no-store"
    execution.execute(response.json()["id"], worker="test")
    run = Run.objects.get()
    assert run.status == Run.Status.DONE, run.error
    photo.refresh_from_db()
    assert not photo.awaits_normalising and not original.exists()
    ready = client.get(f"/photos/{photo.pk}/image/")
    assert ready["Content-Type"] == "image/jpeg" and b"".join(ready.streaming_content)[:2] == b"\xff\xd8"
    stored = Path(photo.image.path).read_bytes()
    assert b"Home Street" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "JPEG" and image.size == (2048, 1365) == (photo.width, photo.height)
    assert normalise_stored_upload(photo.pk) == photo.image.name  # a second time changes nothing
    assert upload(api, "again.png", big_png(secret="12 Home Street")).status_code == 202
    assert Photo.objects.count() == 1


def test_a_big_upload_that_cannot_be_decoded_fails_its_run_clearly_and_the_photo_stays(
    api, catalogue, no_decoding
) -> None:
    response = upload(api, "broken.png", png_with_bad_pixels())
    no_decoding.undo()
    assert response.status_code == 202  # its header and checksums are fine
    execution.execute(response.json()["id"], worker="test")
    run = Run.objects.get()
    assert run.status == Run.Status.FAILED
    assert run.error == "The image is truncated or damaged; please upload the original file."
    photo = Photo.objects.get()
    assert photo.awaits_normalising and Path(photo.image.path).exists()


def test_a_big_png_cut_short_is_refused_in_the_request(api, settings) -> None:
    response = upload(api, "cut.png", big_png()[:-200])
    assert response.status_code == 400
    assert "truncated or damaged" in response.json()["image"][0]
    assert not Photo.objects.exists()


def test_a_12_megapixel_jpeg_is_decoded_at_half_scale_in_the_request(api) -> None:
    response = upload(api, "phone.jpg", jpeg_bytes(size=(4032, 3024)))
    assert response.status_code == 202
    photo = Photo.objects.get()
    assert not photo.awaits_normalising
    assert (photo.width, photo.height) == (2016, 1512)  # 1/2 scale: 3 MP decoded, not 12


def test_small_images_of_every_format_are_still_re_encoded_in_the_request(api) -> None:
    for n, fmt in enumerate(("PNG", "GIF", "WEBP", "TIFF", "BMP")):
        buffer = io.BytesIO()
        Image.new("RGB", (600 + n, 400), (n * 40, 80, 120)).save(buffer, fmt)
        assert upload(api, f"p.{fmt.lower()}", buffer.getvalue()).status_code == 202
    assert not any(photo.awaits_normalising for photo in Photo.objects.all())
    assert Photo.objects.count() == 5
