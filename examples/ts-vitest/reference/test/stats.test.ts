import { describe, expect, it } from "vitest";
import { mean, median, total } from "../src/stats.js";

describe("stats", () => {
  describe("total", () => {
    it("sums", () => {
      expect(total([1, 2, 3])).toBe(6);
    });
  });

  it("mean", () => {
    expect(mean([1, 2, 3, 4])).toBe(2.5);
  });

  it("median of an odd count", () => {
    expect(median([3, 1, 2])).toBe(2);
  });

  it("median of an even count", () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it.todo("mode");
});
