// The report channel of a runner driver (vitest-driver.mjs, jest-reporter.cjs),
// taken when this module is first loaded, which each driver does before any
// project code runs: the key is read once from its pipe, both variables leave
// the environment, and the inherited report descriptor (the sandbox's relay of
// MGE's pipe), which every forked worker would inherit, is replaced by a copy
// libuv opens close-on-exec. `send` writes with the functions captured here, so
// project code loaded later (a config, a plugin) cannot replace them. Every
// record carries the key and a sequence number (mge.validate.vitest_testing).
"use strict";
const fs = require("node:fs");

const { openSync, closeSync, readSync, writeSync } = fs;
const stringify = JSON.stringify;

function takeChannel() {
  const fd = Number(process.env.MGE_REPORT_FD);
  const keyFd = Number(process.env.MGE_REPORT_KEY_FD);
  delete process.env.MGE_REPORT_FD;
  delete process.env.MGE_REPORT_KEY_FD;
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

module.exports = { send };
