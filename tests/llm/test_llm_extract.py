"""Pulling code out of chat-style answers."""

from __future__ import annotations

import pytest

from mge.llm import extract_code

CODE = "def f(x):\n    return x + 1\n"

CASES = [
    ("plain code", CODE, "python", CODE),
    ("fenced", f"```python\n{CODE}```\n", "python", CODE),
    ("prose around", f"Here you go:\n\n```py\n{CODE}```\n\nHope it helps!\n", "python", CODE),
    ("untagged fence", f"```\n{CODE}```", "python", CODE),
    ("tilde fence", f"~~~python\n{CODE}~~~\n", "python", CODE),
    ("nested fence", f"```python\n```python\n{CODE}```\n```\n", "python", CODE),
    ("unclosed fence (cut short)", f"Sure:\n```python\n{CODE}", "python", CODE),
    (
        "prefers the requested language",
        f"```bash\npip install something-long-enough-to-win\n```\n```python\n{CODE}```\n",
        "python",
        CODE,
    ),
    (
        "longest of several python blocks",
        f"```python\nx = 1\n```\nand the function:\n```python\n{CODE}```\n",
        "python",
        CODE,
    ),
    ("typescript alias", "```ts\nconst a = 1;\n```\n", "typescript", "const a = 1;\n"),
    ("another language only", "```js\nlet b = 2;\n```\n", "python", "let b = 2;\n"),
    ("empty fence is ignored", "```python\n```\n", "python", "```python\n```\n"),
    ("unfenced prose before", f"Here is the implementation:\n\n{CODE}", "python", CODE),
    ("unfenced prose after", f"{CODE}\nThis handles negative numbers too.\n", "python", CODE),
    ("broken code stays as it is", "def f(:\n    pass\n", "python", "def f(:\n    pass\n"),
    ("prose trimming is python-only", f"Here it is:\n{CODE}", "javascript", f"Here it is:\n{CODE}"),
]


@pytest.mark.parametrize(
    ("answer", "language", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_extract_code(answer: str, language: str, expected: str) -> None:
    assert extract_code(answer, language) == expected


def test_code_with_backticks_inline_is_left_alone() -> None:
    text = 'MARK = "``"\n'
    assert extract_code(text) == text


# Lines an answer's ends may hold: code, prose, and the kinds of blank there are:
# what the tokenizer skips, and what only `str.strip` takes for blank.
_LINES = [
    "def f(x):\n",
    "    return x + 1\n",
    "x = 1\n",
    "Here is the code:\n",
    "This handles negatives.\n",
    "\n",
    "   \n",
    "\t\f\n",
    "\x1c\n",
    "\u3000\n",
    "    \n",
]


@pytest.mark.parametrize("seed", range(4))
def test_a_text_not_parsed_for_trimming_is_trimmed_as_a_full_search_would(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only an answer whose first and last lines with a token are code is left
    unparsed; a full search over the droppable lines gives the same text for it."""
    import random

    from mge.llm import _extract

    rng = random.Random(seed)
    texts = ["".join(rng.choices(_LINES, k=rng.randint(0, 7))) for _ in range(1500)]
    shortcut = [extract_code(text) for text in texts]
    monkeypatch.setattr(_extract, "_ends_in_prose", lambda _lines: True)
    assert shortcut == [extract_code(text) for text in texts]
    # Some of the texts are trimmed: the two sides are not both the identity.
    assert any(result != text for result, text in zip(shortcut, texts, strict=True))
