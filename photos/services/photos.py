"""Photo uploads: validate, strip metadata, store under the content hash (big images: on the worker)."""

from __future__ import annotations

import hashlib
import io
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import PurePath
from typing import IO

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from PIL import Image, UnidentifiedImageError

from accounts.models import User
from photos.models import ORIGINALS_DIR, Photo
from photos.services import photo_files

logger = logging.getLogger(__name__)

ALLOWED_EXTENSIONS = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"}
ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "MPO"}
# Stored photos are re-encoded at most this large: enough for the models and the page, and it bounds disk use.
STORED_MAX_SIDE = 2048


class PhotoRejected(ValueError):
    """The upload is not a photo we can use; the message is written for the user."""


def _read_limited(upload: IO[bytes], limit: int) -> bytes:
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise PhotoRejected(f"The photo is larger than the {limit // (1024 * 1024)} MB limit.")
    return data


def clean_photo_bytes(data: bytes, filename: str) -> bytes:
    """Check an upload and return its pixels re-encoded as a new JPEG: no EXIF, GPS, ICC profile, XMP or
    comment survives, because nothing but the pixels is copied. Raises PhotoRejected with a message for
    the user for anything that is not a usable photo. Decodes up to settings.PHOTO_MAX_PIXELS: the web
    request calls it only for images that decode small (see store_photo)."""
    return _normalised(open_upload(data, filename))


