"""Human review: confidence per atom, the review queue, suggestions and actions.

The engine queues what it could not fix; after the run, `rank_after_run` adds what
it fixed but should not be trusted unseen; a person then approves, edits, regenerates, skips
or rejects each item through the CLI, the API or the review page, with static
findings and, when a real model is configured, the model's own review beside them.
"""

from mge.review.actions import (
    ActionResult,
    approve,
    bulk_approve,
    claim,
    edit,
    regenerate,
    reject,
    release,
    skip,
)
from mge.review.confidence import AtomEvidence, Confidence, gather_evidence, score, score_run
from mge.review.model_review import ensure_model_review, model_review_view
from mge.review.queue import (
    OPEN_STATUSES,
    ReviewSettings,
    effective_priority,
    get_item,
    item_view,
    list_queue,
    priority_of,
    queue_doubtful,
    rank_after_run,
    summary_view,
)
from mge.review.suggestions import Suggestion, atom_suggestions, unified_diff

__all__ = [
    "OPEN_STATUSES",
    "ActionResult",
    "AtomEvidence",
    "Confidence",
    "ReviewSettings",
    "Suggestion",
    "approve",
    "atom_suggestions",
    "bulk_approve",
    "claim",
    "edit",
    "effective_priority",
    "ensure_model_review",
    "gather_evidence",
    "get_item",
    "item_view",
    "list_queue",
    "model_review_view",
    "priority_of",
    "queue_doubtful",
    "rank_after_run",
    "regenerate",
    "reject",
    "release",
    "score",
    "score_run",
    "skip",
    "summary_view",
    "unified_diff",
]
