"""Plain data of atomization: the configuration, one atom, one file's result.

The field names of `Atom` and the shape of `Atom.to_dict()` are the atom contract
(docs/ATOMS.md); the graph, plan and execute layers read them, so they
change only with a migration path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tree_sitter import Tree

from mge.errors import ConfigError

__all__ = ["Atom", "AtomizeConfig", "FileResult"]


@dataclass(frozen=True, slots=True)
class AtomizeConfig:
    """Size and complexity bounds of atoms, configurable per plan.

    Attributes:
        target_loc: small adjacent siblings are merged until an atom reaches this size.
        max_loc: a unit larger than this is split; what cannot be split keeps a
            `size` violation.
        max_complexity: cyclomatic complexity above this splits a compound
            statement, or else gives a `complexity` violation.
    """

    target_loc: int = 10
    max_loc: int = 15
    max_complexity: float = 3.0

    def __post_init__(self) -> None:
        if self.target_loc < 1:
            raise ConfigError(f"target_loc must be at least 1, got {self.target_loc}")
        if self.max_loc < self.target_loc:
            raise ConfigError(
                f"max_loc ({self.max_loc}) must be at least target_loc ({self.target_loc})"
            )
        if self.max_complexity < 1.0:
            raise ConfigError(f"max_complexity must be at least 1.0, got {self.max_complexity}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "target_loc": self.target_loc,
            "max_loc": self.max_loc,
            "max_complexity": self.max_complexity,
        }


@dataclass(slots=True)
class Atom:
    """A contiguous byte span of one file; the atoms of a file partition it.

    `context` holds the contract keys `imports`, `types`, `preconditions`,
    `postconditions`, `callees`, `signature`, plus two keys for the graph layer:
    `references` (names the atom reads but does not define itself, to be resolved
    by scope) and `defines` (names the atom binds). `depends_on` is left empty here;
    the graph layer fills it with `{"atom": id, "type": EDGE}` entries.
    """

    id: str
    file: str
    language: str
    kind: str
    name: str
    qualname: str
    start_byte: int
    end_byte: int
    start_line: int
    end_line: int
    loc: int
    nws_chars: int
    complexity: float
    code: bytes
    atomicity_score: float = 1.0
    violations: list[str] = field(default_factory=list)
    context: dict[str, Any] = field(default_factory=dict)
    context_completeness: float = 1.0
    depends_on: list[dict[str, str]] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The span decoded for display; undecodable bytes are escaped, never dropped."""
        return self.code.decode("utf-8", errors="surrogateescape")

    def to_dict(self, *, include_code: bool = True) -> dict[str, Any]:
        """The JSON form of the contract; `code` is the span as text.

        Undecodable bytes are kept through `surrogateescape`-style backslash escapes
        (`errors="backslashreplace"`) so the JSON stays valid; `start_byte`/`end_byte`
        remain the authority for the raw bytes.
        """
        data: dict[str, Any] = {
            "id": self.id,
            "file": self.file,
            "language": self.language,
            "kind": self.kind,
            "name": self.name,
            "qualname": self.qualname,
            "start_byte": self.start_byte,
            "end_byte": self.end_byte,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "loc": self.loc,
            "nws_chars": self.nws_chars,
            "complexity": self.complexity,
            "atomicity_score": self.atomicity_score,
            "violations": list(self.violations),
            "context": self.context,
            "context_completeness": self.context_completeness,
            "depends_on": list(self.depends_on),
        }
        if include_code:
            data["code"] = self.code.decode("utf-8", errors="backslashreplace")
        return data


@dataclass(slots=True)
class FileResult:
    """The atoms of one file and what is worth knowing about the file as a whole.

    `tree` is the syntax tree atomization parsed, kept only when asked for
    (`keep_tree`): the graph layer reads it instead of parsing the file again. It
    is a cache, not a result, so it takes no part in comparison, `repr` or
    `to_dict`, and it is None for results rebuilt from storage. A tree takes
    about 28 times the memory of its source, which is why it is not kept by default.
    """

    path: str
    language: str
    size_bytes: int
    atoms: list[Atom]
    has_syntax_error: bool = False
    utf8: bool = True
    notices: list[str] = field(default_factory=list)
    tree: Tree | None = field(default=None, repr=False, compare=False)

    def joined(self) -> bytes:
        """The atoms' spans joined in order: equal to the file when the partition holds."""
        return b"".join(atom.code for atom in self.atoms)

    def partition_ok(self, source: bytes) -> bool:
        """True when the atoms cover `source` byte for byte, in order, each exactly once."""
        position = 0
        for atom in self.atoms:
            if atom.start_byte != position or atom.end_byte <= atom.start_byte:
                return False
            if atom.code != source[atom.start_byte : atom.end_byte]:
                return False
            position = atom.end_byte
        return position == len(source)

    def stats(self) -> dict[str, Any]:
        locs = sorted(atom.loc for atom in self.atoms)
        violations: dict[str, int] = {}
        for atom in self.atoms:
            for name in atom.violations:
                violations[name] = violations.get(name, 0) + 1
        return {
            "atoms": len(self.atoms),
            "loc": sum(locs),
            "loc_max": locs[-1] if locs else 0,
            "violations": dict(sorted(violations.items())),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "language": self.language,
            "size_bytes": self.size_bytes,
            "has_syntax_error": self.has_syntax_error,
            "utf8": self.utf8,
            "notices": list(self.notices),
            **self.stats(),
        }
