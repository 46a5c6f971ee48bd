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
// workspace copy, user-data dir and code-server; close() stops only those. With
// PRIMAL_BROWSER_SNAPSHOT=1 the extension is a copy of package.json, dist/, syntaxes/ and bin/
// taken at start (node_modules linked), so a build that rewrites dist/ while the tests run (a
// shared checkout) does not pull the files from under the workbench.
//
// Webviews: each panel's page is an inner frame (#active-frame) inside VS Code's outer webview
// iframe. webviewFrame()/panelFrame() find the inner frame by what its document holds (the
// inspector pages' `<body data-panel>`), since several webviews (results, IR, gradients,
// kernels) can be open at once. watchWebviewConsole() collects what those frames print, so a
// test can fail on a CSP violation or an uncaught error inside a panel.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
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
 * Copies what the installed extension needs (package.json, dist/, syntaxes/, bin/; node_modules
 * and the rest linked) into `dir`, so later builds of the checkout do not change it; returns `dir`.
 */
export function snapshotExtension(dir, root = ROOT) {
  mkdirSync(dir, { recursive: true });
  const copy = new Set(["package.json", "dist", "syntaxes", "bin"]);
  for (const name of readdirSync(root)) {
    if (name === ".git" || name === "out") continue;
    if (copy.has(name)) cpSync(join(root, name), join(dir, name), { recursive: true });
    else symlinkSync(join(root, name), join(dir, name));
  }
  return dir;
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
    if (process.env.PRIMAL_BROWSER_SNAPSHOT === "1") {
      const snap = mkdtempSync(join(tmpdir(), "primal-browser-ext-"));
      const stopAll = server.stop;
      server.stop = async () => {
        await stopAll();
        rmSync(snap, { recursive: true, force: true });
      };
      linkExtension(extDir, snapshotExtension(snap));
    } else linkExtension(extDir);
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

/**
 * Runs a command by its palette title (e.g. "Primal: Run Cell") through F1: picks the row whose
 * label is exactly `title` (the palette may rank a longer title that contains it first, e.g.
 * "Preferences: Browse Color Themes in Marketplace" above "Preferences: Color Theme").
 */
export async function runCommand(page, title) {
  const input = page.locator(".quick-input-widget input");
  for (let attempt = 0; ; attempt++) {
    await page.keyboard.press("F1");
    try {
      const timeout = attempt < 2 ? 5_000 : 30_000;
      await input.waitFor({ state: "visible", timeout });
      await input.fill(`>${title}`, { timeout });
      break;
    } catch (e) {
      if (attempt >= 2) throw e;
      // No part of the workbench had the keyboard, or the palette closed again as focus moved
      // (a part that had it was just closed): give the keyboard to the active editor's tab and
      // open the palette again.
      await page.keyboard.press("Escape");
      await page.locator(".tabs-container .tab.active").first().click().catch(() => undefined);
    }
  }
  await page.locator(`.quick-input-list .monaco-list-row:has-text("${title}")`).first().waitFor();
  await pickRow(page, title);
}

/**
 * Accepts the quick-input row labelled exactly `label` with the keyboard: moves the focus down
 * until the focused row is that one, then Enter (a mouse click on a list that is still being
 * re-sorted can hit another row). Without such a row, accepts the first one.
 */
async function pickRow(page, label) {
  const rows = page.locator(".quick-input-list .monaco-list-row");
  const exact = rows.filter({ has: page.locator(".label-name", { hasText: new RegExp(`^${escapeRegExp(label)}$`) }) });
  if ((await exact.count()) === 0) return page.keyboard.press("Enter");
  const focusedLabel = () => page.locator(".quick-input-list .monaco-list-row.focused .label-name").first().textContent({ timeout: 2_000 }).catch(() => null);
  for (let i = 0; i < 30; i++) {
    if ((await focusedLabel())?.trim() === label) return page.keyboard.press("Enter");
    await page.keyboard.press("ArrowDown");
  }
  throw new Error(`pickRow: could not focus the row "${label}", got ${JSON.stringify(await rows.allTextContents())}`);
}

const escapeRegExp = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

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

// ---- webviews, consoles, themes, the editor's cursor -------------------------------------------

/** Whether a URL is part of a webview: VS Code's webview host pages or a resource they load. */
export const isWebviewUrl = (url) => /\/webview\/browser\/pre\/|vscode-resource|vscode-cdn\.net/.test(url ?? "");

/**
 * The inner frame of the webview whose document has an element matching `selector` (e.g.
 * `body[data-panel="ir"]`, `#runs`), as a Playwright Frame; waits up to `timeout` ms for one.
 * Look it up again after the panel was hidden: a page VS Code unloads comes back as a new frame.
 * @returns {Promise<import("playwright-core").Frame>}
 */
export async function webviewFrame(page, selector, { timeout = 30_000 } = {}) {
  const t0 = Date.now();
  for (;;) {
    for (const f of page.frames()) {
      if (f === page.mainFrame() || f.isDetached() || !isWebviewUrl(f.url())) continue;
      const hit = await f.$(selector).then((el) => !!el, () => false);
      if (hit) return f;
    }
    if (Date.now() - t0 > timeout) throw new Error(`webviewFrame: no webview has ${selector} after ${timeout} ms, got frames ${page.frames().map((f) => f.url().slice(0, 120)).join(", ")}`);
    await page.waitForTimeout(200);
  }
}

/** The page of an inspector panel (`ir`, `gradients`, `kernels`): its `<body data-panel>`. */
export function panelFrame(page, kind, opts) {
  return webviewFrame(page, `body[data-panel="${kind}"]`, opts);
}

/**
 * Collects what the page's webview frames report: console errors from a webview page or one of
 * its resources, CSP violations (Chromium prints "Refused to ..."/"... violates the following
 * Content Security Policy directive" on the console), the workbench's own errors about webviews
 * (a resource that failed to load), and uncaught exceptions thrown in webview scripts. Call
 * before the panels open.
 */
export function watchWebviewConsole(page) {
  /** @type {{kind: string, text: string, url: string, line?: number, column?: number}[]} */
  const events = [];
  page.on("console", (m) => {
    const loc = m.location();
    events.push({ kind: m.type(), text: m.text(), url: loc.url ?? "", line: loc.lineNumber, column: loc.columnNumber });
  });
  page.on("pageerror", (e) => events.push({ kind: "pageerror", text: `${e.name}: ${e.message}`, url: e.stack ?? "" }));
  const isProblem = (e) => {
    if (/Content.Security.Policy/i.test(e.text)) return true;
    // An uncaught exception does not say which frame threw it; the workbench's own carry its
    // bundle in the stack, anything else is taken as a webview's.
    if (e.kind === "pageerror") return !/\/static\/out\/vs\/(code|workbench)\/.*workbench\.js/.test(e.url) || isWebviewUrl(e.url);
    if (e.kind !== "error") return false;
    return isWebviewUrl(e.url) || /\bWebview\b/.test(e.text);
  };
  return {
    events,
    /** The problems seen so far (`ignore`: a RegExp for messages a test caused on purpose). */
    problems: (ignore) => events.filter((e) => isProblem(e) && !(ignore && ignore.test(`${e.text} ${e.url}`))),
    /**
     * A readable line per distinct problem (repeats counted; hashes and nonces, which differ
     * per page load, left out), with where it came from (file:line:column).
     */
    describe: (list) => {
      const seen = new Map();
      for (const e of list) {
        const text = e.text.replace(/'(sha256|nonce)-[^']*'/g, "'$1-…'").slice(0, 400);
        const line = `[${e.kind}] ${text}${e.url ? ` (at ${e.url.split("\n")[0].slice(0, 200)}${e.line !== undefined ? `:${e.line}:${e.column}` : ""})` : ""}`;
        seen.set(line, (seen.get(line) ?? 0) + 1);
      }
      return [...seen].map(([line, n]) => (n > 1 ? `${n} × ${line}` : line)).join("\n");
    },
  };
}

/** The text of the extension's output channel `name` ("Primal"), from the extension host's log files. */
export function outputChannelText(server, name = "Primal") {
  const out = [];
  const walk = (dir) => {
    for (const d of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, d.name);
      if (d.isDirectory()) walk(p);
      else if (d.isFile() && new RegExp(`^\\d+-${name}\\.log$`).test(d.name)) out.push(readFileSync(p, "utf8"));
    }
  };
  try {
    walk(server.dir);
  } catch {}
  return out.join("\n");
}

