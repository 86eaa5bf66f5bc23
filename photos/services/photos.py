"""Photo uploads: validate, strip metadata, store under the content hash."""

from __future__ import annotations

import hashlib
import io
import logging
import warnings
from pathlib import PurePath
from typing import IO

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from PIL import Image, UnidentifiedImageError

from accounts.models import User
from photos.models import Photo
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
    comment survives, because nothing but the pixels is copied.

    Decoding is bounded: a JPEG is decoded at the smallest scale (1/2, 1/4 or 1/8) that still covers the
    stored size (Pillow's draft mode), and the size to decode, read from the header before a single pixel
    is, must be within settings.PHOTO_MAX_PIXELS. Raises PhotoRejected with a message for the user for
    anything that is not a usable photo.
    """
    extension = PurePath(filename or "").suffix.lower()
    if extension and extension not in ALLOWED_EXTENSIONS:
        raise PhotoRejected(
            f"'{extension}' files are not accepted; upload a JPEG, PNG, WebP, GIF, BMP or TIFF photo."
        )
    if not data:
        raise PhotoRejected("The file is empty.")
    max_pixels = settings.PHOTO_MAX_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in ALLOWED_FORMATS:
                raise PhotoRejected(f"{image.format} images are not accepted; upload a JPEG or PNG photo.")
            declared_width, declared_height = image.size
            if image.format in ("JPEG", "MPO"):
                image.draft(None, _stored_size(declared_width, declared_height))
            width, height = image.size  # what will be decoded (after draft)
            # Checked before decoding a single pixel: this is what stops decompression bombs.
            if width * height > max_pixels:
                raise PhotoRejected(
                    f"The image is {declared_width}x{declared_height} pixels; "
                    f"the limit is {max_pixels // 1_000_000} megapixels."
                )
            orientation = image.getexif().get(ORIENTATION_TAG)
            image.load()
    except PhotoRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PhotoRejected("The image has too many pixels to process safely.") from exc
    except UnidentifiedImageError as exc:
        raise PhotoRejected("The file is not an image we can read.") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise PhotoRejected("The image is truncated or damaged; please upload the original file.") from exc

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
    """Validate and store an upload for `owner`. The same photo uploaded twice is one Photo."""
    data = _read_limited(upload, settings.PHOTO_MAX_BYTES)
    clean = clean_photo_bytes(data, filename)
    digest = hashlib.sha256(clean).hexdigest()
    existing = Photo.objects.filter(owner=owner, sha256=digest).first()
    if existing is not None:
        return existing
    width, height = Image.open(io.BytesIO(clean)).size
    photo = Photo(
        owner=owner,
        sha256=digest,
        original_name=PurePath(filename or "photo").name[:255],
        width=width,
        height=height,
    )
    # Stored under its content hash (photos/ab/abcdef....jpg), shared with the same photo of others.
    path = f"{photo_files.PHOTO_DIR}/{digest[:2]}/{digest}.jpg"
    try:
        with transaction.atomic():
            photo_files.lock_file_name(path)  # a file removal cannot run between the check and the row
            storage = photo_files.storage()
            if storage.exists(path):
                photo.image.name = path
            else:
                photo.image.name = storage.save(path, ContentFile(clean))
            photo.save()
    except IntegrityError:
        # A concurrent upload of the same photo won; it uses the same file.
        return Photo.objects.get(owner=owner, sha256=digest)
    except Exception:
        photo_files.remove_if_unreferenced(path)
        raise
    return photo


def delete_photo(photo: Photo) -> None:
    """Delete a photo with its runs and ratings; its file goes once that commits, unless another user has
    the same photo (photo_files.remove_when_deleted)."""
    with transaction.atomic():
        photo.delete()
