/** Prints a syntax tree back as source, with only the parentheses it needs. */
import type { Expr } from "./ast.js";
import { BINARY_OPERATORS, UNARY_PRECEDENCE } from "./parser.js";

const ATOM = 100;

function precedenceOf(expr: Expr): number {
  switch (expr.type) {
    case "binary":
      return BINARY_OPERATORS.get(expr.operator)?.precedence ?? 0;
    case "unary":
      return UNARY_PRECEDENCE;
    case "conditional":
    case "let":
      return 0;
    default:
      return ATOM;
  }
}

function wrap(expr: Expr, minimum: number): string {
  const text = print(expr);
  return precedenceOf(expr) < minimum ? `(${text})` : text;
}

function quote(value: string): string {
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n").replace(/\t/g, "\\t")}"`;
}

export function print(expr: Expr): string {
  switch (expr.type) {
    case "number":
      return String(expr.value);
    case "string":
      return quote(expr.value);
    case "boolean":
      return expr.value ? "true" : "false";
    case "variable":
      return expr.name;
    case "list":
      return `[${expr.items.map(print).join(", ")}]`;
    case "call":
      return `${expr.callee}(${expr.args.map(print).join(", ")})`;
    case "unary": {
      const operand = wrap(expr.operand, UNARY_PRECEDENCE);
      return expr.operator === "not" ? `not ${operand}` : `-${operand}`;
    }
    case "binary": {
      const info = BINARY_OPERATORS.get(expr.operator)!;
      const leftMin = info.rightAssociative ? info.precedence + 1 : info.precedence;
      const rightMin = info.rightAssociative ? info.precedence : info.precedence + 1;
      return `${wrap(expr.left, leftMin)} ${expr.operator} ${wrap(expr.right, rightMin)}`;
    }
    case "conditional":
      return `if ${print(expr.test)} then ${print(expr.then)} else ${print(expr.otherwise)}`;
    case "let":
      return `let ${expr.name} = ${print(expr.value)} in ${print(expr.body)}`;
  }
}
