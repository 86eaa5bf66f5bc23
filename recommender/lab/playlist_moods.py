"""Weak mood labels for tracks from the names of the human playlists they appear in.

    python -m recommender.lab.playlist_moods --data ../shared/data

The TidyTuesday Spotify songs (DESIGN.md section 6) list, for every track, the playlists it was found in.
Most names are genres ("Neo Soul", "Post Teen Pop"), but some say what the music is for or how it feels
("Sad Trap", "Chillout & Remixes", "Hard Rock Workout", "Christian Dance Party"). Those words are weak,
human, feature-free mood labels.

Lexicon (fixed before any retrieval result was looked at). Each word or phrase names one music emotion
of tracks.MUSIC_EMOTIONS, and the label's valence/arousal quadrant is the quadrant of that emotion's
prototype in tracks.MUSIC_PROTOTYPES (so the labels use the engine's own circumplex):

    sad       (unpleasant-calm):    sad, heartbreak, melancholy, lonely, crying, tears, gloomy, ...
    calm      (pleasant-calm):      chill, chillout, relax, sleep, calm, mellow, soft, smooth, acoustic,
                                    unplugged, lofi / lo-fi, lounge, ambient, study, yoga, ...
    happy     (pleasant-excited):   happy, fun, feel good, good vibes, upbeat, party, fiesta, dance, ...
    energetic (pleasant-excited):   workout, gym, cardio, crossfit, fitness, training, hype, pump up, ...
    tense     (unpleasant-excited): angry, rage, aggressive, metal, hardcore, furious, ...

Left out on purpose: genre words that carry no clear mood ("hard" of hard rock, "gangsta", "trap",
"badass"), context words ("summer", "sunny", "festival", "club", "epic", "bangers", "coffee") and words
whose arousal is ambiguous ("dark": dark trap vs dark ambient; "love", which is mostly the verb;
"ballads", "slow": sad or tender).

Matching. A name is lower-cased, accents are stripped (NFKD), and every character that is not a letter
or digit (punctuation, emoji, symbols) becomes a word break, so "Lo-Fi Beats", "ELECTROPOP🐹" and
"Hits 2020🔥Summer 2020" split into words. Entries match whole words or runs of whole words ("chill"
does not match "chillout"; "chillout" is listed itself). A name gets a label when every entry it
contains points to the same quadrant (its emotion only when they also name one emotion); a name with
entries from two quadrants ("sad party") gets none.

Agreement over playlists. A track found in several playlists takes the quadrant that a STRICT MAJORITY
of its labelled playlists give (playlists whose names carry no label do not vote); a tie gives no
label. The music emotion follows the same rule separately (happy and energetic playlists agree on
pleasant-excited but leave the emotion open).

Measured on ../shared/data (28,352 unique tracks; `python -m recommender.lab.playlist_moods --data
../shared/data` prints these): 4,757 tracks get a label (16.8%): pleasant-excited 3,539, unpleasant-excited
176, unpleasant-calm 90, pleasant-calm 952 (emotions: happy 2,668, energetic 766, calm 952, tense 176,
sad 90, quadrant only 105); 1 track loses its label to a disagreement between playlists. Because splits
go by playlist, whole mood playlists fall into one split: train has all four classes (2,335 / 100 / 90 /
748), val only pleasant-excited 750 and pleasant-calm 6, test pleasant-excited 454, unpleasant-excited 76
and pleasant-calm 198 (no unpleasant-calm track: "Sad Trap" is a training playlist).

Sanity check against the feature-based quadrants (tracks.track_position: Spotify valence and the
arousal-from-features formula, split at the medians of all tracks, valence 0.512, arousal 0.730): the
quadrants agree for 34.6% of the labelled tracks (macro over the four weak classes 39.9%: pleasant-excited
32.9%, unpleasant-excited 26.7%, unpleasant-calm 60.0%, pleasant-calm 40.0%; a random quadrant agrees
25%). By axis, arousal agrees for 72.0% and valence for 48.3%. The calm family is clearly low-arousal
(arousal agrees for 85.7% of it), but its valence is not "pleasant" by Spotify's measure (50.1%, a coin
toss): lo-fi and chill-out tracks sit around or below the median Spotify valence, so "chill =
pleasant-calm" (Russell's relaxed/serene, and the engine's own calm prototype) is an assumption the audio
features do not confirm; it is kept because it is what the names mean. Workout and party playlists are
high-arousal but split between the pleasant and unpleasant halves by Spotify valence. So the labels are
a different signal from the features (mostly about arousal), not a copy of them. A known weakness: a
name that lists genres ("House/Electro/Progressive/Disco/Lofi/Synthwave") takes the mood of any mood
word in the list.
"""

