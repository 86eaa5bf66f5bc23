"""The language prior of the mood lab (recommender/lab/training/mood_prior.py)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from recommender.lab.training.mood_prior import ANCHORS, class_prior, photo_prior


def test_a_class_near_the_pleasant_phrases_scores_pleasant_and_the_photo_prior_follows_its_classes() -> None:
    (pleasant, unpleasant), (exciting, calm) = ANCHORS["valence"], ANCHORS["arousal"]
    axes = {**dict.fromkeys(pleasant, 0), **dict.fromkeys(unpleasant, 1)}
    axes |= {**dict.fromkeys(exciting, 2), **dict.fromkeys(calm, 3)}
    near = {"a photo of a puppy": (0, 3), "a photo of a guillotine": (1, 2)}

    def embed(texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), 4))
        for i, text in enumerate(texts):
            for axis in near[text] if text in near else (axes[text],):
                out[i, axis] = 1.0
        return out

    prior = class_prior(["puppy", "guillotine"], embed)
    assert prior.shape == (2, 2)
    assert prior[0, 0] > 0 > prior[1, 0]  # valence: the puppy pleasant, the guillotine not
    assert prior[0, 1] < 0 < prior[1, 1]  # arousal: the puppy calm, the guillotine exciting
    certain_puppy = np.array([[20.0, -20.0]])
    assert np.allclose(photo_prior(certain_puppy, prior), prior[0], atol=1e-6)
    unsure = np.zeros((1, 2))
    assert np.allclose(photo_prior(unsure, prior), prior.mean(axis=0))
