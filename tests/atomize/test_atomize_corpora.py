"""Whole real code bases: the installed Python standard library and a TS/JS corpus.

Run in-process through the library (one parse per file, no subprocess per file):
every file must rejoin byte for byte, and the shape of the result must hold.
"""

from __future__ import annotations

import sysconfig
from pathlib import Path

import pytest

from mge.atomize import AtomizeConfig, FileResult, atomize_paths, check_partition

from .conftest import JS_CORPUS, TS_CORPUS, require_corpus

pytestmark = pytest.mark.slow

CONFIG = AtomizeConfig()


def check_all(results: list[FileResult]) -> None:
    failures = [r.path for r in results if not check_partition(r, Path(r.path).read_bytes())]
    assert failures == []
    for result in results:
        for atom in result.atoms:
            assert ("size" in atom.violations) == (atom.loc > CONFIG.max_loc), atom.id
            assert 0.0 <= atom.context_completeness <= 1.0
    ids = [atom.id for result in results for atom in result.atoms]
    assert len(ids) == len(set(ids))


def test_python_standard_library_partitions() -> None:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    notices: list[str] = []
    results = atomize_paths([stdlib], config=CONFIG, on_notice=notices.append)
    expected = {
        p.resolve()
        for pattern in ("*.py", "*.pyi")
        for p in stdlib.rglob(pattern)
        if not ({"site-packages", "__pycache__"} & set(p.relative_to(stdlib).parts))
        and not any(part.startswith(".") for part in p.relative_to(stdlib).parts)
    }
    assert {Path(r.path).resolve() for r in results} == expected
    check_all(results)
    # Real code: most atoms fit the bounds; only unsplittable units exceed them.
    atoms = [atom for result in results for atom in result.atoms]
    within = sum(1 for atom in atoms if atom.loc <= CONFIG.max_loc)
    assert within / len(atoms) > 0.95
    oversized = [a for a in atoms if a.loc > CONFIG.max_loc]
    assert all(a.kind != "block" or "\n" in a.text.strip() for a in oversized)
    assert any("not valid UTF-8" in notice for notice in notices)


def test_typescript_corpus_partitions() -> None:
    root = require_corpus(TS_CORPUS)
    results = atomize_paths([root], config=CONFIG)
    assert len(results) > 200
    languages = [r.language for r in results]
    assert languages.count("typescript") > 0.95 * len(languages)
    check_all(results)
    kinds = {atom.kind for result in results for atom in result.atoms}
    assert {"module_header", "class_header", "method", "function", "block"} <= kinds


def test_javascript_corpus_partitions() -> None:
    root = require_corpus(JS_CORPUS)
    results = atomize_paths([root], config=CONFIG)
    assert len(results) > 500
    assert {r.language for r in results} == {"javascript"}
    check_all(results)
