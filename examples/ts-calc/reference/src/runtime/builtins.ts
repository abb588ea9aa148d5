/** The functions every program can call, some of them asynchronous. */
import { EvalError, type Position } from "../errors.js";
import { asList, asNumber, equals, show, typeName, type Value } from "./values.js";

/** What a builtin sees of the host: an asynchronous source of outside values. */
export interface HostContext {
  resolve(key: string): Promise<Value | undefined>;
}

export interface Builtin {
  readonly name: string;
  readonly minArgs: number;
  readonly maxArgs: number;
  call(args: readonly Value[], host: HostContext, position: Position): Value | Promise<Value>;
}

type Body = (args: readonly Value[], host: HostContext, position: Position) => Value | Promise<Value>;

function builtin(name: string, minArgs: number, maxArgs: number, call: Body): Builtin {
  return { name, minArgs, maxArgs, call };
}

function numbers(args: readonly Value[], name: string, position: Position): number[] {
  const items = args.length === 1 && Array.isArray(args[0]) ? (args[0] as readonly Value[]) : args;
  return items.map((item) => asNumber(item, name, position));
}

function compareValues(left: Value, right: Value): number {
  if (typeof left === "number" && typeof right === "number") {
    return left - right;
  }
  return show(left) < show(right) ? -1 : show(left) > show(right) ? 1 : 0;
}

export function range(start: number, stop: number, step = 1): number[] {
  if (step === 0) {
    throw new EvalError("range step must not be 0");
  }
  const values: number[] = [];
  for (let value = start; step > 0 ? value < stop : value > stop; value += step) {
    values.push(value);
  }
  return values;
}

async function lookup(args: readonly Value[], host: HostContext, position: Position): Promise<Value> {
  const key = show(args[0]!);
  const found = await host.resolve(key);
  if (found !== undefined) {
    return found;
  }
  if (args.length > 1) {
    return args[1]!;
  }
  throw new EvalError(`nothing found for '${key}'`, position);
}

const ALL: readonly Builtin[] = [
  builtin("abs", 1, 1, (args, _host, at) => Math.abs(asNumber(args[0]!, "abs", at))),
  builtin("round", 1, 2, (args, _host, at) => {
    const digits = args.length > 1 ? asNumber(args[1]!, "round", at) : 0;
    const factor = 10 ** digits;
    return Math.round(asNumber(args[0]!, "round", at) * factor) / factor;
  }),
  builtin("min", 1, Infinity, (args, _host, at) => Math.min(...numbers(args, "min", at))),
  builtin("max", 1, Infinity, (args, _host, at) => Math.max(...numbers(args, "max", at))),
  builtin("sum", 1, Infinity, (args, _host, at) => numbers(args, "sum", at).reduce((a, b) => a + b, 0)),
  builtin("len", 1, 1, (args) => {
    const value = args[0]!;
    if (typeof value === "string" || Array.isArray(value)) {
      return value.length;
    }
    throw new EvalError(`len expects a string or a list, got a ${typeName(value)}`);
  }),
  builtin("str", 1, 1, (args) => show(args[0]!)),
  builtin("upper", 1, 1, (args) => show(args[0]!).toUpperCase()),
  builtin("join", 1, 2, (args, _host, at) => {
    const separator = args.length > 1 ? show(args[1]!) : "";
    return asList(args[0]!, "join", at).map((item) => show(item)).join(separator);
  }),
  builtin("range", 1, 3, (args, _host, at) => {
    const bounds = args.map((arg) => asNumber(arg, "range", at));
    return bounds.length === 1 ? range(0, bounds[0]!) : range(bounds[0]!, bounds[1]!, bounds[2]);
  }),
  builtin("sort", 1, 1, (args, _host, at) => [...asList(args[0]!, "sort", at)].sort(compareValues)),
  builtin("reverse", 1, 1, (args, _host, at) => [...asList(args[0]!, "reverse", at)].reverse()),
  builtin("contains", 2, 2, (args, _host, at) => asList(args[0]!, "contains", at).some((item) => equals(item, args[1]!))),
  builtin("lookup", 1, 2, lookup),
];

export const BUILTINS: ReadonlyMap<string, Builtin> = new Map(ALL.map((entry) => [entry.name, entry]));

export function checkArity(entry: Builtin, count: number, position: Position): void {
  if (count < entry.minArgs || count > entry.maxArgs) {
    const wanted =
      entry.minArgs === entry.maxArgs
        ? `${entry.minArgs}`
        : entry.maxArgs === Infinity
          ? `at least ${entry.minArgs}`
          : `${entry.minArgs} to ${entry.maxArgs}`;
    throw new EvalError(`${entry.name} takes ${wanted} argument(s), got ${count}`, position);
  }
}
