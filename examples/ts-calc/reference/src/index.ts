/** The library's public face. */
export { Calculator } from "./calculator.js";
export type { CalculatorOptions, Outcome, Program } from "./calculator.js";
export { CalcError, EvalError, LexError, ParseError } from "./errors.js";
export { parse } from "./parser.js";
export { print } from "./printer.js";
export { tokenize } from "./lexer.js";
export type { Expr } from "./ast.js";
export type { Value } from "./runtime/values.js";
