// Cells in the editor: the context key that enables the keybindings, CodeLenses above each
// `// %%`, boundary decorations, and both following edits (a marker typed or deleted).
import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as vscode from "vscode";
import { EXTENSION_ID, openAt, primal, until, writeCells } from "./primal-helpers";

const TEXT = `// A header comment is not a cell.
// %% one
const a = 1;

// %% two
a + 1
`;

suite("cells in the editor", () => {
  test("CodeLens above each marker: Run Cell · Run Above · Debug Cell", async () => {
    await primal();
    const file = writeCells("lens.ts", TEXT);
    const ed = await openAt(file, 3);
    const lenses = await until("code lenses", async () => {
      const l = await vscode.commands.executeCommand<vscode.CodeLens[]>("vscode.executeCodeLensProvider", ed.document.uri, 100);
      return l.filter((x) => x.command?.command.startsWith("primal.")).length >= 6 && l.filter((x) => x.command?.command.startsWith("primal."));
    });
    const byLine = new Map<number, string[]>();
    for (const l of lenses) byLine.set(l.range.start.line, [...(byLine.get(l.range.start.line) ?? []), l.command!.title.replace(/\$\([^)]*\)\s*/, "")]);
    // Markers are on lines 2 and 5 (1-based), i.e. 1 and 4.
    assert.deepEqual([...byLine.keys()].sort(), [1, 4]);
    assert.deepEqual(byLine.get(1), ["Run Cell", "Run Above", "Debug Cell"]);
    const second = lenses.find((l) => l.range.start.line === 4 && l.command!.command === "primal.runCell")!;
    assert.equal(second.command!.arguments![1], 1, "the Run Cell lens of the second cell passes cell index 1");
  });

  test("the primal.hasCells context key drives the keybindings (Shift+Enter, Ctrl+Enter, Alt+Enter)", async () => {
    const pkg = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON;
    const kb: { command: string; key: string; when: string }[] = pkg.contributes.keybindings;
    const runCell = kb.filter((k) => k.command === "primal.runCell").map((k) => k.key);
    assert.deepEqual(runCell.sort(), ["ctrl+enter", "shift+enter"]);
    assert.ok(kb.find((k) => k.command === "primal.runCellAndAdvance" && k.key === "alt+enter"));
    for (const k of kb) assert.match(k.when, /primal\.hasCells/, `${k.command} (${k.key}) must be limited to cell files`);
    // The key is set for a cell file and cleared for a TypeScript file without markers.
    const api = await primal();
    const plain = await openAt(writeCells("plain.ts", "const z = 1;\n"));
    assert.equal(api.model.hasCells(plain.document), false);
    const cells = await openAt(writeCells("lens2.ts", TEXT));
    assert.equal(api.model.hasCells(cells.document), true);
  });

  test("boundaries and lenses follow edits: a marker typed, then deleted", async () => {
    const api = await primal();
    const file = writeCells("edit.ts", TEXT);
    const ed = await openAt(file, 3);
    const uri = ed.document.uri.toString();
    await until("boundaries drawn", () => api.boundaries.drawn.get(uri)?.length === 2);
    assert.deepEqual(api.boundaries.drawn.get(uri), [1, 4]);
    // Type a marker after `const a = 1;` (line 3): a new cell appears between the two.
    await ed.edit((b) => b.insert(new vscode.Position(3, 0), "// %% inserted\n"));
    await until("three boundaries", () => api.boundaries.drawn.get(uri)?.length === 3);
    assert.deepEqual(api.boundaries.drawn.get(uri), [1, 3, 5]);
    assert.equal(api.model.cellsOf(ed.document).map((c) => c.title).join("|"), "one|inserted|two");
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>("vscode.executeCodeLensProvider", ed.document.uri, 100);
    assert.equal(lenses.filter((l) => l.command?.command === "primal.runCell").length, 3);
    // Delete it again.
    await ed.edit((b) => b.delete(new vscode.Range(3, 0, 4, 0)));
    await until("two boundaries again", () => api.boundaries.drawn.get(uri)?.length === 2);
    assert.equal(ed.document.getText(), readFileSync(file, "utf8"));
    await vscode.commands.executeCommand("workbench.action.files.revert");
  });
});
