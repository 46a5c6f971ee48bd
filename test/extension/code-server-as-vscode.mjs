#!/usr/bin/env node
// A stand-in "VS Code executable" for @vscode/test-electron (shared/vscode-testing.md §5).
// No desktop VS Code can be downloaded here, so runTests({ vscodeExecutablePath }) points at
// this script instead: it takes the command line test-electron builds, starts code-server
// (VS Code's server and web workbench, under Node 24) on a free loopback port, and opens the
// workbench in headless Debian Chromium with a `payload` that makes the workbench load the
// extension under development and run its extensionTestsPath module in the remote (Node)
// extension host, exactly as desktop VS Code would. The host's console (mocha's report) comes
// back through window.codeAutomationLog, the exit code through window.codeAutomationExit.
// It prints a plain `N passed, N failed` line, exits with the tests' code, and stops only the
// processes it started: its code-server process group and its browser.
//
// Environment: CODE_SERVER_NODE, CODE_SERVER_BIN (default: scripts/provision-vscode.mjs's
// cache folder), CHROMIUM (default /usr/bin/chromium), PRIMAL_VSCODE_TEST_TIMEOUT (seconds,
// default 600), PRIMAL_VSCODE_DEBUG=1 (also print the workbench's console and keep the logs).
import { resolve } from "node:path";
import { format } from "node:util";
import { checkWorkbench, launchChromium, startCodeServer } from "./code-server.mjs";

const debug = process.env.PRIMAL_VSCODE_DEBUG === "1";
const timeoutMs = Number(process.env.PRIMAL_VSCODE_TEST_TIMEOUT || 600) * 1000;

/** The options test-electron passes (`--k=v` or `--k v`) and the folder to open, if any. */
function parseArgs(argv) {
  const withValue = new Set(["extensionTestsPath", "extensionDevelopmentPath", "user-data-dir", "extensions-dir", "folder-uri", "locale"]);
  const opts = { extensionDevelopmentPath: [], folder: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) {
      opts.folder ??= resolve(a);
      continue;
    }
    const eq = a.indexOf("=");
    const key = a.slice(2, eq < 0 ? undefined : eq);
    if (!withValue.has(key)) continue; // --no-sandbox, --disable-updates, ...: desktop-only
    const value = eq < 0 ? argv[++i] : a.slice(eq + 1);
    if (key === "extensionDevelopmentPath") opts.extensionDevelopmentPath.push(resolve(value));
    else opts[key] = value;
  }
  return opts;
}

const out = (s) => new Promise((r) => process.stdout.write(`${s}\n`, r));

const args = parseArgs(process.argv.slice(2));
if (!args.extensionTestsPath || args.extensionDevelopmentPath.length === 0) {
  console.error("code-server-as-vscode: needs --extensionTestsPath and --extensionDevelopmentPath, got " + process.argv.slice(2).join(" "));
  process.exit(2);
}

let server;
let browser;
let cleaning;
let passed = 0;
let failed = 0;

/** Stops what this script started: its browser and its code-server process group. */
function cleanup() {
  return (cleaning ??= (async () => {
    await browser?.close().catch(() => {});
    await server?.stop();
    if (debug && server) console.error(`code-server-as-vscode: code-server log: ${server.logFile}`);
  })());
}

let finishing;
/** Reports, cleans up and exits; only the first call does (later ones wait for the exit). */
function finish(code, passedN, failedN, why) {
  finishing ??= (async () => {
    if (why) {
      console.error(`code-server-as-vscode: ${why}`);
      if (server) console.error(server.logTail());
    }
    await cleanup();
    await out(`${passedN} passed, ${failedN} failed`);
    process.exit(code);
  })();
  return new Promise(() => {});
}

for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => void finish(130, passed, failed + 1, `stopped by ${sig}`));
// Anything that throws (a Playwright call cut short by a signal, a browser that failed to
// start) ends the run the same way, so the code-server group is never left behind.
for (const ev of ["uncaughtException", "unhandledRejection"]) process.on(ev, (e) => void finish(1, passed, failed + 1, e?.stack ?? String(e)));

// --- code-server (shared/vscode-testing.md §3) -------------------------------------------
try {
  server = await startCodeServer({ keepDir: debug, onSpawn: (s) => (server = s) });
} catch (e) {
  await finish(1, 0, 1, e.message);
}
server.process.on("exit", (code, sig) => {
  if (!cleaning) void finish(1, 0, 1, `code-server exited during the run, got ${code ?? sig}`);
});
const remote = (p) => `vscode-remote://127.0.0.1:${server.port}${p}`;
const payload = [
  ...args.extensionDevelopmentPath.map((p) => ["extensionDevelopmentPath", remote(p)]),
  ["extensionTestsPath", remote(resolve(args.extensionTestsPath))],
];
const url = `${server.base}/?${args.folder ? `folder=${encodeURIComponent(args.folder)}&` : ""}payload=${encodeURIComponent(JSON.stringify(payload))}`;
// Fail fast on HTTP 500 (code-server under the wrong Node) rather than wait for the timeout.
await checkWorkbench(url).catch((e) => finish(1, 0, 1, e.message));

// --- the workbench in headless Chromium (shared/vscode-testing.md §4) ---------------------
let exited;
const exitCode = new Promise((r) => (exited = r));
browser = await launchChromium();
const page = await browser.newPage({ viewport: { width: 1400, height: 850 } });
// codeAutomationLog receives the workbench's own log as well as the extension host's console
// (as a format string and its arguments). The workbench's start-up chatter is held back until
// the tests module announces itself (test/extension/suite/index.ts prints START), and shown
// only if the run fails before that; known harmless lines of an offline machine never are.
const START = "extension tests: running ";
const NOISE = [/ENOTFOUND open-vsx\.org/, /authentication provider 'github'/, /vsda/, /^\[AccountPolicyGate\]/];
let started = false;
const early = [];
await page.exposeFunction("codeAutomationLog", (type, logArgs) => {
  const text = format(...(Array.isArray(logArgs) ? logArgs : [logArgs]));
  if (text.includes(START)) started = true;
  if (!debug && NOISE.some((r) => r.test(text))) return;
  if (!started && !debug) return void early.push(text);
  // mocha's spec reporter ends with "  N passing (…ms)" and "  N failing".
  const m = /^\s*(\d+) (passing|failing)\b/.exec(text);
  if (m) m[2] === "passing" ? (passed = Number(m[1])) : (failed = Number(m[1]));
  (type === "error" ? process.stderr : process.stdout).write(`${text}\n`);
});
await page.exposeFunction("codeAutomationExit", (code) => exited(Number(code) || 0));
page.on("crash", () => void finish(1, passed, failed + 1, "the workbench page crashed"));
if (debug) page.on("console", (m) => console.error(`[workbench ${m.type()}] ${m.text()}`));
await page.goto(url);
const timer = new Promise((r) => setTimeout(() => r("timeout"), timeoutMs));
const code = await Promise.race([exitCode, timer]);
if (code === "timeout") {
  if (!started) console.error(`the tests module never started; the workbench said:\n${early.join("\n")}`);
  await finish(124, passed, failed + 1, `the tests did not finish within ${timeoutMs / 1000} s`);
}
// A run that failed before mocha reported (e.g. the tests module did not load) still counts.
if (code !== 0 && !started) console.error(`the tests module never started; the workbench said:\n${early.join("\n")}`);
await finish(code, passed, code !== 0 && failed === 0 ? 1 : failed);
