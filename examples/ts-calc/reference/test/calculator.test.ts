import { test } from "node:test";
import assert from "node:assert/strict";
import { Calculator, EvalError, type Value } from "../src/index.js";

test("evaluates arithmetic, strings and lists", async () => {
  const calc = new Calculator();
  assert.equal(await calc.evaluate("1 + 2 * 3 ^ 2"), 19);
  assert.equal(await calc.evaluate("7 % 4 - -1"), 4);
  assert.equal(await calc.evaluate('"n=" ++ 3'), "n=3");
  assert.deepEqual(await calc.evaluate("[1, 2] ++ reverse([3, 4])"), [1, 2, 4, 3]);
  assert.equal(await calc.evaluate("round(pi, 2)"), 3.14);
});

test("binds names, branches and short-circuits", async () => {
  const calc = new Calculator({ constants: { limit: 10 } });
  assert.equal(await calc.evaluate("let x = 4 in let y = x * x in if y > limit then y else 0"), 16);
  assert.equal(await calc.evaluate("false and missing"), false);
  assert.equal(await calc.evaluate("n or 5", { n: 0 }), 5);
  assert.equal(await calc.evaluate('join(sort(["b", "a"]), "-") == "a-b"'), true);
  assert.equal(await calc.evaluate("sum(range(1, 5)) + max(2, 9, 4) + len(\"abc\")"), 22);
});

test("waits on the host for lookups", async () => {
  const prices = new Map<string, Value>([["tea", 3], ["cake", 4.5]]);
  const calc = new Calculator({ host: { resolve: async (key) => prices.get(key) } });
  assert.equal(await calc.evaluate('lookup("tea") * 2 + lookup("cake")'), 10.5);
  assert.equal(await calc.evaluate('lookup("milk", 1)'), 1);
  await assert.rejects(calc.evaluate('lookup("milk")'), /nothing found for 'milk'/);
});

test("reports evaluation errors as results", async () => {
  const calc = new Calculator();
  const result = await calc.tryEvaluate("1 / (2 - 2)");
  assert.equal(result.ok, false);
  if (!result.ok) {
    assert.ok(result.error instanceof EvalError);
    assert.equal(result.error.describe(), "eval error at 1:3: division by zero");
  }
  await assert.rejects(calc.evaluate("abs(1, 2)"), /abs takes 1 argument\(s\), got 2/);
  await assert.rejects(calc.evaluate("max(1, 2, 3)  + \"a\""), /expects a number, got a string/);
  await assert.rejects(calc.evaluate("nope(1)"), /unknown function 'nope'/);
});

test("runs scripts line by line and caches compiled programs", async () => {
  const calc = new Calculator({ cacheSize: 8 });
  const outcomes = await calc.runScript("# totals\n1 + 1\n\nx * 2\ncontains([1, 2], 2)\n1 +", { x: 21 });
  assert.deepEqual(outcomes, [
    { source: "1 + 1", text: "2" },
    { source: "x * 2", text: "42" },
    { source: "contains([1, 2], 2)", text: "true" },
    { source: "1 +", error: "parse error at 1:4: unexpected end of input" },
  ]);
  assert.deepEqual(calc.compile("x * 2").inputs, ["x"]);
  assert.equal(calc.cacheStats().hits, 1);
});
