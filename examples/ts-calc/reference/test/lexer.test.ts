import { test } from "node:test";
import assert from "node:assert/strict";
import { LexError } from "../src/errors.js";
import { tokenize } from "../src/lexer.js";
import { TokenKind } from "../src/tokens.js";

test("splits numbers, names, keywords and operators", () => {
  const tokens = tokenize("let x = 1.5 in x >= 2 # note");
  assert.deepEqual(
    tokens.map((token) => [token.kind, token.text]),
    [
      [TokenKind.Keyword, "let"],
      [TokenKind.Identifier, "x"],
      [TokenKind.Operator, "="],
      [TokenKind.Number, "1.5"],
      [TokenKind.Keyword, "in"],
      [TokenKind.Identifier, "x"],
      [TokenKind.Operator, ">="],
      [TokenKind.Number, "2"],
      [TokenKind.End, ""],
    ],
  );
});

test("reads strings with escapes and tracks lines", () => {
  const tokens = tokenize('"a\\"b"\n  ++ "c"');
  assert.equal(tokens[0]!.text, 'a"b');
  assert.deepEqual(tokens[1]!.position, { offset: 9, line: 2, column: 3 });
});

test("reports bad input with its position", () => {
  assert.throws(() => tokenize("1 $ 2"), (error: unknown) => error instanceof LexError && error.describe() === "lex error at 1:3: unexpected character '$'");
  assert.throws(() => tokenize('"open'), /unterminated string/);
});
