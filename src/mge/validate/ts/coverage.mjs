// Per-test line coverage for `node --test`, preloaded (`--import`) into each test
// process by mge.validate.node_testing.
//
// Blame ranks atoms by which tests ran them (Ochiai), so it needs, per test, the
// project lines that test ran. V8's precise block coverage gives execution counts
// per byte range, and `Profiler.takePreciseCoverage` returns the counts since its
// last call and resets them: taken right before and right after a test's body, the
// second snapshot is what that body ran. So every test function given to
// `node:test` (`test`, `it`, their skip/todo/only forms, and `t.test` subtests) is
// wrapped, in the CommonJS loader for `require("node:test")` and by a resolve hook
// for `import ... from "node:test"` (its default export is a function no property
// patch can reach).
//
// Only the runner's child processes (one per test file) have tests; the settings
// come in the environment and are removed from it, so the tests, and processes
// they fork with the same flags, neither see nor act on them. Each process appends
// one JSON line per finished test, `{"t": name, "f": {file: [lines]}}`, to its own
// file in MGE_COVERAGE_DIR (private /tmp of the sandbox, outside the project); the
// sandboxed script hands those files to MGE on a channel apart from the verdict's.
// Code run outside any test (module loading, hooks) is attributed to no test, as
// in the Python tracer. Files under the project root only, node_modules excluded;
// compiled TypeScript (.mge-build) is mapped back through its source maps.
import fs from "node:fs";
// Taken from the module object, not imported by name: a node without them must
// still load this file (a preload that fails to load fails every test file).
import Module, { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const DIR = process.env.MGE_COVERAGE_DIR;
const ROOT = process.env.MGE_COVERAGE_ROOT;
delete process.env.MGE_COVERAGE_DIR;
delete process.env.MGE_COVERAGE_ROOT;

if (DIR && ROOT && process.env.NODE_TEST_CONTEXT) {
  try {
    install(DIR, fs.realpathSync(ROOT));
  } catch {
    // No inspector in this node, say: the tests run as they would without MGE
    // (nothing is patched before the profiler has started).
  }
}

function install(dir, root) {
  const rootUrl = pathToFileURL(root).href + "/";
  const out = path.join(dir, `${process.pid}.jsonl`);
  const require = createRequire(import.meta.url);
  const { Session } = require("node:inspector"); // absent from some builds of node
  const session = new Session();
  session.connect();
  const post = (method, params) => {
    // The in-thread session answers synchronously: the snapshot is taken here,
    // not later, which is what sandwiches a test body between two of them.
    let answer;
    session.post(method, params, (error, result) => {
      answer = error ? null : result;
    });
    return answer;
  };
  post("Profiler.enable");
  post("Profiler.startPreciseCoverage", { callCount: true, detailed: true });

  const running = []; // tests whose body started and has not ended, innermost last
  const sources = new Map(); // url -> {text, starts} or null (not a project file)

  function snapshot(into) {
    const taken = post("Profiler.takePreciseCoverage");
    if (!taken || !into) return;
    for (const script of taken.result) {
      if (!script.url.startsWith(rootUrl) || script.url.includes("/node_modules/")) continue;
      if (!script.functions.some((f) => f.ranges.some((r) => r.count > 0))) continue;
      const source = sourceOf(script.url);
      if (source) addLines(into, source, script.functions);
    }
  }

  function sourceOf(url) {
    if (!sources.has(url)) {
      let entry = null;
      try {
        const file = fileURLToPath(url);
        const text = fs.readFileSync(file, "utf8");
        const starts = [0];
        for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
        entry = { file, text, starts, map: file.includes("/.mge-build/") ? Module.findSourceMap?.(file) : undefined };
      } catch {
        entry = null;
      }
      sources.set(url, entry);
    }
    return sources.get(url);
  }

  function lineOf(starts, offset) {
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (starts[mid] <= offset) low = mid;
      else high = mid - 1;
    }
    return low; // 0-based
  }

  // A line ran when some non-blank character on it lies, innermost, in a range
  // with a positive count: V8 nests block ranges inside function ranges, and a
  // block with count 0 inside a function that ran is a branch not taken.
  function addLines(into, source, functions) {
    const ranges = [];
    for (const f of functions) for (const r of f.ranges) ranges.push(r);
    // Outer ranges first; a function's own range precedes its blocks (stable sort).
    ranges.sort((a, b) => a.startOffset - b.startOffset || b.endOffset - a.endOffset);
    const stack = [];
    let cursor = 0;
    const emit = (end) => {
      if (stack.length && end > cursor && stack[stack.length - 1].count > 0) mark(into, source, cursor, end);
      cursor = Math.max(cursor, end);
    };
    for (const range of ranges) {
      while (stack.length && stack[stack.length - 1].endOffset <= range.startOffset) {
        emit(stack[stack.length - 1].endOffset);
        stack.pop();
      }
      emit(range.startOffset);
      stack.push(range);
    }
    while (stack.length) {
      emit(stack[stack.length - 1].endOffset);
      stack.pop();
    }
  }

  function mark(into, source, start, end) {
    const { text, starts } = source;
    const last = lineOf(starts, end - 1);
    for (let line = lineOf(starts, start); line <= last; line++) {
      const from = Math.max(start, starts[line]);
      const to = Math.min(end, line + 1 < starts.length ? starts[line + 1] : text.length);
      const slice = text.slice(from, to);
      const column = slice.search(/\S/);
      if (column < 0) continue;
      record(into, source, line, from - starts[line] + column);
    }
  }

  function record(into, source, line, column) {
    let file = source.file;
    let number = line + 1;
    if (source.map) {
      const entry = source.map.findEntry(line, column);
      if (!entry || !entry.originalSource) return;
      file = entry.originalSource.startsWith("file:") ? fileURLToPath(entry.originalSource) : path.resolve(path.dirname(source.file), entry.originalSource);
      number = entry.originalLine + 1;
    }
    if (!file.startsWith(root + path.sep)) return;
    const relative = file.slice(root.length + 1);
    if (relative.startsWith(".mge-build/")) return;
    let lines = into.get(relative);
    if (!lines) into.set(relative, (lines = new Set()));
    lines.add(number);
  }

  // Coverage only informs blame: nothing it does may fail a test or change what
  // the test sees, so its own errors end here.
  function begin(context) {
    const test = { name: context && typeof context.name === "string" ? context.name : "", lines: new Map(), ended: false };
    try {
      snapshot(running.length ? running[running.length - 1].lines : null);
      patchContext(context);
    } catch {
      // as above
    }
    running.push(test);
    return test;
  }

  function end(test) {
    if (test.ended) return;
    test.ended = true;
    try {
      // A test that outlived its time limit may end after later tests began: what
      // ran since the last snapshot goes to the innermost test still running.
      snapshot(running.length ? running[running.length - 1].lines : test.lines);
    } catch {
      // as above
    }
    const at = running.lastIndexOf(test);
    if (at >= 0) running.splice(at, 1);
    if (!test.name) return;
    try {
      const files = {};
      for (const [file, lines] of test.lines) files[file] = [...lines].sort((a, b) => a - b);
      fs.appendFileSync(out, JSON.stringify({ t: test.name, f: files }) + "\n");
    } catch {
      // as above (a full disk, say)
    }
  }

  function wrapBody(fn) {
    if (typeof fn !== "function") return fn;
    const wrapped = function (context, ...rest) {
      const test = begin(context);
      // Node passes a `done` callback to a body that declares two parameters:
      // such a test ends when it is called.
      const callback = fn.length === 2 && typeof rest[0] === "function";
      if (callback) {
        const done = rest[0];
        rest[0] = function (...args) {
          end(test);
          return done.apply(this, args);
        };
      }
      let result;
      try {
        result = fn.call(this, context, ...rest);
      } catch (error) {
        end(test);
        throw error;
      }
      if (callback) return result;
      if (result && typeof result.then === "function") {
        return result.then(
          (value) => {
            end(test);
            return value;
          },
          (error) => {
            end(test);
            throw error;
          },
        );
      }
      end(test);
      return result;
    };
    // The runner names a test after its function when no name is given, and
    // chooses the callback style by the number of parameters.
    Object.defineProperty(wrapped, "name", { value: fn.name, configurable: true });
    Object.defineProperty(wrapped, "length", { value: fn.length, configurable: true });
    return wrapped;
  }

  // test(fn), test(name, fn), test(options, fn), test(name, options, fn)
  function wrapArgs(args) {
    for (let i = args.length - 1; i >= 0; i--) {
      if (typeof args[i] === "function") {
        args[i] = wrapBody(args[i]);
        break;
      }
    }
    return args;
  }

  function wrapDefiner(original) {
    if (typeof original !== "function") return original;
    const wrapped = function (...args) {
      return original.apply(this, wrapArgs(args));
    };
    Object.defineProperty(wrapped, "name", { value: original.name, configurable: true });
    for (const key of Object.keys(original)) {
      wrapped[key] = ["skip", "todo", "only"].includes(key) ? wrapDefiner(original[key]) : original[key];
    }
    return wrapped;
  }

  const patched = new WeakSet();
  function patchContext(context) {
    const proto = context && Object.getPrototypeOf(context);
    if (!proto || patched.has(proto) || typeof proto.test !== "function") return;
    patched.add(proto);
    const original = proto.test;
    proto.test = function (...args) {
      return original.apply(this, wrapArgs(args));
    };
  }

  // A test whose body never settled (it timed out, or the process is exiting
  // under it) still failed: what it ran so far is its coverage.
  process.on("exit", () => {
    while (running.length) end(running[running.length - 1]);
  });

  const original = require("node:test");
  const wrapped = wrapDefiner(original);
  wrapped.test = wrapped;
  wrapped.it = wrapDefiner(original.it);
  // `describe` bodies declare tests and run no test code: left as they are.
  const load = Module._load;
  Module._load = function (request, ...rest) {
    if (request === "node:test") return wrapped;
    return load.call(this, request, ...rest);
  };
  globalThis[Symbol.for("mge.coverage.node-test")] = wrapped;
  if (Module.register && mayImport(process.argv[1])) {
    // The hooks run on a thread of their own, whose start costs every test file
    // (~70 ms): only files that can `import` pay for it.
    const names = Object.keys(wrapped).filter((key) => /^[A-Za-z_$][\w$]*$/.test(key) && key !== "default");
    Module.register("./coverage-hooks.mjs", import.meta.url, { data: { names } });
  }
}

// Whether a test file is an ES module, by node's own rules: the extension, else the
// `type` of the nearest package.json. A CommonJS file reaches `node:test` through
// `require`, which the CommonJS hook above wraps.
function mayImport(file) {
  if (!file) return true;
  if (/\.[cm]?tsx?$/.test(file) || file.endsWith(".mjs")) return true;
  if (file.endsWith(".cjs")) return false;
  for (let dir = path.dirname(path.resolve(file)); ; dir = path.dirname(dir)) {
    try {
      return JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")).type === "module";
    } catch (error) {
      if (error.code !== "ENOENT" && error.code !== "ENOTDIR") return true;
    }
    if (path.dirname(dir) === dir) return false;
  }
}
