// MGE's entry point for a project's jest suite, run in the sandbox by
// mge.validate.jest_testing: `node jest-driver.cjs JEST_INDEX_JS FILE...`.
//
// The reporter module takes the report channel when it is loaded, which is
// here, first: the project's jest config (run in this process) comes later.
// The options below are the ones jest's command line would take; they override
// the project's config where MGE's run needs them to.
"use strict";
const path = require("node:path");

const reporter = path.join(__dirname, "jest-reporter.cjs");
require(reporter);

async function main() {
  const [jestIndex, ...files] = process.argv.slice(2);
  const { runCLI } = require(jestIndex);
  const { results } = await runCLI(
    {
      _: files,
      $0: "jest",
      runTestsByPath: true,
      ci: true,
      // node_modules is read-only here, and nothing may carry over between runs;
      // jest still writes its file map, to the sandbox's private /tmp.
      cache: false,
      cacheDirectory: "/tmp/jest-cache",
      watchman: false,
      watch: false,
      watchAll: false,
      reporters: [reporter, "default"],
      passWithNoTests: false,
      // The tests run in forked workers, never in this process, which holds the
      // channel: jest runs in band only without a worker memory limit (or with
      // the options below set). Workers are recycled past 2 GiB only.
      runInBand: false,
      detectOpenHandles: false,
      maxWorkers: 2,
      workerIdleMemoryLimit: 2 * 1024 ** 3,
    },
    [process.cwd()],
  );
  // The end record carries the verdict; the status must agree with it.
  process.exit(results.success ? 0 : 1);
}

main().catch((error) => {
  process.stderr.write(`${error?.stack ?? error}\n`);
  process.exit(2);
});
