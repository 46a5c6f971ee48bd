// The inspector panels in a real VS Code (code-server + headless Chromium), driven as a user
// drives them: examples/mlp.ts is copied into the workspace and its cells run one by one with
// Shift+Enter; then Primal: Show IR / Show Gradients / Show Kernels from the command palette, and
// each panel's page is read inside its webview. What the panels must show is derived from the
// example's source, not from what the panels printed once: the parameter leaves and their
// shapes come from the `params` object, the number of gradient calls from the training loop,
// the source line of the first dot_general from the line that calls np.matmul in `predict`.
// Clicking that equation in the IR panel must move the editor's cursor to that line (read from
// the status bar). Every panel is then shown in a light and a dark theme, its text contrast
// measured and its screenshot saved for the README (docs/screenshots/<panel>-panel-<theme>.png),
// and the high-contrast themes are measured too. Throughout, the webview frames' consoles are
// watched: a CSP violation or an uncaught error in any panel fails the last test, and so does a
// rendering error a panel caught and reported to the "Primal" output channel. With
// PRIMAL_BROWSER_REPORT=<file>, the last test writes the contrast measurements and every console
// event seen to that JSON file.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  ROOT, cursorPosition, goToLine, openFile, outputChannelText, panelFrame, runCommand, screenshot, setColorTheme, textContrast,
  waitForStatusBar, watchWebviewConsole, webviewFrame, workbenchErrorNotices,
} from "./harness.mjs";

const FILE = "mlp.ts";
const SOURCE = readFileSync(join(ROOT, "examples", FILE), "utf8");
const LINES = SOURCE.split("\n");

/** 1-based line of the first line matching `re` (the test's reference points in the example). */
function lineOf(re) {
  const i = LINES.findIndex((l) => re.test(l));
  assert.ok(i >= 0, `examples/${FILE} has no line matching ${re}`);
  return i + 1;
}

/** The cells as the cell parser sees them: the code before the first marker, then one per `// %%`; a line inside each. */
function cellLines() {
  const markers = LINES.flatMap((l, i) => (/^\s*\/\/ %%/.test(l) ? [i + 1] : []));
  const head = LINES.slice(0, markers[0] - 1).findIndex((l) => l.trim() !== "" && !l.trim().startsWith("//"));
  return [...(head >= 0 ? [head + 1] : []), ...markers.map((m) => m + 1)];
}

/** The parameter leaves: name and shape of each field of the `params` object literal (`w1: ...(k1, [728, 100])`). */
function paramLeaves() {
  const start = lineOf(/^let params\b.*= \{/);
  const leaves = [];
  for (let i = start; i < LINES.length && !/^\};/.test(LINES[i]); i++) {
    const m = /^\s*(\w+):.*\[([\d,\s]+)\]\)/.exec(LINES[i]);
    if (m) leaves.push({ name: m[1], shape: m[2].split(",").map((s) => Number(s.trim())) });
  }
  assert.ok(leaves.length >= 2, `could not read the params object of examples/${FILE}`);
  return leaves;
}

