"""Token counts without a tokenizer, close to what providers bill.

No tokenizer vocabulary can be downloaded here, so the count mimics how byte-pair
tokenizers split text: a pre-tokenizer pass like the one in GPT-style tokenizers
(words with their leading space, digit groups of up to three, punctuation runs,
whitespace runs), then a per-piece cost, since long words and identifiers break
into several sub-word tokens and punctuation merges only in pairs. On Python source
this gives about 3.1-3.7 characters per token, a little more tokens than the common
"4 characters per token" rule of thumb, so simulated costs err on the high side. It
is an approximation for cost reporting, never used to cut prompts to a hard limit.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

from mge.llm._types import ModelRequest

__all__ = ["count_request_tokens", "count_tokens"]

_PIECE = re.compile(
    r"""'(?:s|t|re|ve|m|ll|d)\b"""  # English contractions
    r"""| ?[^\W\d_]+"""  # a word (any script), with its leading space
    r"""|\d{1,3}"""  # digits in groups of three
    r"""| ?[^\s\w]+|_+"""  # punctuation runs; underscores split identifiers
    r"""|\s*[\r\n]+"""  # line breaks with trailing spaces before them
    r"""|\s+(?!\S)|\s+""",  # indentation and other whitespace
)

# Per-message framing tokens (role markers, separators) as chat formats add them.
_PER_MESSAGE = 3
_REPLY_PRIMING = 3


@lru_cache(maxsize=65536)
def _piece_cost(piece: str) -> int:
    core = piece.lstrip(" ")
    if not core:
        return 1
    if core[0].isalpha():
        # Common words are one token; longer ones split every ~5 letters.
        return 1 if len(core) <= 7 else math.ceil(len(core) / 5)
    if core.isspace():
        return 1 if "\n" in core else math.ceil(len(core) / 8)
    if core[0].isdigit():
        return 1
    return math.ceil(len(core) / 2)


# Where no piece can continue: right after a line break that a non-blank character
# follows. Every piece is either all whitespace or holds none but a leading space,
# and a whitespace run is cut only after its last line break, so the pieces of a
# text are the pieces of its chunks between these points, and so is the count.
_CHUNK_START = re.compile(r"(?<=\n)(?=\S)")


@lru_cache(maxsize=65536)
def _chunk_tokens(chunk: str) -> int:
    return sum(map(_piece_cost, _PIECE.findall(chunk)))


@lru_cache(maxsize=4096)
def count_tokens(text: str) -> int:
    """Approximate billed tokens for `text` (0 for the empty string).

    Cached whole (every atom of a file sends the same system text and cacheable
    prefix) and by chunk of lines: the prompts of a run repeat most of their lines
    (instructions, the code of shared prerequisites), and the regex pass over the
    whole text cost as much as the rest of a simulated call."""
    return sum(map(_chunk_tokens, _CHUNK_START.split(text)))


def count_request_tokens(request: ModelRequest) -> int:
    """Approximate prompt tokens for a whole request, framing included."""
    total = _REPLY_PRIMING
    if request.cacheable_prefix or request.system:
        total += (
            _PER_MESSAGE + count_tokens(request.cacheable_prefix) + count_tokens(request.system)
        )
    for message in request.messages:
        total += _PER_MESSAGE + count_tokens(message.content)
    return total
