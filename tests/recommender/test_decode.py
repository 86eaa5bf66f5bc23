"""Photos decode no larger than the models need (JPEG draft mode), upright, in RGB."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, UnidentifiedImageError

from recommender.colour import colour_stats
from recommender.photo_inputs import DECODE_SIDE, decode_photo


def _jpeg(image: Image.Image, **save: object) -> io.BytesIO:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92, **save)
    out.seek(0)
    return out


def _scene(width: int, height: int) -> Image.Image:
    """A smooth scene with colour regions (not noise), like a photo."""
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([255 * x / width, 255 * y / height, 128 + 100 * np.sin(x / 97.0)], axis=-1)
    return Image.fromarray(rgb.clip(0, 255).astype(np.uint8))


def test_a_phone_size_jpeg_decodes_at_an_eighth_to_a_quarter_of_its_size() -> None:
    photo = decode_photo(_jpeg(_scene(2048, 1536)))
    assert photo.mode == "RGB" and photo.size == (512, 384)
    assert min(photo.size) >= DECODE_SIDE


def test_colour_statistics_barely_move_when_decoded_small() -> None:
    scene = _scene(2048, 1536)
    full = colour_stats(Image.open(_jpeg(scene)).convert("RGB"))
    small = colour_stats(decode_photo(_jpeg(scene)))
    for key in ("brightness", "saturation", "warmth", "colourfulness"):
        assert small[key] == pytest.approx(full[key], abs=0.02), key


def test_small_photos_and_other_formats_decode_in_full() -> None:
    out = io.BytesIO()
    Image.new("I;16", (300, 200), 40000).save(out, "PNG")
    out.seek(0)
    photo = decode_photo(out)
    assert photo.mode == "RGB" and photo.size == (300, 200)
    assert decode_photo(_jpeg(_scene(200, 150))).size == (200, 150)


def test_exif_orientation_is_applied() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90 degrees clockwise
    photo = decode_photo(_jpeg(_scene(800, 600), exif=exif.tobytes()))
    assert photo.size[0] < photo.size[1]  # portrait once upright


def test_what_is_not_an_image_raises_pils_error() -> None:
    with pytest.raises(UnidentifiedImageError):
        decode_photo(io.BytesIO(b"not an image at all"))


def _decoded_as_before(source: io.BytesIO) -> Image.Image:
    """decode_photo as first written: a transposed copy of the image, copied again."""
    from PIL import ImageOps

    with Image.open(source) as image:
        image.draft("RGB", (DECODE_SIDE, DECODE_SIDE))
        image.load()
        upright = ImageOps.exif_transpose(image)
        return upright.convert("RGB") if upright.mode != "RGB" else upright.copy()


def test_the_decoded_pixels_are_the_same_as_before() -> None:
    sources = []
    for orientation in (None, 3, 6, 8):
        exif = Image.Exif()
        if orientation is not None:
            exif[0x0112] = orientation
        sources.append(_jpeg(_scene(900, 700), exif=exif.tobytes()))
    png = io.BytesIO()
    _scene(120, 90).convert("P").save(png, "PNG")
    sources.append(png)
    for source in sources:
        expected = _decoded_as_before(io.BytesIO(source.getvalue()))
        got = decode_photo(io.BytesIO(source.getvalue()))
        assert got.mode == expected.mode == "RGB" and got.size == expected.size
        assert np.array_equal(np.asarray(got), np.asarray(expected))
        assert got.getexif().get(0x0112) is None  # upright: no orientation left to apply
