// Shared helpers of the Primal extension-host tests: the extension's test API (what
// activate() returns), writing cell files into the temporary workspace copy, opening them
// with the cursor on a line, and waiting for conditions the UI reaches asynchronously.
import * as assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import * as vscode from "vscode";
import type { PrimalApi } from "../../../src/extension";
import type { RunRecord } from "../../../src/results";

export const EXTENSION_ID = "primal-dev.primal";

/** The activated extension's API. */
export async function primal(): Promise<PrimalApi> {
  const ext = vscode.extensions.getExtension<PrimalApi>(EXTENSION_ID);
  assert.ok(ext, `extension ${EXTENSION_ID} is not loaded`);
  return ext.activate();
}

/** The workspace folder (a temporary copy of test/extension/fixtures/ws). */
export function wsRoot(): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, "no workspace folder is open");
  return folder.uri.fsPath;
}

/** Writes a cell file into the workspace and returns its path. */
export function writeCells(name: string, text: string): string {
  const file = join(wsRoot(), name);
  writeFileSync(file, text);
  return file;
}

/** Opens a file in an editor with the cursor on a 1-based line. */
export async function openAt(file: string, line = 1): Promise<vscode.TextEditor> {
  const doc = await vscode.workspace.openTextDocument(file);
  const ed = await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.One, preview: false });
  const pos = new vscode.Position(line - 1, 0);
  ed.selection = new vscode.Selection(pos, pos);
  return ed;
}

/** 1-based line of the first line containing `needle`. */
export function lineOf(text: string, needle: string): number {
  const i = text.split("\n").findIndex((l) => l.includes(needle));
  assert.ok(i >= 0, `no line contains ${JSON.stringify(needle)}`);
  return i + 1;
}

/** Polls `fn` until it returns a truthy value, or fails with `what` after `ms`. */
export async function until<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, ms = 20000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > ms) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs a command that returns RunRecords and checks that exactly `n` ran. */
export async function runCommand(id: string, n: number, ...args: unknown[]): Promise<RunRecord[]> {
  const recs = (await vscode.commands.executeCommand<RunRecord[]>(id, ...args)) ?? [];
  assert.equal(recs.length, n, `${id} ran ${recs.length} cells, expected ${n}: ${recs.map((r) => `${r.status} ${r.crash ?? r.error?.message ?? ""}`).join("; ")}`);
  return recs;
}

/** Fails with the run's error if it did not end "ok". */
export function assertOk(rec: RunRecord): void {
  assert.equal(rec.status, "ok", `cell ${rec.cell} ended ${rec.status}: ${rec.error ? `${rec.error.name}: ${rec.error.message}` : (rec.crash ?? "")}`);
}

/** Sets a primal.* setting in the workspace and waits for the status bar to show it. */
export async function setSetting(key: string, value: unknown): Promise<void> {
  await vscode.workspace.getConfiguration("primal").update(key, value, vscode.ConfigurationTarget.Workspace);
}
