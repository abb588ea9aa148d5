"""Atomic validation never rejects correct code: each reference atom, given as the
candidate with the file's earlier atoms written and its later ones as stand-ins,
passes L1, wherever the atomizer cut a compound statement (`try`, `with`,
`if/elif/else`, `match`, loops with `else`, nested functions).

The spec and layout are built the way the engine builds them (`Runner._spec_for`,
`Runner._layout`, indentation from `indentation`), and the verdict comes from
`judge`, the path every attempt takes.
"""

from __future__ import annotations

import os
import sysconfig
from collections import Counter
from pathlib import Path

import pytest

from mge.atomize import AtomizeConfig, FileResult, atomize_source, skeleton
from mge.execute._assembly import PlannedAtom, assemble, indentation
from mge.execute._judge import FileAtom, atom_assembly, judge
from mge.execute._structure import logical_lines
from mge.validate import AtomSpec
from mge.validate.atomic import declared_class_names

FIXTURES = Path(__file__).parent / "fixtures" / "blocks"
REPO = Path(__file__).resolve().parents[2]
INVENTORY = REPO / "examples" / "inventory" / "reference"
STDLIB = Path(sysconfig.get_paths()["stdlib"])
CONFIG = AtomizeConfig()
# Every 20th module of the standard library outside its tests, sorted: ~37 files and
# ~2,000 atoms of every style, in about 10 s on one core.
SAMPLE_STEP = 20
GOLDEN_ENV = "MGE_UPDATE_GOLDEN"
# The written project with one atom missing is checked on the sample's files of up
# to this many atoms (each check assembles the file once per atom): ~30 files.
MISSING_MAX_ATOMS = 60


def _layout(result: FileResult) -> tuple[list[FileAtom], dict[str, AtomSpec]]:
    """The file's layout and each atom's spec, as the engine makes them."""
    pieces = Counter(atom.qualname for atom in result.atoms)
    seen: Counter[str] = Counter()
    source = b"".join(atom.code for atom in result.atoms)
    planned_skeleton = skeleton(source, result.path)
    layout: list[FileAtom] = []
    specs: dict[str, AtomSpec] = {}
    for position, atom in enumerate(result.atoms):
        indent, body_indent = indentation(atom.text, atom.kind)
        after = result.atoms[position + 1] if position + 1 < len(result.atoms) else None
        planned = PlannedAtom(
            atom_id=atom.id,
            file=atom.file,
            kind=atom.kind,
            name=atom.name,
            qualname=atom.qualname or atom.name,
            signature=atom.context.get("signature"),
            indent=indent,
            body_indent=body_indent,
        )
        layout.append(FileAtom(planned, tuple(atom.context.get("defines", []))))
        specs[atom.id] = AtomSpec(
            atom_id=atom.id,
            kind=atom.kind,
            name=atom.name,
            qualname=planned.qualname,
            language=atom.language,
            file=atom.file,
            signature=planned.signature,
            max_loc=CONFIG.max_loc,
            max_complexity=CONFIG.max_complexity,
            whole_definition=pieces[atom.qualname] == 1,
            piece=seen[atom.qualname],
            continued=after is not None
            and after.kind == "block"
            and after.qualname == atom.qualname,
            declared_names=(
                declared_class_names(planned_skeleton, planned.qualname)
                if atom.kind == "class_header"
                else frozenset()
            ),
        )
        seen[atom.qualname] += 1
    return layout, specs


def _rejections(source: bytes, path: str) -> list[str]:
    """The atoms of `source` that L1 rejects in their real context, with why."""
    result = atomize_source(source, path, config=CONFIG)
    layout, specs = _layout(result)
    written: dict[str, str] = {}
    rejected: list[str] = []
    for atom in result.atoms:
        verdict = judge(atom.text, specs[atom.id], layout, written)
        if not verdict.passed:
            rejected.append(f"{atom.id}: {verdict.feedback()}")
        written[atom.id] = atom.text
    return rejected


def _one_missing_compiles(source: bytes, path: str) -> list[str]:
    """The atoms whose stand-in, among all the others written, breaks the file: what
    the written project looks like when one atom failed."""
    result = atomize_source(source, path, config=CONFIG)
    layout, _ = _layout(result)
    code = {atom.id: atom.text for atom in result.atoms}
    broken: list[str] = []
    for missing in code:
        text = assemble(
            [a.planned for a in layout],
            lambda planned, missing=missing: (
                None if planned.atom_id == missing else code[planned.atom_id]
            ),
            whole_definitions=True,
        ).text
        try:
            compile(text, path, "exec", dont_inherit=True)
        except SyntaxError as error:
            broken.append(f"{missing}: line {error.lineno}: {error.msg}")
    return broken


