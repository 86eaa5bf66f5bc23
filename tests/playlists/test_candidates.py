"""Soundtrack candidates: a photo's best fits plus bridges towards it from the previous photo's tracks."""

from __future__ import annotations

import numpy as np

from playlists.services.soundtracks import Ranked, choose_candidates
from recommender.catalogue_index import TrackCatalogue
from recommender.types import TrackRow


def test_bridges_join_the_best_fits_of_a_photo_of_another_mood() -> None:
    grid = [(i / 19, j / 19) for i in range(20) for j in range(20)]
    rows = [
        TrackRow(track_id=n + 1, artist=f"A{n}", title=f"T{n}", valence=v, arousal=a)
        for n, (v, a) in enumerate(grid)
    ]
    catalogue = TrackCatalogue.build(rows)
    ids = np.array([r.track_id for r in rows])
    va = np.array(grid)

    def ranking_for(target: tuple[float, float]) -> Ranked:
        score = 1 - np.hypot(*(va - np.array(target)).T)
        order = np.argsort(-score, kind="stable")
        return Ranked(ids[order], score[order])

    sad, happy = ranking_for((0.1, 0.1)), ranking_for((0.9, 0.9))
    first, second = choose_candidates(catalogue, [sad, happy], best=20, bridges=10)
    assert list(first) == list(sad.track_ids[:20])  # the first photo has nothing to bridge from
    assert set(happy.track_ids[:20]) < set(second)
    bridge_va = va[np.isin(ids, np.setdiff1d(second, happy.track_ids[:20]))]
    assert len(bridge_va) > 0 and (np.abs(bridge_va - 0.5) < 0.2).all(axis=1).any()  # some on the way
    scores = happy.score_of(second)
    assert list(scores) == sorted(scores, reverse=True)  # best first, by this photo's own scores
