"""The playlist-mood relevance on a tiny catalogue, the ablation and search rules, and --heads comparison."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from recommender.heads.model import DEFAULT_HEADS_DIR
from recommender.lab.evaluation.cli import main
from recommender.lab.evaluation.fusions import (
    MEAN_OF_RELEVANCES,
    Row,
    configurations,
    objective,
    versus_best_single,
)
from recommender.lab.evaluation.relevance import build_relevances
from recommender.lab.evaluation.scoring import Configuration, Judged, chance, judge, judge_orders
from recommender.pipeline import EngineConfig

# Two photos: one pleasant-excited, one unpleasant-calm (median split of these two: 0.5, 0.5).
PHOTO_VA = np.array([[0.9, 0.9], [0.1, 0.1]])
PHOTO_EMOTIONS = np.eye(7)[[3, 4]]  # joy, sadness
# Five tracks; only rows 1, 2 and 4 have a weak playlist label.
TRACK_VA = np.array([[0.9, 0.9], [0.8, 0.8], [0.2, 0.2], [0.1, 0.1], [0.7, 0.9]])
TRACK_MUSIC = np.eye(5)[[0, 0, 3, 3, 1]]
WEAK = np.array([-1, 0, 2, -1, 0])


def relevances() -> dict:
    return build_relevances(PHOTO_VA, PHOTO_EMOTIONS, TRACK_VA, TRACK_MUSIC, WEAK)


def test_only_labelled_tracks_take_part_in_playlist_mood() -> None:
    rel = relevances()["playlist_mood"]
    assert rel.participating.tolist() == [False, True, True, False, True]
    assert rel.n_tracks == 3
    assert rel.relevant_counts().tolist() == [2, 1]  # photo 0: rows 1 and 4; photo 1: row 2
    assert "3 of 5 tracks" in rel.note
    # Without weak labels the relevance is not built at all.
    assert "playlist_mood" not in build_relevances(PHOTO_VA, PHOTO_EMOTIONS, TRACK_VA, TRACK_MUSIC)


def test_unlabelled_tracks_are_skipped_in_the_ranking() -> None:
    rels = relevances()
    keep = {name: r.relevant_counts() > 0 for name, r in rels.items()}
    # Photo 0 ranks unlabelled row 0 first, then labelled row 2 (wrong quadrant), then row 1 (right).
    scores = np.array([[1.0, 0.6, 0.8, 0.0, 0.1], [0.0, 0.1, 0.2, 0.9, 0.0]])
    judged = judge(scores, rels, keep).metrics
    # playlist mood: photo 0 sees [2, 1, 4] -> first relevant at rank 2; photo 1 sees [2, 1, 4] -> rank 1.
    assert judged["playlist_mood"]["MRR"] == pytest.approx((1 / 2 + 1) / 2)
    assert judged["playlist_mood"]["P@1"] == pytest.approx(0.5)
    # the quadrant relevance still ranks all five tracks: row 0 is relevant to photo 0
    assert judged["quadrant"]["P@1"] == pytest.approx(1.0)
    # The same through given orders (the served path).
    orders = np.argsort(-scores, axis=1, kind="stable")
    assert judge_orders(orders, rels, keep).metrics["playlist_mood"] == judged["playlist_mood"]
    # Chance over the three labelled tracks: photo 0 has 2 of 3 relevant, photo 1 has 1 of 3.
    assert chance(rels, keep).metrics["playlist_mood"]["P@1"] == pytest.approx((2 / 3 + 1 / 3) / 2)


def test_ablation_covers_the_shipped_default_and_the_all_strategy_fusion() -> None:
    # A default of two weighted strategies (as the V/A-only default was before the confidence rule).
    config = EngineConfig(fusion_weights=(("va_match", 0.9), ("joint_embedding", 0.1)))
    available = [*config.strategies, "content"]
    configs, notes = configurations(available, config)
    labels = [c.label for group, c in configs if group == "ablation"]
    for name in config.strategies:
        assert f"ablation (default): without {name}" in labels
    for name in available:
        assert f"ablation (all): without {name}" in labels
    default_without = next(c for g, c in configs if c.label.startswith("ablation (default): without"))
    assert "content" not in default_without.weight_map()
    assert any("ablation (default)" in n for n in notes)


def _row(label: str, group: str, p5: float, ndcg: float) -> Row:
    metrics = {r: {"P@5": p5, "NDCG@10": ndcg} for r in ("quadrant", "emotion", "playlist_mood")}
    return Row(Configuration(label, "weighted", ((label, 1.0),)), group, Judged(metrics), None)


def test_fusions_are_compared_with_the_best_single_strategy() -> None:
    rows = [
        _row("a", "strategy", 0.40, 0.41),
        _row("b", "strategy", 0.50, 0.45),
        _row("fusion: shipped default (weighted)", "fusion", 0.45, 0.50),
        _row("fusion: best on val (searched)", "searched", 0.55, 0.40),
    ]
    out = versus_best_single(rows, ["quadrant"])["quadrant"]
    assert out["best_single"] == "b"
    default, searched = out["shipped default"], out["searched on val"]
    assert (default["beats_on_P@5"], default["beats_on_NDCG@10"]) == (False, True)
    assert (searched["beats_on_P@5"], searched["beats_on_NDCG@10"]) == (True, False)


def test_a_fusion_that_no_single_strategy_matches_on_every_relevance_wins_on_their_mean() -> None:
    def row(label: str, group: str, quadrant: float, emotion: float) -> Row:
        metrics = {
            "quadrant": {"P@5": quadrant, "NDCG@10": quadrant},
            "emotion": {"P@5": emotion, "NDCG@10": emotion},
        }
        return Row(Configuration(label, "weighted", ((label, 1.0),)), group, Judged(metrics), None)

    rows = [
        row("va", "strategy", 0.50, 0.30),
        row("emo", "strategy", 0.30, 0.45),
        row("fusion: shipped default (weighted)", "fusion", 0.46, 0.44),
    ]
    out = versus_best_single(rows, ["quadrant", "emotion"])
    assert out["quadrant"]["best_single"] == "va" and not out["quadrant"]["shipped default"]["beats_on_P@5"]
    mean = out[MEAN_OF_RELEVANCES]
    assert mean["best_single"] == "va" and mean["P@5"] == pytest.approx(0.40)
    assert mean["shipped default"]["P@5"] == pytest.approx(0.45) and mean["shipped default"]["beats_on_P@5"]


def test_search_objective_is_mean_p_at_5_over_the_relevances() -> None:
    judged = Judged(
        {r: {"P@5": p, "NDCG@10": 0.0} for r, p in zip(("q", "e", "pm"), (0.3, 0.6, 0.9), strict=True)}
    )
    assert objective(judged) == pytest.approx(0.6)


def test_two_heads_artifacts_in_one_command(tmp_path: Path) -> None:
    if not (DEFAULT_HEADS_DIR / "weights.npz").is_file():
        pytest.skip("the shipped heads artifact is absent")
    other = tmp_path / "heads-copy"
    shutil.copytree(DEFAULT_HEADS_DIR, other)
    out = tmp_path / "evaluation.md"
    args = ["--synthetic", "--quick", "--no-search", "--no-served", "--out", str(out)]
    args += ["--strategies", "va_match", "joint_embedding", "--heads", str(DEFAULT_HEADS_DIR), str(other)]
    assert main([*args, "--cache", str(tmp_path / "cache")]) == 0
    for name in (DEFAULT_HEADS_DIR.name, other.name):
        numbers = json.loads((tmp_path / f"evaluation-{name}.json").read_text())
        assert numbers["heads"].endswith(f"{name})")
        assert set(numbers["relevances"]) == {"quadrant", "emotion", "playlist_mood"}
        assert numbers["chance"]["playlist_mood"]["P@5"] > 0
    text = (tmp_path / "evaluation-heads.md").read_text()
    assert "## playlist_mood" in text and "joint_embedding" in text
    report = (tmp_path / f"evaluation-{other.name}.md").read_text()
    assert "P@5 playlist_mood" in report and "ONLY TRACKS WITH A WEAK LABEL TAKE PART" in report


def test_a_given_mood_artifact_is_checked_and_described() -> None:
    from recommender.lab.evaluation.data import given_mood
    from recommender.mood import DEFAULT_MOOD_DIR, MoodModel

    if not (DEFAULT_MOOD_DIR / "card.json").is_file():
        pytest.skip("the shipped mood artifact is absent")
    encoder = MoodModel.load(DEFAULT_MOOD_DIR).card["encoder"]
    model, note = given_mood(DEFAULT_MOOD_DIR, encoder)
    assert str(DEFAULT_MOOD_DIR) in note and "optimistic" in note
    assert model.version == MoodModel.load(DEFAULT_MOOD_DIR).version
    with pytest.raises(ValueError, match="trained on"):
        given_mood(DEFAULT_MOOD_DIR, "some-other-encoder")
