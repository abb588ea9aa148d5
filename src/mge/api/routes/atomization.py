"""`/api/v2/atomization/decompose`: code, or a stored plan's task, into atoms."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from mge.api import _service as service
from mge.api.deps import SessionDep
from mge.api.routes._common import errors
from mge.api.schemas import DecomposeIn, DecomposeOut
from mge.atomize import AtomizeConfig

router = APIRouter(prefix="/atomization", tags=["atomization"])


@router.post(
    "/decompose",
    response_model=DecomposeOut,
    responses=errors(404, 413, 415),
    summary="Atoms of code or of a task",
)
def decompose(request: DecomposeIn, session: SessionDep) -> Any:
    """Lossless atoms (their spans partition each file). Reads only: no token needed."""
    return service.decompose(
        session,
        code=request.code,
        path=request.path,
        language=request.language,
        masterplan_id=request.masterplan_id,
        task_id=request.task_id,
        config=AtomizeConfig(
            target_loc=request.target_loc,
            max_loc=request.max_loc,
            max_complexity=request.max_complexity,
        ),
    )
