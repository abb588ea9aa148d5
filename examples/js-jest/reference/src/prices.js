/** Prices over lists of amounts, in cents. */
"use strict";

const { centsOf, share } = require("./units");

function totalCents(amounts) {
  return amounts.reduce((sum, amount) => sum + centsOf(amount), 0);
}

function averageCents(amounts) {
  return share(totalCents(amounts), amounts.length);
}

function discounted(amount, percent) {
  return centsOf(amount) - Math.floor((centsOf(amount) * percent) / 100);
}

module.exports = { totalCents, averageCents, discounted };
