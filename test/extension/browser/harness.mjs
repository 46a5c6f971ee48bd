// Helpers for browser tests of the extension: a real VS Code workbench (code-server) with the
// Primal extension installed, driven through headless Debian Chromium by playwright-core
// (shared/vscode-testing.md §4). A browser test presses keys and clicks in the editor as a
// user does, then reads the DOM: CodeLenses, inline decorations, the status bar, webviews.
//
//   import { openWorkbench } from "./harness.mjs";
//   const wb = await openWorkbench({ file: "cells.ts" });
//   try { await wb.page.keyboard.press("Shift+Enter"); ... } finally { await wb.close(); }
//
// The extension is "installed" by symlinking the repo (dist/ must hold the built extension:
// `npm run build`) into a fresh extensions dir as primal-dev.primal-<version>, which
// code-server scans like an unpacked VSIX. Each openWorkbench() has its own temporary
// workspace copy, user-data dir and code-server; close() stops only those.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { checkWorkbench, launchChromium, startCodeServer } from "../code-server.mjs";

export const ROOT = new URL("../../..", import.meta.url).pathname.replace(/\/$/, "");
export const FIXTURES = join(ROOT, "test", "extension", "fixtures");
export const SCREENSHOTS = join(ROOT, "docs", "screenshots");

/** Links the repo into `extensionsDir` as an installed extension; returns its id. */
export function linkExtension(extensionsDir, root = ROOT) {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  if (!existsSync(join(root, pkg.main))) throw new Error(`linkExtension: ${pkg.main} is missing, got no build in ${root} (run npm run build)`);
  const id = `${pkg.publisher}.${pkg.name}`;
  symlinkSync(root, join(extensionsDir, `${id}-${pkg.version}`), "dir");
  return id;
}

/**
 * Starts code-server with the extension linked in, copies `workspace` (default the fixture
 * workspace test/extension/fixtures/ws) to a temporary folder, and opens it in headless
 * Chromium; with `file`, also opens that file (relative to the workspace) in an editor.
 * @param {{workspace?: string, file?: string, settings?: object, env?: object,
 *   viewport?: {width: number, height: number}}} [opts]
 * @returns {Promise<{page: import("playwright-core").Page, browser: import("playwright-core").Browser,
 *   server: Awaited<ReturnType<typeof startCodeServer>>, workspace: string, close: () => Promise<void>}>}
 */
export async function openWorkbench(opts = {}) {
  const workspace = mkdtempSync(join(tmpdir(), "primal-browser-ws-"));
  cpSync(opts.workspace ?? join(FIXTURES, "ws"), workspace, { recursive: true });
  let server;
  let browser;
  const close = async () => {
    await browser?.close().catch(() => {});
    await server?.stop();
    rmSync(workspace, { recursive: true, force: true });
  };
  try {
    const extDir = mkdtempSync(join(tmpdir(), "primal-browser-exts-"));
    server = await startCodeServer({ extensionsDir: extDir, settings: opts.settings, env: opts.env });
    const stopServer = server.stop;
    server.stop = async () => {
      await stopServer();
      rmSync(extDir, { recursive: true, force: true });
    };
    linkExtension(extDir);
    const url = `${server.base}/?folder=${encodeURIComponent(workspace)}`;
    await checkWorkbench(url);
    browser = await launchChromium();
    const page = await browser.newPage({ viewport: opts.viewport ?? { width: 1400, height: 850 } });
    if (process.env.PRIMAL_VSCODE_DEBUG === "1") page.on("console", (m) => console.error(`[workbench ${m.type()}] ${m.text()}`));
    await page.goto(url);
    await page.waitForSelector(".monaco-workbench", { timeout: 60_000 });
    // The Explorer shows the folder once the remote connection and file service are up.
    await page.waitForSelector(`.explorer-folders-view .monaco-list-row`, { timeout: 60_000 });
    if (opts.file) await openFile(page, opts.file);
    return { page, browser, server, workspace, close };
  } catch (e) {
    const tail = server?.logTail() ?? "";
    await close();
    if (tail && e instanceof Error) e.message += `\ncode-server log:\n${tail}`;
    throw e;
  }
}

/** Opens `relPath` (relative to the workspace) with Quick Open and waits for its editor to have focus. */
export async function openFile(page, relPath) {
  const name = basename(relPath);
  await page.keyboard.press("Control+P");
  const input = page.locator(".quick-input-widget input");
  await input.waitFor({ state: "visible" });
  await input.fill(relPath);
  await page.locator(`.quick-input-list .monaco-list-row:has-text("${name}")`).first().waitFor();
  await page.keyboard.press("Enter");
  await page.locator(`.tabs-container .tab.active:has-text("${name}")`).waitFor();
  await page.locator(".editor-instance .monaco-editor .view-lines").first().waitFor();
  await page.locator(".editor-instance .monaco-editor textarea").first().focus();
}

/** Runs a command by its palette title (e.g. "Primal: Run Cell") through F1. */
export async function runCommand(page, title) {
  await page.keyboard.press("F1");
  const input = page.locator(".quick-input-widget input");
  await input.waitFor({ state: "visible" });
  await input.fill(`>${title}`);
  await page.locator(`.quick-input-list .monaco-list-row:has-text("${title}")`).first().waitFor();
  await page.keyboard.press("Enter");
}

/** Waits until a status bar item whose text contains `text` is shown; returns its locator. */
export async function waitForStatusBar(page, text, timeout = 30_000) {
  const item = page.locator(`.statusbar-item:has-text("${text}")`).first();
  await item.waitFor({ timeout });
  return item;
}

/** The inner document of the active webview panel (outer iframe → #active-frame), as a FrameLocator. */
export function webview(page) {
  return page.frameLocator("iframe.webview.ready").frameLocator("iframe#active-frame");
}

/** Moves the cursor to a 1-based line of the active editor (Ctrl+G). */
export async function goToLine(page, line) {
  await page.keyboard.press("Control+G");
  const input = page.locator(".quick-input-widget input");
  await input.waitFor({ state: "visible" });
  await input.fill(`:${line}`);
  await page.keyboard.press("Enter");
  await input.waitFor({ state: "hidden" });
}

/** Saves a screenshot of the whole window to docs/screenshots/<name>.png; returns its path. */
export async function screenshot(page, name) {
  const path = join(SCREENSHOTS, `${name}.png`);
  mkdirSync(dirname(path), { recursive: true });
  await page.screenshot({ path });
  return path;
}
