"""Every document the code points a reader to exists in the project.

Docstrings and the OpenAPI description name documents ("see docs/EXECUTION.md");
a name that leads nowhere tells the reader something that is not so."""

from __future__ import annotations

import re
from pathlib import Path

from mge.errors import MgeError

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = re.compile(r"[A-Za-z0-9_./-]+\.md\b")


def _references() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted((ROOT / "src").rglob("*")):
        if path.suffix not in {".py", ".html", ".md", ".toml"} or "node_modules" in path.parts:
            continue  # node_modules: npm packages MGE installs (src/mge/validate/ts), not its own
        for match in REFERENCE.findall(path.read_text(encoding="utf-8")):
            found.setdefault(match, []).append(str(path.relative_to(ROOT)))
    return found


def _exists(name: str) -> bool:
    if "/" in name:
        return (ROOT / name).is_file()
    return (
        any(ROOT.joinpath(folder).rglob(name) for folder in ("docs", "src"))
        or (ROOT / name).is_file()
    )


def test_every_named_document_exists() -> None:
    references = _references()
    assert "docs/EXECUTION.md" in references  # the scan finds what it looks for
    missing = {name: where for name, where in references.items() if not _exists(name)}
    assert missing == {}


def _error_classes() -> list[type[MgeError]]:
    seen: list[type[MgeError]] = []
    pending: list[type[MgeError]] = [MgeError]
    while pending:
        cls = pending.pop()
        seen.append(cls)
        pending.extend(cls.__subclasses__())
    return seen


def test_the_readme_lists_every_exit_code() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    sentence = readme[readme.index("Errors are one line on stderr") :].split("\n\n")[0]
    listed = {int(code) for code in re.findall(r"\b(\d+) [a-z]", sentence)}
    codes = {cls.exit_code for cls in _error_classes()} | {130}
    assert codes <= listed, f"missing from the README: {sorted(codes - listed)}"
