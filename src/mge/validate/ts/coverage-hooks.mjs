// Module hooks for coverage.mjs: `import ... from "node:test"` gets the wrapped
// `node:test` of the preload (the built-in module's default export is its `test`
// function itself, which no patch of its properties reaches).
const WRAPPED = "mge-coverage:node-test";
let names = [];

export function initialize(data) {
  names = data.names;
}

export function resolve(specifier, context, next) {
  if (specifier === "node:test") return { url: WRAPPED, format: "module", shortCircuit: true };
  return next(specifier, context);
}

export function load(url, context, next) {
  if (url !== WRAPPED) return next(url, context);
  const source = [
    'const wrapped = globalThis[Symbol.for("mge.coverage.node-test")];',
    "export default wrapped;",
    `export const { ${names.join(", ")} } = wrapped;`,
  ].join("\n");
  return { format: "module", source, shortCircuit: true };
}
