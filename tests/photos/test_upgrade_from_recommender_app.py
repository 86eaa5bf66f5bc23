"""A database made by `./run demo` before photos moved out of the `recommender` Django app upgrades with
`migrate` and keeps its photos, runs, their items and ratings.

tests/fixtures/demo_db_before_photos_app.sql is that database, dumped from SQLite: `./run demo`'s migrate
and load_demo on main as of 2026-11-30 (commit ddb57f4), then two uploaded Emotion6 photos, three runs
(two done with five tracks each, one failed) and two ratings by the demo user; tracks nothing points at
were deleted to keep the file small.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT

DUMP = REPO_ROOT / "tests" / "fixtures" / "demo_db_before_photos_app.sql"

READ_BACK = """
import json
from photos.models import Feedback, Photo, Run, RunItem
from django.contrib.contenttypes.models import ContentType
print(json.dumps({
    "photos": sorted([p.image.name, p.sha256, p.owner.username, p.embedding is not None]
                     for p in Photo.objects.all()),
    "runs": sorted([r.pk, r.photo_id, r.status, r.mode, r.context, r.valence, r.error, r.items.count()]
                   for r in Run.objects.all()),
    "items": sorted([i.run_id, i.rank, i.track.external_id, i.score] for i in RunItem.objects.all()),
    "feedback": sorted([f.user.username, f.item_id, f.rating, f.photo_valence]
                       for f in Feedback.objects.all()),
    "content_types": sorted(ContentType.objects.filter(app_label__in=["photos", "recommender"])
                            .values_list("app_label", "model")),
}))
"""


def _old_rows(db: Path) -> dict[str, list]:
    with sqlite3.connect(db) as con:
        return {
            "photos": sorted(
                [image, sha, owner, embedding is not None]
                for image, sha, owner, embedding in con.execute(
                    "SELECT p.image, p.sha256, u.username, p.embedding FROM recommender_photo p "
                    "JOIN accounts_user u ON u.id = p.owner_id"
                )
            ),
            "runs": sorted(
                [*row]
                for row in con.execute(
                    "SELECT r.id, r.photo_id, r.status, r.mode, r.context, r.valence, r.error, "
                    "(SELECT count(*) FROM recommender_recommendationitem i WHERE i.run_id = r.id) "
                    "FROM recommender_recommendation r"
                )
            ),
            "items": sorted(
                [*row]
                for row in con.execute(
                    "SELECT i.run_id, i.rank, t.external_id, i.score FROM recommender_recommendationitem i "
                    "JOIN catalogue_track t ON t.id = i.track_id"
                )
            ),
            "feedback": sorted(
                [*row]
                for row in con.execute(
                    "SELECT u.username, f.item_id, f.rating, f.photo_valence FROM recommender_feedback f "
                    "JOIN accounts_user u ON u.id = f.user_id"
                )
            ),
        }


def _manage(db: Path, tmp_path: Path, *args: str) -> str:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{db}",
        "PHOTOPHONE_VAR_DIR": str(tmp_path / "var"),
        "PHOTOPHONE_PRELOAD": "0",
    }
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_demo_database_from_before_the_move_keeps_its_photos_runs_and_ratings(tmp_path: Path) -> None:
    db = tmp_path / "photophone.sqlite3"
    with sqlite3.connect(db) as con:
        con.executescript(DUMP.read_text())
    before = _old_rows(db)
    assert len(before["photos"]) == 2 and len(before["runs"]) == 3 and len(before["feedback"]) == 2

    migrated = _manage(db, tmp_path, "migrate", "--noinput")
    assert "photos.0002_create_or_adopt_tables... OK" in migrated

    after = json.loads(_manage(db, tmp_path, "shell", "-v", "0", "-c", READ_BACK).splitlines()[-1])
    for kind in ("photos", "runs", "items", "feedback"):
        assert after[kind] == json.loads(json.dumps(before[kind])), kind
    assert after["content_types"] == [["photos", m] for m in ("feedback", "photo", "run", "runitem")]
    with sqlite3.connect(db) as con:
        tables = {name for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        old_records = con.execute(
            "SELECT count(*) FROM django_migrations WHERE app = 'recommender'"
        ).fetchone()
    assert not {t for t in tables if t.startswith("recommender_")}
    assert old_records == (0,)
    # Nothing is left to apply, and a second migrate is a no-op.
    assert "No migrations to apply" in _manage(db, tmp_path, "migrate", "--noinput")
