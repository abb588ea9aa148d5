import { test } from "node:test";
import assert from "node:assert/strict";
import { Ledger } from "../src/core/ledger.js";
import { trialBalance } from "../src/report.js";

function sample(): Ledger {
  const ledger = new Ledger();
  ledger.open({ code: "cash", name: "Cash", kind: "asset" });
  ledger.open({ code: "sales", name: "Sales", kind: "income" });
  ledger.post([
    { account: "cash", debit: 500, credit: 0 },
    { account: "sales", debit: 0, credit: 500 },
  ]);
  return ledger;
}

test("balances follow the account kind", () => {
  const ledger = sample();
  assert.equal(ledger.balance("cash"), 500);
  assert.equal(ledger.balance("sales"), 500);
});

test("refuses unbalanced entries", () => {
  assert.throws(() => sample().post([{ account: "cash", debit: 1, credit: 0 }]), /unbalanced/);
});

test("prints a trial balance", () => {
  assert.equal(trialBalance(sample(), ["cash"]), "cash            5.00");
});
