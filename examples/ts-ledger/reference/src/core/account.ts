/** Accounts and their kinds. */
import type { Cents } from "../util/money.js";

export type AccountKind = "asset" | "liability" | "income" | "expense";

export interface Account {
  readonly code: string;
  readonly name: string;
  readonly kind: AccountKind;
}

export function debitNormal(kind: AccountKind): boolean {
  return kind === "asset" || kind === "expense";
}

export function signedBalance(kind: AccountKind, debits: Cents, credits: Cents): Cents {
  return debitNormal(kind) ? debits - credits : credits - debits;
}
