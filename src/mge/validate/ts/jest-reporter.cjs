// The reporter jest is given by absolute path (jest loads reporters by name),
// for mge.validate.jest_testing. The driver requires this module before jest
// or any project code is loaded, so the report channel is taken here, once,
// and jest's own `require` of this path later returns the same instance: the
// records go out through the descriptor and key report-channel.cjs holds.
//
// Records are the vitest driver's ("test", "module", "end"), so both runners'
// reports are read by one parser.
"use strict";
// Taken here, when the driver first requires this module (report-channel.cjs).
const { send } = require("./report-channel.cjs");

const ANSI = /\u001b\[[0-9;]*m/g;

function plain(text) {
  return String(text ?? "").replace(ANSI, "");
}

// Jest keeps the thrown value (`failureDetails`) beside the text it printed
// (`failureMessages`), but an error crossing from a worker keeps only its own
// enumerable fields, not its message or stack: the text is V8's stack then,
// whose first line is "Name: message".
function errorsOf(result) {
  const details = result.failureDetails || [];
  return (result.failureMessages || []).map((text, index) => {
    const detail = details[index];
    const stack = plain(detail?.stack || text);
    const first = stack.split("\n", 1)[0].replace(/^[A-Za-z_$][\w$]*: /, "");
    return { message: plain(detail?.message || first), stack };
  });
}

// Skipped, todo and disabled tests carry no verdict.
const STATES = { passed: "passed", failed: "failed" };

class MgeReporter {
  onTestResult(test, testResult) {
    const file = testResult.testFilePath;
    for (const result of testResult.testResults) {
      send({
        t: "test",
        file,
        name: [...result.ancestorTitles, result.title],
        state: STATES[result.status] ?? "skipped",
        errors: errorsOf(result),
      });
    }
    const error = testResult.testExecError;
    if (error) {
      // The file did not load, held no test, or failed outside its tests.
      const stack = plain(error.stack || testResult.failureMessage || error.message);
      send({
        t: "module",
        file,
        state: "failed",
        errors: [{ message: plain(error.message || stack.split("\n", 1)[0]), stack }],
      });
    }
  }

  onRunComplete(contexts, results) {
    // Jest sets `results.success` only after its reporters ran: this is its test.
    const failed =
      results.numFailedTests > 0 ||
      results.numRuntimeErrorTestSuites > 0 ||
      Boolean(results.snapshot?.failure) ||
      Boolean(results.runExecError);
    const reason = results.wasInterrupted ? "interrupted" : failed ? "failed" : "passed";
    send({ t: "end", reason, errors: [] });
  }

  getLastError() {
    return undefined;
  }
}

module.exports = MgeReporter;
