// Runs the extension-host integration tests (test/extension/suite/**/*.test.ts) in a real VS
// Code through @vscode/test-electron's runTests(). No desktop VS Code can be downloaded here,
// so the "VS Code executable" is test/extension/code-server-as-vscode.mjs, which runs them in
// code-server's Node extension host (shared/vscode-testing.md §5). One code-server start for
// all test files.
//
//   npm run build && node test/extension/run-tests.mjs [mocha grep]
//
// It builds no extension itself: dist/extension.js must be there (`npm test` builds first).
// It bundles the test files with esbuild into out/test/extension/suite/, and opens a fresh
// temporary copy of test/extension/fixtures/ws as the workspace, so tests may edit and save
// files. Node 24 and code-server come from scripts/provision-vscode.mjs (CODE_SERVER_NODE and
// CODE_SERVER_BIN override). The stand-in prints the plain `N passed, N failed` line.
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runTests, TestRunFailedError } from "@vscode/test-electron";
import * as esbuild from "esbuild";
import { provisionVscode } from "../../scripts/provision-vscode.mjs";

const root = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const here = join(root, "test", "extension");
const outDir = join(root, "out", "test", "extension", "suite");

function fail(msg) {
  console.error(`extension tests: ${msg}`);
  console.log("0 passed, 1 failed");
  process.exit(1);
}

/** Every .ts file under `dir` (the loader and the test files, with any helpers they import). */
function entryPoints(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? entryPoints(join(dir, e.name)) : e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [join(dir, e.name)] : [],
  );
}

if (!existsSync(join(root, "dist", "extension.js"))) fail("dist/extension.js is missing: run `npm run build` first");

const tools = await provisionVscode({ install: false });
const env = {
  CODE_SERVER_NODE: process.env.CODE_SERVER_NODE || tools.node,
  CODE_SERVER_BIN: process.env.CODE_SERVER_BIN || tools.codeServer,
};
if (!process.env.CODE_SERVER_BIN && !tools.ok) fail(`missing ${tools.missing.join(", ")}: run \`node scripts/provision-vscode.mjs\``);

// The tests are bundled (they may import src/ and kernel/protocol.ts); `vscode` is the host's
// module and mocha must be the one instance the loader configures, so both stay external.
const t0 = Date.now();
rmSync(outDir, { recursive: true, force: true });
await esbuild.build({
  entryPoints: entryPoints(join(here, "suite")),
  outdir: outDir,
  outbase: join(here, "suite"),
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "es2022",
  sourcemap: "inline",
  logLevel: "warning",
  external: ["vscode", "mocha", "esbuild", "webgpu"],
  absWorkingDir: root,
});
console.log(`extension tests: compiled in ${Date.now() - t0} ms`);

const ws = mkdtempSync(join(tmpdir(), "primal-ext-ws-"));
cpSync(join(here, "fixtures", "ws"), ws, { recursive: true });
const grep = process.argv.slice(2).join(" ");
let code = 0;
try {
  code = await runTests({
    vscodeExecutablePath: join(here, "code-server-as-vscode.mjs"),
    extensionDevelopmentPath: root,
    extensionTestsPath: join(outDir, "index.js"),
    launchArgs: [ws],
    extensionTestsEnv: { ...env, ...(grep ? { PRIMAL_EXT_TEST_GREP: grep } : {}), PRIMAL_EXT_FIXTURES: join(here, "fixtures") },
  });
} catch (e) {
  code = e instanceof TestRunFailedError ? (e.code ?? 1) : 1;
  if (!(e instanceof TestRunFailedError)) console.error(e);
} finally {
  rmSync(ws, { recursive: true, force: true });
}
process.exit(code);
