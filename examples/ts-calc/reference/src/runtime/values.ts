/** The values of the language and the rules all operations share. */
import { EvalError, type Position } from "../errors.js";

export type Value = number | string | boolean | readonly Value[];

export type TypeName = "number" | "string" | "boolean" | "list";

export function typeName(value: Value): TypeName {
  if (Array.isArray(value)) {
    return "list";
  }
  return typeof value as TypeName;
}

export function isList(value: Value): value is readonly Value[] {
  return Array.isArray(value);
}

export function truthy(value: Value): boolean {
  if (isList(value)) {
    return value.length > 0;
  }
  if (typeof value === "string") {
    return value !== "";
  }
  if (typeof value === "number") {
    return value !== 0 && !Number.isNaN(value);
  }
  return value;
}

export function equals(left: Value, right: Value): boolean {
  if (isList(left) && isList(right)) {
    return left.length === right.length && left.every((item, i) => equals(item, right[i]!));
  }
  return left === right;
}

/** The value as the language prints it: lists in brackets, strings quoted inside lists. */
export function show(value: Value, nested = false): string {
  if (isList(value)) {
    return `[${value.map((item) => show(item, true)).join(", ")}]`;
  }
  if (typeof value === "string") {
    return nested ? JSON.stringify(value) : value;
  }
  if (typeof value === "number" && !Number.isInteger(value)) {
    return String(Number(value.toFixed(10)));
  }
  return String(value);
}

export function expectType<T extends TypeName>(
  value: Value,
  expected: T,
  context: string,
  position?: Position,
): void {
  const actual = typeName(value);
  if (actual !== expected) {
    throw new EvalError(`${context} expects a ${expected}, got a ${actual}`, position);
  }
}

export function asNumber(value: Value, context: string, position?: Position): number {
  expectType(value, "number", context, position);
  return value as number;
}

export function asList(value: Value, context: string, position?: Position): readonly Value[] {
  expectType(value, "list", context, position);
  return value as readonly Value[];
}
