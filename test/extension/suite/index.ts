// The extension-host side of the extension tests: VS Code (here code-server, through
// test/extension/code-server-as-vscode.mjs) loads this module from `extensionTestsPath` and
// calls run() inside the extension host, after the extension under development is loaded.
// It runs every compiled `*.test.js` beside it (test/extension/suite/**/*.test.ts, bundled by
// test/extension/run-tests.mjs into out/test/extension/suite/) with mocha's TDD interface:
// `suite(...)`, `test(...)`, `suiteSetup(...)`. Mocha's spec report goes to the host's console,
// which the stand-in executable relays and counts.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import Mocha from "mocha";
import * as vscode from "vscode";

/** Paths of the compiled test files under `dir`, sorted so the order is the same each run. */
function testFiles(dir: string): string[] {
  const found: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) found.push(...testFiles(p));
    else if (e.name.endsWith(".test.js")) found.push(p);
  }
  return found.sort();
}

/**
 * Called by VS Code's test runner; resolves when every test passed, rejects otherwise (the
 * workbench then reports exit code 1). PRIMAL_EXT_TEST_GREP narrows the run to matching tests.
 */
export async function run(): Promise<void> {
  // Stack traces point into the .ts test files (the bundles carry inline source maps).
  process.setSourceMapsEnabled(true);
  const mocha = new Mocha({
    ui: "tdd",
    color: false,
    reporter: "spec",
    // Each test may start a kernel process and run cells in it; the default 2 s is too short.
    timeout: Number(process.env.PRIMAL_EXT_TEST_TIMEOUT_MS || 60_000),
    grep: process.env.PRIMAL_EXT_TEST_GREP || undefined,
  });
  const files = testFiles(__dirname);
  if (files.length === 0) throw new Error(`extension tests: no *.test.js files, got none in ${__dirname}`);
  for (const f of files) mocha.addFile(f);
  // The stand-in executable starts relaying the host's console at this line.
  console.log(`extension tests: running ${files.length} file(s) in VS Code ${vscode.version} (${vscode.env.appHost})`);
  const failures = await new Promise<number>((resolve, reject) => {
    try {
      mocha.run(resolve);
    } catch (e) {
      reject(e);
    }
  });
  if (failures > 0) throw new Error(`${failures} extension test(s) failed`);
}
