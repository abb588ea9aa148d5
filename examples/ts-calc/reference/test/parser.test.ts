import { test } from "node:test";
import assert from "node:assert/strict";
import { freeVariables, walk, type Expr } from "../src/ast.js";
import { ParseError } from "../src/errors.js";
import { parse } from "../src/parser.js";
import { print } from "../src/printer.js";

function shape(expr: Expr): unknown {
  switch (expr.type) {
    case "binary":
      return [expr.operator, shape(expr.left), shape(expr.right)];
    case "unary":
      return [expr.operator, shape(expr.operand)];
    case "number":
      return expr.value;
    case "variable":
      return expr.name;
    default:
      return expr.type;
  }
}

test("honours precedence and associativity", () => {
  assert.deepEqual(shape(parse("1 + 2 * 3")), ["+", 1, ["*", 2, 3]]);
  assert.deepEqual(shape(parse("2 ^ 3 ^ 2")), ["^", 2, ["^", 3, 2]]);
  assert.deepEqual(shape(parse("-a ^ 2")), ["-", ["^", "a", 2]]);
  assert.deepEqual(shape(parse("10 - 4 - 3")), ["-", ["-", 10, 4], 3]);
});

test("parses calls, lists, conditionals and let", () => {
  const tree = parse('let n = len([1, 2]) in if n > 1 then "many" else "few"');
  const kinds: string[] = [];
  walk(tree, (node) => kinds.push(node.type));
  assert.deepEqual(kinds, ["let", "call", "list", "number", "number", "conditional", "binary", "variable", "number", "string", "string"]);
});

test("finds free variables", () => {
  assert.deepEqual([...freeVariables(parse("let a = b in a + c + a"))].sort(), ["b", "c"]);
});

test("reports syntax errors", () => {
  assert.throws(() => parse("1 +"), ParseError);
  assert.throws(() => parse("(1 + 2"), /expected '\)', found end of input/);
  assert.throws(() => parse("let 3 = 1 in 2"), /expected a name after let/);
  assert.throws(() => parse("1 2"), /expected end of input/);
});

test("prints trees back with the parentheses they need", () => {
  for (const source of ["(1 + 2) * 3", "2 ^ 3 ^ 2", "(2 ^ 3) ^ 2", "-(a + b)", 'f(x, [1, "q\\"t"]) ++ "s"', "not (a and b) or c"]) {
    assert.equal(print(parse(source)), source);
  }
  assert.equal(print(parse("((1)) - (2 - 3)")), "1 - (2 - 3)");
});
