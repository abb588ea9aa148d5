/** The errors of the language, each with the position it concerns. */

export interface Position {
  readonly offset: number;
  readonly line: number;
  readonly column: number;
}

export abstract class CalcError extends Error {
  abstract readonly stage: string;

  constructor(
    message: string,
    readonly position?: Position,
  ) {
    super(message);
    this.name = new.target.name;
  }

  describe(): string {
    const where = this.position === undefined ? "" : ` at ${this.position.line}:${this.position.column}`;
    return `${this.stage} error${where}: ${this.message}`;
  }
}

export class LexError extends CalcError {
  readonly stage = "lex";
}

export class ParseError extends CalcError {
  readonly stage = "parse";
}

export class EvalError extends CalcError {
  readonly stage = "eval";
}

export function isCalcError(value: unknown): value is CalcError {
  return value instanceof CalcError;
}
