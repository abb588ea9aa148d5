"""The public surface of `mge.atomize` and its small contracts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import mge.atomize
from mge.atomize import (
    CRITERIA,
    AtomizeConfig,
    atomize_paths,
    atomize_source,
    atomize_sources,
    detect_language,
)
from mge.errors import AtomizeError, ConfigError

from .conftest import FIXTURES


def test_public_names_are_pinned() -> None:
    assert sorted(mge.atomize.__all__) == sorted(
        [
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
    )


def test_ten_named_criteria() -> None:
    assert len(CRITERIA) == 10 and len(set(CRITERIA)) == 10


@pytest.mark.parametrize(
    ("path", "language"),
    [
        ("a.py", "python"),
        ("a.pyi", "python"),
        ("a.ts", "typescript"),
        ("a.tsx", "tsx"),
        ("a.js", "javascript"),
        ("a.mjs", "javascript"),
        ("a.cjs", "javascript"),
        ("a.jsx", "javascript"),
        ("A.PY", "python"),
    ],
)
def test_detect_language(path: str, language: str) -> None:
    assert detect_language(path) == language


def test_detect_language_rejects_unknown() -> None:
    with pytest.raises(AtomizeError, match="unsupported file type"):
        detect_language("a.rb")


@pytest.mark.parametrize(
    "kwargs",
    [{"target_loc": 0}, {"target_loc": 10, "max_loc": 5}, {"max_complexity": 0.5}],
)
def test_config_validation(kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        AtomizeConfig(**kwargs)  # type: ignore[arg-type]


def test_atomize_source_rejects_text() -> None:
    with pytest.raises(AtomizeError, match="takes bytes"):
        atomize_source("x = 1\n", "a.py")  # type: ignore[arg-type]


def test_scores_are_exact_tenths() -> None:
    source = (FIXTURES / "inventory.py").read_bytes()
    for atom in atomize_source(source, "inventory.py").atoms:
        assert atom.atomicity_score == round(atom.atomicity_score, 1)
        assert repr(atom.atomicity_score) in {"1.0", "0.9", "0.8", "0.7", "0.6", "0.5"}


def test_atom_to_dict_is_json_and_lossless_for_utf8() -> None:
    source = "s = 'naïve ✓'\n".encode()
    atom = atomize_source(source, "u.py").atoms[0]
    data = json.loads(json.dumps(atom.to_dict()))
    assert data["code"].encode() == source
    assert data["nws_chars"] == len(b"s='na\xc3\xafve\xe2\x9c\x93'")


def test_walk_skips_dependencies_virtualenvs_and_gitignored(tmp_path: Path) -> None:
    root = tmp_path
    (root / "src").mkdir()
    (root / "src" / "a.py").write_text("a = 1\n")
    (root / "node_modules" / "m").mkdir(parents=True)
    (root / "node_modules" / "m" / "i.js").write_text("x\n")
    (root / "venv").mkdir()
    (root / "venv" / "pyvenv.cfg").write_text("\n")
    (root / "venv" / "v.py").write_text("v = 1\n")
    (root / "venv_tools").mkdir()
    (root / "venv_tools" / "t.py").write_text("t = 1\n")
    (root / "out").mkdir()
    (root / "out" / "o.js").write_text("o\n")
    (root / "src" / "gen_pb2.py").write_text("g = 1\n")
    (root / ".gitignore").write_text("out/\n*_pb2.py\n")
    names = sorted(Path(r.path).relative_to(root).as_posix() for r in atomize_paths([root]))
    assert names == ["src/a.py", "venv_tools/t.py"]


def test_a_kept_tree_is_the_parse_of_the_source_and_no_part_of_the_result() -> None:
    source = b"class A:\n    def f(self) -> int:\n        return 1\n\n\nx = A().f(\n"
    plain = atomize_source(source, "k.py")
    kept = atomize_source(source, "k.py", keep_tree=True)
    assert plain.tree is None
    assert kept.tree is not None
    root = kept.tree.root_node
    assert root.type == "module" and root.text == source
    assert root.has_error == kept.has_syntax_error is True
    # A cache for the graph layer: equality, repr and the JSON form ignore it.
    assert kept == plain
    assert repr(kept) == repr(plain)
    assert kept.to_dict() == plain.to_dict()


def test_atomize_paths_keeps_trees_only_when_asked(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("a = 1\n")
    (tmp_path / "b.ts").write_text("export const b: number = 2;\n")
    assert all(result.tree is None for result in atomize_paths([tmp_path]))
    kept = atomize_paths([tmp_path], keep_trees=True)
    assert [result.tree.root_node.type for result in kept if result.tree] == [
        "module",
        "program",
    ]


def test_measuring_a_snippet_agrees_with_adding_up_its_atoms() -> None:
    from mge.atomize import complexity_of, measure_source

    source = (
        b"# a comment line\n"
        b"def pick(items: list[int], limit: int) -> list[int]:\n"
        b'    """Keep the small ones."""\n'
        b"\n"
        b"    kept = []  # trailing comment\n"
        b"    for item in items:\n"
        b"        if item < limit and item > 0:\n"
        b"            kept.append(item)\n"
        b"    return kept\n"
    )
    loc, complexity = measure_source(source, "python")
    assert loc == sum(a.loc for a in atomize_source(source, "m.py").atoms) == 7
    assert complexity == complexity_of(source, "python") == 4.0


def test_a_long_signature_is_kept_whole() -> None:
    # The signature is code (a stand-in's `def` line, the atom's contract), so it is
    # never clipped however long its annotations are.
    parameters = ", ".join(f"parameter_number_{i}: dict[str, list[int]]" for i in range(20))
    source = f"def wide({parameters}) -> int:\n    return 1\n"
    (atom,) = atomize_source(source.encode(), "w.py").atoms
    assert atom.context["signature"] == source.splitlines()[0].removesuffix(":")


def test_atomizing_in_processes_gives_the_serial_results_in_order(tmp_path: Path) -> None:
    """Forty copies of the fixtures in four languages, one of them not UTF-8: the
    pool's results and notices equal the serial run's, in the walk's order."""
    sources = sorted(path for path in FIXTURES.iterdir() if path.is_file())
    for copy in range(8):
        for source in sources:
            name = source.name.replace("broken_py.txt", "broken.py")
            (tmp_path / f"c{copy:02d}_{name}").write_bytes(source.read_bytes())
    (tmp_path / "latin.py").write_bytes(b"name = '\xe9t\xe9'\n")
    serial_notices: list[str] = []
    pooled_notices: list[str] = []
    serial = atomize_paths([tmp_path], workers=1, on_notice=serial_notices.append)
    pooled = atomize_paths([tmp_path], workers=2, on_notice=pooled_notices.append)
    assert len(serial) == 41
    assert pooled == serial
    assert [result.path for result in pooled] == [result.path for result in serial]
    assert pooled_notices == serial_notices and any("not valid UTF-8" in n for n in serial_notices)


