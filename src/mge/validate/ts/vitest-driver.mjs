// MGE's entry point for a project's vitest suite, run in the sandbox by
// mge.validate.vitest_testing: `node vitest-driver.mjs VITEST_NODE_JS FILE...`.
//
// It takes the report channel (report-channel.cjs) before any project code runs:
// the project's vitest config and vite plugins run in this process, its tests in
// forked workers. The reporter is
// an object of this module, handed to vitest through its API, so vite never
// transforms it (a reporter named by path would go through the project's
// plugins), and it writes with the functions the channel module captured before
// the config could replace them.
import { pathToFileURL } from "node:url";
// Evaluated before this module's body, so before vitest or any project code.
import channel from "./report-channel.cjs";

const { send } = channel;

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
