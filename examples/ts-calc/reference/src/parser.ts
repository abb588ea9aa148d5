/** A precedence-climbing parser from tokens to the syntax tree. */
import type { BinaryOperator, Expr } from "./ast.js";
import { ParseError } from "./errors.js";
import { tokenize } from "./lexer.js";
import { describeToken, isKeyword, isSymbol, type Token, TokenKind } from "./tokens.js";

interface OperatorInfo {
  readonly precedence: number;
  readonly rightAssociative: boolean;
}

export const BINARY_OPERATORS: ReadonlyMap<BinaryOperator, OperatorInfo> = new Map<BinaryOperator, OperatorInfo>([
  ["or", { precedence: 1, rightAssociative: false }],
  ["and", { precedence: 2, rightAssociative: false }],
  ["==", { precedence: 3, rightAssociative: false }],
  ["!=", { precedence: 3, rightAssociative: false }],
  ["<", { precedence: 4, rightAssociative: false }],
  ["<=", { precedence: 4, rightAssociative: false }],
  [">", { precedence: 4, rightAssociative: false }],
  [">=", { precedence: 4, rightAssociative: false }],
  ["++", { precedence: 5, rightAssociative: false }],
  ["+", { precedence: 6, rightAssociative: false }],
  ["-", { precedence: 6, rightAssociative: false }],
  ["*", { precedence: 7, rightAssociative: false }],
  ["/", { precedence: 7, rightAssociative: false }],
  ["%", { precedence: 7, rightAssociative: false }],
  ["^", { precedence: 9, rightAssociative: true }],
]);

/** Unary minus and `not` bind tighter than `*` but looser than `^`. */
export const UNARY_PRECEDENCE = 8;

export class Parser {
  private index = 0;

  constructor(private readonly tokens: readonly Token[]) {}

  parseProgram(): Expr {
    const expr = this.parseExpression(0);
    const last = this.current();
    if (last.kind !== TokenKind.End) {
      throw new ParseError(`expected end of input, found ${describeToken(last)}`, last.position);
    }
    return expr;
  }

  parseExpression(minimum: number): Expr {
    let left = this.parseUnary();
    for (;;) {
      const token = this.current();
      const info = this.binaryInfo(token);
      if (info === undefined || info.precedence < minimum) {
        return left;
      }
      this.index += 1;
      const next = info.rightAssociative ? info.precedence : info.precedence + 1;
      const right = this.parseExpression(next);
      left = { type: "binary", operator: token.text as BinaryOperator, left, right, position: token.position };
    }
  }

  private parseUnary(): Expr {
    const token = this.current();
    if (isSymbol(token, "-") || isKeyword(token, "not")) {
      this.index += 1;
      const operand = this.parseExpression(UNARY_PRECEDENCE);
      return { type: "unary", operator: token.text === "-" ? "-" : "not", operand, position: token.position };
    }
    return this.parsePrimary();
  }

  private parsePrimary(): Expr {
    const token = this.advance();
    switch (token.kind) {
      case TokenKind.Number:
        return { type: "number", value: Number(token.text), position: token.position };
      case TokenKind.String:
        return { type: "string", value: token.text, position: token.position };
      case TokenKind.Identifier:
        return this.parseNameOrCall(token);
      case TokenKind.Keyword:
        return this.parseKeyword(token);
      default:
        break;
    }
    if (isSymbol(token, "(")) {
      const inner = this.parseExpression(0);
      this.expect(")");
      return inner;
    }
    if (isSymbol(token, "[")) {
      const items = this.parseList("]");
      return { type: "list", items, position: token.position };
    }
    throw new ParseError(`unexpected ${describeToken(token)}`, token.position);
  }

  private parseKeyword(token: Token): Expr {
    if (token.text === "true" || token.text === "false") {
      return { type: "boolean", value: token.text === "true", position: token.position };
    }
    if (token.text === "if") {
      const test = this.parseExpression(0);
      this.expectKeyword("then");
      const then = this.parseExpression(0);
      this.expectKeyword("else");
      const otherwise = this.parseExpression(0);
      return { type: "conditional", test, then, otherwise, position: token.position };
    }
    if (token.text === "let") {
      const name = this.advance();
      if (name.kind !== TokenKind.Identifier) {
        throw new ParseError(`expected a name after let, found ${describeToken(name)}`, name.position);
      }
      this.expect("=");
      const value = this.parseExpression(0);
      this.expectKeyword("in");
      const body = this.parseExpression(0);
      return { type: "let", name: name.text, value, body, position: token.position };
    }
    throw new ParseError(`unexpected ${describeToken(token)}`, token.position);
  }

  private parseNameOrCall(token: Token): Expr {
    if (!isSymbol(this.current(), "(")) {
      return { type: "variable", name: token.text, position: token.position };
    }
    this.index += 1;
    const args = this.parseList(")");
    return { type: "call", callee: token.text, args, position: token.position };
  }

  private parseList(closing: string): Expr[] {
    const items: Expr[] = [];
    if (isSymbol(this.current(), closing)) {
      this.index += 1;
      return items;
    }
    for (;;) {
      items.push(this.parseExpression(0));
      if (isSymbol(this.current(), ",")) {
        this.index += 1;
        continue;
      }
      this.expect(closing);
      return items;
    }
  }

  private binaryInfo(token: Token): OperatorInfo | undefined {
    if (token.kind !== TokenKind.Operator && token.kind !== TokenKind.Keyword) {
      return undefined;
    }
    return BINARY_OPERATORS.get(token.text as BinaryOperator);
  }

  private expect(symbol: string): Token {
    const token = this.advance();
    if (!isSymbol(token, symbol)) {
      throw new ParseError(`expected '${symbol}', found ${describeToken(token)}`, token.position);
    }
    return token;
  }

  private expectKeyword(word: string): Token {
    const token = this.advance();
    if (!isKeyword(token, word)) {
      throw new ParseError(`expected '${word}', found ${describeToken(token)}`, token.position);
    }
    return token;
  }

  private current(): Token {
    return this.tokens[Math.min(this.index, this.tokens.length - 1)]!;
  }

  private advance(): Token {
    const token = this.current();
    this.index = Math.min(this.index + 1, this.tokens.length - 1);
    return token;
  }
}

export function parse(source: string): Expr {
  return new Parser(tokenize(source)).parseProgram();
}
