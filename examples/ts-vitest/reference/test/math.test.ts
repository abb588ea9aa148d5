import { describe, expect, it, test } from "vitest";
import { add, clamp, divide } from "../src/math.js";

describe("math", () => {
  it("adds", () => {
    expect(add(2, 3)).toBe(5);
  });

  it("divides", () => {
    expect(divide(6, 3)).toBe(2);
  });

  it("refuses to divide by zero", () => {
    expect(() => divide(1, 0)).toThrow(RangeError);
  });
});

test("clamp keeps values in range", () => {
  expect(clamp(5, 0, 3)).toBe(3);
  expect(clamp(-1, 0, 3)).toBe(0);
});

test.skip("skipped tests are not counted", () => {
  expect(true).toBe(false);
});
