import { test } from "node:test";
import assert from "node:assert/strict";
import { BUILTINS, range } from "../src/runtime/builtins.js";
import { Scope } from "../src/runtime/scope.js";
import { equals, show, truthy, typeName } from "../src/runtime/values.js";
import { LruCache } from "../src/util/lru.js";
import { attempt, err, mapResult, ok, unwrap } from "../src/util/index.js";

test("values: types, truth, equality and printing", () => {
  assert.equal(typeName([1]), "list");
  assert.equal(truthy(""), false);
  assert.equal(truthy([0]), true);
  assert.equal(equals([1, [2, "a"]], [1, [2, "a"]]), true);
  assert.equal(show([1, "a", [true]]), '[1, "a", [true]]');
  assert.equal(show(0.1 + 0.2), "0.3");
});

test("scopes read through to their parents", () => {
  const outer = Scope.from({ a: 1, b: 2 });
  const inner = outer.child();
  inner.define("b", 3);
  inner.define("c", 4);
  assert.equal(inner.lookup("a"), 1);
  assert.equal(inner.lookup("b"), 3);
  assert.equal(outer.lookup("c"), undefined);
  assert.deepEqual(inner.visible(), ["a", "b", "c"]);
  assert.equal(inner.depth, 1);
});

test("range and builtin arity", () => {
  assert.deepEqual(range(0, 5, 2), [0, 2, 4]);
  assert.deepEqual(range(3, 0, -1), [3, 2, 1]);
  assert.throws(() => range(0, 1, 0), /step/);
  assert.equal(BUILTINS.get("max")!.maxArgs, Infinity);
});

test("the cache evicts the least recently used entry", () => {
  const cache = new LruCache<string, number>(2);
  cache.set("a", 1).set("b", 2);
  assert.equal(cache.get("a"), 1);
  cache.set("c", 3);
  assert.equal(cache.get("b"), undefined);
  assert.deepEqual(cache.stats(), { hits: 1, misses: 1, size: 2 });
  assert.throws(() => new LruCache(0), RangeError);
});

test("results carry values or errors", async () => {
  assert.equal(unwrap(mapResult(ok(2), (n) => n * 5)), 10);
  assert.throws(() => unwrap(err("bad")), /bad/);
  const failed = await attempt(async () => {
    throw new Error("boom");
  });
  assert.equal(failed.ok, false);
});
