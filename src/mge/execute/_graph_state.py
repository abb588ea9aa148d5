"""The run's atoms and graph as the scheduler and validators query them: loaded
from the database (so a resumed run starts from what was stored), prerequisites and
dependents, what an attempt may see, depths and heights of the graph."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select

from mge.db.models import (
    AtomDependency,
    AtomicUnit,
    AtomStatus,
)
from mge.execute._assembly import PlannedAtom, assemble
from mge.execute._judge import FileAtom, atom_assembly
from mge.execute._output import copy_files
from mge.execute._recording import Recording
from mge.execute._run_state import (
    FINAL_STATUSES,
    AtomState,
)
from mge.validate import (
    Assembly,
)

#: Edge types through which a dependent needs its prerequisite's behaviour. A
#: temporal edge does too when it joins two pieces of one body (see `_continues`);
#: the other temporal edges only order the text: a class's members after its header,
#: a file's atoms after its module header. Those members need the header's
#: interface (the class exists, the imports bind their names: its stub gives both),
#: not its behaviour, so a failed header does not block them.
_BEHAVIOUR_EDGES = frozenset({"data_flow"})
_LOST = (AtomStatus.FAILED, AtomStatus.BLOCKED)


def _continues(source: AtomState, target: AtomState) -> bool:
    """Whether `target` is a later piece of the body (or class header) `source` is a
    piece of: it continues code whose locals and open statements it needs."""
    return (
        source.planned.qualname == target.planned.qualname
        and source.planned.kind != "module_header"
        and target.planned.kind in ("block", "class_header")
    )


class GraphState(Recording):
    """The graph state part of a `Runner` (see the module docstring)."""

    def _load_states(self) -> None:
        rows = list(
            self.session.scalars(
                select(AtomicUnit)
                .where(AtomicUnit.masterplan_id == self.masterplan.id)
                .order_by(AtomicUnit.atom_number)
            )
        )
        task_keys = {task.id: task.task_key for task in self.masterplan.tasks}
        qualname_pieces: dict[str, int] = {}
        piece_of: dict[str, int] = {}
        for row in rows:
            piece_of[row.atom_key] = qualname_pieces.get(f"{row.file_path}::{row.qualname}", 0)
            qualname_pieces[f"{row.file_path}::{row.qualname}"] = (
                qualname_pieces.get(f"{row.file_path}::{row.qualname}", 0) + 1
            )
        self.states.clear()
        self.files.clear()
        self._layouts.clear()
        self._depth_of = None
        self._rows = {row.id: row for row in rows}
        self._wave_members.clear()
        self._wave_final.clear()
        interrupted = (self.run_row.resume_state or {}).get("regenerating")
        for row in rows:
            if (
                interrupted
                and row.atom_key == interrupted["atom"]
                and (
                    row.status is not AtomStatus.COMPLETED
                    or row.attempts <= int(interrupted["attempts"])
                )
            ):
                # Killed while blame regenerated it: it was completed, and its code is
                # the one blame kept; the blame round regenerates it again (`Hierarchy`).
                # Killed before the regeneration stored anything, the row still says
                # completed, but the regeneration was begun and counted: it is
                # finished, not begun (and counted) a second time.
                if row.attempts > int(interrupted["attempts"]):
                    # Its last candidate and verdict are what its next attempt reads.
                    self.resumed_candidate = (row.code, row.last_error)
                row.status = AtomStatus.COMPLETED
                row.code = interrupted["code"]
                self.restored_regeneration = row.atom_key
            elif row.status is AtomStatus.RUNNING:
                row.status = AtomStatus.PENDING
            planned = PlannedAtom.of_row(row)
            state = AtomState(
                row_id=row.id,
                key=row.atom_key,
                planned=planned,
                task_key=task_keys.get(row.task_id) if row.task_id else None,
                language=row.language,
                loc=row.loc,
                complexity=row.complexity,
                preconditions=list(row.context_preconditions),
                postconditions=list(row.context_postconditions),
                callees=list(row.context_callees),
                defines=list(row.extra.get("defines", [])),
                binds=list(row.extra.get("binds", [])),
                references=list(row.extra.get("references", [])),
                intent=row.extra.get("intent"),
                returns=row.extra.get("returns"),
                status=row.status,
                attempts=row.attempts,
                code=row.code,
                wave=row.wave_number,
                whole_definition=qualname_pieces[f"{row.file_path}::{row.qualname}"] == 1,
                piece=piece_of[row.atom_key],
            )
            self.states[row.atom_key] = state
            self.files.setdefault(row.file_path, []).append(row.atom_key)
        key_of = {row.id: row.atom_key for row in rows}
        edges = self.session.scalars(
            select(AtomDependency).where(
                AtomDependency.graph_id == self.masterplan.graph_id,
                AtomDependency.is_broken.is_(False),
            )
        )
        for edge in edges:
            source, target = key_of[edge.from_atom_id], key_of[edge.to_atom_id]
            self.states[target].prerequisites.append(source)
            self.states[source].dependents.append(target)
            types = set(edge.edge_metadata.get("types") or [edge.dependency_type.value])
            if (
                types & _BEHAVIOUR_EDGES
                or ("temporal" in types and _continues(self.states[source], self.states[target]))
                or self.settings.wait_on_failure == "any"
            ):
                self.states[target].needs_behaviour.add(source)
        self.session.commit()

    def _pending_stored(self) -> int:
        return (
            self.session.scalar(
                select(func.count())
                .select_from(AtomicUnit)
                .where(
                    AtomicUnit.masterplan_id == self.masterplan.id,
                    AtomicUnit.status.not_in(FINAL_STATUSES),
                )
            )
            or 0
        )

    def _closure(self, key: str) -> set[str]:
        seen: set[str] = set()
        queue = deque(self.states[key].prerequisites)
        while queue:
            current = queue.popleft()
            if current in seen:
                continue
            seen.add(current)
            queue.extend(self.states[current].prerequisites)
        return seen

    def _in_view(
        self, key: str, candidate: str, closure: set[str]
    ) -> Callable[[PlannedAtom], str | None]:
        """What an attempt at `key` sees of each atom: the candidate itself, the code of
        its completed prerequisites, and a stand-in (None) for everything else."""

        def code_of(planned: PlannedAtom) -> str | None:
            if planned.atom_id == key:
                return candidate
            other = self.states[planned.atom_id]
            if planned.atom_id in closure and other.status is AtomStatus.COMPLETED:
                return other.code
            return None

        return code_of

    def _layout(self, file: str) -> tuple[FileAtom, ...]:
        layout = self._layouts.get(file)
        if layout is None:
            layout = self._layouts[file] = tuple(
                FileAtom(self.states[k].planned, tuple(self.states[k].defines))
                for k in self.files[file]
            )
        return layout

    def _view(self, key: str) -> dict[str, str]:
        """The code of the atoms of `key`'s file that its attempt may see."""
        return {
            other: code
            for other in self._file_ancestors(key)
            if self.states[other].status is AtomStatus.COMPLETED
            and (code := self.states[other].code) is not None
        }

    def _file_ancestors(self, key: str) -> set[str]:
        """The atoms of `key`'s file that `key` depends on, directly or not.

        Only these matter to an attempt's view of its file, and searching all of an
        atom's prerequisites for them costs O(atoms) per attempt on a deep graph.
        The search walks back only through atoms deeper than the shallowest
        candidate (a path from it to `key` cannot pass through shallower ones) and
        stops once every candidate is found."""
        depth = self._depths()
        state = self.states[key]
        candidates = {
            other
            for other in self.files[state.planned.file]
            if other != key and depth[other] < depth[key]
        }
        found: set[str] = set()
        if not candidates:
            return found
        floor = min(depth[other] for other in candidates)
        seen = {key}
        stack = [key]
        while stack and len(found) < len(candidates):
            for prerequisite in self.states[stack.pop()].prerequisites:
                if prerequisite in seen or depth[prerequisite] < floor:
                    continue
                seen.add(prerequisite)
                if prerequisite in candidates:
                    found.add(prerequisite)
                stack.append(prerequisite)
        return found

    def _depths(self) -> dict[str, int]:
        """Per atom, the length of its longest chain of prerequisites (0 for none)."""
        if self._depth_of is None:
            self._depth_of = self._longest_chains(upward=True)
        return self._depth_of

    def _heights(self) -> dict[str, int]:
        """Per atom, in plan order: the length of its longest chain of dependents."""
        return self._longest_chains(upward=False)

    def _longest_chains(self, *, upward: bool) -> dict[str, int]:
        """Longest path from any source (`upward`) or to any sink, in atoms, by Kahn's
        order over the run's graph (which holds no cycle once they are broken)."""

        def before(key: str) -> list[str]:
            state = self.states[key]
            return state.prerequisites if upward else state.dependents

        def after(key: str) -> list[str]:
            state = self.states[key]
            return state.dependents if upward else state.prerequisites

        waiting = {key: len(before(key)) for key in self.states}
        length = dict.fromkeys(self.states, 0)
        stack = [key for key, count in waiting.items() if count == 0]
        while stack:
            key = stack.pop()
            for following in after(key):
                length[following] = max(length[following], length[key] + 1)
                waiting[following] -= 1
                if waiting[following] == 0:
                    stack.append(following)
        return length

    def _assembly_for(self, key: str, candidate: str, *, compact: bool = True) -> Assembly:
        """The candidate's file as the attempt sees it (see `atom_assembly`)."""
        layout = self._layout(self.states[key].planned.file)
        code_of = self._in_view(key, candidate, self._file_ancestors(key))
        return atom_assembly(layout, key, code_of, compact=compact)

    def _workspace(self, closure: set[str], key: str, candidate: str, root: Path) -> None:
        """Every project file as this atom may see it, for running its doctests. As in
        the written project, a definition with a piece not in view is a stub as a
        whole: run with stand-ins for its missing pieces it would return a wrong
        answer (None from a generator cut short) instead of saying what is missing,
        and the doctest would blame the candidate for a neighbour not written yet."""
        code_of = self._in_view(key, candidate, closure)
        for file, keys in self.files.items():
            # No `defines`: a top-level statement not written yet is left out, not
            # bound to None, so reading what it binds is a NameError the verdict
            # knows for a planned name (inconclusive), not a wrong value.
            text = assemble(
                [self.states[k].planned for k in keys], code_of, whole_definitions=True
            ).text
            target = root / file
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8", errors="surrogateescape")
        # A doctest may read the package's data, as the tests do.
        copy_files(self.tests_dir, root, [asset.path for asset in self.plan.assets])
        for folder in {Path(file).parent for file in self.files}:
            while folder != Path("."):
                init = root / folder / "__init__.py"
                if not init.exists():
                    init.touch()
                folder = folder.parent

    def _block_dependents(self, key: str) -> list[str]:
        """Block what needs the behaviour of `key` (failed or blocked), transitively.
        A dependent that needs only its interface is still generated: the stub that
        stands in for it keeps the file importable, and blame can still reach it."""
        blocked: list[str] = []
        queue = deque((key, dependent) for dependent in self.states[key].dependents)
        while queue:
            source, current = queue.popleft()
            state = self.states[current]
            if state.status in FINAL_STATUSES or source not in state.needs_behaviour:
                continue
            state.status = AtomStatus.BLOCKED
            self._row(state).status = AtomStatus.BLOCKED
            blocked.append(current)
            queue.extend((current, dependent) for dependent in state.dependents)
        self._newly_blocked.extend(blocked)
        return blocked

    def _lost_prerequisite(self, key: str) -> bool:
        """Whether a prerequisite whose behaviour `key` needs failed or is blocked."""
        state = self.states[key]
        return any(
            self.states[p].status in _LOST for p in state.needs_behaviour if p in self.states
        )

    def _ready(self, key: str) -> bool:
        state = self.states[key]
        return state.status in (AtomStatus.PENDING, AtomStatus.READY) and all(
            self.states[p].status is AtomStatus.COMPLETED
            or (self.states[p].status in _LOST and p not in state.needs_behaviour)
            for p in state.prerequisites
        )

    def _block_dependents_of_failed(self, key: str) -> None:
        state = self.states[key]
        state.status = AtomStatus.BLOCKED
        self._row(state).status = AtomStatus.BLOCKED
        self._block_dependents(key)
