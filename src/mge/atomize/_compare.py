"""Code compared up to layout and comments.

Measurement compares generated atoms with known-good ones this way: an atom may
be a fragment of a body, which has no syntax tree of its own, so its token stream
stands in for AST equality.
"""

from __future__ import annotations

import io
import textwrap
import tokenize

__all__ = ["code_tokens", "same_code"]

_SKIPPED_TOKENS = {
    tokenize.COMMENT,
    tokenize.NL,
    tokenize.NEWLINE,
    tokenize.INDENT,
    tokenize.DEDENT,
    tokenize.ENCODING,
    tokenize.ENDMARKER,
}


def code_tokens(code: str) -> list[str] | None:
    """The code's tokens without layout and comments, or None when it does not tokenize."""
    try:
        tokens = tokenize.generate_tokens(io.StringIO(textwrap.dedent(code)).readline)
        return [token.string for token in tokens if token.type not in _SKIPPED_TOKENS]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None


def same_code(generated: str | None, reference: str | None) -> bool:
    """Equal up to layout and comments: the same token stream (for an atom, which may be a
    fragment of a body, this stands in for AST equality, which needs a whole unit)."""
    if generated is None or reference is None:
        return False
    ours, theirs = code_tokens(generated), code_tokens(reference)
    if ours is None or theirs is None:
        return generated.strip() == reference.strip()
    return ours == theirs