def test_sources_atomized_in_processes_arrive_in_order_as_the_serial_run_gives_them() -> None:
    """Sources held in memory (how a migration atomizes stored code): the forked
    workers' results equal `atomize_source` one by one, in input order, and come
    from a generator that hands out the first ones before it is drained."""
    fixtures = sorted(path for path in FIXTURES.iterdir() if path.is_file())
    sources = [
        (path.read_bytes(), f"c{copy:02d}_{path.name.replace('broken_py.txt', 'broken.py')}")
        for copy in range(8)
        for path in fixtures
    ]
    expected = [atomize_source(source, name) for source, name in sources]
    arriving = atomize_sources(sources, workers=2)
    first = next(arriving)
    assert first == expected[0]
    assert [first, *arriving] == expected
    assert list(atomize_sources(sources, workers=1)) == expected


def test_a_source_that_fails_in_a_worker_raises_in_the_caller() -> None:
    sources = [(b"x = 1\n", f"m{number}.py") for number in range(40)]
    sources[25] = (b"x = 1\n", "notes.rb")
    with pytest.raises(AtomizeError, match=r"notes\.rb"):
        list(atomize_sources(sources, workers=2))


def test_prepare_builds_the_queries_it_is_asked_for_once() -> None:
    from mge.atomize import measure_source, prepare
    from mge.atomize._queries import _query

    _query.cache_clear()
    prepare(["py", "typescript", "python"])
    assert _query.cache_info().currsize == 2
    misses = _query.cache_info().misses
    measure_source(b"def f():\n    return 1\n", "python")
    assert _query.cache_info().misses == misses  # built already, not on first use
    with pytest.raises(AtomizeError, match="unknown language"):
        prepare(["cobol"])
