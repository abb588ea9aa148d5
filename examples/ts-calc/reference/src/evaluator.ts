/** The evaluator: walks the tree, asynchronously, because builtins may wait on the host. */
import type { Binary, Expr, Unary } from "./ast.js";
import { EvalError } from "./errors.js";
import { BUILTINS, checkArity, type Builtin, type HostContext } from "./runtime/builtins.js";
import { Scope } from "./runtime/scope.js";
import { asNumber, equals, expectType, isList, show, truthy, type Value } from "./runtime/values.js";

export interface EvaluatorOptions {
  readonly host?: HostContext;
  readonly functions?: ReadonlyMap<string, Builtin>;
  readonly maxDepth?: number;
}

const NO_HOST: HostContext = {
  resolve: async () => undefined,
};

export class Evaluator {
  private readonly host: HostContext;
  private readonly functions: ReadonlyMap<string, Builtin>;
  private readonly maxDepth: number;
  private depth = 0;
  steps = 0;

  constructor(options: EvaluatorOptions = {}) {
    this.host = options.host ?? NO_HOST;
    this.functions = options.functions ?? BUILTINS;
    this.maxDepth = options.maxDepth ?? 200;
  }

  async evaluate(expr: Expr, scope: Scope<Value>): Promise<Value> {
    this.steps += 1;
    this.depth += 1;
    try {
      if (this.depth > this.maxDepth) {
        throw new EvalError(`expression nested deeper than ${this.maxDepth}`, expr.position);
      }
      return await this.dispatch(expr, scope);
    } finally {
      this.depth -= 1;
    }
  }

  private async dispatch(expr: Expr, scope: Scope<Value>): Promise<Value> {
    switch (expr.type) {
      case "number":
      case "string":
      case "boolean":
        return expr.value;
      case "list":
        return Promise.all(expr.items.map((item) => this.evaluate(item, scope)));
      case "variable":
        return this.variable(expr.name, scope, expr);
      case "unary":
        return this.unary(expr, scope);
      case "binary":
        return this.binary(expr, scope);
      case "call":
        return this.call(expr.callee, expr.args, scope, expr);
      case "conditional":
        return truthy(await this.evaluate(expr.test, scope))
          ? this.evaluate(expr.then, scope)
          : this.evaluate(expr.otherwise, scope);
      case "let": {
        const inner = scope.child();
        inner.define(expr.name, await this.evaluate(expr.value, scope));
        return this.evaluate(expr.body, inner);
      }
    }
  }

  private variable(name: string, scope: Scope<Value>, expr: Expr): Value {
    const value = scope.lookup(name);
    if (value === undefined) {
      throw new EvalError(`unknown name '${name}'`, expr.position);
    }
    return value;
  }

  private async unary(expr: Unary, scope: Scope<Value>): Promise<Value> {
    const operand = await this.evaluate(expr.operand, scope);
    if (expr.operator === "not") {
      return !truthy(operand);
    }
    return -asNumber(operand, "unary -", expr.position);
  }

  private async binary(expr: Binary, scope: Scope<Value>): Promise<Value> {
    if (expr.operator === "and" || expr.operator === "or") {
      const left = await this.evaluate(expr.left, scope);
      const decided = expr.operator === "and" ? !truthy(left) : truthy(left);
      return decided ? left : this.evaluate(expr.right, scope);
    }
    const left = await this.evaluate(expr.left, scope);
    const right = await this.evaluate(expr.right, scope);
    return applyBinary(expr, left, right);
  }

  private async call(callee: string, argExprs: readonly Expr[], scope: Scope<Value>, expr: Expr): Promise<Value> {
    const entry = this.functions.get(callee);
    if (entry === undefined) {
      throw new EvalError(`unknown function '${callee}'`, expr.position);
    }
    checkArity(entry, argExprs.length, expr.position);
    const args: Value[] = [];
    for (const argExpr of argExprs) {
      args.push(await this.evaluate(argExpr, scope));
    }
    return entry.call(args, this.host, expr.position);
  }
}

export function applyBinary(expr: Binary, left: Value, right: Value): Value {
  const at = expr.position;
  switch (expr.operator) {
    case "==":
      return equals(left, right);
    case "!=":
      return !equals(left, right);
    case "++":
      if (isList(left) && isList(right)) {
        return [...left, ...right];
      }
      return show(left) + show(right);
    case "<":
    case "<=":
    case ">":
    case ">=":
      return compare(expr.operator, left, right, expr);
    default:
      break;
  }
  const a = asNumber(left, `'${expr.operator}'`, at);
  const b = asNumber(right, `'${expr.operator}'`, at);
  switch (expr.operator) {
    case "+":
      return a + b;
    case "-":
      return a - b;
    case "*":
      return a * b;
    case "^":
      return a ** b;
    default:
      if (b === 0) {
        throw new EvalError("division by zero", at);
      }
      return expr.operator === "/" ? a / b : a % b;
  }
}

function compare(operator: "<" | "<=" | ">" | ">=", left: Value, right: Value, expr: Binary): boolean {
  if (typeof left === "string") {
    expectType(right, "string", `'${operator}'`, expr.position);
  } else {
    asNumber(left, `'${operator}'`, expr.position);
    asNumber(right, `'${operator}'`, expr.position);
  }
  const order = left < right ? -1 : left > right ? 1 : 0;
  switch (operator) {
    case "<":
      return order < 0;
    case "<=":
      return order <= 0;
    case ">":
      return order > 0;
    case ">=":
      return order >= 0;
  }
}
