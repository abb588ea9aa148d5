"""How well the tests pin each atom down, measured by a few small mutants.

Coverage says a test *ran* a line; it does not say a test would notice if the line
were wrong. A flipped comparison or a changed constant in code the tests execute
but never check is a silent fault no stored fact distinguishes from correct code.
So, after the acceptance run, each atom gets a few mutants — one operator or
constant changed in one of its executed lines — and each mutant runs against only
the passing tests that executed that line. A mutant no test notices ("survived")
says this atom's behaviour is not pinned down: a fault here would pass too.

Why a small hand-written mutator rather than mutmut or cosmic-ray: both drive a
whole test suite through their own CLI, configuration and result database, and
mutate files on disk; neither can be told "these two nodes of this atom's span,
against these tests" from the per-test coverage the run already stored. What we
need is a handful of AST edits and a fast runner, so it is a page of code.

Mutants are chosen deterministically (seeded by the atom key), at most a few per
atom, and run in rounds (every atom's first mutant, then every atom's second)
so a time budget spreads over as many atoms as it can. Atoms not reached get no
signal. Mutants run in the sandbox (`_mutation_driver`), never in MGE.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from mge.validate.blame import AtomSpan, SpanIndex
from mge.validate.sandbox import Limits, run_python

__all__ = [
    "Mutant",
    "MutationScore",
    "atom_mutants",
    "file_mutants",
    "line_tests",
    "mutation_scores",
    "plan_mutants",
    "run_mutants",
]

_DRIVER = Path(__file__).with_name("_mutation_driver.py")
_MARK = "@@mge-mutation "
#: pytest's "no tests collected", and the driver's own failure before pytest ran.
#: Every other non-zero exit is a kill: the same selection passed unchanged, so a
#: failure, an error, a conftest that no longer imports (4), an internal error (3)
#: or a crash (negative: the signal) is the mutant's doing.
_NO_VERDICT = frozenset({5, 70})

_COMPARE_SWAP: Mapping[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
}
_ARITHMETIC_SWAP: Mapping[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.FloorDiv: ast.Mult,
    ast.Mod: ast.FloorDiv,
}
_SYMBOL: Mapping[type[ast.AST], str] = {
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.In: "in",
    ast.NotIn: "not in",
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.And: "and",
    ast.Or: "or",
}


@dataclass(frozen=True)
class Mutant:
    """One small change to one atom: the whole mutated file, and the passing tests
    that executed the changed line (the only ones that could notice)."""

    atom_id: str
    file: str
    line: int
    change: str
    source: str
    tests: tuple[str, ...]


@dataclass(frozen=True)
class MutationScore:
    """How many of an atom's mutants ran, how many a test noticed, and the changes
    that went unnoticed (for the reviewer)."""

    mutants: int
    killed: int
    survived: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {"mutants": self.mutants, "killed": self.killed, "survived": list(self.survived)}


@dataclass(frozen=True)
class _Edit:
    node: ast.AST
    replacement: str
    change: str


def _skipped_nodes(tree: ast.AST) -> set[int]:
    """Nodes no mutant may touch: docstrings and other bare constants (no effect),
    annotations (not run), f-string parts (positions unreliable before 3.12)."""
    skip: set[int] = set()

    def all_under(node: ast.AST | None) -> None:
        if node is not None:
            skip.update(id(inner) for inner in ast.walk(node))

    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            all_under(node.value)
        elif isinstance(node, ast.JoinedStr):
            all_under(node)
        elif isinstance(node, ast.arg | ast.AnnAssign):
            all_under(node.annotation)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            all_under(node.returns)
    return skip


def _constant_variant(value: object) -> object | None:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        if value == 0:
            return type(value)(1)
        if value == 1:
            return type(value)(0)
        return value + 1
    if isinstance(value, str):
        return value + "X" if value else "X"
    return None


def _edits(node: ast.AST) -> Iterator[_Edit]:
    """The mutants of one node, each as the node's new text."""
    if isinstance(node, ast.Compare):
        for position, op in enumerate(node.ops):
            swap = _COMPARE_SWAP.get(type(op))
            if swap is None:
                continue
            ops = list(node.ops)
            ops[position] = swap()
            new = ast.Compare(left=node.left, ops=ops, comparators=node.comparators)
            yield _Edit(node, f"({ast.unparse(new)})", f"{_SYMBOL[type(op)]} -> {_SYMBOL[swap]}")
    elif isinstance(node, ast.BinOp):
        arith = _ARITHMETIC_SWAP.get(type(node.op))
        if arith is not None:
            new_op = ast.BinOp(left=node.left, op=arith(), right=node.right)
            change = f"{_SYMBOL[type(node.op)]} -> {_SYMBOL[arith]}"
            yield _Edit(node, f"({ast.unparse(new_op)})", change)
    elif isinstance(node, ast.AugAssign):
        arith = _ARITHMETIC_SWAP.get(type(node.op))
        if arith is not None:
            new_aug = ast.AugAssign(target=node.target, op=arith(), value=node.value)
            change = f"{_SYMBOL[type(node.op)]}= -> {_SYMBOL[arith]}="
            yield _Edit(node, ast.unparse(new_aug), change)
    elif isinstance(node, ast.BoolOp):
        other = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        new_bool = ast.BoolOp(op=other, values=node.values)
        change = f"{_SYMBOL[type(node.op)]} -> {_SYMBOL[type(other)]}"
        yield _Edit(node, f"({ast.unparse(new_bool)})", change)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        yield _Edit(node, f"({ast.unparse(node.operand)})", "not x -> x")
    elif isinstance(node, ast.Constant):
        variant = _constant_variant(node.value)
        if variant is not None:
            yield _Edit(node, f"({variant!r})", f"{node.value!r} -> {variant!r}")


