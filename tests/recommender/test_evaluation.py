"""Evaluation metrics on hand-computed toy rankings, chance values, and an end-to-end --quick run."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from recommender.fusion import make_fusion, ranks
from recommender.lab.evaluation.cli import main
from recommender.lab.evaluation.metrics import (
    by_permutation,
    chance_per_photo,
    chance_reciprocal_rank,
    macro,
    macro_average,
    per_photo,
    ranked_relevance,
)
from recommender.lab.evaluation.relevance import build_relevances, image_to_music_label, quadrants
from recommender.lab.evaluation.scoring import FusedScores, rank_matrix
from recommender.strategies import StrategyResult

LOG2 = math.log2


def test_metrics_on_a_hand_computed_ranking() -> None:
    # Relevant at ranks 2, 3 and 7; the catalogue holds 4 relevant tracks (one is ranked past the list).
    ranked = np.array([[0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0]], dtype=bool)
    m = per_photo(ranked, np.array([4]))
    assert m["P@1"][0] == 0.0
    assert m["P@5"][0] == pytest.approx(2 / 5)
    assert m["P@10"][0] == pytest.approx(3 / 10)
    assert m["MRR"][0] == pytest.approx(1 / 2)
    dcg = 1 / LOG2(3) + 1 / LOG2(4) + 1 / LOG2(8)
    ideal = 1 / LOG2(2) + 1 / LOG2(3) + 1 / LOG2(4) + 1 / LOG2(5)
    assert m["NDCG@10"][0] == pytest.approx(dcg / ideal)
    # AP@10 = (P@2 + P@3 + P@7) / min(4, 10)
    assert m["MAP@10"][0] == pytest.approx((1 / 2 + 2 / 3 + 3 / 7) / 4)


def test_metrics_perfect_and_empty_rankings() -> None:
    perfect = per_photo(np.array([[1, 1, 0, 0]], dtype=bool), np.array([2]))
    assert all(v[0] == pytest.approx(1.0) for k, v in perfect.items() if k not in ("P@5", "P@10"))
    assert perfect["P@5"][0] == pytest.approx(2 / 5)
    none = per_photo(np.zeros((1, 4), dtype=bool), np.array([0]))
    assert all(v[0] == 0.0 for v in none.values())


def test_ranked_relevance_sorts_best_first_and_breaks_ties_by_row() -> None:
    scores = np.array([[0.1, 0.9, 0.5, 0.9]])
    relevance = np.array([[True, False, True, True]])
    assert ranked_relevance(scores, relevance).tolist() == [[False, True, True, True]]


def test_macro_average_weights_classes_equally() -> None:
    values = np.array([1.0, 1.0, 1.0, 0.0])
    classes = np.array(["a", "a", "a", "b"])
    assert macro_average(values, classes) == pytest.approx(0.5)  # micro would be 0.75
    assert macro({"P@1": values}, classes) == {"P@1": pytest.approx(0.5)}


def test_chance_values_are_exact() -> None:
    # n = 4, R = 1: the relevant track is equally likely at each rank.
    assert chance_reciprocal_rank(4, 1) == pytest.approx((1 + 1 / 2 + 1 / 3 + 1 / 4) / 4)
    # n = 3, R = 2: first relevant at rank 1 w.p. 2/3, else rank 2.
    assert chance_reciprocal_rank(3, 2) == pytest.approx(2 / 3 + 1 / 3 * 1 / 2)
    c = chance_per_photo(20, np.array([5]))
    assert c["P@1"][0] == c["P@5"][0] == c["P@10"][0] == pytest.approx(0.25)


def test_chance_matches_random_permutations() -> None:
    rng = np.random.default_rng(0)
    relevance = np.zeros((3, 30), dtype=bool)
    relevance[0, :3] = True
    relevance[1, :12] = True
    relevance[2, :25] = True
    sampled = by_permutation(relevance, rng, rounds=4000)
    exact = chance_per_photo(30, relevance.sum(axis=1))
    for name, values in exact.items():
        np.testing.assert_allclose(sampled[name], values, atol=0.02, err_msg=name)


def test_relevance_label_mappings() -> None:
    assert [image_to_music_label(e) for e in ("anger", "joy", "sadness", "surprise", "neutral")] == [
        "tense",
        "happy",
        "sad",
        "energetic",
        "calm",
    ]
    # Median splits: the tracks' high arousal does not push every track into the "excited" half.
    va = np.array([[0.8, 0.9], [0.2, 0.9], [0.2, 0.6], [0.8, 0.6]])
    assert quadrants(va, (0.5, 0.75)).tolist() == [0, 1, 2, 3]
    photo_emotions = np.eye(7)[[3, 4]]  # joy, sadness
    music = np.array([[1, 0, 0, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 1, 0]], dtype=float)  # happy, sad, sad
    rel = build_relevances(np.array([[0.9, 0.6], [0.1, 0.4]]), photo_emotions, va[:3], music)
    assert rel["emotion"].matrix().tolist() == [[True, False, False], [False, True, True]]
    assert rel["emotion"].relevant_counts().tolist() == [1, 2]


def test_batch_fusion_matches_the_engine_fusions() -> None:
    rng = np.random.default_rng(1)
    scores = {"a": rng.random((4, 50)).round(1), "b": rng.random((4, 50))}  # rounding makes ties
    fused = FusedScores(scores)
    weights = {"a": 0.7, "b": 0.3}
    for kind in ("weighted", "rrf"):
        batch = fused.fuse(kind, weights)
        for i in range(4):
            results = {n: StrategyResult(m[i], [""] * 50) for n, m in scores.items()}
            np.testing.assert_allclose(batch[i], make_fusion(kind, weights).fuse(results))
    assert np.array_equal(rank_matrix(scores["a"])[2], ranks(scores["a"][2]))


def test_quick_run_on_synthetic_data_writes_the_report(tmp_path) -> None:
    out = tmp_path / "evaluation.md"
    assert main(["--synthetic", "--quick", "--out", str(out), "--cache", str(tmp_path / "cache")]) == 0
    text = out.read_text()
    assert "| *chance (random ranking)* |" in text and "va_match" in text and "Ablation" in text
    assert "Pearson r" in text and "Fusion weight search" in text
    png = out.with_suffix(".png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    numbers = json.loads(out.with_suffix(".json").read_text())
    assert {"va_match", "emotion"} <= set(numbers["strategies"])
    assert numbers["search"]["best"]["fusion"] in ("weighted", "rrf")
    fused = [r for r in numbers["rows"] if r["group"] == "fusion"]
    assert fused and 0.0 <= fused[0]["model"]["quadrant"]["P@5"] <= 1.0
    assert fused[0]["oracle"] is not None


def test_absent_data_is_reported(tmp_path, capsys) -> None:
    assert main(["--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "e.md")]) == 2
    assert "evaluation data absent" in capsys.readouterr().err


def test_unknown_strategy_is_skipped_not_fatal(tmp_path) -> None:
    out = tmp_path / "e.md"
    args = ["--synthetic", "--quick", "--no-search", "--no-served", "--out", str(out)]
    assert main([*args, "--strategies", "va_match", "no_such_strategy"]) == 0
    assert "Skipped strategy `no_such_strategy`" in out.read_text()


def test_manage_py_evaluate_wraps_the_engine_cli(tmp_path) -> None:
    from django.core.management import call_command

    out = tmp_path / "evaluation.md"
    call_command(
        "evaluate", "--synthetic", "--quick", "--no-search", "--no-served",
        "--strategies", "va_match", "emotion", "--out", str(out),
    )  # fmt: skip
    assert out.is_file() and out.with_suffix(".png").is_file()
