"""Photophone's recommender engine: plain Python (numpy, torch, faiss, PIL), no Django.

Importing this package loads nothing heavy; import the module you need:

    from recommender.pipeline import get_engine
    engine = get_engine()                      # models load once per process
    photo = engine.analyse(pil_image)          # mood, emotions, embedding, colour
    catalogue = TrackCatalogue.load(index_dir) # recommender.catalogue_index (or .build(rows, version))
    ranked = engine.recommend(photo, catalogue, top_k=10, feedback=items, mode="match")

recommender.lab holds datasets, training and evaluation; serving code never imports it.
"""