def _splice(source: str, node: ast.AST, replacement: str) -> str:
    """`source` with `node`'s text replaced; AST columns count UTF-8 bytes."""
    data = source.encode("utf-8")
    starts = [0]
    starts.extend(position + 1 for position, byte in enumerate(data) if byte == 10)
    line = int(getattr(node, "lineno", 1))
    col = int(getattr(node, "col_offset", 0))
    end_line = int(getattr(node, "end_lineno", None) or line)
    end_col = getattr(node, "end_col_offset", None)
    first = starts[line - 1] + col
    last = starts[end_line - 1] + (col if end_col is None else int(end_col))
    return (data[:first] + replacement.encode("utf-8") + data[last:]).decode("utf-8")


def _seed(atom_id: str) -> int:
    return int.from_bytes(hashlib.sha256(atom_id.encode("utf-8")).digest()[:8], "big")


def _line(node: ast.AST) -> int:
    return int(getattr(node, "lineno", 0))


def _choose(
    source: str,
    file: str,
    atom_id: str,
    edits: list[_Edit],
    original: str,
    tests_by_line: Mapping[int, Sequence[str]],
    limit: int,
) -> list[Mutant]:
    """Up to `limit` of an atom's candidate edits, in an order seeded by the atom id;
    distinct nodes first (two changes to one comparison say less than two places),
    keeping only mutants that compile and differ from the original."""
    edits = sorted(edits, key=lambda e: (_line(e.node), getattr(e.node, "col_offset", 0), e.change))
    random.Random(_seed(atom_id)).shuffle(edits)
    seen: set[int] = set()
    firsts: list[_Edit] = []
    rest: list[_Edit] = []
    for edit in edits:
        (rest if id(edit.node) in seen else firsts).append(edit)
        seen.add(id(edit.node))
    chosen: list[Mutant] = []
    for edit in firsts + rest:
        if len(chosen) >= limit:
            break
        mutated = _splice(source, edit.node, edit.replacement)
        try:
            compile(mutated, file, "exec", dont_inherit=True)
            if ast.dump(ast.parse(mutated)) == original:
                continue
        except (SyntaxError, ValueError):
            continue
        line = _line(edit.node)
        chosen.append(
            Mutant(
                atom_id=atom_id,
                file=file,
                line=line,
                change=edit.change,
                source=mutated,
                tests=tuple(sorted(tests_by_line[line])),
            )
        )
    return chosen


def file_mutants(
    source: str,
    file: str,
    index: SpanIndex,
    tests_by_line: Mapping[int, Sequence[str]],
    *,
    limit: int,
) -> dict[str, list[Mutant]]:
    """Per atom of `file`, up to `limit` mutants on nodes that lie wholly inside the
    atom's span and whose first line a passing test executed (`tests_by_line`)."""
    if limit <= 0:
        return {}
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    skip = _skipped_nodes(tree)
    by_atom: dict[str, list[_Edit]] = {}
    for node in ast.walk(tree):
        if id(node) in skip or not hasattr(node, "lineno"):
            continue
        start = _line(node)
        if not tests_by_line.get(start):
            continue
        atom = index.atom_at(file, start)
        end = int(getattr(node, "end_lineno", None) or start)
        if atom is None or index.atom_at(file, end) != atom:
            continue
        by_atom.setdefault(atom, []).extend(_edits(node))
    original = ast.dump(tree)
    found = {
        atom: _choose(source, file, atom, edits, original, tests_by_line, limit)
        for atom, edits in by_atom.items()
    }
    return {atom: mutants for atom, mutants in found.items() if mutants}


def atom_mutants(
    source: str,
    file: str,
    atom_id: str,
    lines: tuple[int, int],
    tests_by_line: Mapping[int, Sequence[str]],
    *,
    limit: int,
) -> list[Mutant]:
    """The mutants of one atom spanning `lines` (first, last) of `source`."""
    index = SpanIndex(
        [AtomSpan(atom_id=atom_id, file=file, first_line=lines[0], last_line=lines[1])]
    )
    return file_mutants(source, file, index, tests_by_line, limit=limit).get(atom_id, [])


def _same_file(a: str, b: str) -> bool:
    a, b = a.replace("\\", "/"), b.replace("\\", "/")
    return a == b or a.endswith("/" + b) or b.endswith("/" + a)


