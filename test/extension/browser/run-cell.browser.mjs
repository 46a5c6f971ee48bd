// Run Cell as a user does it: the cursor in a cell, Shift+Enter in the real editor. Checks
// the inline result after the cell (drawn by the extension as an `after` decoration), the
// "Primal Results" panel (array table with its dtype/shape header, the plot as SVG), the
// status bar, and saves docs/screenshots/run-cell.png for the README.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { goToLine, openFile, screenshot, waitForStatusBar, webview } from "./harness.mjs";

const DEMO = `// Gradient descent on a small quadratic. Put the cursor in a cell and press Shift+Enter.
import { np, grad, display, plot } from "primal";

// %% Data
const x = np.linspace(-1, 1, 5).reshape([1, 5]).mul(np.arange(1, 4).reshape([3, 1]));
x

// %% Descend and plot the loss
const target = x.mean(0).add(0.5);
const loss = (w: any) => np.square(w.sub(target)).sum();
let w = np.zeros([5]);
const losses: number[] = [];
for (let step = 0; step < 40; step++) {
  w = w.sub(grad(loss)(w).mul(0.1));
  losses.push(Number(loss(w).item()));
}
display(plot.line(losses, { title: "loss", xLabel: "step" }));
w
`;

const lineOf = (needle) => DEMO.split("\n").findIndex((l) => l.includes(needle)) + 1;

/** Texts of the inline decorations in the editor: `after` content (CSS ::after or injected text). */
async function inlineTexts(page) {
  return page.evaluate(() => {
    const out = [];
    for (const el of document.querySelectorAll(".editor-instance .monaco-editor .view-line span")) {
      const after = getComputedStyle(el, "::after").content;
      if (after && after !== "none" && after !== "normal") out.push(after.replace(/^"|"$/g, ""));
      if (el.children.length === 0 && /^[⇒✖⋯]/.test(el.textContent ?? "")) out.push(el.textContent);
    }
    return out;
  });
}

export const workbench = {};

export const tests = [
  [
    "Shift+Enter runs the cell at the cursor: the value appears inline and as a table in the results panel",
    async ({ page, workspace }) => {
      writeFileSync(join(workspace, "demo.ts"), DEMO);
      await openFile(page, "demo.ts");
      await page.locator('.editor-instance .codelens-decoration:has(a:has-text("Run Cell"))').first().waitFor();
      // The import header first (a cell of its own), then the Data cell, as a user would.
      await goToLine(page, lineOf("import {"));
      await page.keyboard.press("Shift+Enter");
      await waitForStatusBar(page, "Primal: idle", 60_000);
      await goToLine(page, lineOf("const x ="));
      await page.keyboard.press("Shift+Enter");
      // Inline: the repr's first line after the cell's last line.
      await page.waitForFunction(
        () => [...document.querySelectorAll(".editor-instance .view-line span")].some((el) => getComputedStyle(el, "::after").content.includes("⇒ Array([[-1.")),
        null,
        { timeout: 30_000 },
      );
      const texts = await inlineTexts(page);
      assert.ok(texts.some((t) => t.startsWith("⇒ Array([[-1.") && t.includes("dtype=float32")), JSON.stringify(texts));
      // The results panel: dtype[shape] header and the values, row by row (x[i][j] = (i+1)·linspace(-1,1,5)[j]).
      const panel = webview(page);
      const run = panel.locator('section.run[data-status="ok"]').last();
      await run.waitFor({ timeout: 30_000 });
      assert.equal(await run.locator(".array-head .dtype").textContent(), "float32[3, 5]");
      const rows = await run.locator("table.grid tbody tr").evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => Number(td.textContent))));
      const expected = [1, 2, 3].map((k) => [-1, -0.5, 0, 0.5, 1].map((v) => v * k));
      assert.deepEqual(rows, expected);
    },
  ],
  [
    "the next cell trains and plots: the loss curve is an SVG in the panel, the status bar shows the device and JIT",
    async ({ page }) => {
      await goToLine(page, lineOf("display(plot.line"));
      await page.keyboard.press("Shift+Enter");
      const panel = webview(page);
      const svg = panel.locator("section.run").last().locator("svg.plot-svg");
      await svg.waitFor({ timeout: 60_000 });
      assert.equal(await svg.getAttribute("aria-label"), "loss");
      const points = (await svg.locator("polyline.series").getAttribute("points")).trim().split(/\s+/);
      assert.equal(points.length, 40, "one point per step");
      // Gradient descent on a convex quadratic: the loss only goes down, so the curve's y
      // (SVG y grows downwards) only goes up.
      const ys = points.map((p) => Number(p.split(",")[1]));
      assert.ok(ys.every((y, i) => i === 0 || y >= ys[i - 1] - 1e-6), `loss curve not decreasing: ${ys.join(" ")}`);
      await waitForStatusBar(page, "JIT: on");
      const device = await page.locator(".statusbar-item:has-text(\"CPU\"), .statusbar-item:has-text(\"WebGPU\")").first().textContent();
      assert.match(device ?? "", /CPU|WebGPU/);
      // The value w converged towards the target: the inline result shows the array.
      await page.waitForFunction(
        () => [...document.querySelectorAll(".editor-instance .view-line span")].some((el) => getComputedStyle(el, "::after").content.includes("⇒ Array([")),
      );
    },
  ],
  [
    "a screenshot of a run is saved for the README (docs/screenshots/run-cell.png)",
    async ({ page }) => {
      await goToLine(page, lineOf("const x ="));
      const path = await screenshot(page, "run-cell");
      assert.equal(readFileSync(path).subarray(1, 4).toString(), "PNG");
    },
  ],
];
