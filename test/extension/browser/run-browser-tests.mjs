// Runs the browser tests of the extension (test/extension/browser/*.browser.mjs): each file
// gets one workbench (code-server with the extension linked in, headless Chromium; see
// harness.mjs) and runs its tests in order against it, so a file's tests share one start
// (~10 s). A test file exports
//   export const workbench = { file: "cells.ts" };        // openWorkbench() options
//   export const tests = [["what it checks", async ({ page, workspace }) => { ... }], ...];
// A failing test leaves a screenshot in out/test-reports/browser/. The run ends with a plain
// `N passed, N failed` line and exits 1 if any test failed.
//
//   npm run build && node test/extension/browser/run-browser-tests.mjs [file-name-filter]
import { mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { openWorkbench, ROOT } from "./harness.mjs";

const here = join(ROOT, "test", "extension", "browser");
const reports = join(ROOT, "out", "test-reports", "browser");
const filter = process.argv[2];
const TEST_TIMEOUT_MS = Number(process.env.PRIMAL_BROWSER_TEST_TIMEOUT_MS || 120_000);
const files = readdirSync(here).filter((f) => f.endsWith(".browser.mjs") && (!filter || f.includes(filter))).sort();
let passed = 0;
let failed = 0;

function withTimeout(p, ms, what) {
  let timer;
  return Promise.race([p, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

for (const file of files) {
  const mod = await import(pathToFileURL(join(here, file)).href);
  console.log(`\n  ${file}`);
  let wb;
  try {
    wb = await openWorkbench(mod.workbench ?? {});
  } catch (e) {
    console.log(`    ✘ opening the workbench failed: ${e instanceof Error ? e.message : e}`);
    failed += mod.tests.length || 1;
    continue;
  }
  try {
    for (const [i, [name, fn]] of mod.tests.entries()) {
      const t0 = Date.now();
      try {
        await withTimeout(fn(wb), TEST_TIMEOUT_MS, name);
        passed++;
        console.log(`    ✔ ${name} (${Date.now() - t0} ms)`);
      } catch (e) {
        failed++;
        console.log(`    ✘ ${name}\n      ${(e instanceof Error ? e.stack ?? e.message : String(e)).split("\n").join("\n      ")}`);
        mkdirSync(reports, { recursive: true });
        const shot = join(reports, `${file.replace(/\.browser\.mjs$/, "")}-${i + 1}.png`);
        await wb.page.screenshot({ path: shot }).then(() => console.log(`      screenshot: ${shot}`), () => {});
      }
    }
  } finally {
    await wb.close();
  }
}
if (files.length === 0) {
  console.log(`no *.browser.mjs files${filter ? ` matching ${filter}` : ""} in ${here}`);
  failed++;
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