/** Texts of the error dialogs and error notifications the workbench shows now. */
export async function workbenchErrorNotices(page) {
  return page.evaluate(() => {
    const out = [];
    for (const d of document.querySelectorAll(".monaco-dialog-box")) if (d.querySelector(".codicon-error, .codicon-dialog-error")) out.push(d.textContent?.trim() ?? "");
    for (const t of document.querySelectorAll(".notifications-toasts .notification-toast, .notifications-center .notification-list-item"))
      if (t.querySelector(".codicon-error, .codicon-notifications-error")) out.push(t.textContent?.trim() ?? "");
    return out;
  });
}

/**
 * Switches the color theme as a user does: "Preferences: Color Theme", type its label (as the
 * picker lists it: "Light Modern", "Dark Modern", "Dark High Contrast"), pick it. Waits until the
 * workbench has the theme's type class (`vs`, `vs-dark`, `hc-black`, `hc-light`).
 */
export async function setColorTheme(page, label, type) {
  await runCommand(page, "Preferences: Color Theme");
  const input = page.locator(".quick-input-widget input");
  await input.waitFor({ state: "visible" });
  // The command's row is still listed until the picker replaces the list.
  // The theme picker replaces the command list in the same widget.
  await page.waitForFunction(() => /theme/i.test(document.querySelector(".quick-input-widget input")?.getAttribute("placeholder") ?? ""), null, { timeout: 15_000 });
  await input.fill(label);
  await page.locator(".quick-input-list .monaco-list-row").filter({ has: page.locator(".label-name", { hasText: new RegExp(`^${escapeRegExp(label)}$`) }) }).first().waitFor();
  await pickRow(page, label);
  await input.waitFor({ state: "hidden" });
  if (type) await page.waitForFunction((t) => document.querySelector(".monaco-workbench")?.classList.contains(t), type, { timeout: 15_000 });
}