def open_upload(data: bytes, filename: str, decode_limit: int | None = None) -> Image.Image:
    """The upload opened lazily, after the checks that read only its header: the extension and the format
    are allowed ones, and the size to decode is within settings.PHOTO_MAX_PIXELS (what stops decompression
    bombs). A JPEG is set to decode at the smallest scale (1/2, 1/4 or 1/8) that still covers the stored
    size (Pillow's draft mode), and smaller still, down to half the stored size, while that decodes more than
    decode_limit pixels. Not a pixel is decoded here. Raises PhotoRejected."""
    extension = PurePath(filename or "").suffix.lower()
    if extension and extension not in ALLOWED_EXTENSIONS:
        raise PhotoRejected(
            f"'{extension}' files are not accepted; upload a JPEG, PNG, WebP, GIF, BMP or TIFF photo."
        )
    if not data:
        raise PhotoRejected("The file is empty.")
    max_pixels = settings.PHOTO_MAX_PIXELS
    with _readable():
        image = Image.open(io.BytesIO(data))
        if image.format not in ALLOWED_FORMATS:
            raise PhotoRejected(f"{image.format} images are not accepted; upload a JPEG or PNG photo.")
        declared_width, declared_height = image.size
        if image.format in ("JPEG", "MPO"):
            target = _stored_size(declared_width, declared_height)
            image.draft(None, target)
            if decode_limit is not None and _pixels(image.size) > decode_limit:
                image = Image.open(io.BytesIO(data))  # a draft is set once per opened image
                image.draft(None, (max(1, target[0] // 2), max(1, target[1] // 2)))
        # Checked before decoding a single pixel, on what will be decoded (after draft).
        if _pixels(image.size) > max_pixels:
            raise PhotoRejected(
                f"The image is {declared_width}x{declared_height} pixels; "
                f"the limit is {max_pixels // 1_000_000} megapixels."
            )
    return image


def _pixels(size: tuple[int, int]) -> int:
    return size[0] * size[1]


@contextmanager
def _readable() -> Iterator[None]:
    """Pillow's errors for unreadable, damaged or oversized images, as PhotoRejected for the user."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except PhotoRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PhotoRejected("The image has too many pixels to process safely.") from exc
    except UnidentifiedImageError as exc:
        raise PhotoRejected("The file is not an image we can read.") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise PhotoRejected("The image is truncated or damaged; please upload the original file.") from exc


def _normalised(image: Image.Image) -> bytes:
    """Decode the opened upload and re-encode its pixels, upright, at most STORED_MAX_SIDE, as a JPEG."""
    with _readable():
        orientation = image.getexif().get(ORIENTATION_TAG)
        image.load()
    pixels = _eight_bit(image)
    pixels.thumbnail((STORED_MAX_SIDE, STORED_MAX_SIDE))  # early, so the steps below work on few pixels
    if orientation in EXIF_TRANSPOSE:
        pixels = pixels.transpose(EXIF_TRANSPOSE[orientation])
    if pixels.mode not in ("RGB", "L"):
        background = Image.new("RGB", pixels.size, (255, 255, 255))
        rgba = pixels.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        pixels = background
    rgb = pixels.convert("RGB")
    bare = Image.frombytes("RGB", rgb.size, rgb.tobytes())  # the pixels only: no info (comment, XMP...)
    output = io.BytesIO()
    bare.save(output, "JPEG", quality=90, optimize=True)
    return output.getvalue()


def _stored_size(width: int, height: int) -> tuple[int, int]:
    """The size the photo is stored at: the long side at most STORED_MAX_SIDE, the aspect kept."""
    scale = min(1.0, STORED_MAX_SIDE / max(width, height, 1))
    return max(1, int(width * scale)), max(1, int(height * scale))


ORIENTATION_TAG = 0x0112
EXIF_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _eight_bit(image: Image.Image) -> Image.Image:
    """The image in a mode with 8 bits per channel. 16-bit greyscale (I;16*, or I from a 16-bit PNG) is
    scaled down, not clipped at 255 (which made it almost white); 1-bit and palette images are expanded
    so that resizing can smooth them."""
    mode = image.mode
    if mode.startswith("I;16") or mode in ("I", "F"):
        values = np.asarray(image)
        if mode == "F":
            top = 1.0 if float(values.max(initial=0)) <= 1.0 else 255.0
            scaled = np.clip(values * (255.0 / top), 0, 255)
        elif int(values.max(initial=0)) > 255 or mode.startswith("I;16"):
            scaled = np.clip(values, 0, 65535) >> 8
        else:
            scaled = np.clip(values, 0, 255)
        return Image.fromarray(scaled.astype(np.uint8), "L")
    if mode == "1":
        return image.convert("L")
    if mode == "P":
        return image.convert("RGBA" if "transparency" in image.info else "RGB")
    return image


def store_photo(owner: User, upload: IO[bytes], filename: str) -> Photo:
    """Validate and store an upload for `owner`. The same photo uploaded twice is one Photo.

    The request decodes at most settings.PHOTO_REQUEST_DECODE_MAX_PIXELS: an image that decodes small
    (most JPEGs, with draft mode) is re-encoded now; a bigger one (a large PNG, GIF, WebP, TIFF...) passes
    the header checks and is kept as uploaded, and the worker that runs its first run re-encodes it
    (normalise_stored_upload) before anything reads it."""
    data = _read_limited(upload, settings.PHOTO_MAX_BYTES)
    image = open_upload(data, filename, decode_limit=settings.PHOTO_REQUEST_DECODE_MAX_PIXELS)
    if _pixels(image.size) <= settings.PHOTO_REQUEST_DECODE_MAX_PIXELS:
        clean = _normalised(image)
        digest = hashlib.sha256(clean).hexdigest()
        path = f"{photo_files.PHOTO_DIR}/{digest[:2]}/{digest}.jpg"
        size = Image.open(io.BytesIO(clean)).size
        content = clean
    else:
        size = image.size  # as declared; the worker sets the upright size it stores
        with _readable():
            image.verify()  # a PNG's chunk checksums, without inflating a byte
        digest = hashlib.sha256(data).hexdigest()
        path = f"{ORIGINALS_DIR}/{digest[:2]}/{digest}.{(image.format or 'image').lower()}"
        content = data
    existing = Photo.objects.filter(owner=owner, sha256=digest).first()
    if existing is not None:
        return existing
    photo = Photo(
        owner=owner,
        sha256=digest,
        original_name=PurePath(filename or "photo").name[:255],
        width=size[0],
        height=size[1],
    )
    # Stored under its content hash, shared with the same photo of others.
    try:
        with transaction.atomic():
            photo_files.lock_file_name(path)  # a file removal cannot run between the check and the row
            storage = photo_files.storage()
            if storage.exists(path):
                photo.image.name = path
            else:
                photo.image.name = storage.save(path, ContentFile(content))
            photo.save()
    except IntegrityError:
        # A concurrent upload of the same photo won; it uses the same file.
        return Photo.objects.get(owner=owner, sha256=digest)
    except Exception:
        photo_files.remove_if_unreferenced(path)
        raise
    return photo


def normalise_stored_upload(photo_id: int) -> str:
    """Worker side: re-encode a photo kept as uploaded (store_photo) and point the photo at the clean file;
    returns the photo's file name (unchanged when it needed nothing). Raises PhotoRejected, with the message
    for the user, when the image cannot be decoded; the photo is then left as it was."""
    photo = Photo.objects.get(pk=photo_id)
    original = str(photo.image.name)
    if not photo.awaits_normalising:
        return original
    try:
        with photo_files.storage().open(original, "rb") as stored:
            data = stored.read()
    except FileNotFoundError:
        photo.refresh_from_db()  # another worker re-encoded it and removed the upload meanwhile
        if photo.awaits_normalising:
            raise
        return str(photo.image.name)
    clean = clean_photo_bytes(data, original)
    digest = hashlib.sha256(clean).hexdigest()
    path = f"{photo_files.PHOTO_DIR}/{digest[:2]}/{digest}.jpg"
    width, height = Image.open(io.BytesIO(clean)).size
    with transaction.atomic():
        photo_files.lock_file_name(path)
        current = Photo.objects.select_for_update().get(pk=photo_id)
        if not current.awaits_normalising:  # another worker did it meanwhile
            return str(current.image.name)
        storage = photo_files.storage()
        if not storage.exists(path):
            storage.save(path, ContentFile(clean))
        # The photo keeps its sha256 (the upload's): a second upload of the same file finds it.
        Photo.objects.filter(pk=photo_id).update(image=path, width=width, height=height)
    photo_files.remove_if_unreferenced(original)  # unless another user uploaded the same file
    return path


def delete_photo(photo: Photo) -> None:
    """Delete a photo with its runs and ratings; its file goes once that commits, unless another user has
    the same photo (photo_files.remove_when_deleted)."""
    with transaction.atomic():
        photo.delete()
