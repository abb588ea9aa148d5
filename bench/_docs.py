"""docs/BENCHMARKS.md is shared by every benchmark: each rewrites its own section only."""

from __future__ import annotations

from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs" / "BENCHMARKS.md"


def write_section(section: str, body: str, docs: Path = DOCS, *, after: str | None = None) -> None:
    """Replace the `section` heading and what follows up to the next `## ` heading with
    `body`, or add it after section `after` (else at the end), so a bench never
    disturbs the figures of another."""
    text = docs.read_text(encoding="utf-8") if docs.exists() else "# Benchmarks\n"
    if text.startswith(section + "\n"):
        text = "\n" + text
    start = text.find("\n" + section + "\n")
    anchor = text.find("\n" + after + "\n") if after else -1
    if start == -1 and anchor != -1:
        following = text.find("\n## ", anchor + 1 + len(str(after)))
        if following == -1:
            text = text.rstrip("\n") + "\n\n" + body
        else:
            text = text[: following + 1] + body + "\n" + text[following + 1 :]
    elif start == -1:
        text = text.rstrip("\n") + "\n\n" + body
    else:
        start += 1
        following = text.find("\n## ", start + len(section))
        text = text[:start] + body + ("\n" + text[following + 1 :] if following != -1 else "")
    docs.parent.mkdir(parents=True, exist_ok=True)
    docs.write_text(text.lstrip("\n").rstrip("\n") + "\n", encoding="utf-8")
