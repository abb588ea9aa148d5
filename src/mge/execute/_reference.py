"""Reference answers for the replay model, read from a plan's reference code.

A skeleton request is answered with the reference file's skeleton, an atom request
with the reference atom's text. Only the replay model reads this; validators and
prompts never do.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from mge.atomize import Atom, AtomizeConfig, FileResult, atomize_source, skeleton


class PlanReference:
    def __init__(self, root: Path, config: AtomizeConfig) -> None:
        self.root = root
        self.config = config

    def _source(self, file: str) -> bytes | None:
        path = (self.root / file).resolve()
        if not path.is_relative_to(self.root.resolve()) or not path.is_file():
            return None
        return path.read_bytes()

    def skeleton(self, file: str) -> str | None:
        source = self._source(file)
        return None if source is None else skeleton(source, file)

    @cache  # noqa: B019  (one instance per run; the cache lives as long as the run)
    def atomized(self, file: str) -> FileResult | None:
        """The reference file's atomization. The engine plans its atoms from the same
        result the replay model answers from, so a file is atomized once a run."""
        source = self._source(file)
        return None if source is None else atomize_source(source, file, config=self.config)

    @cache  # noqa: B019
    def atoms_of(self, file: str) -> dict[str, Atom]:
        """The file's reference atoms by id (a file can hold hundreds)."""
        result = self.atomized(file)
        return {} if result is None else {atom.id: atom for atom in result.atoms}

    def atom(self, atom_id: str) -> str | None:
        found = self.atoms_of(atom_id.split("::", 1)[0]).get(atom_id)
        return None if found is None else found.text