/** The name of the loss function's first parameter (the pytree path's root), e.g. `p`. */
const LOSS_PARAM = /const loss = \((\w+)\s*:/.exec(SOURCE)?.[1];
/** The training loop's step count: `for (let i = 0; i <= 100; i++)` runs 101 steps. */
const STEPS = (() => {
  const m = /for \(let i = (\d+); i (<=?) (\d+); i\+\+\)/.exec(SOURCE);
  assert.ok(m, `no training loop in examples/${FILE}`);
  return Number(m[3]) - Number(m[1]) + (m[2] === "<=" ? 1 : 0);
})();
/** The line that calls the jitted step: the jit record's and the compiled program's call site. */
const STEP_CALL_LINE = lineOf(/= step\(params/);
/** The line whose np.matmul makes the model's first dot_general (inside the jitted step, through valueAndGrad). */
const PREDICT_LINE = lineOf(/^const predict = .*np\.matmul/);

const THEMES = [
  { name: "light", label: "Light Modern", type: "vs", body: "vscode-light" },
  { name: "dark", label: "Dark Modern", type: "vs-dark", body: "vscode-dark" },
];
const HIGH_CONTRAST = [
  { name: "hc-dark", label: "Dark High Contrast", type: "hc-black", body: "vscode-high-contrast" },
  { name: "hc-light", label: "Light High Contrast", type: "hc-light", body: "vscode-high-contrast-light" },
];
const PANELS = [
  { kind: "ir", command: "Primal: Show IR", title: "Primal IR", ready: ".ir-line" },
  { kind: "gradients", command: "Primal: Show Gradients", title: "Primal Gradients", ready: "vscode-data-grid-row.leaf-row, .leaf-vrow" },
  { kind: "kernels", command: "Primal: Show Kernels", title: "Primal Kernels", ready: ".krow-program" },
];
/** Lowest WCAG contrast ratio accepted for panel text (AA for large text and UI components). */
const MIN_CONTRAST = 3;
/** Messages the probe test provokes on purpose. */
const PROBE = /primal-probe/;

/** Set in the first test: the webview consoles' watcher. */
let watch;
/** Contrast measured per theme and panel, for the report. */
const contrast = [];

/** Opens (or brings to the front) a panel through the palette and returns its page once it shows `ready`. */
async function showPanel(page, p) {
  await runCommand(page, p.command);
  await page.locator(`.tabs-container .tab.active:has-text("${p.title}")`).first().waitFor({ timeout: 15_000 });
  const frame = await panelFrame(page, p.kind);
  await frame.locator(p.ready).first().waitFor({ timeout: 30_000 });
  return frame;
}

/** Waits until the frame's body has the theme's class (VS Code re-themes webviews by message). */
async function themed(frame, bodyClass) {
  await frame.waitForFunction((c) => document.body.classList.contains(c), bodyClass, { timeout: 15_000 });
}

/** Focuses the editor of the example (the cursor-following checks and Shift+Enter need it). */
async function focusEditor(page) {
  await page.locator(`.tabs-container .tab:has-text("${FILE}")`).first().click();
  await page.locator(".editor-instance .monaco-editor textarea").first().focus();
}

/** Measures a panel's text contrast (kept for the report); returns the elements below {@link MIN_CONTRAST}. */
async function measure(page, frame, theme, p) {
  // The pointer left over a row would measure (and show) its hover colours.
  await page.mouse.move(1, 1);
  const c = await textContrast(frame);
  contrast.push({ theme: theme.name, panel: p.kind, ...c });
  assert.ok(c.measured > 10, `${p.kind} in ${theme.label}: only ${c.measured} text elements measured`);
  return c.worst.filter((w) => w.ratio < MIN_CONTRAST).map((w) => `${p.kind}: ${w.cls} "${w.text}" ${w.fg} on ${w.bg} = ${w.ratio}`);
}

/** Maximises the active editor group (or restores the layout) and waits until the layout shows it. */
async function toggleMaximized(page, on) {
  await runCommand(page, "View: Toggle Maximize Editor Group");
  await page.locator(".quick-input-widget").waitFor({ state: "hidden" });
  await page.waitForFunction(
    (on) => {
      const widths = [...document.querySelectorAll(".editor-group-container")].map((g) => g.getBoundingClientRect().width);
      return on ? widths.filter((w) => w > 0).length === 1 : widths.filter((w) => w > 0).length >= 2;
    },
    on,
    { timeout: 10_000 },
  );
}

export const workbench = { viewport: { width: 1440, height: 900 } };

export const tests = [
  [
    `the cells of examples/${FILE} run with Shift+Enter, one after another`,
    async ({ page, workspace }) => {
      watch = watchWebviewConsole(page);
      writeFileSync(join(workspace, FILE), SOURCE);
      await openFile(page, FILE);
      await page.locator('.editor-instance .codelens-decoration:has(a:has-text("Run Cell"))').first().waitFor({ timeout: 60_000 });
      const cells = cellLines();
      for (const [i, line] of cells.entries()) {
        await goToLine(page, line);
        await page.keyboard.press("Shift+Enter");
        // The results panel gets a section per run; wait for this cell's to finish.
        const results = await webviewFrame(page, "#runs", { timeout: 60_000 });
        // The page replaces a run's section when it finishes: look it up by its cell, not by element.
        const name = results.locator(".cell-name", { hasText: new RegExp(`^${FILE.replace(".", "\\.")} · cell ${i + 1}( ·|$)`) });
        const done = results.locator('section.run:not([data-status="running"])').filter({ has: name }).last();
        await done.waitFor({ timeout: 120_000 });
        assert.equal(await done.getAttribute("data-status"), "ok", `cell ${i + 1} (line ${line}) failed: ${await done.textContent()}`);
      }
      await waitForStatusBar(page, "Primal: idle", 60_000);
      // The training cell printed the loss at its first and last step: it went down.
      const results = await webviewFrame(page, "#runs");
      const out = (await results.locator("section.run").last().textContent()) ?? "";
      const losses = [...out.matchAll(/step (\d+): loss ([-\d.e+]+)/g)].map((m) => Number(m[2]));
      assert.ok(losses.length >= 2 && losses.at(-1) < losses[0], `the loss did not go down: ${out}`);
    },
  ],
  [
    "the console watcher sees a CSP violation and an uncaught error inside a webview (a probe)",
    async ({ page }) => {
      // The checks of the last test rely on the watcher; prove here it catches both kinds in a
      // panel's frame. The probe's own messages carry "primal-probe" and are left out later.
      const frame = await showPanel(page, PANELS[2]);
      await frame.evaluate(() => {
        const s = document.createElement("script");
        s.src = "https://example.invalid/primal-probe.js";
        document.head.append(s);
        setTimeout(() => {
          throw new Error("primal-probe uncaught");
        }, 0);
      });
      await page.waitForTimeout(1000);
      const seen = watch.problems().filter((e) => PROBE.test(`${e.text} ${e.url}`));
      assert.ok(seen.some((e) => /Content.Security.Policy/i.test(e.text)), `the CSP violation was not seen:\n${watch.describe(watch.events.slice(-20))}`);
      assert.ok(seen.some((e) => /primal-probe uncaught/.test(e.text)), `the uncaught error was not seen:\n${watch.describe(watch.events.slice(-20))}`);
    },
  ],
  [
    "Show IR lists the jitted step (by its call site) with its jaxpr text (`{ lambda ... }`) and its optimised program",
    async ({ page }) => {
      const frame = await showPanel(page, PANELS[0]);
      // `const step = jit((p, x, y) => ...)`: the traced function is an anonymous arrow, so the
      // record is found by kind and call site rather than by name.
      const row = frame.locator(".ir-rec-row").filter({ has: frame.locator(".ir-kind", { hasText: /^jit$/ }) }).filter({ has: frame.locator(".ir-source", { hasText: `${FILE}:${STEP_CALL_LINE}` }) }).first();
      await row.waitFor();
      await row.click();
      await frame.locator(".ir-detail .ir-source", { hasText: `${FILE}:${STEP_CALL_LINE}` }).waitFor();
      const first = frame.locator('.ir-pane[data-pane="traced"] .ir-line[data-line="0"]');
      await first.waitFor();
      assert.match((await first.textContent()) ?? "", /\{\s*lambda\b/);
      // The step's equations: the model's matmuls (forward and transposed) and the SGD update.
      const text = (await frame.locator('.ir-pane[data-pane="traced"] .ir-line').allTextContents()).join("\n");
      assert.match(text, /dot_general/);
      assert.ok(await frame.locator('vscode-panel-tab[data-tab="optimized"]').count(), "a compiled jit record has an Optimized tab");
    },
  ],
  [
    "clicking an equation in the IR panel moves the editor's cursor to the line that made it",
    async ({ page }) => {
      await focusEditor(page);
      await goToLine(page, 1);
      assert.equal((await cursorPosition(page)).line, 1);
      const frame = await panelFrame(page, "ir");
      const eqn = frame.locator('.ir-pane[data-pane="traced"] .ir-line.ir-eqn', { hasText: "dot_general" }).first();
      await eqn.waitFor();
      await eqn.click();
      // revealSource focuses the editor and selects the line: the status bar follows.
      await page.waitForFunction(
        (want) => [...document.querySelectorAll(".statusbar-item")].some((el) => new RegExp(`^Ln ${want}, Col \\d+`).test(el.textContent?.trim() ?? "")),
        PREDICT_LINE,
        { timeout: 15_000 },
      ).catch(() => undefined);
      const pos = await cursorPosition(page);
      assert.equal(pos.line, PREDICT_LINE, `the cursor is on line ${pos.line}, expected line ${PREDICT_LINE} (${LINES[PREDICT_LINE - 1].trim()})`);
      assert.equal(await eqn.getAttribute("aria-selected"), "true", "the clicked line is selected in the panel");
      // The cursor now on that line, the panel highlights the equations it made (the click's own among them).
      const ir = await panelFrame(page, "ir");
      await ir.locator(".ir-line.highlighted", { hasText: "dot_general" }).first().waitFor({ timeout: 10_000 });
    },
  ],
  [
    "the IR panel shows valueAndGrad(loss)'s forward and backward (transposed) jaxprs side by side",
    async ({ page }) => {
      const frame = await showPanel(page, PANELS[0]);
      const row = frame.locator(".ir-rec-row").filter({ has: frame.locator(".ir-kind", { hasText: /^grad$/ }) }).filter({ has: frame.locator(".ir-rec-name", { hasText: /^loss$/ }) }).first();
      await row.waitFor();
      await row.click();
      const fwd = frame.locator('.ir-pane[data-pane="forward"]');
      const bwd = frame.locator('.ir-pane[data-pane="backward"]');
      await fwd.locator(".ir-line").first().waitFor();
      await bwd.locator(".ir-line").first().waitFor();
      const text = async (pane) => (await pane.locator(".ir-line").allTextContents()).join("\n");
      const [f, b] = [await text(fwd), await text(bwd)];
      // The loss's forward pass has the model's two matmuls; its transpose has them too (the
      // cotangents of the weights), and both print as jaxprs.
      assert.match(f, /\{\s*lambda\b/, `forward jaxpr:\n${f.slice(0, 600)}`);
      assert.match(f, /dot_general/, `forward jaxpr:\n${f.slice(0, 600)}`);
      assert.match(b, /\{\s*lambda\b/, `backward jaxpr:\n${b.slice(0, 600)}`);
      assert.match(b, /dot_general/, `backward jaxpr:\n${b.slice(0, 600)}`);
    },
  ],
  [
    "Show Gradients: valueAndGrad inside the jitted step, one row per parameter leaf with its shape and a finite norm",
    async ({ page }) => {
      const frame = await showPanel(page, PANELS[1]);
      const rec = frame.locator("section.grad-record").filter({ has: frame.locator(".record-name", { hasText: /^loss$/ }) }).first();
      await rec.waitFor();
      if (!(await rec.getAttribute("class"))?.includes("open")) await rec.locator(".record-header").click();
      assert.equal((await rec.locator(".kind-tag").textContent())?.trim(), "valueAndGrad");
      assert.equal((await rec.locator(".calls-badge").textContent())?.trim(), String(STEPS), `one call per training step (${STEPS})`);
      assert.ok(await rec.locator(".jit-tag").count(), "the values are marked as computed inside jit");
      const rows = await rec.locator("vscode-data-grid-row.leaf-row").evaluateAll((trs) =>
        trs.map((tr) => [...tr.querySelectorAll("vscode-data-grid-cell")].map((c) => ({ text: c.textContent?.trim() ?? "", title: c.getAttribute("title") ?? "" }))),
      );
      const expected = paramLeaves();
      assert.deepEqual(rows.map((r) => r[0].text).sort(), expected.map((l) => `${LOSS_PARAM}.${l.name}`).sort(), "a row per parameter leaf, named by its path");
      let sumSq = 0;
      for (const leaf of expected) {
        const r = rows.find((x) => x[0].text === `${LOSS_PARAM}.${leaf.name}`);
        assert.deepEqual(r[1].text.match(/\d+/g).map(Number), leaf.shape, `shape of ${leaf.name}`);
        assert.equal(r[2].text, "float32");
        const norm = Number(r[3].title);
        assert.ok(Number.isFinite(norm) && norm > 0, `${leaf.name}: L2 norm ${r[3].title} (shown ${r[3].text})`);
        assert.equal(r[8].text, "0", `${leaf.name}: NaN count`);
        assert.equal(r[9].text, "0", `${leaf.name}: Inf count`);
        sumSq += norm * norm;
      }
      // The header's global norm is the norm over all leaves.
      const global = Number(/: (\S+)$/.exec((await rec.locator(".metric", { hasText: "‖∇‖" }).getAttribute("title")) ?? "")?.[1]);
      assert.ok(Math.abs(global - Math.sqrt(sumSq)) <= 1e-4 * Math.sqrt(sumSq), `global norm ${global} vs sqrt(sum of leaf norms²) ${Math.sqrt(sumSq)}`);
      const loss = Number(/: (\S+)$/.exec((await rec.locator(".metric", { hasText: "loss" }).getAttribute("title")) ?? "")?.[1]);
      assert.ok(Number.isFinite(loss) && loss >= 0, `loss ${loss}`);
    },
  ],
  [
    "after the training cell runs again, the gradients panel shows the new calls (live update)",
    async ({ page }) => {
      await focusEditor(page);
      const train = cellLines().at(-1);
      await goToLine(page, train);
      await page.keyboard.press("Shift+Enter");
      const results = await webviewFrame(page, "#runs", { timeout: 60_000 });
      await results.waitForFunction((n) => {
        const runs = [...document.querySelectorAll("section.run")];
        return runs.length >= n && runs.at(-1).dataset.status !== "running";
      }, cellLines().length + 1, { timeout: 120_000 });
      const frame = await showPanel(page, PANELS[1]);
      const rec = frame.locator("section.grad-record").filter({ has: frame.locator(".record-name", { hasText: /^loss$/ }) }).first();
      await frame.waitForFunction((n) => [...document.querySelectorAll(".calls-badge")].some((b) => b.textContent?.trim() === n), String(2 * STEPS), { timeout: 15_000 }).catch(() => undefined);
      assert.equal((await rec.locator(".calls-badge").textContent())?.trim(), String(2 * STEPS), `${STEPS} more calls`);
    },
  ],
  [
    "Show Kernels: the step's compiled program, a kernel with its fused equations and its generated source",
    async ({ page }) => {
      const frame = await showPanel(page, PANELS[2]);
      const program = frame.locator(".krow-program").filter({ has: frame.locator(".source-link", { hasText: `${FILE}:${STEP_CALL_LINE}` }) }).first();
      await program.waitFor();
      if ((await program.getAttribute("aria-expanded")) !== "true") await program.click();
      const step = frame.locator(".krow-step").filter({ has: frame.locator(".badge.kind-kernel") }).first();
      await step.waitFor();
      if ((await step.getAttribute("aria-expanded")) !== "true") await step.click();
      const header = frame.locator(".krow-source .detail-label").first();
      await header.waitFor();
      const m = /^source \((\w+), (\d+) lines?\)$/.exec((await header.textContent())?.trim() ?? "");
      assert.ok(m && Number(m[2]) > 0, `source header: ${await header.textContent()}`);
      const src = (await frame.locator(".krow-source-line .code-line").allTextContents()).join("\n");
      assert.ok(src.trim().length > 20, `kernel source lines: ${JSON.stringify(src.slice(0, 200))}`);
      if (m[1] === "javascript") assert.match(src, /for\s*\(|=>|function/, "a CPU kernel is JavaScript");
      assert.ok(await frame.locator(".krow-eqn").count(), "the kernel lists the equations it fused");
      // Highlighted with the grammar: the source lines carry more than one token colour.
      await frame.waitForFunction(() => new Set([...document.querySelectorAll(".krow-source-line .code-line span")].map((s) => getComputedStyle(s).color)).size >= 2, null, { timeout: 15_000 });
    },
  ],
  ...THEMES.map((theme) => [
    `in ${theme.label}, each panel is readable (text contrast) and its screenshot is saved (docs/screenshots/*-panel-${theme.name}.png)`,
    async ({ page }) => {
      await setColorTheme(page, theme.label, theme.type);
      // The panels get the window's width; the Explorer is not what the screenshots are about.
      const sidebar = page.locator("#workbench\\.parts\\.sidebar");
      if (await sidebar.isVisible()) {
        await runCommand(page, "View: Close Primary Side Bar");
        await sidebar.waitFor({ state: "hidden" });
        await focusEditor(page);
      }
      const low = [];
      for (const p of PANELS) {
        const frame = await showPanel(page, p);
        await themed(frame, theme.body);
        low.push(...(await measure(page, frame, theme, p)));
        // The panel wide: its editor group maximised while the screenshot is taken.
        await page.locator(`.tabs-container .tab:has-text("${p.title}")`).first().click();
        // The toggle maximizes the active group: wait until that is the panel's (the click can
        // land before focus moves, and the code's group would be maximized instead).
        await page.locator(`.editor-group-container.active .tab.active:has-text("${p.title}")`).first().waitFor({ timeout: 10_000 });
        await toggleMaximized(page, true);
        await (await panelFrame(page, p.kind)).locator(p.ready).first().waitFor();
        await page.mouse.move(1, 1);
        await page.waitForTimeout(500);
        const shot = await screenshot(page, `${p.kind}-panel-${theme.name}`);
        await toggleMaximized(page, false);
        assert.equal(readFileSync(shot).subarray(1, 4).toString(), "PNG");
      }
      assert.deepEqual(low, [], `text below contrast ${MIN_CONTRAST} in ${theme.label}`);
    },
  ]),
  [
    "in the high-contrast themes, each panel's text keeps its contrast",
    async ({ page }) => {
      const low = [];
      for (const theme of HIGH_CONTRAST) {
        await setColorTheme(page, theme.label, theme.type);
        for (const p of PANELS) {
          const frame = await showPanel(page, p);
          await themed(frame, theme.body);
          low.push(...(await measure(page, frame, theme, p)));
        }
      }
      await setColorTheme(page, THEMES[0].label, THEMES[0].type);
      assert.deepEqual(low, [], `text below contrast ${MIN_CONTRAST} in the high-contrast themes`);
    },
  ],
  [
    "no CSP violation, uncaught error or reported rendering error in any panel, and no error dialog",
    async ({ page, server }) => {
      if (process.env.PRIMAL_BROWSER_REPORT) writeFileSync(process.env.PRIMAL_BROWSER_REPORT, JSON.stringify({ contrast, events: watch.events }, null, 1));
      const problems = watch.problems(PROBE);
      // Errors a panel caught itself (the bridge reports a failing render as a log message) and
      // messages the extension rejected end up in the "Primal" output channel.
      const log = outputChannelText(server).split("\n").filter((l) => /\[panel \w+\]/.test(l) && /error|failed|ignored|warn/i.test(l));
      const notices = await workbenchErrorNotices(page);
      const report = [
        problems.length ? `console of the panels' frames:\n${watch.describe(problems)}` : "",
        log.length ? `"Primal" output channel:\n${log.join("\n")}` : "",
        notices.length ? `error dialogs/notifications:\n${notices.join("\n")}` : "",
      ].filter(Boolean);
      assert.equal(report.length, 0, report.join("\n"));
    },
  ],
];
