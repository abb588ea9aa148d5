/** The calculator: compiled programs cached by source, evaluated against variables and a host. */
import { freeVariables, type Expr } from "./ast.js";
import { isCalcError, type CalcError } from "./errors.js";
import { Evaluator } from "./evaluator.js";
import { parse } from "./parser.js";
import type { HostContext } from "./runtime/builtins.js";
import { Scope } from "./runtime/scope.js";
import { show, type Value } from "./runtime/values.js";
import { attempt, LruCache, type Result } from "./util/index.js";

export interface Program {
  readonly source: string;
  readonly tree: Expr;
  readonly inputs: readonly string[];
}

export interface CalculatorOptions {
  readonly cacheSize?: number;
  readonly host?: HostContext;
  readonly constants?: Readonly<Record<string, Value>>;
}

export type Outcome = { readonly source: string; readonly text: string } | { readonly source: string; readonly error: string };

export class Calculator {
  private readonly cache: LruCache<string, Program>;
  private readonly globals: Scope<Value>;
  private readonly host: HostContext | undefined;

  constructor(options: CalculatorOptions = {}) {
    this.cache = new LruCache(options.cacheSize ?? 64);
    this.globals = Scope.from<Value>({ pi: Math.PI, e: Math.E, ...options.constants });
    this.host = options.host;
  }

  compile(source: string): Program {
    return this.cache.getOrCreate(source, (text) => {
      const tree = parse(text);
      const inputs = [...freeVariables(tree)].filter((name) => !this.globals.has(name)).sort();
      return { source: text, tree, inputs };
    });
  }

  async evaluate(source: string, variables: Readonly<Record<string, Value>> = {}): Promise<Value> {
    const program = this.compile(source);
    const scope = this.globals.child();
    for (const [name, value] of Object.entries(variables)) {
      scope.define(name, value);
    }
    const evaluator = new Evaluator({ host: this.host });
    return evaluator.evaluate(program.tree, scope);
  }

  async tryEvaluate(source: string, variables: Readonly<Record<string, Value>> = {}): Promise<Result<Value, CalcError>> {
    const result = await attempt(() => this.evaluate(source, variables));
    if (result.ok || isCalcError(result.error)) {
      return result as Result<Value, CalcError>;
    }
    throw result.error;
  }

  /** Evaluates every line of a script, one outcome per non-blank line, in order. */
  async runScript(script: string, variables: Readonly<Record<string, Value>> = {}): Promise<Outcome[]> {
    const lines = script.split("\n").map((line) => line.trim()).filter((line) => line !== "" && !line.startsWith("#"));
    const results = await Promise.all(lines.map((line) => this.tryEvaluate(line, variables)));
    return results.map((result, i) =>
      result.ok ? { source: lines[i]!, text: show(result.value) } : { source: lines[i]!, error: result.error.describe() },
    );
  }

  cacheStats(): { hits: number; misses: number; size: number } {
    return this.cache.stats();
  }
}
