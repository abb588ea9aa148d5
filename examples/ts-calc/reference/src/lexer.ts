/** The lexer: source text to tokens, with line and column of each. */
import { LexError, type Position } from "./errors.js";
import { KEYWORDS, OPERATORS, PUNCTUATION, type Token, TokenKind } from "./tokens.js";

const DIGIT = /[0-9]/;
const IDENT_START = /[A-Za-z_]/;
const IDENT_PART = /[A-Za-z0-9_]/;
const ESCAPES: Readonly<Record<string, string>> = { n: "\n", t: "\t", '"': '"', "\\": "\\" };

export class Lexer {
  private offset = 0;
  private line = 1;
  private column = 1;

  constructor(private readonly source: string) {}

  tokenize(): Token[] {
    const tokens: Token[] = [];
    for (;;) {
      this.skipSpaceAndComments();
      if (this.atEnd()) {
        tokens.push({ kind: TokenKind.End, text: "", position: this.position() });
        return tokens;
      }
      tokens.push(this.next());
    }
  }

  private next(): Token {
    const start = this.position();
    const char = this.peek();
    if (DIGIT.test(char)) {
      return { kind: TokenKind.Number, text: this.readNumber(), position: start };
    }
    if (IDENT_START.test(char)) {
      const word = this.readWhile(IDENT_PART);
      const kind = KEYWORDS.has(word) ? TokenKind.Keyword : TokenKind.Identifier;
      return { kind, text: word, position: start };
    }
    if (char === '"') {
      return { kind: TokenKind.String, text: this.readString(start), position: start };
    }
    const operator = OPERATORS.find((candidate) => this.source.startsWith(candidate, this.offset));
    if (operator !== undefined) {
      this.advance(operator.length);
      return { kind: TokenKind.Operator, text: operator, position: start };
    }
    if (PUNCTUATION.has(char)) {
      this.advance(1);
      return { kind: TokenKind.Punctuation, text: char, position: start };
    }
    throw new LexError(`unexpected character '${char}'`, start);
  }

  private readNumber(): string {
    let text = this.readWhile(DIGIT);
    if (this.peek() === "." && DIGIT.test(this.peek(1))) {
      this.advance(1);
      text += "." + this.readWhile(DIGIT);
    }
    return text;
  }

  private readString(start: Position): string {
    this.advance(1);
    let text = "";
    while (!this.atEnd() && this.peek() !== '"') {
      let char = this.peek();
      if (char === "\\") {
        const escaped = ESCAPES[this.peek(1)];
        if (escaped === undefined) {
          throw new LexError(`unknown escape '\\${this.peek(1)}'`, this.position());
        }
        this.advance(1);
        char = escaped;
      }
      text += char;
      this.advance(1);
    }
    if (this.atEnd()) {
      throw new LexError("unterminated string", start);
    }
    this.advance(1);
    return text;
  }

  private readWhile(pattern: RegExp): string {
    const begin = this.offset;
    while (!this.atEnd() && pattern.test(this.peek())) {
      this.advance(1);
    }
    return this.source.slice(begin, this.offset);
  }

  private skipSpaceAndComments(): void {
    while (!this.atEnd()) {
      const char = this.peek();
      if (char === "#") {
        while (!this.atEnd() && this.peek() !== "\n") {
          this.advance(1);
        }
      } else if (/\s/.test(char)) {
        this.advance(1);
      } else {
        return;
      }
    }
  }

  private advance(count: number): void {
    for (let i = 0; i < count; i += 1) {
      if (this.source[this.offset] === "\n") {
        this.line += 1;
        this.column = 1;
      } else {
        this.column += 1;
      }
      this.offset += 1;
    }
  }

  private peek(ahead = 0): string {
    return this.source[this.offset + ahead] ?? "";
  }

  private atEnd(): boolean {
    return this.offset >= this.source.length;
  }

  private position(): Position {
    return { offset: this.offset, line: this.line, column: this.column };
  }
}

export function tokenize(source: string): Token[] {
  return new Lexer(source).tokenize();
}
