// Smoke test of the browser harness: the fixture cell file opens in a real VS Code editor
// with the extension installed, and the Primal commands are in the command palette (they
// are there only if the workbench recognised the linked extension). Saves the editor as
// docs/screenshots/editor.png.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { screenshot } from "./harness.mjs";

export const workbench = { file: "cells.ts" };

export const tests = [
  [
    "the cell file is open in an editor with its text and TypeScript highlighting",
    async ({ page, workspace }) => {
      const editor = page.locator(".editor-instance .monaco-editor .view-lines").first();
      // The marker line of the second cell, as written in the file.
      const marker = readFileSync(join(workspace, "cells.ts"), "utf8").split("\n").find((l) => l.startsWith("// %% Second"));
      assert.ok(marker, "fixture cells.ts has no `// %% Second` cell");
      await editor.locator(`.view-line:has-text("${marker}")`).waitFor();
      // TypeScript's grammar colours keywords differently from identifiers: more than one token colour.
      const classes = await editor.locator(".view-line span span").evaluateAll((els) => new Set(els.map((e) => e.className)).size);
      assert.ok(classes >= 3, `expected several token colours in a highlighted TypeScript file, got ${classes}`);
    },
  ],
  [
    "the command palette lists the extension's commands",
    async ({ page }) => {
      const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8"));
      const declared = new Set(pkg.contributes.commands.map((c) => `${c.category}: ${c.title}`));
      await page.keyboard.press("F1");
      const input = page.locator(".quick-input-widget input");
      await input.waitFor({ state: "visible" });
      await input.fill(">Primal: ");
      const rows = page.locator(".quick-input-list .monaco-list-row .label-name");
      await rows.first().waitFor();
      // Commands a `when` clause hides here (none is running, no cell file active) may be
      // missing; every row shown must be one of the package's own commands.
      const shown = (await rows.allTextContents()).map((t) => t.replace(/\s+/g, " ").trim());
      await page.keyboard.press("Escape");
      const primal = shown.filter((t) => t.startsWith("Primal: "));
      assert.ok(primal.length >= 3, `expected the Primal commands in the palette, got ${JSON.stringify(shown)}`);
      const unknown = primal.filter((t) => !declared.has(t));
      assert.deepEqual(unknown, [], `palette rows that package.json does not declare: ${unknown.join(", ")}`);
    },
  ],
  [
    "the extension is active in the editor: a Run Cell CodeLens above each cell",
    async ({ page, workspace }) => {
      // Cells: one per `// %%` marker, plus the code before the first marker unless that is
      // only comments and blank lines (the file header), as kernel/server/cell-parser.ts says.
      const lines = readFileSync(join(workspace, "cells.ts"), "utf8").split("\n");
      const first = lines.findIndex((l) => /^\s*\/\/ %%/.test(l));
      const head = lines.slice(0, first).some((l) => l.trim() !== "" && !l.trim().startsWith("//"));
      const cells = lines.filter((l) => /^\s*\/\/ %%/.test(l)).length + (head ? 1 : 0);
      const lenses = page.locator('.editor-instance .codelens-decoration:has(a:has-text("Run Cell"))');
      await lenses.first().waitFor();
      await page.waitForFunction(
        (n) => document.querySelectorAll(".editor-instance .codelens-decoration").length >= n,
        cells,
      );
      assert.equal(await lenses.count(), cells);
    },
  ],
  [
    "a screenshot of the editor is saved for the README",
    async ({ page }) => {
      await page.locator(".quick-input-widget").waitFor({ state: "hidden" });
      const path = await screenshot(page, "editor");
      assert.ok(readFileSync(path).subarray(1, 4).toString() === "PNG", `${path} is not a PNG`);
    },
  ],
];