from __future__ import annotations

import argparse
import re
import sys
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

from recommender.lab.datasets import QUADRANTS, SPLITS, SpotifyTrack, load_spotify_songs, quadrant, quadrants
from recommender.tracks import MUSIC_EMOTIONS, MUSIC_PROTOTYPES, track_position

_WORDS: dict[str, tuple[str, ...]] = {
    "sad": (
        "sad", "sadness", "sad songs", "heartbreak", "heartbroken", "broken heart", "melancholy",
        "melancholic", "depressing", "depressed", "depression", "lonely", "loneliness", "crying", "cry",
        "tears", "gloomy", "sorrow", "grief", "rainy day", "triste", "tristeza",
    ),
    "calm": (
        "chill", "chilled", "chillin", "chilling", "chillout", "chill out", "chillhop", "relax",
        "relaxing", "relaxed", "relaxation", "sleep", "sleeping", "calm", "calming", "peaceful",
        "serene", "tranquil", "mellow", "soft", "smooth", "acoustic", "unplugged", "lofi", "lo fi",
        "lounge", "ambient", "easy listening", "study", "studying", "focus", "yoga", "meditation",
        "spa",
    ),
    "happy": (
        "happy", "happiness", "joy", "joyful", "cheerful", "fun", "feel good", "feelgood", "good vibes",
        "good mood", "upbeat", "party", "parties", "fiesta", "celebration", "dance", "dancing",
        "dancefloor", "baila", "bailar", "ballare",
    ),
    "energetic": (
        "workout", "gym", "cardio", "crossfit", "fitness", "training", "running", "hype", "pump up",
        "pumped", "beast mode", "motivation", "energetic",
    ),
    "tense": (
        "angry", "anger", "rage", "furious", "aggressive", "aggression", "metal", "hardcore", "thrash",
        "mosh", "hate", "intense",
    ),
}  # fmt: skip

# phrase (a tuple of words) -> music emotion
LEXICON: dict[tuple[str, ...], str] = {
    tuple(phrase.split()): emotion for emotion, phrases in _WORDS.items() for phrase in phrases
}
EMOTION_QUADRANT: dict[str, int] = {e: quadrant(*MUSIC_PROTOTYPES[e]) for e in MUSIC_EMOTIONS}
_LONGEST = max(len(p) for p in LEXICON)
T = TypeVar("T")


@dataclass(frozen=True)
class MoodLabel:
    """A weak label: a V/A quadrant (QUADRANTS index) and, when clear, a music emotion."""

    quadrant: int
    emotion: str | None
    votes: int = 1  # labelled playlists that agreed

    @property
    def quadrant_name(self) -> str:
        return QUADRANTS[self.quadrant]


def words(name: str) -> list[str]:
    """Lower-case, accent-free words of a playlist name; anything else (emoji, punctuation) splits."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    return re.findall(r"[a-z0-9]+", plain.lower())


def matches(name: str) -> list[tuple[str, str]]:
    """(phrase, music emotion) for every lexicon entry found in name, as whole words."""
    tokens = words(name)
    found = []
    for start in range(len(tokens)):
        for length in range(1, _LONGEST + 1):
            phrase = tuple(tokens[start : start + length])
            if len(phrase) == length and phrase in LEXICON:
                found.append((" ".join(phrase), LEXICON[phrase]))
    return found


def name_label(name: str) -> MoodLabel | None:
    """The label a playlist name carries, or None (no entry, or entries from two quadrants)."""
    emotions = {emotion for _, emotion in matches(name)}
    quadrants = {EMOTION_QUADRANT[e] for e in emotions}
    if len(quadrants) != 1:
        return None
    return MoodLabel(quadrants.pop(), emotions.pop() if len(emotions) == 1 else None)


def _majority(values: Sequence[T]) -> tuple[T | None, int]:
    """The value more than half of values share, with its count; (None, 0) when there is none."""
    if not values:
        return None, 0
    value, count = Counter(values).most_common(1)[0]
    return (value, count) if 2 * count > len(values) else (None, 0)


def track_label(playlist_names: Iterable[str]) -> MoodLabel | None:
    """A track's label from all its playlists: the strict majority of the labelled ones, else None."""
    labels = [lab for lab in (name_label(n) for n in playlist_names) if lab is not None]
    q, votes = _majority([lab.quadrant for lab in labels])
    if q is None:
        return None
    emotion, _ = _majority([lab.emotion for lab in labels if lab.quadrant == q])
    return MoodLabel(q, emotion, votes)


