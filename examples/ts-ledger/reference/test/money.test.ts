import { test } from "node:test";
import assert from "node:assert/strict";
import { formatCents, sum, toCents } from "../src/util/money.js";

test("parses amounts", () => {
  assert.equal(toCents("12.5"), 1250);
  assert.equal(toCents("-0.07"), -7);
  assert.throws(() => toCents("abc"));
});

test("formats cents", () => {
  assert.equal(formatCents(1250), "12.50");
  assert.equal(formatCents(-7), "-0.07");
});

test("sums", () => {
  assert.equal(sum([1, 2, 3]), 6);
});
