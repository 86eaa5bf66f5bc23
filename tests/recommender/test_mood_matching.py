"""mood_matching's matchers: k = 1 is today's va_match, the probability ranking aims for the photo's
quadrant, and the nested choice never reads a held-out photo's human mood."""

from __future__ import annotations

import numpy as np

from recommender.lab import datasets
from recommender.lab.training import mood_matching as mm
from recommender.strategies.va_match import imuse_similarity


def catalogue(va: np.ndarray) -> mm.Catalogue:
    split = tuple(np.median(va, axis=0))
    return mm.Catalogue("test", va, None, datasets.quadrants(va[:, 0], va[:, 1], split), None)


def test_extrapolation_by_one_ranks_as_va_match() -> None:
    rng = np.random.default_rng(0)
    cat = catalogue(rng.random((50, 2)))
    reading = rng.random((8, 2))
    today = mm.scores(mm.TODAY, reading, cat, reading, reading)
    same = mm.scores(mm.Setting("extrapolate", (1.0, 1.0)), reading, cat, reading, reading)
    served = np.stack([np.clip(imuse_similarity(r, cat.va), 0, 1) for r in reading])
    np.testing.assert_allclose(today, served)
    np.testing.assert_array_equal(mm.top_rows(same), mm.top_rows(served))
    # a k > 1 does change the ranking (the test could fail)
    moved = mm.scores(mm.Setting("extrapolate", (3.0, 3.0)), reading, cat, reading, reading)
    assert not np.array_equal(mm.top_rows(moved), mm.top_rows(served))


def test_probability_puts_an_in_quadrant_track_first() -> None:
    # median split at (0.5, 0.5); the reading sits deep in pleasant-excited, nearest a track across the line
    va = np.array([[0.2, 0.2], [0.2, 0.8], [0.8, 0.2], [0.8, 0.8], [0.49, 0.85], [0.51, 0.15]])
    cat = catalogue(va)
    reading = np.array([[0.6, 0.85]])
    rng = np.random.default_rng(1)
    fit_reading = rng.random((200, 2))
    fit_human = fit_reading + rng.normal(0, 0.05, fit_reading.shape)
    today = mm.scores(mm.TODAY, reading, cat, fit_reading, fit_human)
    assert int(today.argmax()) == 4  # today: the nearest track, unpleasant-excited
    for w in (0.7, 1.0):
        p = mm.scores(mm.Setting("probability", w=w), reading, cat, fit_reading, fit_human)
        assert int(p.argmax()) == 3
        assert cat.track_quadrant[3] == datasets.QUADRANTS.index("pleasant-excited")


def test_error_model_recovers_bias_and_spread() -> None:
    rng = np.random.default_rng(2)
    reading = rng.random((4000, 2))
    human = 0.1 + reading + rng.normal(0, [0.05, 0.2], reading.shape)
    model = mm.ErrorModel.fit(reading, human, recalibrate=False)
    np.testing.assert_allclose(model.a, [0.1, 0.1], atol=0.02)
    np.testing.assert_allclose(model.sd, [0.05, 0.2], rtol=0.05)
    p = model.quadrant_probability(reading[:5])
    np.testing.assert_allclose(p.sum(axis=1), 1.0)


def test_the_choice_never_reads_held_out_moods() -> None:
    rng = np.random.default_rng(3)
    n, themes = 120, np.repeat(np.arange(40), 3)
    human = rng.random((n, 2))
    reading = 0.5 + 0.6 * (human - 0.5) + rng.normal(0, 0.1, human.shape)
    cat = catalogue(rng.random((60, 2)))
    families = {
        "today (distance)": [mm.TODAY],
        "probability": [s for s in mm.settings() if s.kind == "probability"],
    }

    def run(h: np.ndarray) -> dict[str, list[str]]:
        classes = mm.quadrants(h, mm.median_split(human))  # the split from the unchanged moods
        judge = mm.Judge(cat, classes, h)
        return {f: chosen for f, (_, chosen) in mm.out_of_fold(families, reading, judge, themes).items()}

    before = run(human)
    scrambled = human.copy()
    held_out = mm.grouped_folds(themes, 5, 0) == 0
    scrambled[held_out] = rng.random((int(held_out.sum()), 2))
    after = run(scrambled)
    assert before["probability"][0] == after["probability"][0]  # fold 0 chose without its own moods
    assert before["today (distance)"] == after["today (distance)"]
