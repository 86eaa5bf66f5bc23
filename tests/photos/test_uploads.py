"""Bad uploads get a clear 4xx message and leave nothing behind; GPS never survives."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from rest_framework.test import APIClient

from photos.models import Photo, Run
from tests.factories import UserFactory, jpeg_bytes

pytestmark = pytest.mark.django_db


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def upload(api: APIClient, name: str, data: bytes):
    return api.post("/api/photos/", {"image": SimpleUploadedFile(name, data)}, format="multipart")


def gps_jpeg() -> bytes:
    image = Image.new("RGB", (80, 60), (30, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (51.0, 30.0, 12.5)
    gps[3] = "W"
    gps[4] = (0.0, 7.0, 39.0)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes())
    return buffer.getvalue()


BAD_UPLOADS = {
    "not an image": ("notes.jpg", b"this is plainly text, not a photo" * 10, "not an image"),
    "truncated": ("cut.jpg", jpeg_bytes(size=(400, 300))[:700], "truncated or damaged"),
    "wrong extension": ("photo.exe", jpeg_bytes(), "'.exe' files are not accepted"),
    "empty": ("empty.jpg", b"", "empty"),
}


@pytest.mark.parametrize("case", BAD_UPLOADS, ids=list(BAD_UPLOADS))
def test_bad_upload_is_a_clear_400_and_leaves_nothing(api, settings, case) -> None:
    name, data, message = BAD_UPLOADS[case]
    response = upload(api, name, data)
    assert response.status_code == 400
    assert message in " ".join(response.json()["image"])
    assert Photo.objects.count() == 0
    assert Run.objects.count() == 0
    assert files_under(Path(settings.MEDIA_ROOT)) == []


def test_over_the_size_limit(api, settings) -> None:
    settings.PHOTO_MAX_BYTES = 1000
    response = upload(api, "big.jpg", jpeg_bytes(size=(300, 300)) + b"\0" * 2000)
    assert response.status_code == 400
    assert "larger than" in response.json()["image"][0]
    assert Photo.objects.count() == 0


def test_decompression_bomb_is_refused_before_decoding(api, settings) -> None:
    buffer = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(buffer, "PNG")  # 400 megapixels in a few kB
    assert len(buffer.getvalue()) < 200_000
    response = upload(api, "bomb.png", buffer.getvalue())
    assert response.status_code == 400
    assert "megapixels" in response.json()["image"][0] or "too many pixels" in response.json()["image"][0]
    assert Photo.objects.count() == 0
    assert files_under(Path(settings.MEDIA_ROOT)) == []


def test_gps_exif_is_stripped_and_photo_stored_under_its_hash(api, settings) -> None:
    original = gps_jpeg()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # the fixture really has GPS
    response = upload(api, "holiday.jpg", original)
    assert response.status_code == 202
    photo = Photo.objects.get()
    stored = Path(photo.image.path)
    assert stored.name == f"{photo.sha256}.jpg"
    with Image.open(stored) as image:
        exif = image.getexif()
        assert not exif.get_ifd(0x8825)
        assert 0x010F not in exif
    assert b"PhoneMaker" not in stored.read_bytes()


def test_upload_answers_202_with_the_run_url(api) -> None:
    response = upload(api, "sunset.jpg", jpeg_bytes())
    assert response.status_code == 202
    body = response.json()
    assert response["Location"] == body["url"]
    assert body["url"].endswith(f"/api/runs/{body['id']}/")
    assert body["status"] == "pending"


def test_same_photo_twice_is_one_photo_two_runs(api) -> None:
    data = jpeg_bytes()
    assert upload(api, "a.jpg", data).status_code == 202
    assert upload(api, "a-copy.jpg", data).status_code == 202
    assert Photo.objects.count() == 1
    assert Run.objects.count() == 2


def test_png_with_transparency_and_mislabelled_extension_is_accepted(api) -> None:
    buffer = io.BytesIO()
    Image.new("RGBA", (50, 50), (255, 0, 0, 128)).save(buffer, "PNG")
    response = upload(api, "really-a-png.jpg", buffer.getvalue())  # the content decides, not the name
    assert response.status_code == 202
    assert str(Photo.objects.get().image.name).endswith(".jpg")


def test_web_form_shows_the_message(client, settings) -> None:
    client.force_login(UserFactory.create())
    response = client.post(
        "/", {"image": SimpleUploadedFile("x.jpg", b"not an image at all"), "mode": "match"}
    )
    assert response.status_code == 400
    assert "not an image we can read" in response.content.decode()
    assert Photo.objects.count() == 0


def test_web_upload_redirects_to_the_run_page(client) -> None:
    client.force_login(UserFactory.create())
    response = client.post("/", {"image": SimpleUploadedFile("x.jpg", jpeg_bytes()), "mode": "lift"})
    run = Run.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/runs/{run.pk}/"
    assert run.mode == "lift"


def stored_image(photo: Photo) -> Image.Image:
    image = Image.open(Path(photo.image.path))
    image.load()
    return image


def test_jpeg_comment_xmp_and_icc_profile_do_not_survive(api) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (80, 60), (30, 120, 200)).save(
        buffer,
        "JPEG",
        comment=b"12 Home Street, Springfield",
        icc_profile=b"\0" * 128 + b"PROFILE-SECRET",
        xmp=b"<x:xmpmeta>XMP-SECRET</x:xmpmeta>",
    )
    response = upload(api, "commented.jpg", buffer.getvalue())
    assert response.status_code == 202
    photo = Photo.objects.get()
    stored = Path(photo.image.path).read_bytes()
    for secret in (b"Home Street", b"PROFILE-SECRET", b"XMP-SECRET"):
        assert secret not in stored
    assert "comment" not in stored_image(photo).info


def test_16_bit_greyscale_png_keeps_its_tones(api) -> None:
    import numpy as np

    ramp = np.tile(np.linspace(0, 65535, 256).astype(np.uint16), (64, 1))  # black to white, left to right
    buffer = io.BytesIO()
    Image.fromarray(ramp).save(buffer, "PNG")
    assert Image.open(io.BytesIO(buffer.getvalue())).mode.startswith("I")
    assert upload(api, "scan.png", buffer.getvalue()).status_code == 202
    stored = np.asarray(stored_image(Photo.objects.get()).convert("L"), dtype=float)
    assert stored[:, :16].mean() < 20 and stored[:, -16:].mean() > 235
    assert 100 < stored.mean() < 155  # was 254 (clipped at 255: 99% white)


def test_a_big_jpeg_is_decoded_at_a_reduced_scale(api, settings) -> None:
    settings.PHOTO_MAX_PIXELS = 5_000_000
    # 16 megapixels declared; decoded at 1/2 scale (4 MP), which is within the limit.
    response = upload(api, "big.jpg", jpeg_bytes(size=(4800, 3400)))
    assert response.status_code == 202, response.content
    assert max(stored_image(Photo.objects.get()).size) <= 2048


def test_an_image_over_the_pixel_limit_is_refused_from_its_header(api, settings) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (6000, 4100)).save(buffer, "PNG")  # 24.6 MP, over the default 24 MP
    response = upload(api, "wide.png", buffer.getvalue())
    assert response.status_code == 400
    assert "6000x4100" in response.json()["image"][0]
    assert Photo.objects.count() == 0
