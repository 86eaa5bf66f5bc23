"""The engine: photo -> PhotoAnalysis -> ranked tracks.

recommend() runs: target V/A (match or lift) -> FAISS candidates -> each strategy scores them ->
fusion -> personalisation (drop dislikes, boost likes) -> artist diversity -> top_k with reasons.
Tracks without a mood position cannot be scored; they follow all scored tracks (score 0) so that a
top_k as large as the catalogue still lists every track.

Arousal alignment: photo arousal is on Emotion6's scale, where raters used a narrow band (mean 0.507,
sd 0.110 on [0, 1]); track arousal from audio features sits elsewhere (on the 28k-track Spotify dev set
the documented formula gives mean 0.71, sd 0.11), so matching raw values would send every photo to the
quietest tracks. With align_arousal (default) the target arousal keeps the photo's standing relative to
Emotion6 and takes the same standing in the catalogue: a = mean_cat + (a_photo - 0.507) * sd_cat / 0.110.
Valence needs no such step (Emotion6: mean 0.50, sd 0.23; Spotify valence: mean 0.51, sd 0.23).

Models load once per process: call get_engine(config), which caches one Engine per config.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image

from .batching import analyse_each
from .catalogue_index import TrackCatalogue, TrackRepresentation
from .clip import ClipEncoder, clip_mood
from .colour import describe_colour
from .config import CLIP, EngineConfig
from .context_mood import with_context
from .describe import describe_photo, describe_photo_mood
from .devices import resolve_device, resolve_precision
from .diversity import artist_codes, distinct_artists, diversify
from .encoder_factory import make_encoder
from .encoders import ImageEncoder
from .faces import read_faces
from .fusion import Fusion, WeightedSum, make_fusion
from .idle_cpus import configure_lending
from .imagenet import top_labels
from .model_cache import MODELS
from .mood import PHOTO_AROUSAL_MEAN, PHOTO_AROUSAL_SD, MoodModel
from .personalise import NEIGHBOUR_BOOST, Personalised, Ratings, personalise
from .photo_inputs import extract
from .ranking import Ranking
from .strategies import (
    NeedsTrackVectors,
    ProposesCandidates,
    QueriesFromEmbeddings,
    Strategy,
    StrategyResult,
    VAMatch,
    imuse_similarity,
    make_strategy,
)
from .strategies.base import representations_version
from .strategies.feature_prediction import VECTORS as FEATURE_VECTORS
from .strategies.joint_embedding import VECTORS as JOINT_VECTORS
from .text import MINILM, use_embedding_store
from .threads import configure_threads
from .track_columns import TrackBlocks
from .tracks import Provenance
from .types import IMAGE_EMOTIONS, FeedbackItem, PhotoAnalysis, TrackFilter, TrackRow

Mode = Literal["match", "lift"]

# "lift": aim at least this pleasant, and pull arousal this far toward LIFT_AROUSAL.
logger = logging.getLogger(__name__)

LIFT_VALENCE = 0.75
LIFT_AROUSAL = 0.55
LIFT_AROUSAL_PULL = 0.5


def align_arousal(arousal: float, catalogue: TrackCatalogue) -> float:
    """Photo arousal (Emotion6 scale) -> the same relative standing in the catalogue's arousal."""
    return float(aligned_arousal(arousal, catalogue.arousal_stats))


def aligned_arousal(arousal: float | np.ndarray, stats: tuple[float, float] | None) -> float | np.ndarray:
    """align_arousal for the catalogue arousal (mean, sd) stats (as is without a spread)."""
    if stats is None or stats[1] < 1e-6:
        return arousal
    mean, sd = stats
    return np.clip(mean + (np.asarray(arousal) - PHOTO_AROUSAL_MEAN) * sd / PHOTO_AROUSAL_SD, 0.0, 1.0)


def lift_target(valence: float, arousal: float) -> tuple[float, float]:
    """The V/A that "lift the mood" aims for: at least LIFT_VALENCE, arousal nudged to LIFT_AROUSAL."""
    return max(valence, LIFT_VALENCE), arousal + LIFT_AROUSAL_PULL * (LIFT_AROUSAL - arousal)


