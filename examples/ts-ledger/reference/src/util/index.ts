/** The utilities, re-exported. */
export { toCents, formatCents, sum } from "./money.js";
export type { Cents } from "./money.js";
