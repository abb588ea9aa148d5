"use strict";
const { centsOf, clamp, share } = require("../src/units");

describe("units", () => {
  test("converts to cents", () => {
    expect(centsOf(1.25)).toBe(125);
  });

  test("shares among parts", () => {
    expect(share(10, 3)).toBe(3);
  });

  test("refuses to share among none", () => {
    expect(() => share(1, 0)).toThrow(RangeError);
  });
});

test("clamp keeps values in range", () => {
  expect(clamp(5, 0, 3)).toBe(3);
  expect(clamp(-1, 0, 3)).toBe(0);
});

test.skip("skipped tests are not counted", () => {
  expect(true).toBe(false);
});
