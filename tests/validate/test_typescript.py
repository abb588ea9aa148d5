"""L1 for TypeScript and JavaScript: the compiler service, diagnostics mapped to the
atom and classified, the contract against the skeleton (mge.validate.typescript)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from mge.validate import Assembly, AtomSpec, validate_atom
from mge.validate.typescript import TypeScriptService, check_compiler, in_skeleton

EXAMPLE = Path(__file__).parents[2] / "examples" / "ts-ledger" / "reference"


@pytest.fixture(scope="module")
def service() -> Iterator[TypeScriptService]:
    with TypeScriptService(EXAMPLE) as running:
        yield running


@pytest.fixture(scope="module")
def js_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TypeScriptService]:
    root = tmp_path_factory.mktemp("js")
    (root / "package.json").write_text(json.dumps({"name": "js", "type": "module"}))
    (root / "util.js").write_text("export function twice(n) { return 2 * n; }\n")
    with TypeScriptService(root) as running:
        yield running


def _spec(
    file: str, name: str = "f", signature: str | None = None, lang: str = "typescript"
) -> AtomSpec:
    return AtomSpec(
        atom_id=f"{file}::{name}",
        kind="function",
        name=name,
        qualname=name,
        language=lang,
        file=file,
        signature=signature,
    )


HEADER = 'import { formatCents, type Cents } from "./util/money.js";\n\n'


def _assembly(candidate: str, before: str = HEADER, after: str = "") -> Assembly:
    first = before.count("\n") + 1
    return Assembly(
        text=before + candidate + after,
        first_line=first,
        last_line=first + candidate.count("\n") - (0 if candidate.endswith("\n") else -1) - 1,
    )


CASES = [
    ("export function f(c: Cents): string {\n  return formatCents(c);\n}\n", None),
    ("export function f(c: Cents): string {\n  return formatDollars(c);\n}\n", "name"),
    ("export function f(c: Cents): number {\n  return formatCents(c);\n}\n", "type"),
    ("export function f(c: Cents): string {\n  return formatCents(c, 2);\n}\n", "type"),
    ('export function f(c: Cents): string {\n  return import("./nowhere.js");\n}\n', "name"),
]


@pytest.mark.parametrize(("candidate", "error_class"), CASES)
def test_each_error_kind_is_classified(
    service: TypeScriptService, candidate: str, error_class: str | None
) -> None:
    spec = _spec("src/check.ts", signature="export function f(c: Cents): string")
    verdict = validate_atom(candidate, spec, _assembly(candidate), compiler=service)
    types = next(r for r in verdict.results if r.check == "types")
    assert types.passed is (error_class is None), types.output
    assert types.error_class == error_class
    if error_class is not None:
        assert f"[{error_class}] types: line 2: TS" in verdict.feedback()


def test_broken_syntax_is_caught_before_the_compiler(service: TypeScriptService) -> None:
    candidate = "export function f(c: Cents): string {\n  return (c;\n}\n"
    verdict = validate_atom(
        candidate, _spec("src/check.ts"), _assembly(candidate), compiler=service
    )
    assert verdict.error_classes == ["syntax"]


def test_diagnostics_outside_the_atom_are_not_its_own(service: TypeScriptService) -> None:
    candidate = "export function f(c: Cents): string {\n  return formatCents(c);\n}\n"
    after = "\nexport const broken: number = undefinedThing;\n"
    verdict = validate_atom(
        candidate, _spec("src/check.ts"), _assembly(candidate, after=after), compiler=service
    )
    assert verdict.passed, verdict.feedback()
    # The same error inside the atom's lines is its own.
    inside = candidate + "export const broken: number = undefinedThing;\n"
    verdict = validate_atom(inside, _spec("src/check.ts"), _assembly(inside), compiler=service)
    assert "line 4: TS2304" in verdict.feedback()


def test_the_contract_is_the_skeletons_signature(service: TypeScriptService) -> None:
    spec = _spec("src/check.ts", signature="export function f(c: Cents): string")
    renamed = "export function g(c: Cents): string {\n  return formatCents(c);\n}\n"
    verdict = validate_atom(renamed, spec, _assembly(renamed), compiler=service)
    assert "contract" in verdict.error_classes
    other_params = (
        "export function f(c: Cents, d: number): string {\n  return formatCents(c + d);\n}\n"
    )
    verdict = validate_atom(other_params, spec, _assembly(other_params), compiler=service)
    contract = next(r for r in verdict.results if r.check == "contract")
    assert not contract.passed and "parameters" in contract.output


def test_javascript_is_checked_with_check_js(js_service: TypeScriptService) -> None:
    before = 'import { twice } from "./util.js";\n\n'
    good = "export function f(n) {\n  return twice(n) + 1;\n}\n"
    bad = "export function f(n) {\n  return thrice(n).toFixed();\n}\n"
    spec = _spec("main.js", lang="javascript")
    assert validate_atom(good, spec, _assembly(good, before), compiler=js_service).passed
    verdict = validate_atom(bad, spec, _assembly(bad, before), compiler=js_service)
    assert verdict.error_classes == ["name"]


def test_one_process_serves_every_check(service: TypeScriptService) -> None:
    pid = service._process.pid
    for n in range(5):
        candidate = f"export function f(c: Cents): string {{\n  return formatCents(c + {n});\n}}\n"
        assert validate_atom(
            candidate, _spec("src/check.ts"), _assembly(candidate), compiler=service
        ).passed
    assert service._process.pid == pid and service._process.poll() is None
    assert service.versions["typescript"] == "5.6.3"


def test_a_method_checked_on_its_files_skeleton(service: TypeScriptService) -> None:
    from mge.atomize import skeleton

    ledger = EXAMPLE / "src" / "core" / "ledger.ts"
    text = skeleton(ledger.read_bytes(), "src/core/ledger.ts")
    original = ledger.read_text()
    start = original.index("  balance(code: string): Cents {")
    method = original[start : original.index("\n  }\n", start) + 5]
    spec = AtomSpec(
        atom_id="src/core/ledger.ts::Ledger.balance#0",
        kind="method",
        name="balance",
        qualname="Ledger.balance",
        language="typescript",
        file="src/core/ledger.ts",
    )
    assembly = in_skeleton(text, method, spec)
    assert assembly is not None
    assert check_compiler(method, spec, assembly, service).passed
    broken = method.replace("this.lines.filter", "this.entries.filter")
    assembly = in_skeleton(text, broken, spec)
    assert assembly is not None
    result = check_compiler(broken, spec, assembly, service)
    assert result.error_class == "name"
    assert result.output.startswith("line 6: TS2339 Property 'entries' does not exist")


def test_a_missing_toolchain_is_one_line_with_the_fix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from mge.validate import typescript

    monkeypatch.setattr(typescript, "SERVICE_DIR", tmp_path)
    with pytest.raises(typescript.ToolchainMissing, match=r"run `npm ci --prefix .*` \(make test"):
        typescript.ensure_compiler()
    monkeypatch.setattr(typescript.shutil, "which", lambda name: None)
    with pytest.raises(typescript.ToolchainMissing) as missing:
        typescript.ensure_compiler()
    assert str(missing.value).startswith("node is not installed; install it with `sudo apt-get")
    assert "\n" not in str(missing.value)


def test_imports_resolve_between_files_handed_in(tmp_path: Path) -> None:
    """A run's service root holds only the project's configuration; the files it
    checks live in folders that exist only in what was handed in. node16 resolution
    asks for those folders first: without them every import was `any` (TS2307 outside
    the atom's lines), and a callback's parameter then failed as implicitly `any`."""
    for name in ("package.json", "tsconfig.json"):
        (tmp_path / name).write_bytes((EXAMPLE / name).read_bytes())
    others = {
        "src/util/list.ts": "export const WORDS: readonly string[] = [];\n",
        "src/kinds.ts": 'export type Kind = "a" | "b";\n',
    }
    target = "src/core/use.ts"
    text = (
        'import { WORDS } from "../util/list.js";\n'
        'import type { Kind } from "../kinds.js";\n'
        "export function f(): number {\n"
        "  return WORDS.filter((word) => word.length > 1).length;\n"
        "}\n"
        "export function g(kind: Kind): number {\n"
        "  switch (kind) {\n"
        '    case "a":\n'
        "      return 1;\n"
        '    case "b":\n'
        "      return 2;\n"
        "  }\n"
        "}\n"
    )
    with TypeScriptService(tmp_path) as running:
        assert running.check(target, text, others) == []
        wrong = text.replace("WORDS.filter", "WORDS.filtre")
        assert 2551 in {d.code for d in running.check(target, wrong, others)}


def test_what_a_candidate_breaks_after_its_lines_is_its_own(tmp_path: Path) -> None:
    """A body cut short leaves brackets open (the parser reports it lines later) and
    a method without a body takes the next one as its implementation: both outside
    the candidate's lines, both absent from the skeleton alone."""
    from mge.atomize import skeleton

    calc = EXAMPLE.parents[1] / "ts-calc" / "reference"
    for name in ("package.json", "tsconfig.json"):
        (tmp_path / name).write_bytes((calc / name).read_bytes())
    file = "src/runtime/scope.ts"
    text = skeleton((calc / file).read_bytes(), file)
    spec = AtomSpec(
        atom_id=f"{file}::Scope.define#0",
        kind="method",
        name="define",
        qualname="Scope.define",
        language="typescript",
        file=file,
    )
    good = "  define(name: string, value: T): void {\n    this.names.set(name, value);\n  }\n"
    cases = {
        good: (True, None),
        "  define(name: string, value: T): void\n": (False, "type"),
        "  define(name: string, value: T): void {\n    this.names.set(name,\n": (False, "syntax"),
    }
    with TypeScriptService(tmp_path) as running:
        for candidate, (passed, error_class) in cases.items():
            assembly = in_skeleton(text, candidate, spec)
            assert assembly is not None
            result = check_compiler(candidate, spec, assembly, running, baseline=text)
            assert (result.passed, result.error_class) == (passed, error_class), result
            if not passed:
                assert result.output.startswith("after the end of this code: TS")
            # Without the baseline only the candidate's own lines count.
            assert check_compiler(candidate, spec, assembly, running).passed


def test_a_top_level_statement_cut_short_is_a_syntax_error() -> None:
    """In the file, the parser takes the next definition into the open braces and
    reports nothing inside the statement's lines (the next atom then failed on it);
    alone, it does not parse."""
    spec = AtomSpec(
        atom_id="src/a.ts::<module>#1",
        kind="statement",
        name="<module>",
        qualname="<module>",
        language="typescript",
        file="src/a.ts",
    )
    after = "export class Calculator {\n  private readonly size = 1;\n}\n"
    cut = "export interface Options {\n  readonly\n"
    whole = "export interface Options {\n  readonly size?: number;\n}\n\n"
    verdict = validate_atom(cut, spec, _assembly(cut, before="", after=after))
    assert verdict.error_classes == ["syntax"]
    assert validate_atom(whole, spec, _assembly(whole, before="", after=after)).passed
    # A statement the plan continues in blocks after it is not whole by itself.
    continued = dataclasses.replace(spec, continued=True)
    opened = "if (ready) {\n  start();\n"
    rest = "  stop();\n}\n"
    assert validate_atom(opened, continued, _assembly(opened, before="", after=rest)).passed


@pytest.mark.parametrize("language", ["javascript", "typescript"])
def test_a_piece_cut_inside_a_statement_the_next_piece_completes_is_a_syntax_error(
    language: str,
) -> None:
    """`this.limit =` followed by the next piece's `p = i + 1` parses as one chained
    assignment: nothing is broken, so only where the statement ends can tell that
    the piece stopped inside it. A piece that ends between statements, or inside an
    open block the next piece goes on with, is whole."""
    spec = AtomSpec(
        atom_id="lib/a.js::<module>#2",
        kind="block",
        name="write",
        qualname="write",
        language=language,
        file="lib/a.js",
        continued=True,
    )
    before = "function write(data, i) {\n  let p = 0\n"
    after = "  p = i + 1\n  return p\n}\n"
    cases = {
        "  if (i > p) {\n    this.key = data\n    this.limit =\n": False,
        "  this.total = this.total +\n": False,
        "  if (i > p) {\n    this.key = data\n    this.limit = false\n  }\n": True,
        "  this.limit = false // p is set next\n": True,
        "  if (i > p) {\n    this.key = data\n": True,
    }
    for candidate, whole in cases.items():
        closing = "  }\n" if candidate.rstrip().endswith("{\n    this.key = data") else ""
        verdict = validate_atom(candidate, spec, _assembly(candidate, before, closing + after))
        if whole:
            assert verdict.passed, (candidate, verdict)
        else:
            assert verdict.error_classes == ["syntax"], candidate
            assert any("cut off" in r.output for r in verdict.results), verdict


@pytest.mark.parametrize("language", ["javascript", "typescript"])
def test_a_statement_that_only_names_a_value_is_a_syntax_error(language: str) -> None:
    """`module.exports = SBMH` cut at its `=` is `module.exports`: valid code that
    exports nothing, and the file's last statement, so no next code shows the cut."""
    spec = AtomSpec(
        atom_id="lib/a.js::<module>#9",
        kind="statement",
        name="<module>",
        qualname="<module>",
        language=language,
        file="lib/a.js",
    )
    before = "function SBMH () {}\n\n"
    for cut in ("module.exports\n", "exports.SBMH\n", "SBMH\n", "modules[0]\n"):
        verdict = validate_atom(cut, spec, _assembly(cut, before))
        assert verdict.error_classes == ["syntax"], cut
        assert any("no effect" in r.output for r in verdict.results)
    for whole in ("module.exports = SBMH\n", "'use strict'\n", "SBMH.prototype.reset()\n"):
        assert validate_atom(whole, spec, _assembly(whole, before)).passed, whole


def test_a_top_level_statement_is_held_to_the_names_its_plan_reads() -> None:
    """A statement is planned whole in the skeleton: an answer that ends one
    statement early (`module.exports = SBMH` left out) is valid code that exports
    nothing; the plan says it reads `module`."""
    spec = AtomSpec(
        atom_id="lib/a.js::<module>#9",
        kind="statement",
        name="<module>",
        qualname="<module>",
        language="javascript",
        file="lib/a.js",
        declared_calls=("SBMH", "module"),
    )
    whole = "SBMH.prototype.reset = function () {}\nmodule.exports = SBMH\n"
    short = "SBMH.prototype.reset = function () {}\n"
    before = "function SBMH () {}\n\n"
    assert validate_atom(whole, spec, _assembly(whole, before)).passed
    verdict = validate_atom(short, spec, _assembly(short, before))
    assert verdict.error_classes == ["contract"]
    assert "it never uses module" in verdict.feedback()
    # Only top-level statements: a JavaScript function keeps to the compiler's checks.
    function = dataclasses.replace(spec, kind="function")
    assert validate_atom(short, function, _assembly(short, before)).passed


def test_every_reference_definition_passes_on_its_skeleton(tmp_path: Path) -> None:
    """At fault rate 0 no atom may fail: each function and method of the ts-calc
    example, in its file's skeleton beside the others' skeletons, compared with the
    skeleton alone. The last method of a class carries the class's closing brace."""
    from mge.atomize import atomize_source, skeleton

    calc = EXAMPLE.parents[1] / "ts-calc" / "reference"
    for name in ("package.json", "tsconfig.json"):
        (tmp_path / name).write_bytes((calc / name).read_bytes())
    files = sorted(str(p.relative_to(calc)) for p in (calc / "src").rglob("*.ts"))
    skeletons = {f: skeleton((calc / f).read_bytes(), f) for f in files}
    checked = 0
    with TypeScriptService(tmp_path) as running:
        for file in files:
            others = {f: t for f, t in skeletons.items() if f != file}
            texts: dict[str, str] = {}
            specs: dict[str, AtomSpec] = {}
            last = ""
            for atom in atomize_source((calc / file).read_bytes(), file).atoms:
                if atom.kind == "block":  # a run plans whole definitions
                    texts[last] += atom.text
                    continue
                last = atom.id
                texts[atom.id] = atom.text
                specs[atom.id] = AtomSpec(
                    atom_id=atom.id,
                    kind=atom.kind,
                    name=atom.name,
                    qualname=atom.qualname,
                    language="typescript",
                    file=file,
                )
            for key, spec in specs.items():
                assembly = in_skeleton(skeletons[file], texts[key], spec)
                if assembly is None:
                    continue
                result = check_compiler(
                    texts[key], spec, assembly, running, others, skeletons[file]
                )
                assert result.passed, (key, result.output)
                checked += 1
    assert checked > 60


def test_a_module_header_is_checked_by_the_compiler_on_its_files_skeleton(
    tmp_path: Path,
) -> None:
    """A header naming a module that is not there was accepted (syntax only), and
    every test loading the file then failed with an error naming no project line."""
    from mge.atomize import atomize_source, skeleton

    calc = EXAMPLE.parents[1] / "ts-calc" / "reference"
    for name in ("package.json", "tsconfig.json"):
        (tmp_path / name).write_bytes((calc / name).read_bytes())
    files = sorted(str(p.relative_to(calc)) for p in (calc / "src").rglob("*.ts"))
    skeletons = {f: skeleton((calc / f).read_bytes(), f) for f in files}
    file = "src/lexer.ts"
    others = {f: t for f, t in skeletons.items() if f != file}
    header = atomize_source((calc / file).read_bytes(), file).atoms[0]
    assert header.kind == "module_header"
    spec = AtomSpec(
        atom_id=header.id,
        kind="module_header",
        name=header.name,
        qualname=header.qualname,
        language="typescript",
        file=file,
    )
    misspelt = header.text.replace('"./tokens.js"', '"./tokes.js"')
    no_token = header.text.replace("type Token, ", "")
    assert misspelt != header.text and no_token != header.text
    with TypeScriptService(tmp_path) as running:

        def check(candidate: str) -> tuple[bool, str | None, str]:
            assembly = in_skeleton(skeletons[file], candidate, spec)
            assert assembly is not None
            result = check_compiler(candidate, spec, assembly, running, others, skeletons[file])
            return result.passed, result.error_class, result.output

        assert check(header.text)[:2] == (True, None)
        passed, error_class, output = check(misspelt)
        assert (passed, error_class) == (False, "name")
        assert "TS2307" in output and "./tokes.js" in output
        passed, error_class, output = check(no_token)
        assert (passed, error_class) == (False, "name")
        assert "after the end of this code: TS2304 Cannot find name 'Token'" in output


PROTOTYPES = """\
'use strict'

function createError (code) {
  function CustomError (message) {
    this.code = code
    this.message = message
  }
  CustomError.prototype = Object.create(Error.prototype)
  return CustomError
}

/**
 * @param {{ code?: string }} options
 */
function withCause (options) {
  const Made = createError(options.code)
  Made.prototype.cause = options.cause
  return Made
}

module.exports = { createError, withCause }
"""


def test_javascript_counts_only_what_does_not_hang_on_inferred_types(tmp_path: Path) -> None:
    """Beside the skeleton, `createError` only throws, so the compiler infers that it
    returns nothing and reads `Made.prototype` on `void`; the JSDoc shape lists no
    `cause`. Both are right in the real file, so neither may reject the reference's
    body. A name that is not there is wrong whatever the bodies infer."""
    from mge.atomize import skeleton

    (tmp_path / "package.json").write_text(json.dumps({"name": "errors"}))
    text = skeleton(PROTOTYPES.encode(), "index.js", statements=True)
    assert "module.exports = { createError, withCause }" in text
    start = PROTOTYPES.index("function withCause")
    body = PROTOTYPES[start : PROTOTYPES.index("\n}\n", start) + 3]
    spec = _spec("index.js", name="withCause", lang="javascript")
    with TypeScriptService(tmp_path) as running:
        assembly = in_skeleton(text, body, spec)
        assert assembly is not None
        raw = running.check("index.js", assembly.text)
        assert {d.code for d in raw} == set(), "the filter is applied inside check"
        assert check_compiler(body, spec, assembly, running, baseline=text).passed
        misspelt = body.replace("createError(options", "creatError(options")
        assembly = in_skeleton(text, misspelt, spec)
        assert assembly is not None
        result = check_compiler(misspelt, spec, assembly, running, baseline=text)
        assert not result.passed and result.error_class == "name"
        assert "TS2552" in result.output or "TS2304" in result.output
        # Grammar holds whatever is inferred (`const` without a value does not load);
        # a grammar code that judges an inferred type does not count.
        grammar = running.check("grammar.js", "const decodeText\nmodule.exports = 1\n")
        assert [d.code for d in grammar] == [1155]
        truthy = running.check("truthy.js", "function g () {}\nif (g()) { g() }\n")
        assert truthy == []
        # The same read in TypeScript keeps its type error: types there are declared.
        typed = running.check("typed.ts", "function f(): void {}\nf().prototype\n")
        assert [d.code for d in typed] == [2339]
        # A member the language's library does not have, read on one of its globals,
        # is wrong whatever the bodies infer; writes, members it has in a newer
        # edition than ES2022, and members of the code's own values are not judged.
        members = running.check(
            "members.js",
            "const isArray = Array.isArrray\n"
            "const floor = Math.flor(1.5)\n"
            "const last = [1, 2].findLast((n) => n > 1)\n"
            "const sorted = Array.prototype.toSorted\n"
            "const own = Object.hasOwn({}, 'a')\n"
            "process.mgeFlag = true\n"
            "const error = new Error('x')\n"
            "error.code = 'E_X'\n"
            "module.exports = { isArray, floor, last, sorted, own, code: error.code }\n",
        )
        assert [(d.line, d.code) for d in members] == [(1, 2551), (2, 2551)]
