"""Property tests: atoms partition any input exactly, and re-atomizing is stable."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mge.atomize import AtomizeConfig, FileResult, atomize_source

LANGUAGE_FILES = {
    "python": "m.py",
    "typescript": "m.ts",
    "tsx": "m.tsx",
    "javascript": "m.js",
}

_PY_LEAVES = [
    "x = 1",
    "y = x + 2 if x else 3",
    "print('hello # not a comment')",
    "# a comment line",
    "",
    "return a and b or c",
    "items = [i for i in range(10) if i % 2]",
    'text = """line one\n\nline three"""',
    "assert value, 'message'",
    "raise ValueError('bad')",
    "a = b; c = d",
    "pass",
    "import os",
    "from x import (a,\n    b)",
    "def broken(:",
    "s = 'caf\\xe9'",
]
_PY_HEADERS = [
    "def f{n}(a, b=1):",
    "class C{n}(Base):",
    "if cond{n}:",
    "for i{n} in range(3):",
    "while x{n} > 0:",
    "try:",
    "with open(p{n}) as h:",
    "async def g{n}():",
    "@decorator\ndef h{n}():",
]
_JS_LEAVES = [
    "let x = 1;",
    "const y = a ? b : c;",
    "f(a && b || c ?? d);",
    "// comment",
    "/* block\n comment */",
    "",
    "return value;",
    "obj.method(() => { return 1; });",
    "const s = `template ${x}`;",
    "import { a } from 'b';",
    "throw new Error('x');",
    "function broken( {",
]
_JS_HEADERS = [
    "function f{n}(a, b) {{",
    "class C{n} {{",
    "if (c{n}) {{",
    "for (const i of xs{n}) {{",
    "while (x{n}) {{",
    "try {{",
    "describe('x{n}', () => {{",
]


@st.composite
def python_source(draw: st.DrawFn, depth: int = 0) -> str:
    lines: list[str] = []
    for n in range(draw(st.integers(0, 12))):
        indent = "    " * depth
        if depth < 3 and draw(st.booleans()):
            header = draw(st.sampled_from(_PY_HEADERS)).format(n=n)
            lines.extend(indent + part for part in header.split("\n"))
            body = draw(python_source(depth + 1))
            lines.append(body if body.strip() else indent + "    pass")
            if header == "try:":
                lines.append(indent + "except Exception:\n" + indent + "    pass")
        else:
            leaf = draw(st.sampled_from(_PY_LEAVES))
            lines.extend(indent + part for part in leaf.split("\n"))
    return "\n".join(lines)


@st.composite
def script_source(draw: st.DrawFn, depth: int = 0) -> str:
    lines: list[str] = []
    for n in range(draw(st.integers(0, 12))):
        indent = "  " * depth
        if depth < 3 and draw(st.booleans()):
            header = draw(st.sampled_from(_JS_HEADERS)).format(n=n)
            lines.append(indent + header)
            lines.append(draw(script_source(depth + 1)))
            lines.append(indent + ("});" if header.startswith("describe") else "}"))
        else:
            leaf = draw(st.sampled_from(_JS_LEAVES))
            lines.extend(indent + part for part in leaf.split("\n"))
    return "\n".join(lines)


configs = st.builds(
    lambda target, extra, complexity: AtomizeConfig(
        target_loc=target, max_loc=target + extra, max_complexity=complexity
    ),
    st.integers(1, 12),
    st.integers(0, 10),
    st.sampled_from([1.0, 2.0, 3.0, 5.0]),
)
line_endings = st.sampled_from(["\n", "\r\n"])


def assert_partition(result: FileResult, source: bytes) -> None:
    position = 0
    for atom in result.atoms:
        assert atom.start_byte == position
        assert atom.end_byte > atom.start_byte
        assert atom.code == source[atom.start_byte : atom.end_byte]
        position = atom.end_byte
    assert position == len(source)
    assert result.joined() == source
    assert result.partition_ok(source)


def signature(result: FileResult) -> list[tuple[object, ...]]:
    return [
        (a.id, a.kind, a.qualname, a.start_byte, a.end_byte, a.loc, a.complexity, a.violations)
        for a in result.atoms
    ]


def assert_bounds_reported(result: FileResult, config: AtomizeConfig) -> None:
    """Every atom is within bounds or says it is not: nothing exceeds silently."""
    for atom in result.atoms:
        assert ("size" in atom.violations) == (atom.loc > config.max_loc)
        assert ("complexity" in atom.violations) == (atom.complexity > config.max_complexity)
        assert atom.atomicity_score == (10 - len(atom.violations)) / 10


slow_settings = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@slow_settings
@given(python_source(), configs, line_endings)
def test_python_partition_and_idempotence(text: str, config: AtomizeConfig, eol: str) -> None:
    source = text.replace("\n", eol).encode("utf-8")
    result = atomize_source(source, "m.py", config=config)
    assert_partition(result, source)
    assert_bounds_reported(result, config)
    again = atomize_source(result.joined(), "m.py", config=config)
    assert signature(again) == signature(result)


@slow_settings
@given(script_source(), configs, st.sampled_from(["typescript", "tsx", "javascript"]))
def test_script_partition_and_idempotence(text: str, config: AtomizeConfig, language: str) -> None:
    source = text.encode("utf-8")
    path = LANGUAGE_FILES[language]
    result = atomize_source(source, path, config=config)
    assert_partition(result, source)
    assert_bounds_reported(result, config)
    again = atomize_source(result.joined(), path, config=config)
    assert signature(again) == signature(result)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=600), st.sampled_from(sorted(LANGUAGE_FILES)))
def test_arbitrary_bytes_partition(source: bytes, language: str) -> None:
    result = atomize_source(source, LANGUAGE_FILES[language])
    assert_partition(result, source)
    if source:
        assert result.atoms
    else:
        assert result.atoms == []


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=400), st.sampled_from(sorted(LANGUAGE_FILES)))
def test_arbitrary_text_partition(text: str, language: str) -> None:
    source = text.encode("utf-8", errors="surrogatepass")
    result = atomize_source(source, LANGUAGE_FILES[language])
    assert_partition(result, source)


def test_atom_ids_are_unique_and_stable() -> None:
    source = b"def f():\n    pass\n\n\ndef f():\n    pass\n\nx = 1\n"
    first = atomize_source(source, "dup.py")
    ids = [atom.id for atom in first.atoms]
    assert len(ids) == len(set(ids))
    assert ids == [atom.id for atom in atomize_source(source, "dup.py").atoms]
    assert "dup.py::f#0" in ids and "dup.py::f#1" in ids
