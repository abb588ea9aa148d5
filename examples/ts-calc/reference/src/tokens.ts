/** Tokens: their kinds, the keywords and the operators. */
import type { Position } from "./errors.js";

export enum TokenKind {
  Number = "number",
  String = "string",
  Identifier = "identifier",
  Keyword = "keyword",
  Operator = "operator",
  Punctuation = "punctuation",
  End = "end",
}

export interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  readonly position: Position;
}

export const KEYWORDS: ReadonlySet<string> = new Set(["let", "in", "if", "then", "else", "and", "or", "not", "true", "false"]);

/** Operators longest first, so the lexer can take the first that matches. */
export const OPERATORS: readonly string[] = ["==", "!=", "<=", ">=", "++", "+", "-", "*", "/", "%", "^", "<", ">", "="];

export const PUNCTUATION: ReadonlySet<string> = new Set(["(", ")", "[", "]", ",", "?", ":"]);

export function isKeyword(token: Token, word: string): boolean {
  return token.kind === TokenKind.Keyword && token.text === word;
}

export function isSymbol(token: Token, symbol: string): boolean {
  return (token.kind === TokenKind.Operator || token.kind === TokenKind.Punctuation) && token.text === symbol;
}

export function describeToken(token: Token): string {
  if (token.kind === TokenKind.End) {
    return "end of input";
  }
  return `${token.kind} '${token.text}'`;
}
