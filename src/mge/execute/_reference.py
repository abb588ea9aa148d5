"""Reference answers for the replay model, read from a plan's reference code.

A skeleton request is answered with the reference file's skeleton, an atom request
with the reference atom's text. Only the replay model reads this; validators and
prompts never do.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from mge.atomize import Atom, AtomizeConfig, atomize_source, skeleton


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
    def atoms_of(self, file: str) -> dict[str, Atom]:
        """The file's reference atoms by id (a file can hold hundreds)."""
        source = self._source(file)
        if source is None:
            return {}
        return {atom.id: atom for atom in atomize_source(source, file, config=self.config).atoms}

    def atom(self, atom_id: str) -> str | None:
        found = self.atoms_of(atom_id.split("::", 1)[0]).get(atom_id)
        return None if found is None else found.text
