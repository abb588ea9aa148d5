/** Nested scopes of names, each reading through to its parent. */

export class Scope<T> {
  private readonly names = new Map<string, T>();

  constructor(private readonly parent?: Scope<T>) {}

  static from<T>(entries: Readonly<Record<string, T>>): Scope<T> {
    const scope = new Scope<T>();
    for (const [name, value] of Object.entries(entries)) {
      scope.define(name, value);
    }
    return scope;
  }

  define(name: string, value: T): void {
    this.names.set(name, value);
  }

  lookup(name: string): T | undefined {
    if (this.names.has(name)) {
      return this.names.get(name);
    }
    return this.parent?.lookup(name);
  }

  has(name: string): boolean {
    return this.names.has(name) || (this.parent?.has(name) ?? false);
  }

  child(): Scope<T> {
    return new Scope<T>(this);
  }

  /** Every visible name, the nearest binding first, sorted. */
  visible(): string[] {
    const seen = new Set<string>(this.parent?.visible() ?? []);
    for (const name of this.names.keys()) {
      seen.add(name);
    }
    return [...seen].sort();
  }

  get depth(): number {
    return this.parent === undefined ? 0 : this.parent.depth + 1;
  }
}
