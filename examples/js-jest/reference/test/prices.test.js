"use strict";
const { averageCents, discounted, totalCents } = require("../src/prices");

describe("prices", () => {
  describe("total", () => {
    test("sums in cents", () => {
      expect(totalCents([1.5, 2.25])).toBe(375);
    });

    test("is zero for none", () => {
      expect(totalCents([])).toBe(0);
    });
  });

  test("averages", () => {
    expect(averageCents([1, 2])).toBe(150);
  });

  test("discounts", () => {
    expect(discounted(10, 15)).toBe(850);
  });
});

test.todo("rounds half cents");
