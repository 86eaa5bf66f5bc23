"""Choosing the default fusion weights per kind of catalogue (recommender/lab/evaluation/kind_weights.py)
and what the shipped defaults do with them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from recommender import config as config_module
from recommender.catalogue_index import TrackCatalogue
from recommender.config import DEFAULT_WEIGHTS, VA_ONLY_WEIGHTS, EngineConfig
from recommender.lab.evaluation import kind_weights as kw
from recommender.lab.evaluation.kinds import PROFILES
from recommender.lab.evaluation.metrics import macro, per_photo, ranked_relevance
from recommender.lab.evaluation.relevance import Relevance
from recommender.pipeline import Engine
from recommender.strategies import StrategyResult, VAMatch
from recommender.types import PhotoAnalysis

from .helpers import make_photo
from .test_abstain_and_context import quadrant_catalogue

REPORT = Path(__file__).resolve().parents[2] / "docs" / "evaluation.json"


def world(seed: int, informative_b: bool) -> tuple[dict[str, np.ndarray], dict[str, Relevance], list[str]]:
    """300 photos in 60 themes against 200 tracks in 4 classes. Strategy "a" sees the photo's class
    through noise; "b" sees it through independent noise (informative_b) or not at all (pure noise)."""
    rng = np.random.default_rng(seed)
    n_photos, n_tracks = 300, 200
    themes = [f"theme {i // 5}" for i in range(n_photos)]
    photo_class = np.repeat(rng.integers(0, 4, n_photos // 5), 5)
    track_class = rng.integers(0, 4, n_tracks)
    match = (photo_class[:, None] == track_class[None, :]).astype(float)
    # Theme-level noise: photos of one theme share their misreading, as near-duplicates do.
    theme_noise = np.repeat(rng.normal(0, 1.0, (n_photos // 5, n_tracks)), 5, axis=0)
    a = match + 0.8 * theme_noise + rng.normal(0, 0.3, (n_photos, n_tracks))
    if informative_b:
        b = match + np.repeat(rng.normal(0, 1.0, (n_photos // 5, n_tracks)), 5, axis=0)
    else:
        b = rng.normal(0, 1.0, (n_photos, n_tracks))
    rel = Relevance("quadrant", ("q0", "q1", "q2", "q3"), photo_class, track_class, "")
    scale = lambda m: (m - m.min()) / (m.max() - m.min())  # noqa: E731 - scores in [0, 1]
    return {"a": scale(a), "b": scale(b)}, {"quadrant": rel}, themes


def table_for(seed: int, informative_b: bool, coverage: dict[str, float] | None = None) -> kw.PhotoTable:
    scores, rels, themes = world(seed, informative_b)
    return kw.photo_table(scores, rels, themes, coverage or {"a": 1.0, "b": 1.0}, step=0.25)


def test_folds_keep_each_theme_whole_and_the_grid_covers_the_simplex() -> None:
    themes = [f"t{i // 3}" for i in range(90)]
    folds = kw.theme_folds(themes)
    for theme in set(themes):
        assert len(set(folds[[t == theme for t in themes]])) == 1
    assert set(folds) == set(range(kw.FOLDS))
    grid = kw.simplex_grid(["a", "b", "c"], 0.5)
    assert all(sum(w for _, w in g) == pytest.approx(1.0) for g in grid)
    assert {(("a", 1.0),), (("b", 1.0),), (("c", 1.0),), (("a", 0.5), ("b", 0.5))} <= set(grid)
    assert len(grid) == 6


def test_macro_weights_and_top_k_agree_with_the_report_metrics() -> None:
    rng = np.random.default_rng(1)
    scores = np.round(rng.random((40, 300)), 2)  # many ties
    relevant = rng.random((40, 300)) < 0.3
    assert (kw.top_relevance(scores, relevant) == ranked_relevance(scores, relevant)[:, :10]).all()
    table = table_for(0, informative_b=True)
    single = (("a", 1.0),)
    mask = np.arange(300) % 3 != 0
    rel = table.relevances["quadrant"]
    expected = macro({"p": table.metrics[single]["quadrant"]["P@5"][mask]}, rel.photo_class[mask])["p"]
    assert table.macro(single, mask)["quadrant"]["P@5"] == pytest.approx(expected)
    ranked = ranked_relevance(table_scores(0)["a"], rel.matrix())
    assert (per_photo(ranked, rel.relevant_counts())["P@5"] == table.metrics[single]["quadrant"]["P@5"]).all()


def table_scores(seed: int) -> dict[str, np.ndarray]:
    return world(seed, informative_b=True)[0]


def test_a_strategy_that_only_adds_noise_gets_no_weight_and_the_choice_holds_out_of_fold() -> None:
    table = table_for(2, informative_b=False)
    everyone = np.ones(300, dtype=bool)
    assert kw.select([table], everyone).weighting == (("a", 1.0),)
    cv = kw.cross_validate([table])
    assert all(w == (("a", 1.0),) for w in cv.chosen)
    alone = table.macro((("a", 1.0),), everyone)["quadrant"]
    assert cv.out_of_fold[0]["quadrant"] == pytest.approx(alone)


def test_a_strategy_with_its_own_evidence_earns_weight_and_beats_both_alone_out_of_fold() -> None:
    table = table_for(3, informative_b=True)
    everyone = np.ones(300, dtype=bool)
    choice = kw.select([table], everyone)
    assert choice.kept and len(choice.weighting) == 2 and choice.single == (("a", 1.0),)
    assert all(bound > 0 for _, bound in choice.gains.values())
    cv = kw.cross_validate([table])
    for single in kw.singles(table):
        for metric in kw.METRICS:
            alone = table.macro(single, everyone)["quadrant"][metric]
            assert cv.out_of_fold[0]["quadrant"][metric] > alone


def test_an_abstaining_strategy_gets_no_weight() -> None:
    table = table_for(3, informative_b=True, coverage={"a": 1.0, "b": 0.0})
    assert all(name == "a" for w in table.weightings for name, _ in w)
    assert kw.select([table], np.ones(300, dtype=bool)).weighting == (("a", 1.0),)


A, B, MIX = (("a", 1.0),), (("b", 1.0),), (("a", 0.5), ("b", 0.5))


def hand_table(mixture_p5: np.ndarray, mixture_ndcg: np.ndarray) -> kw.PhotoTable:
    """400 photos in 80 themes of 5, two classes; strategy "a" alone scores 0.5 on both metrics for every
    photo, "b" alone 0.2, and the half-and-half mixture what the arguments say (per photo)."""
    n = 400
    themes = np.array([f"theme {i // 5}" for i in range(n)])
    rel = Relevance("quadrant", ("q0", "q1"), np.arange(n) // 5 % 2, np.array([0, 1]), "")
    flat = lambda v: {"quadrant": {"P@5": np.full(n, v), "NDCG@10": np.full(n, v)}}  # noqa: E731
    metrics = {A: flat(0.5), B: flat(0.2), MIX: {"quadrant": {"P@5": mixture_p5, "NDCG@10": mixture_ndcg}}}
    return kw.PhotoTable(
        [A, B, MIX], metrics, {"quadrant": rel}, {"quadrant": np.ones(n, dtype=bool)}, themes
    )


def test_fused_weights_are_kept_only_when_they_beat_the_best_single_on_both_metrics_with_confidence() -> None:
    n, everyone = 400, np.ones(400, dtype=bool)
    theme = np.arange(n) // 5
    # Better by 0.05 on both metrics in every theme: kept.
    steady = kw.select([hand_table(np.full(n, 0.55), np.full(n, 0.55))], everyone)
    assert steady.kept and steady.weighting == MIX and steady.single == A
    assert set(steady.gains) == {"0/quadrant/P@5", "0/quadrant/NDCG@10"}
    assert all(
        gain == pytest.approx(0.05) and bound == pytest.approx(0.05) for gain, bound in steady.gains.values()
    )
    # Far better on P@5 but a tie on NDCG@10: the single strategy serves.
    tie = kw.select([hand_table(np.full(n, 0.9), np.full(n, 0.5))], everyone)
    assert tie.fused == MIX and not tie.kept and tie.weighting == A
    assert tie.gains["0/quadrant/NDCG@10"] == (0.0, 0.0)
    # Better on average on both, but +0.3 in some themes and -0.3 in others: within the noise over themes.
    swing = np.where(theme % 20 < 11, 0.8, 0.2)
    noisy = kw.select([hand_table(swing, swing)], everyone)
    assert noisy.fused == MIX and not noisy.kept and noisy.weighting == A
    assert all(gain > 0 > bound for gain, bound in noisy.gains.values())
    # Where the single strategy is the grid's best, nothing is tested.
    worse = kw.select([hand_table(np.full(n, 0.3), np.full(n, 0.3))], everyone)
    assert worse.weighting == worse.fused == A and not worse.kept and worse.gains == {}


def test_a_profile_keeps_fused_weights_only_if_they_clear_the_bound_on_every_kind() -> None:
    n, everyone = 400, np.ones(400, dtype=bool)
    better, tied = hand_table(np.full(n, 0.6), np.full(n, 0.6)), hand_table(np.full(n, 0.5), np.full(n, 0.5))
    assert kw.select([better], everyone).kept
    both = kw.select([better, tied], everyone)
    assert both.fused == MIX and not both.kept and both.weighting == A
    assert both.gains["1/quadrant/P@5"] == (0.0, 0.0)


def test_the_shipped_weights_per_kind_are_what_the_selection_chose_in_the_report() -> None:
    report = json.loads(REPORT.read_text())
    shipped = {"VA_ONLY_WEIGHTS": VA_ONLY_WEIGHTS, "DEFAULT_WEIGHTS": DEFAULT_WEIGHTS}
    kinds = {k["kind"]: k for k in report["kinds"]}
    assert set(kinds) == {k for members in PROFILES.values() for k in members}
    for profile, members in PROFILES.items():
        served = {n: w for n, w in shipped[profile].items() if w > 0}
        for kind in members:
            searched = kinds[kind]["searched"]
            assert searched["profile"] == profile
            assert searched["chosen_on_all_themes"] == pytest.approx(served), (profile, kind)
            # Issue 9: out of fold, the chosen default is at least as good as the best single strategy.
            for per_metric in searched["out_of_fold_less_best_single"].values():
                assert all(d["difference"] >= 0 for d in per_metric.values()), (kind, per_metric)
            # The default the report measured for the kind is the profile's weights.
            row = next(r for r in kinds[kind]["rows"] if r["label"] == "fusion: shipped default")
            assert row["weights"] == pytest.approx(served)
    # Every strategy a profile weighs runs in the default engine.
    assert {n for w in shipped.values() for n, x in w.items() if x > 0} <= set(EngineConfig().strategies)


class Named:
    """A strategy that scores every track alike and always has something to say."""

    def __init__(self, name: str) -> None:
        self.name = name

    def score(
        self,
        photo: PhotoAnalysis,
        target: tuple[float, float],
        catalogue: TrackCatalogue,
        candidate_idx: np.ndarray,
    ) -> StrategyResult:
        return StrategyResult(np.full(len(candidate_idx), 0.5), [f"{self.name} says so"] * len(candidate_idx))


def test_a_strategy_the_catalogue_weights_at_zero_is_scored_but_gives_no_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(config_module, "VA_ONLY_WEIGHTS", {"va_match": 1.0, "joint_embedding": 0.0})
    engine = Engine(EngineConfig(), strategies=[VAMatch(), Named("joint_embedding")])
    ranked = engine.recommend(make_photo(0.8, 0.6), quadrant_catalogue(), top_k=3)
    assert set(ranked[0].strategy_scores) == {"va_match", "joint_embedding"}
    assert not any("joint_embedding says so" in r for r in ranked[0].reasons)
    monkeypatch.setattr(config_module, "VA_ONLY_WEIGHTS", {"va_match": 0.9, "joint_embedding": 0.1})
    engine = Engine(EngineConfig(), strategies=[VAMatch(), Named("joint_embedding")])
    ranked = engine.recommend(make_photo(0.8, 0.6), quadrant_catalogue(), top_k=3)
    assert any("joint_embedding says so" in r for r in ranked[0].reasons)
