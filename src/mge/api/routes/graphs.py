"""`/api/v2/graphs/{masterplan}`: a masterplan's dependency graph, waves and figures."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from mge.api import _service as service
from mge.api.deps import SessionDep
from mge.api.routes._common import errors
from mge.api.schemas import GraphOut

router = APIRouter(prefix="/graphs", tags=["graphs"])


@router.get(
    "/{masterplan_id}", response_model=GraphOut, responses=errors(404), summary="Show a graph"
)
def show_graph(masterplan_id: str, session: SessionDep) -> Any:
    return service.graph_of(session, masterplan_id)
