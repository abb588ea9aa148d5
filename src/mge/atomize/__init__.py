"""Lossless atomization of Python, TypeScript, TSX and JavaScript source.

The atoms of a file partition it byte for byte (docs/ATOMS.md):
joining `atom.code` in order gives the file back exactly, whatever it holds.

    from mge.atomize import AtomizeConfig, atomize_source

    result = atomize_source(Path("m.py").read_bytes(), "m.py", config=AtomizeConfig())
    assert result.joined() == Path("m.py").read_bytes()

The package is pure: no database, no network. Parsers are built once per language.
"""

from __future__ import annotations

from mge.atomize._api import (
    atomize_paths,
    atomize_source,
    atomize_sources,
    check_partition,
    measure_source,
    prepare,
)
from mge.atomize._atomicity import CRITERIA
from mge.atomize._compare import code_tokens, same_code
from mge.atomize._complexity import complexity_of
from mge.atomize._languages import EXTENSIONS, LANGUAGES, detect_language
from mge.atomize._model import Atom, AtomizeConfig, FileResult
from mge.atomize._skeleton import skeleton
from mge.atomize._stats import summarize
from mge.atomize._walk import walk_paths

__all__ = [
    "CRITERIA",
    "EXTENSIONS",
    "LANGUAGES",
    "Atom",
    "AtomizeConfig",
    "FileResult",
    "atomize_paths",
    "atomize_source",
    "atomize_sources",
    "check_partition",
    "code_tokens",
    "complexity_of",
    "detect_language",
    "measure_source",
    "prepare",
    "same_code",
    "skeleton",
    "summarize",
    "walk_paths",
]
