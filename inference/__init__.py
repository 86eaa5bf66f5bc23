"""The engine inside Django: see adapter.py, the only module through which Django code uses recommender/."""