/** The active editor's cursor as the status bar shows it ("Ln 23, Col 5"): `{line, column}` (1-based). */
export async function cursorPosition(page) {
  const text = await page.locator('.statusbar-item:has-text("Ln ")').first().textContent({ timeout: 10_000 });
  const m = /Ln (\d+), Col (\d+)/.exec(text ?? "");
  if (!m) throw new Error(`cursorPosition: no "Ln N, Col M" in the status bar, got ${JSON.stringify(text)}`);
  return { line: Number(m[1]), column: Number(m[2]) };
}

/**
 * Contrast of the text shown in a frame: for every visible element with text of its own, the
 * WCAG contrast ratio between its colour and the background behind it (the nearest ancestor
 * background, semi-transparent ones composed over what is below). Returns the lowest ratios
 * first, with the text, classes and colours, and how many elements were measured.
 * @returns {Promise<{measured: number, worst: {ratio: number, text: string, cls: string, fg: string, bg: string}[]}>}
 */
export async function textContrast(frame, { limit = 8 } = {}) {
  return frame.evaluate((limit) => {
    const parse = (c) => {
      const m = /rgba?\(([^)]+)\)/.exec(c ?? "");
      if (!m) return null;
      const p = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
      return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
    };
    const over = (top, below) => ({ r: top.r * top.a + below.r * (1 - top.a), g: top.g * top.a + below.g * (1 - top.a), b: top.b * top.a + below.b * (1 - top.a), a: 1 });
    const lum = (c) => {
      const f = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
      return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
    };
    // The layers behind an element, innermost first, across shadow roots, ending with the page.
    const background = (el) => {
      const layers = [];
      for (let e = el; e; e = e.parentElement ?? e.getRootNode()?.host ?? null) {
        const c = parse(getComputedStyle(e).backgroundColor);
        if (c && c.a > 0) layers.push(c);
        if (c && c.a >= 1) break;
      }
      let bg = { r: 255, g: 255, b: 255, a: 1 };
      const base = parse(getComputedStyle(document.body).backgroundColor);
      if (!layers.length || layers[layers.length - 1].a < 1) bg = base && base.a >= 1 ? base : bg;
      for (let i = layers.length - 1; i >= 0; i--) bg = over(layers[i], bg);
      return bg;
    };
    const rows = [];
    const visit = (root) => {
      for (const el of root.querySelectorAll("*")) {
        if (el.shadowRoot) visit(el.shadowRoot);
        const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
        if (!own) continue;
        const r = el.getBoundingClientRect();
        if (r.width < 1 || r.height < 1 || r.bottom < 0 || r.right < 0 || r.top > innerHeight || r.left > innerWidth) continue;
        const cs = getComputedStyle(el);
        if (cs.visibility !== "visible" || Number(cs.opacity) < 0.1) continue;
        const fg0 = parse(cs.color);
        if (!fg0) continue;
        const bg = background(el);
        const fg = over(fg0, bg);
        const [l1, l2] = [lum(fg), lum(bg)].sort((a, b) => b - a);
        const ratio = (l1 + 0.05) / (l2 + 0.05);
        const hex = (c) => `rgb(${Math.round(c.r)},${Math.round(c.g)},${Math.round(c.b)})`;
        rows.push({ ratio: Math.round(ratio * 100) / 100, text: el.textContent.trim().slice(0, 40), cls: `${el.tagName.toLowerCase()}.${String(el.className).split(/\s+/).join(".")}`, fg: hex(fg), bg: hex(bg) });
      }
    };
    visit(document);
    rows.sort((a, b) => a.ratio - b.ratio);
    return { measured: rows.length, worst: rows.slice(0, limit) };
  }, limit);
}
