"""The photos a track index calibrates its approximate search on: the latest stored embeddings."""

from __future__ import annotations

import numpy as np
import pytest

from photos.models import Photo
from photos.selectors import recent_photo_embeddings
from tests.factories import PhotoFactory, UserFactory

pytestmark = pytest.mark.django_db


def store(photo: Photo, vector: np.ndarray | None, model: str) -> None:
    Photo.objects.filter(pk=photo.pk).update(
        embedding=None if vector is None else np.asarray(vector, np.float32).tobytes(), embedding_model=model
    )


def test_no_photos_give_an_empty_array() -> None:
    assert recent_photo_embeddings().shape == (0, 0)
    PhotoFactory.create(owner=UserFactory.create())  # not analysed yet: no embedding
    assert recent_photo_embeddings().shape == (0, 0)


def test_the_latest_photos_of_the_latest_encoder_come_back_newest_first() -> None:
    user = UserFactory.create()
    photos = [PhotoFactory.create(owner=user, sha256=f"{i:064d}") for i in range(6)]
    store(photos[0], np.full(3, 9.0), "old-encoder")  # another encoder's (another size)
    for i, photo in enumerate(photos[1:5], start=1):
        store(photo, np.full(4, float(i)), "lite0")
    store(photos[5], None, "")  # not analysed
    got = recent_photo_embeddings(limit=3)
    assert got.dtype == np.float32 and got.shape == (3, 4)
    assert got[:, 0].tolist() == [4.0, 3.0, 2.0]
    assert recent_photo_embeddings().shape == (4, 4)


def test_every_index_build_calibrates_on_stored_photos_by_default() -> None:
    # The worker's, the recommend command's and the admin's rebuild all go through current_index without
    # a source of their own: the photos app's reader is the one default.
    from inference import adapter

    assert adapter._calibration_photos is recent_photo_embeddings
