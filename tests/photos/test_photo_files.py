"""Photo files are removed when nothing uses them: a deleted photo's file as the deletion commits (however it
is deleted), and files left by uploads that never became a photo by the sweep. A live photo's file never."""

from __future__ import annotations

import os
import time
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import transaction

from photos.models import Photo
from photos.services import photo_files
from photos.services.photos import delete_photo, store_photo
from tests.factories import PhotoFactory, RunFactory, UserFactory, jpeg_bytes

pytestmark = pytest.mark.django_db


def stored(photo: Photo) -> bool:
    return photo_files.storage().exists(str(photo.image.name))


def upload(owner, colour=(10, 200, 90)) -> Photo:
    return store_photo(owner, SimpleUploadedFile("p.jpg", jpeg_bytes(colour)), "p.jpg")


def age(name: str, seconds: float) -> None:
    path = photo_files.storage().path(name)
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_a_deleted_photo_file_goes_when_the_deletion_commits(django_capture_on_commit_callbacks) -> None:
    photo = upload(UserFactory.create())
    with django_capture_on_commit_callbacks(execute=False) as pending:
        delete_photo(photo)
    assert stored(photo)  # not before the commit: a rolled-back deletion keeps its file
    for callback in pending:
        callback()
    assert not stored(photo)


def test_the_same_photo_of_two_users_keeps_its_file_until_both_are_deleted(
    django_capture_on_commit_callbacks,
) -> None:
    mine, theirs = upload(UserFactory.create()), upload(UserFactory.create())
    assert mine.image.name == theirs.image.name
    with django_capture_on_commit_callbacks(execute=True):
        delete_photo(mine)
    assert stored(theirs)
    with django_capture_on_commit_callbacks(execute=True):
        delete_photo(theirs)
    assert not stored(theirs)


def test_photos_deleted_with_their_account_or_in_bulk_lose_their_files(
    django_capture_on_commit_callbacks,
) -> None:
    owner = UserFactory.create()
    photos = [upload(owner, (n * 40, 10, 10)) for n in range(3)]
    RunFactory.create(photo=photos[0], user=owner)
    other = upload(UserFactory.create(), (1, 2, 3))
    with django_capture_on_commit_callbacks(execute=True):
        owner.delete()  # as the admin does: a cascade, no service call
    assert not any(stored(p) for p in photos)
    with django_capture_on_commit_callbacks(execute=True):
        Photo.objects.filter(pk=other.pk).delete()
    assert not stored(other)


def test_an_upload_whose_transaction_rolled_back_leaves_a_file_that_the_sweep_removes() -> None:
    owner = UserFactory.create()

    class Abort(Exception):
        pass

    with pytest.raises(Abort), transaction.atomic():
        left = upload(owner)
        raise Abort
    assert not Photo.objects.exists() and stored(left)
    assert photo_files.sweep_orphans()["removed"] == 0  # younger than PHOTO_ORPHAN_AFTER_SECONDS
    age(str(left.image.name), 2 * 3600)
    assert photo_files.sweep_orphans() == {"files": 1, "orphans": 1, "removed": 1}
    assert not stored(left)


def test_the_sweep_never_removes_a_live_photo_file_however_old() -> None:
    owner = UserFactory.create()
    live = [upload(owner, (n * 20, 5, 5)) for n in range(5)] + [PhotoFactory.create() for _ in range(3)]
    orphan = photo_files.storage().save("photos/ab/" + "ab" * 32 + ".jpg", SimpleUploadedFile("x", b"x"))
    for name in [str(p.image.name) for p in live] + [orphan]:
        age(name, 30 * 24 * 3600)
    assert photo_files.sweep_orphans(older_than_seconds=0) == {"files": 9, "orphans": 1, "removed": 1}
    assert all(stored(p) for p in live)
    assert not photo_files.storage().exists(orphan)
    assert photo_files.remove_if_unreferenced(str(live[0].image.name)) is False
    assert stored(live[0])


def test_the_sweep_command_reports_and_its_dry_run_deletes_nothing() -> None:
    orphan = photo_files.storage().save("photos/cd/" + "cd" * 32 + ".jpg", SimpleUploadedFile("x", b"x"))
    age(orphan, 2 * 3600)
    out = StringIO()
    call_command("sweep_photo_files", "--dry-run", stdout=out)
    assert '"orphans": 1' in out.getvalue() and photo_files.storage().exists(orphan)
    call_command("sweep_photo_files", stdout=out)
    assert not photo_files.storage().exists(orphan)
