// The first extension-host test: the extension under development loads in a real VS Code
// (code-server's Node extension host), activates when a TypeScript cell file is opened, and
// registers its commands. Later test files beside this one run cells through the commands.
import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as vscode from "vscode";

const EXTENSION_ID = "primal-dev.primal";

/** The fixture workspace's folder (test/extension/fixtures/ws, opened by run-tests.mjs). */
function workspaceRoot(): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, "the test VS Code opened no workspace folder");
  return folder.uri.fsPath;
}

suite("activation", () => {
  test("vscode is a real VS Code with a version and a Node extension host", () => {
    assert.match(vscode.version, /^1\.\d+\.\d+/);
    // Compare with what the package declares it needs: the test host must satisfy it.
    const engines: string = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON.engines.vscode;
    const min = /(\d+)\.(\d+)/.exec(engines)!;
    const [, minor] = /^1\.(\d+)/.exec(vscode.version)!;
    assert.ok(Number(minor) >= Number(min[2]), `VS Code ${vscode.version} is older than engines.vscode ${engines}`);
    assert.equal(typeof process.versions.node, "string");
    assert.equal(vscode.env.uiKind === vscode.UIKind.Web || vscode.env.uiKind === vscode.UIKind.Desktop, true);
  });

  test("the fixture workspace is open and holds a cell file", () => {
    const text = readFileSync(join(workspaceRoot(), "cells.ts"), "utf8");
    assert.ok(text.split("\n").filter((l) => /^\s*\/\/ %%/.test(l)).length >= 2, "cells.ts should have at least two `// %%` cells");
  });

  test("opening a TypeScript cell file activates the extension", async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, `extension ${EXTENSION_ID} is not loaded`);
    const doc = await vscode.workspace.openTextDocument(join(workspaceRoot(), "cells.ts"));
    await vscode.window.showTextDocument(doc);
    assert.equal(doc.languageId, "typescript");
    // onLanguage:typescript activates it; activation is asynchronous, so wait for it.
    for (let i = 0; i < 100 && !ext.isActive; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(ext.isActive, true, "the extension did not activate within 10 s of opening cells.ts");
  });

  test("the commands in package.json are registered, primal.runFile among them", async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
    await ext.activate();
    const registered = new Set(await vscode.commands.getCommands(true));
    assert.ok(registered.has("primal.runFile"), "primal.runFile is not registered");
    const declared: { command: string }[] = ext.packageJSON.contributes.commands;
    const missing = declared.map((c) => c.command).filter((c) => !registered.has(c));
    assert.deepEqual(missing, [], `declared in package.json but not registered: ${missing.join(", ")}`);
  });
});
