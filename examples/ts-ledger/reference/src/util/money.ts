/** Money as integer cents, so sums never drift. */

export type Cents = number;

export function toCents(amount: string): Cents {
  const match = /^(-)?(\d+)(?:\.(\d{1,2}))?$/.exec(amount.trim());
  if (match === null) {
    throw new Error(`not an amount: ${amount}`);
  }
  const whole = Number(match[2]) * 100;
  const fraction = Number((match[3] ?? "0").padEnd(2, "0"));
  const cents = whole + fraction;
  return match[1] === "-" ? -cents : cents;
}

export function formatCents(cents: Cents): string {
  const sign = cents < 0 ? "-" : "";
  const absolute = Math.abs(cents);
  const fraction = String(absolute % 100).padStart(2, "0");
  return `${sign}${Math.floor(absolute / 100)}.${fraction}`;
}

export function sum(values: readonly Cents[]): Cents {
  return values.reduce((total, value) => total + value, 0);
}
