"""The compact view atomic validation reads: smaller than the file, same verdicts."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

import pytest

from mge.db import make_engine, migrate
from mge.execute import build_settings, create_run, execute_run
from mge.execute._assembly import PlannedAtom, assemble
from mge.execute._engine import Runner
from mge.validate import AtomVerdict, validate_atom


def _atom(key: str, kind: str, qualname: str, indent: str = "") -> PlannedAtom:
    return PlannedAtom(
        atom_id=key,
        file="m.py",
        kind=kind,
        name=qualname.rsplit(".", 1)[-1],
        qualname=qualname,
        signature=f"def {qualname.rsplit('.', 1)[-1]}(self)" if kind == "method" else None,
        indent=indent,
        body_indent=indent + "    ",
    )


ATOMS = [
    _atom("h", "module_header", "<module>"),
    _atom("f", "function", "f"),
    _atom("f1", "block", "f", "    "),
    _atom("C", "class_header", "C"),
    _atom("C.a", "method", "C.a", "    "),
    _atom("C.b", "method", "C.b", "    "),
    _atom("g", "function", "g"),
    _atom("s", "statement", "<module>"),
]

CODE = {
    "h": "import os\n",
    "f": "def f(x):\n    y = x + 1\n",
    "f1": "    return y\n",
    "C": "class C:\n    size = 3\n",
    "C.a": "    def a(self):\n        return f(self.size)\n",
    "C.b": "    def b(self):\n        return g()\n",
    "g": "def g():\n    global LIMIT\n    LIMIT = 1\n",
    "s": "LIMIT = 2\n",
}


def _code(atom: PlannedAtom) -> str | None:
    return CODE.get(atom.atom_id)


def test_definitions_away_from_the_atom_become_bindings_in_place() -> None:
    assembled = assemble(ATOMS, _code, around="C.b")
    assert assembled.text == (
        "import os\n"
        "f = None\n"  # f and its block piece, collapsed
        "class C:\n    size = 3\n"  # the class holding the atom is kept...
        "    a = None\n"  # ...with its other methods reduced
        "    def b(self):\n        return g()\n"
        # g declares a global, so it is kept whole
        "def g():\n    global LIMIT\n    LIMIT = 1\n"
        "LIMIT = 2\n"
    )
    first, last = assembled.spans["C.b"]
    assert assembled.text.splitlines()[first - 1 : last] == CODE["C.b"].splitlines()
    assert set(assembled.spans) == {"h", "C", "C.b", "g", "s"}


def test_neighbouring_stand_ins_share_one_binding() -> None:
    # f (with its block) and C (with its methods) stand next to each other: one
    # statement binds both, so a file of many definitions costs one line to check.
    assembled = assemble(ATOMS, _code, around="g")
    assert assembled.text == (
        "import os\nf = C = None\ndef g():\n    global LIMIT\n    LIMIT = 1\nLIMIT = 2\n"
    )
    first, last = assembled.spans["g"]
    assert assembled.text.splitlines()[first - 1 : last] == CODE["g"].splitlines()
    assert assembled.spans["s"] == (last + 1, last + 1)


def test_a_block_piece_keeps_its_whole_function() -> None:
    assembled = assemble(ATOMS, _code, around="f1")
    assert "def f(x):\n    y = x + 1\n    return y\n" in assembled.text
    assert "C = None\n" in assembled.text
    ast.parse(assembled.text)


def test_without_around_the_file_is_whole() -> None:
    assembled = assemble(ATOMS, _code)
    assert assembled.text == "".join(CODE[a.atom_id] for a in ATOMS)


def _comparable(verdict: AtomVerdict) -> list[tuple[str, bool, str, str | None]]:
    return [(r.check, r.passed, r.output, r.error_class) for r in verdict.results]


def test_compact_and_whole_file_give_the_same_verdict_on_every_attempt(
    sqlite_url: str, example_plan: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every candidate of a faulty run of the example is judged on both views."""
    original = Runner._validate
    compared: list[str] = []
    differences: list[object] = []
    shrunk: list[bool] = []

    def both(self: Runner, key: str, candidate: str, *, plan_binding: bool = True) -> AtomVerdict:
        if ">>>" not in candidate:
            spec = self._spec_for(key, plan_binding=plan_binding)
            whole = self._assembly_for(key, candidate, compact=False)
            compact = self._assembly_for(key, candidate, compact=True)
            on_compact = _comparable(validate_atom(candidate, spec, compact))
            on_whole = _comparable(validate_atom(candidate, spec, whole))
            # Broken code is judged again on the whole file by the engine itself.
            broken = any(error_class == "syntax" for *_, error_class in on_compact)
            if on_compact != on_whole and not broken:
                # Recorded, not asserted: the engine would catch an assertion here.
                differences.append((key, on_compact, on_whole))
            compared.append(key)
            shrunk.append(len(compact.text) < len(whole.text))
        return original(self, key, candidate, plan_binding=plan_binding)

    monkeypatch.setattr(Runner, "_validate", both)
    migrate.upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    try:
        settings = build_settings(
            out_dir=str(tmp_path / "out"), fault_rate=0.3, seed=1, levels="atomic"
        )
        run_id = create_run(engine, example_plan, settings)
        asyncio.run(execute_run(engine, run_id))
    finally:
        engine.dispose()
    assert differences == []
    assert len(compared) > 150
    assert sum(shrunk) > len(shrunk) // 2


def test_a_def_after_one_of_the_same_name_is_its_own_definition() -> None:
    # Two `@overload` variants, then the concrete def cut into two pieces: with the
    # variants left out, the concrete def's block is still judged in place.
    atoms = [
        _atom("C", "class_header", "C"),
        _atom("C.get#0", "method", "C.get", "    "),
        _atom("C.get#1", "method", "C.get", "    "),
        _atom("C.get#2", "method", "C.get", "    "),
        _atom("C.get#3", "block", "C.get", "        "),
    ]
    code = {
        "C": "class C:\n",
        "C.get#2": "    def get(self):\n        x = 1\n",
        "C.get#3": "        return x\n",
    }
    assembled = assemble(atoms, lambda atom: code.get(atom.atom_id), around="C.get#3")
    assert "C.get#3" in assembled.spans
    first, last = assembled.spans["C.get#3"]
    assert assembled.text.splitlines()[first - 1 : last] == ["        return x"]
    ast.parse(assembled.text)