def weak_labels(tracks: Sequence[SpotifyTrack]) -> list[MoodLabel | None]:
    return [track_label(t.playlist_names) for t in tracks]


def quadrant_array(labels: Sequence[MoodLabel | None]) -> np.ndarray:
    """(n,) QUADRANTS index, -1 where a track has no weak label."""
    return np.array([-1 if lab is None else lab.quadrant for lab in labels], dtype=np.int64)


# --- the sanity check against feature-based quadrants ---------------------------------------------------


def agreement(tracks: Sequence[SpotifyTrack], labels: Sequence[MoodLabel | None]) -> dict[str, object]:
    """Counts per quadrant and how often the weak quadrant equals the feature-based one (median split)."""
    positions = [track_position(t.row) for t in tracks]
    va = np.array([p[:2] if p else (np.nan, np.nan) for p in positions], dtype=np.float64)
    split = np.nanmedian(va, axis=0)
    weak = quadrant_array(labels)
    both = (weak >= 0) & ~np.isnan(va[:, 0])
    high_a, high_v = va[both, 1] >= split[1], va[both, 0] >= split[0]
    feature_q = quadrants(va[both, 0], va[both, 1], (float(split[0]), float(split[1])))
    w = weak[both]
    weak_high_a, weak_high_v = np.isin(w, (0, 1)), np.isin(w, (0, 3))
    per_class = {
        QUADRANTS[q]: round(float((feature_q[w == q] == q).mean()), 3) for q in range(4) if (w == q).any()
    }
    disagreeing = sum(
        1
        for t, lab in zip(tracks, labels, strict=True)
        if lab is None and any(name_label(n) for n in t.playlist_names)
    )
    return {
        "tracks": len(tracks),
        "labelled": int((weak >= 0).sum()),
        "per_quadrant": {QUADRANTS[q]: int((weak == q).sum()) for q in range(4)},
        "per_emotion": dict(Counter(lab.emotion or "(quadrant only)" for lab in labels if lab)),
        "lost_to_disagreement": disagreeing,
        "feature_split": {"valence": round(float(split[0]), 3), "arousal": round(float(split[1]), 3)},
        "agree_quadrant": round(float((feature_q == w).mean()), 3),
        "agree_quadrant_macro": round(float(np.mean(list(per_class.values()))), 3),
        "agree_per_quadrant": per_class,
        "agree_arousal": round(float((high_a == weak_high_a).mean()), 3),
        "agree_valence": round(float((high_v == weak_high_v).mean()), 3),
        "agree_calm_family_arousal": round(float((~high_a[w == 3]).mean()), 3) if (w == 3).any() else None,
        "agree_calm_family_valence": round(float(high_v[w == 3].mean()), 3) if (w == 3).any() else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, required=True, help="dev data root (spotify_songs/)")
    args = parser.parse_args(argv)
    songs = args.data / "spotify_songs" / "spotify_songs.csv"
    if not songs.is_file():
        print(f"error: {songs} is absent (see DESIGN.md section 6)", file=sys.stderr)
        return 2
    tracks = load_spotify_songs(songs)
    labels = weak_labels(tracks)
    stats = agreement(tracks, labels)
    for key, value in stats.items():
        print(f"{key}: {value}")
    by_split = Counter(
        (t.split, QUADRANTS[lab.quadrant]) for t, lab in zip(tracks, labels, strict=True) if lab
    )
    print("per split:", {s: {q: by_split[(s, q)] for q in QUADRANTS} for s in SPLITS})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
