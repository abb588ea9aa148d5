"""`/api/v2/atoms/{id}`: one stored atom, its state, code and links."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from mge.api import _service as service
from mge.api.deps import SessionDep
from mge.api.routes._common import errors
from mge.api.schemas import AtomDetail

router = APIRouter(prefix="/atoms", tags=["atoms"])


@router.get("/{atom_id}", response_model=AtomDetail, responses=errors(404), summary="Show an atom")
def show_atom(atom_id: str, session: SessionDep) -> Any:
    return service.atom_detail(service.atom_by_id(session, atom_id))
