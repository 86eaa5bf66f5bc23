"""The soundtrack's trajectory as inline-SVG geometry: per measure (valence, arousal), the photos' values as
flat segments over their stretches and the tracks' values as a line of dots, along the sequence."""

from __future__ import annotations

from typing import Any

WIDTH = 1000
HEIGHT = 160
MARGIN = 24


def chart(path: dict[str, Any]) -> dict[str, Any]:
    tracks = path["tracks"]
    n = max(len(tracks), 1)
    step = (WIDTH - 2 * MARGIN) / n

    def x(i: float) -> float:
        return round(MARGIN + step * i, 1)

    def y(value: float) -> float:
        return round(HEIGHT - MARGIN - (HEIGHT - 2 * MARGIN) * max(0.0, min(1.0, value)), 1)

    panels = []
    for measure in ("valence", "arousal"):
        segments = []
        for s, photo in enumerate(path["photos"]):
            positions = [i for i, t in enumerate(tracks) if t["slot"] == s]
            if positions:
                segments.append(
                    {
                        "x1": x(min(positions)),
                        "x2": x(max(positions) + 1),
                        "y": y(photo[measure]),
                        "name": photo["name"],
                    }
                )
        dots = [
            {
                "x": x(i + 0.5),
                "y": y(t[measure]),
                "title": f"{t['position'] + 1}. {t['artist']} – {t['title']}",
            }
            for i, t in enumerate(tracks)
            if t[measure] is not None
        ]
        panels.append(
            {
                "measure": measure,
                "segments": segments,
                "dots": dots,
                "line": " ".join(f"{d['x']},{d['y']}" for d in dots),
            }
        )
    return {"width": WIDTH, "height": HEIGHT, "top": MARGIN, "bottom": HEIGHT - MARGIN, "panels": panels}
