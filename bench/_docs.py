"""docs/BENCHMARKS.md is shared by every benchmark: each rewrites its own section only."""

from __future__ import annotations

from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs" / "BENCHMARKS.md"


def write_section(section: str, body: str, docs: Path = DOCS) -> None:
    """Replace the `section` heading and what follows up to the next `## ` heading with
    `body` (or append it), so a bench never disturbs the figures of another."""
    text = docs.read_text(encoding="utf-8") if docs.exists() else "# Benchmarks\n"
    start = text.find("\n" + section + "\n")
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + body
    else:
        start += 1
        following = text.find("\n## ", start + len(section))
        text = text[:start] + body + ("\n" + text[following + 1 :] if following != -1 else "")
    docs.write_text(text.rstrip("\n") + "\n", encoding="utf-8")
