"""Offline evaluation of the engine's strategies and fusion on the shared fixed splits (DESIGN.md section 7).

    python -m recommender.engine.evaluation [--data ../shared/data] [--out docs/evaluation.md] [--quick]

metrics.py (ranking metrics and chance), relevance.py (the label mappings), data.py (splits, the
train-split mood model, caches), runner.py (scoring and fusion), run.py (the run), report.py (output).
"""
