"""`/api/v2/validation/{atom}`: every check an atom went through, by level."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from mge.api import _service as service
from mge.api.deps import SessionDep
from mge.api.routes._common import errors
from mge.api.schemas import ValidationOut

router = APIRouter(prefix="/validation", tags=["validation"])


@router.get(
    "/{atom_id}",
    response_model=ValidationOut,
    responses=errors(404),
    summary="Validation results of an atom",
)
def atom_validation(atom_id: str, session: SessionDep) -> Any:
    return service.validation_of(session, service.atom_by_id(session, atom_id))
