// `npm test`: builds, typechecks, then runs each suite and prints one `N passed, N failed` line
// per suite and a total. A suite whose requirements are missing is skipped with a message
// naming what is missing; under CI (PRIMAL_CI=1) a skipped suite counts as a failure.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { provisionVscode } from "./provision-vscode.mjs";

const root = new URL("..", import.meta.url).pathname;
const ci = process.env.PRIMAL_CI === "1";
const only = process.argv.slice(2);
const results = [];

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit", ...opts });
  return r.status ?? 1;
}

function step(name, cmd, args) {
  console.log(`\n=== ${name} ===`);
  const status = run(cmd, args);
  if (status !== 0) {
    console.error(`${name} failed (exit ${status})`);
    results.push({ name, passed: 0, failed: 1, skipped: false });
  }
  return status === 0;
}

/** Runs vitest on a set of files and reads its JSON report for the counts. */
function vitestSuite(name, patterns, env = {}) {
  console.log(`\n=== ${name} ===`);
  const dir = join(root, "out", "test-reports");
  mkdirSync(dir, { recursive: true });
  const report = join(dir, `${name.replace(/[^\w.-]+/g, "-")}.json`);
  rmSync(report, { force: true });
  const status = run(process.execPath, [join(root, "node_modules/vitest/vitest.mjs"), "run", ...patterns,
    "--reporter=default", "--reporter=json", `--outputFile.json=${report}`], { env: { ...process.env, ...env } });
  let passed = 0;
  let failed = 0;
  try {
    const j = JSON.parse(readFileSync(report, "utf8"));
    passed = j.numPassedTests;
    failed = j.numFailedTests + (j.numFailedTestSuites ?? 0);
  } catch {
    failed = 1;
  }
  if (status !== 0 && failed === 0) failed = 1;
  console.log(`${name}: ${passed} passed, ${failed} failed`);
  results.push({ name, passed, failed, skipped: false });
}

/**
 * Runs a test runner that prints a plain `N passed, N failed` line (the extension suites'
 * stand-in VS Code does), showing its output as it comes and reading the counts from it.
 */
async function linesSuite(name, args, env = {}) {
  console.log(`\n=== ${name} ===`);
  const t0 = Date.now();
  let text = "";
  const status = await new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"] });
    child.stdout.on("data", (b) => {
      text += b;
      process.stdout.write(b);
    });
    child.on("error", () => resolve(1));
    child.on("close", (code) => resolve(code ?? 1));
  });
  const counts = [...text.matchAll(/^(\d+) passed, (\d+) failed$/gm)].at(-1);
  let passed = counts ? Number(counts[1]) : 0;
  let failed = counts ? Number(counts[2]) : 0;
  if (status !== 0 && failed === 0) failed = 1;
  console.log(`(${name} took ${((Date.now() - t0) / 1000).toFixed(1)} s)\n${name}: ${passed} passed, ${failed} failed`);
  results.push({ name, passed, failed, skipped: false });
}

/**
 * Node 24, code-server and Debian's Chromium for the extension suites: installed into the
 * cache folder when missing (the Debian packages only as root), else the suites are skipped.
 */
async function vscodeTools() {
  const t0 = Date.now();
  try {
    const r = await provisionVscode({ install: true });
    if (r.ok) console.log(`\nVS Code test tools ready in ${((Date.now() - t0) / 1000).toFixed(1)} s (${r.dir})`);
    return r.ok ? { ok: true } : { ok: false, why: `missing ${r.missing.join(", ")} (scripts/provision-vscode.mjs installs them)` };
  } catch (e) {
    return { ok: false, why: `provisioning failed: ${e instanceof Error ? e.message : e}` };
  }
}

function skip(name, why) {
  console.log(`\n=== ${name} ===\nSKIPPED: ${why}`);
  results.push({ name, passed: 0, failed: ci ? 1 : 0, skipped: true, why });
}

const want = (s) => only.length === 0 || only.includes(s);

if (step("build", process.execPath, [join(root, "scripts/build.mjs")]) && step("typecheck", "npm", ["run", "-s", "typecheck"])) {
  if (want("kernel")) vitestSuite("kernel", ["test/kernel"]);
  if (want("reference")) vitestSuite("reference", ["test/reference"]);
  if (want("protocol")) vitestSuite("protocol", ["test/protocol"]);
  // The kernel and reference suites again with every public API call jitted and compiled
  // (vitest.jit.config.mts, test/jit-all/).
  if (want("jit-all")) vitestSuite("kernel+reference (jit-all)", ["-c", "vitest.jit.config.mts"]);
  // WebGPU: the codegen and runtime tests (test/webgpu), then the kernel and reference suites
  // again with every array on the WebGPU device (vitest.webgpu.config.mts). They need an
  // adapter: in CI .ci/run installs Mesa's lavapipe; elsewhere they are skipped without one.
  if (want("webgpu") || want("webgpu-all")) {
    const probe = spawnSync(process.execPath, [join(root, "scripts/probe-webgpu.mjs")], { cwd: root, encoding: "utf8" });
    const adapter = probe.status === 0 ? probe.stdout.trim() : null;
    if (adapter) console.log(`\nWebGPU adapter: ${adapter}`);
    if (want("webgpu")) adapter ? vitestSuite("webgpu", ["test/webgpu"]) : skip("webgpu", probe.stdout.trim() || "no WebGPU adapter");
    if (want("webgpu-all")) adapter ? vitestSuite("kernel+reference (webgpu-all)", ["-c", "vitest.webgpu.config.mts"]) : skip("webgpu-all", probe.stdout.trim() || "no WebGPU adapter");
    if (want("webgpu-all")) adapter ? vitestSuite("primitives (webgpu, jit-all)", ["-c", "vitest.webgpu.config.mts"], { PRIMAL_JIT_ALL: "1" }) : skip("webgpu jit-all", probe.stdout.trim() || "no WebGPU adapter");
  }
  // The extension in a real VS Code: code-server under Node 24 through a stand-in executable
  // for @vscode/test-electron (test/extension/run-tests.mjs; shared/vscode-testing.md).
  // The browser suite drives the same workbench as a user would, in headless Chromium
  // (test/extension/browser/: Shift+Enter in the editor, inline results, the results panel).
  // The vsix suite packages the marketplace VSIX files (scripts/package.mjs), checks their
  // contents and size, installs them into code-server and runs a cell (test/vsix/).
  if (want("extension") || want("browser") || want("vsix")) {
    const tools = await vscodeTools();
    for (const [suite, runner] of [["extension", "test/extension/run-tests.mjs"], ["browser", "test/extension/browser/run-browser-tests.mjs"], ["vsix", "test/vsix/run-vsix-tests.mjs"]]) {
      if (!want(suite)) continue;
      if (tools.ok) await linesSuite(suite, [join(root, runner)]);
      else skip(suite, tools.why);
    }
  }
}

console.log("\n=== summary ===");
let p = 0;
let f = 0;
for (const r of results) {
  p += r.passed;
  f += r.failed;
  console.log(`${r.name}: ${r.skipped ? `skipped (${r.why})${ci ? " - a failure in CI" : ""}` : `${r.passed} passed, ${r.failed} failed`}`);
}
console.log(`${p} passed, ${f} failed`);
process.exit(f === 0 ? 0 : 1);