def _sample() -> list[Path]:
    files = sorted(
        path
        for path in STDLIB.rglob("*.py")
        if not {"site-packages", "test", "tests", "idle_test"} & set(path.parts)
    )
    return files[::SAMPLE_STEP]


def test_compound_statements_split_over_blocks_pass() -> None:
    source = (FIXTURES / "compound.py.txt").read_bytes()
    result = atomize_source(source, "blocks/compound.py", config=CONFIG)
    assert sum(atom.kind == "block" for atom in result.atoms) >= 10  # the cuts are there
    assert _rejections(source, "blocks/compound.py") == []
    assert _one_missing_compiles(source, "blocks/compound.py") == []


def test_the_views_of_split_statements_are_golden() -> None:
    """What each atom's attempt sees, later atoms stood in for: a `finally` closes a
    `try` cut short, a `case _` fills a `match`, stand-ins bind the names their
    pieces will bind."""
    source = (FIXTURES / "compound.py.txt").read_bytes()
    result = atomize_source(source, "blocks/compound.py", config=CONFIG)
    layout, _ = _layout(result)
    written: dict[str, str] = {}
    views: list[str] = []
    for atom in result.atoms:
        written[atom.id] = atom.text
        if atom.kind == "block" or atom.qualname != "<module>":
            view = atom_assembly(
                layout, atom.id, lambda planned: written.get(planned.atom_id), compact=True
            )
            views.append(f"### {atom.id} (lines {view.first_line}-{view.last_line})\n{view.text}")
    text = "\n".join(views)
    golden = FIXTURES / "compound.views"
    if os.environ.get(GOLDEN_ENV):
        golden.write_text(text)
    assert text == golden.read_text()


def test_the_bundled_example_passes() -> None:
    for path in sorted(INVENTORY.rglob("*.py")):
        rel = path.relative_to(INVENTORY).as_posix()
        assert _rejections(path.read_bytes(), rel) == [], rel


def test_stdlib_sample_passes_in_context() -> None:
    """Every atom passes L1 in its context, and (on the smaller files) the written
    project with any one atom failed still compiles."""
    checked = 0
    rejected: list[str] = []
    broken: list[str] = []
    for path in _sample():
        source = path.read_bytes()
        rel = path.relative_to(STDLIB).as_posix()
        try:
            compile(source, rel, "exec", dont_inherit=True)
        except (SyntaxError, ValueError):
            continue
        rejected += _rejections(source, rel)
        if len(atomize_source(source, rel, config=CONFIG).atoms) <= MISSING_MAX_ATOMS:
            broken += _one_missing_compiles(source, rel)
        checked += 1
    assert checked > 30
    assert rejected == []
    assert broken == []


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("x = '''a:\nb:'''\n", [("", "", False)]),
        ("if (a and\n    b):  # c:\n    pass\n", [("", "if", True), ("    ", "", False)]),
        ("match = 1\nmatch x:\n", [("", "", False), ("", "match", True)]),
        ("y = 'a#:' \\\n    + 'b'\ntry: f()\n", [("", "", False), ("", "try", False)]),
        ("    async def f():\n", [("    ", "def", True)]),
    ],
)
def test_logical_lines(code: str, expected: list[tuple[str, str, bool]]) -> None:
    assert [(line.indent, line.keyword, line.opens) for line in logical_lines(code)] == expected


def test_a_name_defined_twice_starts_a_new_definition() -> None:
    # Test modules redefine helper classes; the second `class Loader` is no later
    # piece of the first, so its methods are not stood in for as the first one's.
    source = (
        b"class Loader:\n    kind = 1\n\n\n"
        b"class Tests:\n    def test_a(self):\n        return Loader.kind\n\n\n"
        b"class Loader(Tests):\n    def get(self, path):\n        return path\n\n\n"
        b"class More:\n    def test_b(self):\n        return Loader().get('x')\n"
    )
    assert _rejections(source, "redefined.py") == []
    assert _one_missing_compiles(source, "redefined.py") == []
