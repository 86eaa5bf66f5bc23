"""What the results page shows of a finished run: the photo's mood in words, one plain reason per track
with the details behind it, and how many tracks to show (reads only; the page is photos/views.run_detail)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings

from inference import adapter
from photos.models import Run, RunItem
from photos.services import filters

# Emotion6's labels, each with the colour of its bar (a colour-blind-safe set; the label is always shown).
EMOTION_COLOURS: dict[str, str] = {
    "anger": "#c92a2a",
    "disgust": "#5c940d",
    "fear": "#6741d9",
    "joy": "#f08c00",
    "sadness": "#1c7ed6",
    "surprise": "#0c8599",
    "neutral": "#868e96",
}


def page_size() -> int:
    """Tracks shown at first and added by "more" (settings.RECOMMEND_TOP_K)."""
    return int(settings.RECOMMEND_TOP_K)


def web_top_k() -> int:
    """How many tracks a run started from the page stores: three pages, so "more" needs no new run."""
    return 3 * page_size()


def shown_count(requested: str | None, stored: int) -> int:
    """How many of the stored tracks to show: ?show=N (a whole number of pages), at least one page."""
    try:
        wanted = int(requested or 0)
    except ValueError:
        wanted = 0
    size = page_size()
    pages = max(1, -(-wanted // size))
    return min(pages * size, max(stored, size))


@dataclass
class Emotion:
    label: str
    percent: int
    colour: str


@dataclass
class ShownItem:
    item: RunItem
    plain: str
    details: list[str]
    scores: list[tuple[str, float]] = field(default_factory=list)
    my_rating: int | None = None


@dataclass
class MoodMap:
    """Positions on the mood map (SVG units, 0-100, y downwards) and the marker's values (map scale, 0-1).
    The map's arousal axis is the word scale, so its corner labels agree with the words on the page."""

    photo_x: float
    photo_y: float
    valence: float
    arousal: float

    @property
    def marker_x(self) -> float:
        return round(100 * self.valence, 1)

    @property
    def marker_y(self) -> float:
        return round(100 - 100 * self.arousal, 1)


def _clip01(value: float) -> float:
    return min(1.0, max(0.0, value))


def mood_map(run: Run) -> MoodMap | None:
    if run.valence is None or run.arousal is None:
        return None
    photo_a = _clip01(adapter.photo_arousal_for_words(run.arousal))
    chosen = run.chosen_mood
    valence, arousal = (
        (chosen[0], _clip01(adapter.photo_arousal_for_words(chosen[1]))) if chosen else (run.valence, photo_a)
    )
    photo_x, photo_y = round(100 * run.valence, 1), round(100 - 100 * photo_a, 1)
    return MoodMap(photo_x, photo_y, round(valence, 2), round(arousal, 2))


def mood_from_map(valence: float, arousal: float) -> tuple[float, float]:
    """A point set on the map -> the (valence, arousal) a run matches (the photo's scale)."""
    return (_clip01(valence), _clip01(adapter.photo_arousal_from_words(arousal)))


def chosen_mood(run: Run) -> str:
    """The words for the mood the user chose for this run ("" when none)."""
    return adapter.describe_photo_mood(*run.chosen_mood) if run.chosen_mood else ""


def photo_mood(run: Run) -> str:
    """The photo's mood in the words every reason on the page uses."""
    if run.valence is None or run.arousal is None:
        return ""
    return adapter.describe_photo_mood(run.valence, run.arousal)


def top_emotions(run: Run, limit: int = 3) -> list[Emotion]:
    ranked = sorted(run.emotions.items(), key=lambda kv: kv[1], reverse=True)[:limit]
    return [Emotion(label, round(p * 100), EMOTION_COLOURS.get(label, "#868e96")) for label, p in ranked]


def shown_items(run: Run, items: list[RunItem], ratings: dict[int, int]) -> list[ShownItem]:
    """Each item with one plain reason, its stored reasons as details, and labelled strategy scores."""
    weights = adapter.engine_config().weights()
    mood = photo_mood(run)
    lifted_to = ""
    chosen_words = chosen_mood(run)
    filter_words = filters.describe(run.filters)
    if not chosen_words and run.mode == Run.Mode.LIFT and run.valence is not None and run.arousal is not None:
        lifted_to = adapter.describe_photo_mood(*adapter.lift_target(run.valence, run.arousal))
    shown = []
    for item in items:
        scores = {name: float(value) for name, value in item.strategy_scores.items()}
        shown.append(
            ShownItem(
                item=item,
                plain=adapter.plain_reason(
                    scores,
                    weights,
                    photo_mood=mood,
                    lifted_to=lifted_to,
                    chosen_mood=chosen_words,
                    filters=filter_words,
                ),
                # The first stored reason describes the photo (the same for every track): shown once.
                details=[str(r) for r in item.reasons[1:]],
                scores=[(adapter.strategy_label(name), value) for name, value in scores.items()],
                my_rating=ratings.get(item.pk),
            )
        )
    return shown
