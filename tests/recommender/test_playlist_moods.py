"""Weak mood labels from playlist names: matching, the agreement rule, and their use in heads training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recommender.lab.datasets import default_data_root
from recommender.lab.playlist_moods import (
    EMOTION_QUADRANT,
    MoodLabel,
    main,
    name_label,
    quadrant_array,
    track_label,
    words,
)
from recommender.lab.training.heads_data import joint_track_classes

PE, UE, UC, PC = 0, 1, 2, 3  # pleasant-excited, unpleasant-excited, unpleasant-calm, pleasant-calm


def test_emotions_map_to_the_quadrant_of_their_prototype() -> None:
    assert EMOTION_QUADRANT == {"happy": PE, "energetic": PE, "calm": PC, "sad": UC, "tense": UE}


def test_words_split_on_emoji_punctuation_and_drop_accents() -> None:
    assert words("Hits 2020🔥Party 2020") == ["hits", "2020", "party", "2020"]
    assert words("Lo-Fi Beats 🎧") == ["lo", "fi", "beats"]
    assert words("Música Para BAILAR!") == ["musica", "para", "bailar"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Sad Trap", MoodLabel(UC, "sad")),
        ("SAD TRAP", MoodLabel(UC, "sad")),
        ("sad-trap💔", MoodLabel(UC, "sad")),
        ("Lo-Fi Beats", MoodLabel(PC, "calm")),
        ("Chillout & Remixes 💜", MoodLabel(PC, "calm")),
        ("Hard Rock Workout!", MoodLabel(PE, "energetic")),
        ("Christian Dance Party", MoodLabel(PE, "happy")),
        ("Progressive Rock / Metal", MoodLabel(UE, "tense")),
        # Two emotions of one quadrant: the quadrant stands, the emotion is left open.
        ("Happy Workout", MoodLabel(PE, None)),
    ],
)
def test_names_with_mood_words_get_their_label(name: str, expected: MoodLabel) -> None:
    assert name_label(name) == expected


@pytest.mark.parametrize(
    "name",
    [
        "Metallica Best Of",  # "metal" only as part of a word
        "Dancehall Classics",  # "dance" only as part of a word
        "Saddle Songs",
        "Neo Soul",  # no mood word
        "Sad Party",  # two quadrants in one name
        "Hard Rock Classics",  # "hard" is a genre word, not in the lexicon
    ],
)
def test_names_without_a_clear_mood_get_none(name: str) -> None:
    assert name_label(name) is None


def test_a_strict_majority_of_labelled_playlists_decides() -> None:
    sad = track_label(["Sad Trap", "Sad Songs", "Neo Soul", "Pop Hits"])  # unlabelled names do not vote
    assert sad == MoodLabel(UC, "sad", votes=2)
    assert track_label(["Sad Trap", "Sad Songs", "Gym"]) == MoodLabel(UC, "sad", votes=2)
    assert track_label(["Sad Trap", "Workout"]) is None  # a tie
    assert track_label(["Neo Soul", "Pop Hits"]) is None
    # happy and energetic agree on the quadrant but not on the emotion
    assert track_label(["Happy Hits", "Workout"]) == MoodLabel(PE, None, votes=2)


def test_quadrant_array_marks_missing_labels() -> None:
    labels = [MoodLabel(UC, "sad"), None, MoodLabel(PE, None)]
    assert quadrant_array(labels).tolist() == [UC, -1, PE]


def test_heads_training_uses_the_weak_label_when_present() -> None:
    feature = np.array([0, 1, 2, 3, 0])
    weak = np.array([-1, UC, -1, PE, PE])
    assert joint_track_classes(feature, weak).tolist() == [0, UC, 2, PE, PE]


def test_cli_reports_counts_and_agreement(capsys: pytest.CaptureFixture[str]) -> None:
    data = default_data_root()
    if not (data / "spotify_songs" / "spotify_songs.csv").is_file():
        pytest.skip(f"TidyTuesday songs absent under {data} (DESIGN.md section 6)")
    assert main(["--data", str(data)]) == 0
    out = capsys.readouterr().out
    assert "per_quadrant" in out and "agree_quadrant" in out and "per split" in out


def test_cli_says_when_data_is_absent(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data", str(tmp_path)]) == 2
    assert "absent" in capsys.readouterr().err
