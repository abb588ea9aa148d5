/** Conversions the price list builds on. */
"use strict";

function centsOf(amount) {
  return Math.round(amount * 100);
}

function share(total, parts) {
  if (parts <= 0) {
    throw new RangeError("no parts to share among");
  }
  return Math.floor(total / parts);
}

function clamp(value, low, high) {
  return Math.min(high, Math.max(low, value));
}

module.exports = { centsOf, share, clamp };
