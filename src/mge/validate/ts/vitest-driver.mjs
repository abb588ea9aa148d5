// MGE's entry point for a project's vitest suite, run in the sandbox by
// mge.validate.vitest_testing: `node vitest-driver.mjs VITEST_NODE_JS FILE...`.
//
// It takes the report channel before any project code runs (the project's
// vitest config and vite plugins run in this process, its tests in forked
// workers): the key is read once from its pipe, both variables leave the
// environment, and the inherited report descriptor (the sandbox's relay of MGE's
// pipe), which every forked child would inherit, is replaced by a close-on-exec
// copy of itself. The reporter is
// an object of this module, handed to vitest through its API, so vite never
// transforms it (a reporter named by path would go through the project's
// plugins), and it writes with the functions captured here, before the config
// could replace them.
import fs from "node:fs";
import { pathToFileURL } from "node:url";

const { openSync, closeSync, readSync, writeSync } = fs;
const stringify = JSON.stringify;

function takeChannel() {
  const fd = Number(process.env.MGE_REPORT_FD);
  const keyFd = Number(process.env.MGE_REPORT_KEY_FD);
  delete process.env.MGE_REPORT_FD;
  delete process.env.MGE_REPORT_KEY_FD;
  // libuv opens every descriptor close-on-exec: workers do not inherit this one.
  const out = openSync(`/proc/self/fd/${fd}`, "w");
  closeSync(fd);
  const buffer = Buffer.alloc(256);
  const length = readSync(keyFd, buffer, 0, buffer.length, null);
  closeSync(keyFd);
  return { out, key: buffer.toString("ascii", 0, length) };
}

const channel = takeChannel();
let counter = 0;

function send(record) {
  const line = Buffer.from(stringify({ ...record, k: channel.key, n: counter++ }) + "\n");
  let written = 0;
  while (written < line.length) {
    written += writeSync(channel.out, line, written);
  }
}

function errorsOf(errors) {
  return (errors || []).map((error) => ({
    message: String(error?.message ?? error),
    stack: String(error?.stack ?? ""),
  }));
}

function nameOf(testCase) {
  const parts = [testCase.name];
  for (let parent = testCase.parent; parent && parent.type === "suite"; parent = parent.parent) {
    parts.unshift(parent.name);
  }
  return parts;
}

const reporter = {
  onTestCaseResult(testCase) {
    const result = testCase.result();
    send({
      t: "test",
      file: testCase.module.moduleId,
      name: nameOf(testCase),
      state: result.state,
      errors: errorsOf(result.errors),
    });
  },
  onTestRunEnd(testModules, unhandledErrors, reason) {
    // A file that failed to load (or whose hooks failed) has its errors here: it
    // has no module-end event of its own when it did not load.
    for (const testModule of testModules) {
      send({
        t: "module",
        file: testModule.moduleId,
        state: testModule.state(),
        errors: errorsOf(testModule.errors()),
      });
    }
    send({ t: "end", reason: String(reason), errors: errorsOf(unhandledErrors) });
  },
};

const [vitestNode, ...files] = process.argv.slice(2);
const { startVitest } = await import(pathToFileURL(vitestNode).href);
const ctx = await startVitest("test", files, {
  run: true,
  watch: false,
  // Forked workers: a worker thread would share this process's descriptors.
  pool: "forks",
  reporters: [reporter, "default"],
  // node_modules is read-only here, and nothing may carry over between runs.
  cache: false,
  passWithNoTests: false,
});
// The end record carries the verdict; the status must agree with it.
await ctx?.close();
process.exit(process.exitCode ?? 0);
