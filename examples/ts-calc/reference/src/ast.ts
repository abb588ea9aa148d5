/** The syntax tree: one discriminated union of expression nodes. */
import type { Position } from "./errors.js";

export type BinaryOperator = "+" | "-" | "*" | "/" | "%" | "^" | "++" | "==" | "!=" | "<" | "<=" | ">" | ">=" | "and" | "or";
export type UnaryOperator = "-" | "not";

interface NodeBase {
  readonly position: Position;
}

export interface NumberLiteral extends NodeBase {
  readonly type: "number";
  readonly value: number;
}

export interface StringLiteral extends NodeBase {
  readonly type: "string";
  readonly value: string;
}

export interface BooleanLiteral extends NodeBase {
  readonly type: "boolean";
  readonly value: boolean;
}

export interface ListLiteral extends NodeBase {
  readonly type: "list";
  readonly items: readonly Expr[];
}

export interface Variable extends NodeBase {
  readonly type: "variable";
  readonly name: string;
}

export interface Unary extends NodeBase {
  readonly type: "unary";
  readonly operator: UnaryOperator;
  readonly operand: Expr;
}

export interface Binary extends NodeBase {
  readonly type: "binary";
  readonly operator: BinaryOperator;
  readonly left: Expr;
  readonly right: Expr;
}

export interface Call extends NodeBase {
  readonly type: "call";
  readonly callee: string;
  readonly args: readonly Expr[];
}

export interface Conditional extends NodeBase {
  readonly type: "conditional";
  readonly test: Expr;
  readonly then: Expr;
  readonly otherwise: Expr;
}

export interface Let extends NodeBase {
  readonly type: "let";
  readonly name: string;
  readonly value: Expr;
  readonly body: Expr;
}

export type Expr = NumberLiteral | StringLiteral | BooleanLiteral | ListLiteral | Variable | Unary | Binary | Call | Conditional | Let;

export type ExprType = Expr["type"];

/** Calls `visit` on every node of the tree, parents before children. */
export function walk(expr: Expr, visit: (node: Expr) => void): void {
  visit(expr);
  for (const child of children(expr)) {
    walk(child, visit);
  }
}

export function children(expr: Expr): readonly Expr[] {
  switch (expr.type) {
    case "list":
      return expr.items;
    case "unary":
      return [expr.operand];
    case "binary":
      return [expr.left, expr.right];
    case "call":
      return expr.args;
    case "conditional":
      return [expr.test, expr.then, expr.otherwise];
    case "let":
      return [expr.value, expr.body];
    default:
      return [];
  }
}

/** The names a tree reads without binding them itself. */
export function freeVariables(expr: Expr, bound: ReadonlySet<string> = new Set()): Set<string> {
  const free = new Set<string>();
  if (expr.type === "variable") {
    if (!bound.has(expr.name)) {
      free.add(expr.name);
    }
    return free;
  }
  if (expr.type === "let") {
    freeVariables(expr.value, bound).forEach((name) => free.add(name));
    const inner = new Set(bound).add(expr.name);
    freeVariables(expr.body, inner).forEach((name) => free.add(name));
    return free;
  }
  for (const child of children(expr)) {
    freeVariables(child, bound).forEach((name) => free.add(name));
  }
  return free;
}