def line_tests(
    coverage: Mapping[str, Mapping[str, Sequence[int]]], verdicts: Mapping[str, bool], file: str
) -> dict[int, list[str]]:
    """For one file, each line and the passing tests that executed it."""
    found: dict[int, list[str]] = {}
    for test, files in coverage.items():
        if not verdicts.get(test, False):
            continue
        for name, lines in files.items():
            if _same_file(name, file):
                for line in lines:
                    found.setdefault(line, []).append(test)
    return found


def plan_mutants(
    sources: Mapping[str, str],
    index: SpanIndex,
    coverage: Mapping[str, Mapping[str, Sequence[int]]],
    verdicts: Mapping[str, bool],
    *,
    per_atom: int,
) -> list[Mutant]:
    """Every atom's mutants, in rounds: each atom's first, then each atom's second,
    ... so a time budget that runs out still gave as many atoms as it could one."""
    per: list[list[Mutant]] = []
    for file in sorted(sources):
        lines = line_tests(coverage, verdicts, file)
        if not lines:
            continue
        found = file_mutants(sources[file], file, index, lines, limit=per_atom)
        per.extend(found[atom] for atom in sorted(found))
    rounds: list[Mutant] = []
    for number in range(per_atom):
        rounds.extend(mutants[number] for mutants in per if number < len(mutants))
    return rounds


def run_mutants(
    root: Path,
    mutants: Sequence[Mutant],
    *,
    budget_seconds: float,
    min_timeout: float = 2.0,
) -> dict[int, bool]:
    """Run the mutants (index -> killed) in one sandboxed driver process.

    The driver first runs every selected test on the unchanged project: if that
    does not pass, no verdict would mean anything and nothing is returned. A mutant
    whose tests fail, error, cannot be collected, crash the interpreter or outlive
    the per-mutant timeout is killed; one whose tests all pass survived; a mutant
    the budget did not reach has no entry."""
    if not mutants:
        return {}
    root = root.resolve()
    baseline = sorted({test for mutant in mutants for test in mutant.tests})
    payload = {
        "root": str(root),
        "budget_seconds": budget_seconds,
        "min_timeout": min_timeout,
        "tests": baseline,
        # Mutants are independent: one child per core at a time.
        "workers": os.cpu_count() or 1,
        "mutants": [
            {"path": str(root / m.file), "source": m.source, "tests": list(m.tests)}
            for m in mutants
        ],
    }
    result = run_python(
        ["-c", _DRIVER.read_text(encoding="utf-8")],
        cwd=root,
        pythonpath=[root],
        stdin=json.dumps(payload),
        limits=Limits(timeout_seconds=budget_seconds + 30.0, cpu_seconds=int(budget_seconds) + 60),
        # As the acceptance run: the project's configuration, none of MGE's plugins.
        extra_env={"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )
    killed: dict[int, bool] = {}
    reported: set[int] = set()
    baseline_passed = False
    for line in result.stdout.splitlines():
        if not line.startswith(_MARK):
            continue
        entry = json.loads(line[len(_MARK) :])
        if "index" not in entry:
            if entry.get("baseline") != 0 or baseline_passed:
                return {}
            baseline_passed = True
            continue
        if not baseline_passed or int(entry["index"]) in reported:
            # Results before the baseline, or twice: lines the driver did not write.
            return {}
        reported.add(int(entry["index"]))
        code = int(entry["code"])
        if code in _NO_VERDICT and not entry.get("timed_out"):
            continue
        killed[int(entry["index"])] = code != 0 or bool(entry.get("timed_out"))
    return killed


class MutantRunner(Protocol):
    def __call__(
        self, root: Path, mutants: Sequence[Mutant], *, budget_seconds: float
    ) -> dict[int, bool]: ...


def mutation_scores(
    root: Path,
    sources: Mapping[str, str],
    index: SpanIndex,
    coverage: Mapping[str, Mapping[str, Sequence[int]]],
    verdicts: Mapping[str, bool],
    *,
    per_atom: int,
    budget_seconds: float,
    run: MutantRunner | None = None,
) -> dict[str, MutationScore]:
    """Per atom reached, how many of its mutants the passing tests killed. `run`
    runs them (`run_mutants` by default; an executor may send them elsewhere)."""
    mutants = plan_mutants(sources, index, coverage, verdicts, per_atom=per_atom)
    verdict = (run or run_mutants)(root, mutants, budget_seconds=budget_seconds)
    counts: dict[str, list[int]] = {}
    survivors: dict[str, list[str]] = {}
    for number, mutant in enumerate(mutants):
        if number not in verdict:
            continue
        entry = counts.setdefault(mutant.atom_id, [0, 0])
        entry[0] += 1
        entry[1] += verdict[number]
        if not verdict[number]:
            survivors.setdefault(mutant.atom_id, []).append(f"line {mutant.line}: {mutant.change}")
    return {
        atom: MutationScore(total, killed, tuple(survivors.get(atom, ())))
        for atom, (total, killed) in counts.items()
    }
