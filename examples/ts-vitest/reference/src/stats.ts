/** Statistics over lists of numbers. */
import { add, divide } from "./math.js";

/** The sum of the values (0 for none). */
export function total(values: readonly number[]): number {
  return values.reduce((sum, value) => add(sum, value), 0);
}

/** The arithmetic mean; an empty list has none. */
export function mean(values: readonly number[]): number {
  return divide(total(values), values.length);
}

/** The middle value of the sorted values (the mean of the two middle ones). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length % 2 === 1) {
    return sorted[middle];
  }
  return divide(add(sorted[middle - 1], sorted[middle]), 2);
}
