"""Stand-ins in the written TypeScript project: a failed atom of a `.ts` file is a
TypeScript stub (never Python), closes the classes it was to close, and the file
still compiles (mge.execute._assembly, the ts-calc example)."""

from __future__ import annotations

import itertools
import shutil
from functools import partial
from pathlib import Path

import pytest

from mge.atomize import atomize_source, skeleton
from mge.atomize._languages import parse
from mge.execute._assembly import PlannedAtom, assemble, indentation
from mge.execute._stand_ins import skeleton_stand_in
from mge.validate import STUB_MARK

EXAMPLE = Path(__file__).parents[2] / "examples" / "ts-calc" / "reference"


def _planned(file: str) -> tuple[list[PlannedAtom], dict[str, str]]:
    """The file's atoms as a run plans them: whole definitions (a TypeScript
    skeleton plans no steps of a long body, so a body's pieces join its method)."""
    result = atomize_source((EXAMPLE / file).read_bytes(), file)
    atoms: list[PlannedAtom] = []
    texts: dict[str, str] = {}
    for atom in result.atoms:
        if atom.kind == "block":
            texts[atoms[-1].atom_id] += atom.text
            continue
        texts[atom.id] = atom.text
        indent, body = indentation(atom.text, atom.kind)
        signature = atom.context.get("signature") if isinstance(atom.context, dict) else None
        atoms.append(
            PlannedAtom(atom.id, file, atom.kind, atom.name, atom.qualname, signature, indent, body)
        )
    return atoms, texts


def _code(code: dict[str, str], left_out: set[str], atom: PlannedAtom) -> str | None:
    return None if atom.atom_id in left_out else code[atom.atom_id]


def _errors(text: str) -> list[str]:
    tree = parse(text.encode(), "typescript")
    stack, found = [tree.root_node], []
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            found.append(f"{node.type} at line {node.start_point[0] + 1}")
        stack.extend(node.children)
    return found


FILES = ["src/util/lru.ts", "src/lexer.ts", "src/errors.ts", "src/calculator.ts"]


@pytest.mark.parametrize("file", FILES)
def test_every_atom_left_out_keeps_the_file_typescript(file: str) -> None:
    atoms, code = _planned(file)
    whole = assemble(atoms, lambda a: code[a.atom_id], whole_definitions=True).text
    assert whole == (EXAMPLE / file).read_text()
    definitions = [a for a in atoms if a.kind in ("function", "method", "class_header")]
    for left_out in itertools.chain(([a] for a in definitions), [definitions[-2:]]):
        keys = {a.atom_id for a in left_out}
        text = assemble(atoms, partial(_code, code, keys), whole_definitions=True).text
        assert _errors(text) == [], (keys, text)
        assert "NotImplementedError" not in text and "def " not in text
        for atom in left_out:
            if atom.kind != "class_header":
                assert f'throw new Error("{STUB_MARK}: {atom.atom_id}")' in text


def test_the_last_method_of_a_class_closes_it() -> None:
    atoms, code = _planned("src/util/lru.ts")
    last = atoms[-1]
    assert last.qualname == "LruCache.stats"
    text = assemble(
        atoms, lambda a: None if a is last else code[a.atom_id], whole_definitions=True
    ).text
    assert text.endswith(
        "  stats(): { hits: number; misses: number; size: number }"
        f' {{ throw new Error("{STUB_MARK}: {last.atom_id}"); }}\n}}\n'
    )


def test_a_failed_header_or_statement_stands_in_with_the_skeletons_lines() -> None:
    file = "src/lexer.ts"
    text = skeleton((EXAMPLE / file).read_bytes(), file)
    header = skeleton_stand_in(text, ["LexError", "Position", "TokenKind"], "typescript")
    assert header == (
        'import { LexError, type Position } from "./errors.js";\n'
        'import { KEYWORDS, OPERATORS, PUNCTUATION, type Token, TokenKind } from "./tokens.js";\n'
    )
    assert skeleton_stand_in(text, ["DIGIT"], "typescript") == "const DIGIT = /[0-9]/;\n"
    assert skeleton_stand_in(text, ["Lexer"], "typescript") == ""  # a class is its atoms


def test_a_file_with_stubs_compiles(tmp_path: Path) -> None:
    """The compiler accepts what is written for failed atoms (the project's tests
    then fail on the stub's error, naming the atom, instead of not loading)."""
    from mge.validate.typescript import TypeScriptService

    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    atoms, code = _planned("src/lexer.ts")
    left_out = {a.atom_id for a in atoms if a.qualname in ("Lexer", "Lexer.next", "Lexer.position")}
    text = assemble(
        atoms, lambda a: None if a.atom_id in left_out else code[a.atom_id], whole_definitions=True
    ).text
    for name in ("package.json", "tsconfig.json"):
        (tmp_path / name).write_bytes((EXAMPLE / name).read_bytes())
    others = {f: (EXAMPLE / f).read_text() for f in ("src/errors.ts", "src/tokens.ts")}
    with TypeScriptService(tmp_path) as service:
        diagnostics = service.check("src/lexer.ts", text, others)
    # The class header's fields are gone with it: only their uses are errors.
    assert {d.code for d in diagnostics} <= {2339}, diagnostics
