// One long-lived TypeScript language service for a run, spoken to in JSON lines.
//
// Every request is one line on stdin, every answer one line on stdout, in order:
//   {"op": "version"}                      -> {"ok": true, "typescript": "5.6.3", "node": "v20..."}
//   {"op": "open", "root": "/abs/project"}  -> {"ok": true, "options": {...}}
//       the project's tsconfig.json (when there is one) gives the compiler options, else
//       tsc's defaults (not strict) with node16 modules;
//       noEmit is forced and checkJs is on, so JavaScript is checked too.
//   {"op": "check", "files": {"src/a.ts": "text", ...}, "target": "src/a.ts"}
//       -> {"ok": true, "diagnostics": [{"line", "column", "end_line", "code",
//           "category", "message", "kind": "syntactic"|"semantic"}]}
//       the files given replace what is on disk (paths relative to the root) until
//       a later check gives them again; files not given are read from disk.
// An error answers {"ok": false, "error": "..."} and the service carries on.
import { createInterface } from "node:readline";
import path from "node:path";
import ts from "typescript";

const TOOL_TYPES = path.join(path.dirname(new URL(import.meta.url).pathname), "node_modules", "@types");

let root = process.cwd();
// Without a tsconfig the library is the newest: node runs today's JavaScript, and a
// member read on a library global is judged against it (see readOnLibraryGlobal).
let options = { noEmit: true, allowJs: true, checkJs: true, target: ts.ScriptTarget.ESNext, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext };
let projectFiles = [];
const overlay = new Map(); // absolute path -> {text, version}

function open(request) {
  root = path.resolve(request.root);
  overlay.clear();
  const configPath = path.join(root, "tsconfig.json");
  let parsed = { options: {}, fileNames: [] };
  if (ts.sys.fileExists(configPath)) {
    const read = ts.readConfigFile(configPath, ts.sys.readFile);
    if (read.error) {
      throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, "\n"));
    }
    parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, root, undefined, configPath);
  }
  options = { ...options, ...parsed.options, noEmit: true, allowJs: true, checkJs: true };
  // Node's own declarations (node:test, node:assert, ...) come with MGE's pinned
  // @types/node unless the project brings its own.
  options.typeRoots ??= [path.join(root, "node_modules", "@types"), TOOL_TYPES];
  delete options.outDir;
  projectFiles = parsed.fileNames;
  return { options: { strict: Boolean(options.strict), module: options.module ?? null } };
}

// The files handed in live in folders that need not exist on disk (the service's root
// holds only the project's configuration): node16/nodenext resolution asks whether a
// folder exists before it looks for a module in it, so the overlay's folders count.
function overlayFolders(dir) {
  const prefix = path.resolve(dir) + path.sep;
  const found = new Set();
  for (const key of overlay.keys()) {
    const rest = key.startsWith(prefix) ? key.slice(prefix.length).split(path.sep) : [];
    if (rest.length > 1) found.add(rest[0]);
  }
  return found;
}

const directoryExists = (dir) => ts.sys.directoryExists(dir) || overlayFolders(path.dirname(dir)).has(path.basename(dir));

function getDirectories(dir) {
  const onDisk = ts.sys.directoryExists(dir) ? ts.sys.getDirectories(dir) : [];
  return [...new Set([...onDisk, ...overlayFolders(dir)])];
}

const host = {
  getScriptFileNames: () => [...new Set([...projectFiles, ...overlay.keys()])],
  getScriptVersion: (fileName) => String(overlay.get(path.resolve(fileName))?.version ?? 0),
  getScriptSnapshot: (fileName) => {
    const held = overlay.get(path.resolve(fileName));
    if (held !== undefined) return ts.ScriptSnapshot.fromString(held.text);
    const text = ts.sys.readFile(fileName);
    return text === undefined ? undefined : ts.ScriptSnapshot.fromString(text);
  },
  getCurrentDirectory: () => root,
  getCompilationSettings: () => options,
  getDefaultLibFileName: (opts) => ts.getDefaultLibFilePath(opts),
  fileExists: (fileName) => overlay.has(path.resolve(fileName)) || ts.sys.fileExists(fileName),
  readFile: (fileName) => overlay.get(path.resolve(fileName))?.text ?? ts.sys.readFile(fileName),
  readDirectory: ts.sys.readDirectory,
  directoryExists,
  getDirectories,
};
const service = ts.createLanguageService(host, ts.createDocumentRegistry());

// A member that is not there (TS2339, 2551) is read on a value of the language's own
// library (`Array.isArrray`, `Math.flor`): its members are the standard's, whatever
// the code around it infers. Only a plain read of a member of a global the default
// library declares counts; writes (`process.flag = true`) add members legitimately.
const MEMBER_CODES = new Set([2339, 2551]);

function nodeAt(file, position) {
  let node = file;
  for (;;) {
    const inner = ts.forEachChild(node, (child) => (child.pos <= position && position < child.end ? child : undefined));
    if (inner === undefined) return node;
    node = inner;
  }
}

function readOnLibraryGlobal(diagnostic) {
  if (!MEMBER_CODES.has(diagnostic.code) || diagnostic.start === undefined) return false;
  const program = service.getProgram();
  const name = nodeAt(diagnostic.file, diagnostic.start);
  const access = name.parent;
  if (!access || !ts.isPropertyAccessExpression(access) || access.name !== name) return false;
  if (!ts.isIdentifier(access.expression)) return false;
  const outer = access.parent;
  if (outer && ts.isBinaryExpression(outer) && outer.left === access && outer.operatorToken.kind >= ts.SyntaxKind.FirstAssignment && outer.operatorToken.kind <= ts.SyntaxKind.LastAssignment) return false;
  // The value's declaration (`declare var Array: ArrayConstructor`), not the
  // interfaces merged into the same symbol, which @types/node augments.
  const value = program.getTypeChecker().getSymbolAtLocation(access.expression)?.valueDeclaration;
  return value !== undefined && program.isSourceFileDefaultLibrary(value.getSourceFile());
}

function describe(diagnostic, kind) {
  const file = diagnostic.file;
  const start = file.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
  const end = file.getLineAndCharacterOfPosition((diagnostic.start ?? 0) + (diagnostic.length ?? 0));
  return {
    line: start.line + 1,
    column: start.character + 1,
    end_line: end.line + 1,
    code: diagnostic.code,
    category: ts.DiagnosticCategory[diagnostic.category].toLowerCase(),
    message: ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n"),
    kind,
    library_member: kind === "semantic" && readOnLibraryGlobal(diagnostic),
  };
}

function check(request) {
  for (const [name, text] of Object.entries(request.files ?? {})) {
    const key = path.resolve(root, name);
    const held = overlay.get(key);
    if (held === undefined || held.text !== text) {
      overlay.set(key, { text, version: (held?.version ?? 0) + 1 });
    }
  }
  const target = path.resolve(root, request.target);
  const syntactic = service.getSyntacticDiagnostics(target).map((d) => describe(d, "syntactic"));
  const semantic = syntactic.length
    ? []
    : service.getSemanticDiagnostics(target).filter((d) => d.file).map((d) => describe(d, "semantic"));
  return { diagnostics: [...syntactic, ...semantic] };
}

const handlers = {
  version: () => ({ typescript: ts.version, node: process.version }),
  open,
  check,
};

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line.trim()) continue;
  let answer;
  try {
    const request = JSON.parse(line);
    const handler = handlers[request.op];
    if (handler === undefined) throw new Error(`unknown op ${request.op}`);
    answer = { ok: true, ...handler(request) };
  } catch (error) {
    answer = { ok: false, error: String(error?.message ?? error) };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
}
