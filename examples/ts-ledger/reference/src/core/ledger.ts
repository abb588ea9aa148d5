/** A ledger of balanced journal entries. */
import { type Account, signedBalance } from "./account.js";
import { type Cents, sum } from "../util/index.js";

export interface Line {
  readonly account: string;
  readonly debit: Cents;
  readonly credit: Cents;
}

export class Ledger {
  private readonly accounts = new Map<string, Account>();
  private readonly lines: Line[] = [];

  open(account: Account): void {
    if (this.accounts.has(account.code)) {
      throw new Error(`account ${account.code} exists`);
    }
    this.accounts.set(account.code, account);
  }

  post(entry: readonly Line[]): void {
    const debits = sum(entry.map((line) => line.debit));
    const credits = sum(entry.map((line) => line.credit));
    if (debits !== credits) {
      throw new Error(`unbalanced entry: ${debits} != ${credits}`);
    }
    for (const line of entry) {
      if (!this.accounts.has(line.account)) {
        throw new Error(`unknown account ${line.account}`);
      }
    }
    this.lines.push(...entry);
  }

  balance(code: string): Cents {
    const account = this.accounts.get(code);
    if (account === undefined) {
      throw new Error(`unknown account ${code}`);
    }
    const mine = this.lines.filter((line) => line.account === code);
    const debits = sum(mine.map((line) => line.debit));
    return signedBalance(account.kind, debits, sum(mine.map((line) => line.credit)));
  }
}
