/** A trial balance as text. */
import type { Ledger } from "./core/ledger.js";
import { formatCents } from "./util/money.js";

export function trialBalance(ledger: Ledger, codes: readonly string[]): string {
  const rows = codes.map((code) => `${code.padEnd(8)}${formatCents(ledger.balance(code)).padStart(12)}`);
  return rows.join("\n");
}
