"""Offline evaluation of the engine's strategies and fusion on the shared fixed splits (DESIGN.md section 7).

    python -m recommender.lab.evaluation [--data ../shared/data] [--out docs/evaluation.md] [--quick]
        [--heads DIR [DIR ...]] [--mood DIR]

Three relevances: V/A quadrant, emotion, and playlist mood (weak labels from playlist names; only tracks
with such a label are ranked for it). --heads compares heads artifacts (one report each and OUT-heads.md);
--mood uses a given mood artifact instead of the one fitted on the Emotion6 train split.

metrics.py (ranking metrics and chance), relevance.py (the label mappings), data.py (splits, the
train-split mood model, caches), scoring.py (scoring and fusion), fusions.py (the configurations judged,
the weight search, fusions against the best single strategy), experiment.py (one whole evaluation),
report.py (output).
"""
