// "Primal: Open Example" (src/examples.ts), as the walkthrough's first step runs it: the
// command with an example's name copies that shipped example (here the repository's
// examples/, which the extension under development is loaded from) into the workspace under a
// name no file has, opens it as a cell file, and the copy runs with Run File. Compared with
// the repository's file and with values worked out by hand, not with earlier output.
import * as assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import * as vscode from "vscode";
import { assertOk, primal, runCommand, until, wsRoot } from "./primal-helpers";

suite("open example", () => {
  const made: string[] = [];
  let shipped: string;

  suiteSetup(async () => {
    const api = await primal();
    // The extension is loaded from the checkout: its examples/ is the repository's.
    shipped = readFileSync(join(vscode.extensions.getExtension("primal-dev.primal")!.extensionPath, "examples", "quickstart.ts"), "utf8");
    assert.ok(api);
  });

  suiteTeardown(async () => {
    await vscode.commands.executeCommand("workbench.action.closeAllEditors");
    for (const f of made) rmSync(f, { force: true });
  });

  test("with a name: copies the example into the workspace, opens it, and it runs", async () => {
    const api = await primal();
    const uri = await vscode.commands.executeCommand<vscode.Uri | undefined>("primal.openExample", "quickstart");
    assert.ok(uri instanceof vscode.Uri, `the command returns the new file, got ${String(uri)}`);
    made.push(uri.fsPath);
    assert.equal(dirname(uri.fsPath), wsRoot(), "the copy goes into the workspace folder");
    assert.match(basename(uri.fsPath), /^quickstart(-\d+)?\.ts$/);
    assert.equal(readFileSync(uri.fsPath, "utf8"), shipped, "the copy is the shipped example");
    const ed = await until("the copy in the active editor", () => vscode.window.activeTextEditor?.document.uri.fsPath === uri.fsPath && vscode.window.activeTextEditor);
    assert.equal(ed.document.isUntitled, false, "a real file the user can save");
    // The header (imports) plus one cell per `// %%` line.
    const expectedCells = shipped.split("\n").filter((l) => l.startsWith("// %%")).length + 1;
    assert.equal(api.model.cellsOf(ed.document).length, expectedCells);
    assert.ok(expectedCells >= 5, `the quickstart has cells, got ${expectedCells}`);

    const recs = await runCommand("primal.runFile", expectedCells, uri);
    for (const r of recs) assertOk(r);
    // "Arrays and dtypes": [1, 2, 3] (int32) + [0.5, 1.5, 2.5] (float32) = [1.5, 3.5, 5.5] float32.
    assert.equal(recs[1].title, "Arrays and dtypes");
    assert.equal(recs[1].result?.value, "Array([1.5, 3.5, 5.5], dtype=float32)");
    assert.ok(recs[1].outputs.some((o) => o.kind === "text" && o.text.includes("int32 float32")), JSON.stringify(recs[1].outputs));
  });

  test("never overwrites: a second copy takes the next free name", async () => {
    const first = await vscode.commands.executeCommand<vscode.Uri>("primal.openExample", "quickstart");
    made.push(first.fsPath);
    // The user's edits to the first copy must survive the second Open Example.
    writeFileSync(first.fsPath, "// %% mine\n1 + 1\n");
    const second = await vscode.commands.executeCommand<vscode.Uri>("primal.openExample", "quickstart.ts");
    made.push(second.fsPath);
    assert.notEqual(second.fsPath, first.fsPath);
    assert.equal(readFileSync(first.fsPath, "utf8"), "// %% mine\n1 + 1\n", "the first copy is untouched");
    assert.equal(readFileSync(second.fsPath, "utf8"), shipped);
    const n = (f: string): number => Number(/-(\d+)\.ts$/.exec(f)?.[1] ?? 1);
    // The first free name: no quickstart-<k>.ts between the two is missing.
    for (let k = n(first.fsPath) + 1; k < n(second.fsPath); k++) assert.ok(existsSync(join(wsRoot(), `quickstart-${k}.ts`)), `quickstart-${k}.ts was free`);
    await until("the second copy in the active editor", () => vscode.window.activeTextEditor?.document.uri.fsPath === second.fsPath);
  });

  test("the MLP example opens too; an unknown name makes no file", async () => {
    const mlp = await vscode.commands.executeCommand<vscode.Uri>("primal.openExample", "mlp");
    made.push(mlp.fsPath);
    assert.match(basename(mlp.fsPath), /^mlp(-\d+)?\.ts$/);
    assert.match(readFileSync(mlp.fsPath, "utf8"), /valueAndGrad/);
    const before = readdirSync(wsRoot()).sort();
    const none = await vscode.commands.executeCommand("primal.openExample", "data-parallel");
    assert.equal(none, undefined, "data-parallel is not one of the shipped examples");
    assert.deepEqual(readdirSync(wsRoot()).sort(), before);
  });
});
