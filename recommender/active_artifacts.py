"""Which trained artifact of each kind the platform serves: the one marked in artifacts/active.json.

Every artifact directory (artifacts/<kind>-vN/) holds weights.npz and a card.json with its metrics,
data provenance and config. Training writes a new version beside the old ones; switching the served
version is an edit of active.json, reviewed like code (and the catalogue index rebuilds by itself when
track vectors change, see catalogue_index / runtime.index_version).
"""

from __future__ import annotations

import json
from pathlib import Path

ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"
ACTIVE_FILE = ARTIFACTS_DIR / "active.json"


def active_artifact(kind: str) -> Path:
    """The directory of the active artifact of this kind ("mood" or "heads")."""
    active = json.loads(ACTIVE_FILE.read_text())
    try:
        return ARTIFACTS_DIR / active[kind]
    except KeyError:
        raise KeyError(f"{ACTIVE_FILE} marks no active {kind!r} artifact") from None
