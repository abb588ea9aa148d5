"""The bench's tests import `bench`, which lives at the repository's root beside
`src/` and is not installed: the root goes on the import path once, here."""

from __future__ import annotations

import sys
from pathlib import Path

_REPO = str(Path(__file__).resolve().parents[2])
if _REPO not in sys.path:
    sys.path.insert(0, _REPO)