class Engine:
    def __init__(
        self,
        config: EngineConfig | None = None,
        *,
        encoder: ImageEncoder | None = None,
        mood: MoodModel | None = None,
        strategies: Sequence[Strategy] | None = None,
    ) -> None:
        self.config = config or EngineConfig()
        configure_threads(self.config.threads)
        configure_lending(self.config.borrow_idle_cpus, self.config.threads)
        use_embedding_store(self.config.model_dir)
        self._encoder = encoder
        self._mood = mood
        self.strategies: list[Strategy] = (
            list(strategies)
            if strategies is not None
            else [make_strategy(name, self.config) for name in self.config.strategies]
        )
        self.fusion = make_fusion(self.config.fusion, self.config.weights())
        # Strategies with their own nearest-neighbour search (checked once: a protocol check costs ~0.3 ms).
        self._proposers = [s for s in self.strategies if isinstance(s, ProposesCandidates)]
        # (catalogue id, version, size) -> its fusion, for the catalogue last ranked against
        self._adapted: tuple[tuple[int, str, int] | None, Fusion] = (None, self.fusion)

    # Models come from the process's model cache on every use (loaded on first use, so a recommend-only
    # caller such as a web process never pays for the encoder); models given to __init__ are kept instead.
    @property
    def encoder(self) -> ImageEncoder:
        if self._encoder is not None:
            return self._encoder
        return self._encoder_on(self.device)

    @property
    def cpu_encoder(self) -> ImageEncoder:
        """The encoder on the CPU (where a photo goes when it does not fit on the GPU)."""
        return self._encoder_on("cpu")

    def _encoder_on(self, device: str) -> ImageEncoder:
        c = self.config
        precision = resolve_precision(c.precision, device)
        return MODELS.get(
            "encoder",
            lambda: make_encoder(
                c.encoder,
                clip_dir=c.clip_dir,
                runtime=c.runtime,
                model_dir=c.model_dir,
                device=device,
                precision=precision,
            ),
            name=c.encoder,
            clip_dir=c.clip_dir,
            runtime=c.runtime,
            model_dir=c.model_dir,
            device=device,
            precision=precision,
        )

    @property
    def device(self) -> str:
        """Where this engine's models run ("cpu" or "cuda"), from config.device."""
        return resolve_device(self.config.device)

    @property
    def mood(self) -> MoodModel:
        if self._mood is not None:
            return self._mood
        return MODELS.get(
            "mood", self._load_mood, artifact=self.config.mood_artifact, encoder=self.config.encoder
        )

    def _load_mood(self) -> MoodModel:
        if self.config.encoder == CLIP:  # a trained CLIP head, else zero-shot
            return clip_mood(self.encoder, self.config.mood_artifact)
        mood = MoodModel.load(Path(self.config.mood_artifact))
        if mood.card.get("encoder") not in (None, self.config.encoder):
            raise ValueError(
                f"mood model {mood.version} was trained on {mood.card.get('encoder')}, "
                f"not {self.config.encoder}"
            )
        return mood

    # --- analysis -------------------------------------------------------------------------------------

    def analyse(self, image: Image.Image) -> PhotoAnalysis:
        return self.analyse_batch([image])[0]

    def analyse_each(self, images: Sequence[Image.Image]) -> list[PhotoAnalysis | Exception]:
        """Each photo's analysis, or the exception that photo raised: photos go through the models
        together, and a photo that breaks the batch is found by analysing the rest without it. On CUDA
        an out-of-memory halves the batch and retries; a single photo that still does not fit is
        analysed on the CPU (with a warning in the log)."""
        return analyse_each(self, images)

    def analyse_batch(
        self, images: Sequence[Image.Image], *, encoder: ImageEncoder | None = None
    ) -> list[PhotoAnalysis]:
        if not images:
            return []
        feats = extract(encoder or self.encoder, images)
        pred = self.mood.predict(feats.mood_inputs(self.mood.feature_set))
        # What the photo shows: ImageNet top-5 from the encoder's logits (~0.1 ms), when it has them.
        shown = top_labels(feats.logits) if feats.logits is not None else [[] for _ in images]
        out = []
        for i in range(len(images)):
            out.append(
                PhotoAnalysis(
                    valence=float(pred.valence[i]),
                    arousal=float(pred.arousal[i]),
                    emotions={e: float(p) for e, p in zip(IMAGE_EMOTIONS, pred.emotions[i], strict=True)},
                    embedding=feats.embeddings[i],
                    colour=feats.colour[i],
                    descriptors=describe_colour(feats.colour[i]),
                    labels=shown[i],
                )
            )
        if self.reads_faces:
            for photo, image in zip(out, images, strict=True):
                photo.faces = read_faces(image)
        if isinstance(self.encoder, ClipEncoder):  # zero-shot scene labels
            for photo, labels in zip(out, self.encoder.scene_labels(feats.embeddings), strict=True):
                photo.labels = labels
        return out

    @property
    def reads_faces(self) -> bool:
        return self.config.faces and any(getattr(s, "uses_faces", False) for s in self.strategies)

    # --- ranking --------------------------------------------------------------------------------------

    def track_representations(self) -> dict[str, TrackRepresentation]:
        """What the catalogue index must precompute per track for this engine's strategies."""
        wanted: dict[str, TrackRepresentation] = {}
        for strategy in self.strategies:
            if isinstance(strategy, NeedsTrackVectors):
                wanted.update(strategy.track_representations())
        return wanted

    def calibration_queries(self, photo_embeddings: np.ndarray | None) -> dict[str, np.ndarray]:
        """Per representation, the queries the strategies would search with for these photos (encoder
        embeddings of real photos, e.g. the platform's stored ones): what an approximate index is
        calibrated on (vector_search.build_approximate_index: too few, and it uses perturbed catalogue
        rows). Empty without photos, and without the representations whose strategy cannot read them."""
        if photo_embeddings is None or len(photo_embeddings) == 0:
            return {}
        embeddings = np.asarray(photo_embeddings, dtype=np.float32)
        queries: dict[str, np.ndarray] = {}
        for strategy in self.strategies:
            if isinstance(strategy, QueriesFromEmbeddings):
                try:
                    queries.update(strategy.photo_queries(embeddings))
                except ValueError:  # embeddings of another encoder than the heads read
                    logger.warning("photo embeddings do not fit %s; not calibrating on them", strategy.name)
        return queries

    def build_catalogue(
        self,
        rows: Sequence[TrackRow] | TrackBlocks,
        version: str = "unversioned",
        photo_embeddings: np.ndarray | None = None,
    ) -> TrackCatalogue:
        """The catalogue index with every track vector this engine's strategies need (rows: the tracks,
        or a large catalogue in blocks of columns). photo_embeddings: encoder embeddings of real photos,
        whose queries calibrate the approximate indexes (calibration_queries). MiniLM (210 MB) is
        unloaded afterwards unless a strategy reads text for every photo."""
        catalogue = TrackCatalogue.build(
            rows,
            version,
            representations=self.track_representations(),
            approximate_above=self.config.approximate_above,
            calibration_queries=self.calibration_queries(photo_embeddings),
        )
        if not any(getattr(s, "uses_text_model", False) for s in self.strategies):
            MODELS.unload(MINILM)
        return catalogue

    def warm_up(self, catalogue: TrackCatalogue | None = None) -> None:
        """Load every model a photo needs and run one made-up photo through analysis (and ranking, given
        the catalogue), so that a worker's first real photo pays for no loading or first-call set-up."""
        photo = self.analyse(Image.new("RGB", (320, 240), (128, 128, 128)))
        if catalogue is not None and len(catalogue):
            self.recommend(photo, catalogue, top_k=10)

    def representation_version(self) -> str:
        """Digest of what computes this engine's track vectors (part of the served index version)."""
        return representations_version(self.strategies)

    def recommend(
        self,
        photo: PhotoAnalysis,
        catalogue: TrackCatalogue,
        *,
        top_k: int,
        feedback: Iterable[FeedbackItem] = (),
        mode: Mode = "match",
        context: str = "",
        mood_override: tuple[float, float] | None = None,
        only: TrackFilter | None = None,
    ) -> Ranking:
        """The top_k tracks for this photo, best first, each with per-strategy scores and reasons (built
        when read: see ranking.py).

        context: words the user added about the photo: they move the photo's mood toward the mood they
        suggest (context_mood.py).
        mood_override: a (valence, arousal) the user chose, on the photo's scale: it replaces the photo's
        own V/A as the mood to match (mode is then ignored).
        only: rank only these tracks (the user's filters): a boolean mask over the catalogue's rows is
        and-ed with the candidates, and the search widens until enough allowed tracks are found."""
        photo, said = with_context(photo, context) if context.strip() else (photo, None)
        chosen = None
        if mood_override is not None:
            chosen = (float(np.clip(mood_override[0], 0, 1)), float(np.clip(mood_override[1], 0, 1)))
            photo, mode = replace(photo, valence=chosen[0], arousal=chosen[1]), "match"
        if top_k <= 0 or len(catalogue) == 0:
            return Ranking.empty()
        if mode not in ("match", "lift"):
            raise ValueError(f"mode must be 'match' or 'lift', not {mode!r}")
        mood = photo.va if mode == "match" else lift_target(photo.valence, photo.arousal)
        lifted = mood != photo.va
        target = (mood[0], align_arousal(mood[1], catalogue)) if self.config.align_arousal else mood
        ratings = Ratings.from_feedback(list(feedback))
        artists = artist_codes(catalogue.artists)
        allowed = None if only is None else np.isin(np.asarray(catalogue.track_ids), only.track_ids)
        reachable = catalogue.positioned_count
        if allowed is not None:
            reachable = int(np.count_nonzero(allowed & np.asarray(catalogue.has_position)))
            if reachable == 0:
                return Ranking.empty()

        pool = max(self.config.candidate_pool, 4 * top_k)
        while True:
            candidates, (results, personal, total, order) = self._search_and_rank(
                photo, catalogue, target, pool, top_k, ratings, allowed, reachable
            )
            exhausted = pool >= reachable
            if exhausted or distinct_artists(order, artists[candidates], top_k):
                break
            pool *= 4  # artists repeat inside the pool: widen it before settling for repeats

        shown = order[:top_k]
        head = self._photo_reason(photo, mood, lifted, chosen is not None)
        if said is not None and said.weight > 0 and chosen is None:
            head += f"; {said.describe()}"
        if only is not None and only.description:
            head += f"; only tracks that pass your filters: {only.description}"

        # Only strategies that shaped the ranking explain it: one the catalogue's weights leave at 0 is
        # scored (its scores are reported) but gives no reason.
        weighted = self._fusion_for(catalogue).weights
        speaking = [r for name, r in results.items() if weighted.get(name, 0.0) > 0]

        def explain(entries: np.ndarray) -> list[list[str]]:
            positions = shown[entries]
            by_strategy = [r.reasons_for(positions) for r in speaking]
            personal_words = personal.reasons_for(positions)
            return [
                [head, *(words[j] for words in by_strategy if words[j]), *personal_words[j]]
                for j in range(len(positions))
            ]

        unscored = None
        if len(shown) < top_k:
            unscored = self._unpositioned(catalogue, ratings, top_k - len(shown), allowed)
        return Ranking(
            track_ids=np.asarray(catalogue.track_ids)[candidates[shown]],
            scores=total[shown],
            strategy_scores={name: r.shown_scores()[shown] for name, r in results.items()},
            explain=explain,
            unscored_ids=unscored,
        )

    def _search_and_rank(
        self,
        photo: PhotoAnalysis,
        catalogue: TrackCatalogue,
        target: tuple[float, float],
        pool: int,
        top_k: int,
        ratings: Ratings,
        allowed: np.ndarray | None,
        reachable: int,
    ) -> tuple[np.ndarray, tuple[dict[str, StrategyResult], Personalised, np.ndarray, np.ndarray]]:
        """The candidates (_candidates) and their ranking (_rank). The searches of the strategies the
        fusion gives no weight (_idle_proposers) are left out when that provably leaves the first top_k
        as they are with them (_settled_by_neighbours), else made too: the result is always the one with
        every search. With the shipped weights on a catalogue with audio features this skips the joint
        embedding's scan of every track vector (1.6 ms of a 28k-track worker run)."""
        if pool < reachable and (idle := self._idle_proposers(catalogue)):
            neighbours = catalogue.candidates(target, pool)
            searching = [s for s in self._proposers if s not in idle]
            candidates = self._candidates(
                photo, catalogue, target, pool, ratings, allowed, reachable, neighbours, searching
            )
            ranked = self._rank(photo, target, catalogue, candidates, ratings)
            head = ranked[3][:top_k]
            if self._settled_by_neighbours(
                catalogue, target, neighbours, ratings, candidates, ranked[2], head, top_k
            ):
                return candidates, ranked
            candidates = self._candidates(
                photo, catalogue, target, pool, ratings, allowed, reachable, neighbours
            )
        else:
            candidates = self._candidates(photo, catalogue, target, pool, ratings, allowed, reachable)
        return candidates, self._rank(photo, target, catalogue, candidates, ratings)

    def _idle_proposers(self, catalogue: TrackCatalogue) -> list[ProposesCandidates]:
        """The strategies with their own search that the fusion gives no weight, when it is a weighted sum
        in which V/A matching alone has weight (what _settled_by_neighbours can reason about); else none."""
        fusion = self._fusion_for(catalogue)
        weighted = [s for s in self.strategies if fusion.weights.get(s.name, 0.0) > 0]
        if not isinstance(fusion, WeightedSum) or len(weighted) != 1 or not isinstance(weighted[0], VAMatch):
            return []
        return [s for s in self._proposers if fusion.weights.get(getattr(s, "name", ""), 0.0) <= 0]

    @staticmethod
    def _settled_by_neighbours(
        catalogue: TrackCatalogue,
        target: tuple[float, float],
        neighbours: np.ndarray,
        ratings: Ratings,
        candidates: np.ndarray,
        total: np.ndarray,
        head: np.ndarray,
        top_k: int,
    ) -> bool:
        """Whether no track outside the candidates could enter the ranking's first top_k (head: positions
        into candidates), V/A matching being the only weighted strategy (_idle_proposers): the head is
        full, of distinct artists, and each of its totals beats the most a track outside can reach. That
        is its V/A match, at most the farthest V/A neighbour's (the neighbours are the tracks nearest the
        target; 1e-6 covers the search's float32 distances), plus the boost for being close to a liked
        track (liked tracks themselves are always candidates). Such a track would then rank after the
        head, and an artist's first track in the head would stay its first: the head is the same."""
        if len(head) < top_k or not distinct_artists(
            head, artist_codes(catalogue.artists)[candidates], top_k
        ):
            return False
        farthest = float(imuse_similarity(target, np.asarray(catalogue.va)[neighbours]).min())
        outside = max(farthest, 0.0) + 1e-6 + (NEIGHBOUR_BOOST if ratings.liked else 0.0)
        return bool(total[head].min() > outside)

    def _candidates(
        self,
        photo: PhotoAnalysis,
        catalogue: TrackCatalogue,
        target: tuple[float, float],
        pool: int,
        ratings: Ratings,
        allowed: np.ndarray | None = None,
        reachable: int | None = None,
        neighbours: np.ndarray | None = None,
        proposers: Sequence[ProposesCandidates] | None = None,
    ) -> np.ndarray:
        """Catalogue rows to score, in row order: every positioned (allowed) track when the pool covers
        them (a whole-catalogue request needs no search), else the V/A neighbours of the target (found
        here unless given), what each strategy with its own search proposes (the given proposers, or every
        one), and the liked tracks; only allowed rows when a filter is on."""
        has_position = np.asarray(catalogue.has_position)
        if allowed is not None:
            has_position = has_position & allowed
        if pool >= (catalogue.positioned_count if reachable is None else reachable):
            return np.flatnonzero(has_position)
        chosen = np.zeros(len(catalogue), dtype=bool)
        chosen[catalogue.candidates(target, pool) if neighbours is None else neighbours] = True
        for strategy in self._proposers if proposers is None else proposers:
            chosen[strategy.candidates(photo, target, catalogue, pool)] = True
        # Liked tracks always compete, even when the searches did not return them.
        chosen[list(catalogue.row_of(list(ratings.liked)).values())] = True
        return np.flatnonzero(chosen & has_position)

    def _rank(
        self,
        photo: PhotoAnalysis,
        target: tuple[float, float],
        catalogue: TrackCatalogue,
        candidates: np.ndarray,
        ratings: Ratings,
    ) -> tuple[dict[str, StrategyResult], Personalised, np.ndarray, np.ndarray]:
        """Each strategy's result, the personalisation, the total score per candidate, and the order
        (positions into candidates, best first, disliked tracks left out, artists spread)."""
        results: dict[str, StrategyResult] = {
            s.name: s.score(photo, target, catalogue, candidates) for s in self.strategies
        }
        personal = personalise(ratings, photo.va, catalogue, candidates)
        total = self._fusion_for(catalogue).fuse(results) + personal.boost
        kept = np.flatnonzero(personal.keep)
        # Stable sort on -score, ties by catalogue row, so rankings are reproducible.
        order = kept[np.lexsort((candidates[kept], -total[kept]))]
        order = diversify(order, artist_codes(catalogue.artists)[candidates])
        return results, personal, total, order

    def _fusion_for(self, catalogue: TrackCatalogue) -> Fusion:
        """The fusion with the default weights for what this catalogue carries (config.weights_for),
        decided once per catalogue object."""
        if not self.config.adapt_weights:
            return self.fusion
        key = (id(catalogue), catalogue.version, len(catalogue))
        if self._adapted[0] != key:
            features = catalogue.vectors.get(FEATURE_VECTORS)
            rows = np.asarray(catalogue.index_rows)
            share = 1.0
            if features is not None and len(rows):
                share = float(np.mean(np.abs(np.asarray(features)[rows]).sum(axis=1) > 1e-6))
            elif len(rows):  # no feature vectors built: positions estimated from features tell
                share = float(np.mean(np.asarray(catalogue.provenance)[rows] == Provenance.ESTIMATED))
            coverage = {}
            joint = catalogue.vectors.get(JOINT_VECTORS)
            if joint is not None and len(rows):  # tracks with neither features nor text: a zero vector
                coverage[JOINT_VECTORS] = float(np.mean(np.abs(np.asarray(joint)[rows]).sum(axis=1) > 1e-6))
            weights = self.config.weights_for(share, coverage)
            fusion = (
                self.fusion if weights == self.config.weights() else make_fusion(self.config.fusion, weights)
            )
            self._adapted = (key, fusion)
        return self._adapted[1]

    @staticmethod
    def _photo_reason(photo: PhotoAnalysis, target: tuple[float, float], lifted: bool, chosen: bool) -> str:
        if chosen:
            words = describe_photo_mood(*target)
            return f"the mood you chose: {words} (valence {target[0]:.2f}, arousal {target[1]:.2f})"
        text = describe_photo(photo)
        if lifted:
            text += (
                f"; lifting the mood: aiming for {describe_photo_mood(*target)} music "
                f"(valence {target[0]:.2f}, arousal {target[1]:.2f})"
            )
        return text

    @staticmethod
    def _unpositioned(
        catalogue: TrackCatalogue, ratings: Ratings, limit: int, allowed: np.ndarray | None = None
    ) -> np.ndarray:
        """Ids of up to limit tracks without a mood position (not disliked, allowed), one per artist first."""
        unpositioned = ~np.asarray(catalogue.has_position)
        rows = np.flatnonzero(unpositioned if allowed is None else unpositioned & allowed)
        ids = np.asarray(catalogue.track_ids)[rows]
        rows = rows[~np.isin(ids, np.fromiter(ratings.disliked, np.int64, len(ratings.disliked)))]
        order = diversify(rows, artist_codes(catalogue.artists))
        return np.asarray(catalogue.track_ids)[order[:limit]]


def get_engine(config: EngineConfig | None = None) -> Engine:
    """The process's Engine for this config (its models load on first use, once per process)."""
    config = config or EngineConfig()
    return MODELS.get("engine", lambda: Engine(config), config=config)
