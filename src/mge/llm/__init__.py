"""Models MGE can ask for code: Anthropic, any OpenAI-compatible server, and replay.

    model = make_model("anthropic:claude-sonnet-4-5")       # or "openai:gpt-4.1", "replay"
    budget = Budget(limit_usd=5.0)
    request = ModelRequest.single(prompt, purpose=Purpose("atom", atom_id))
    held = await budget.reserve(worst_case_usd(model, request))  # BudgetExhausted at the cap
    response = await model.complete(request)
    budget.settle(held, response.cost_usd)
    code = extract_code(response.text, "python")

Every failure is a `ModelError`: `TransportError` after bounded retries,
`MalformedResponse` for unusable bodies, `RequestRejected` for refused requests,
`ProviderUnavailable` for missing or refused keys, `NoReferenceAnswer` from replay.
"""

from mge.llm._budget import (
    Budget,
    BudgetedModel,
    PricedModel,
    Reservation,
    worst_case_usd,
)
from mge.llm._errors import MalformedResponse, NoReferenceAnswer, RequestRejected, TransportError
from mge.llm._extract import extract_code
from mge.llm._factory import LOCAL_API_KEY, ModelDescription, make_model, model_environment
from mge.llm._faults import FAULT_KINDS, parse_fault_kinds
from mge.llm._prices import Price, PriceTable, load_prices
from mge.llm._providers import AnthropicModel, OpenAIModel
from mge.llm._replay import DEFAULT_REPLAY_PRICING, ReplayModel, simulated_latency
from mge.llm._tokens import count_request_tokens, count_tokens
from mge.llm._transport import RetryPolicy
from mge.llm._types import (
    CachingModel,
    Message,
    Model,
    ModelRequest,
    ModelResponse,
    Purpose,
    ReferenceAnswers,
    StaticReference,
)

__all__ = [
    "DEFAULT_REPLAY_PRICING",
    "FAULT_KINDS",
    "LOCAL_API_KEY",
    "AnthropicModel",
    "Budget",
    "BudgetedModel",
    "CachingModel",
    "MalformedResponse",
    "Message",
    "Model",
    "ModelDescription",
    "ModelRequest",
    "ModelResponse",
    "NoReferenceAnswer",
    "OpenAIModel",
    "Price",
    "PriceTable",
    "PricedModel",
    "Purpose",
    "ReferenceAnswers",
    "ReplayModel",
    "RequestRejected",
    "Reservation",
    "RetryPolicy",
    "StaticReference",
    "TransportError",
    "count_request_tokens",
    "count_tokens",
    "extract_code",
    "load_prices",
    "make_model",
    "model_environment",
    "parse_fault_kinds",
    "simulated_latency",
    "worst_case_usd",
]
