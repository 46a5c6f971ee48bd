// "Primal: Open Example": copies one of the example cell files shipped with the extension
// (examples/ in the VSIX, the repository's examples/ in development) to a place the user owns
// and opens it, so it can be run, edited and saved like any of their files. The walkthrough's
// first step runs this command: a walkthrough link can only run a command, and a user who just
// installed the extension has no cell file yet.
//
// Where the copy goes: the first workspace folder when one is open (so the file sits beside the
// user's code and the kernel's working directory is that folder), else a fresh folder under the
// extension's global storage. An existing file is never overwritten: the copy takes the first
// free name (quickstart.ts, quickstart-2.ts, ...).

import * as vscode from "vscode";

/** An example the command offers: its file name under examples/ and what the quick pick says. */
export interface ExampleInfo {
  name: string;
  label: string;
  description: string;
}

/**
 * The examples shipped in the VSIX (scripts/package.mjs copies exactly these; .vscodeignore and
 * the VSIX test's allow-list let them in). Keep the three lists in step.
 */
export const EXAMPLES: readonly ExampleInfo[] = [
  { name: "quickstart", label: "Quickstart", description: "arrays, dtypes, broadcasting, indexing, linear algebra, devices" },
  { name: "mlp", label: "MLP", description: "a small network trained with valueAndGrad and a jitted SGD step" },
];

/** The examples folder inside the installed extension. */
const examplesDir = (extensionUri: vscode.Uri): vscode.Uri => vscode.Uri.joinPath(extensionUri, "examples");

async function exists(uri: vscode.Uri): Promise<boolean> {
  try {
    await vscode.workspace.fs.stat(uri);
    return true;
  } catch {
    return false;
  }
}

/** `dir/<base>.ts`, or `dir/<base>-2.ts`, `-3`, ... : the first name no file has. */
export async function freeName(dir: vscode.Uri, base: string): Promise<vscode.Uri> {
  for (let i = 1; ; i++) {
    const uri = vscode.Uri.joinPath(dir, i === 1 ? `${base}.ts` : `${base}-${i}.ts`);
    if (!(await exists(uri))) return uri;
  }
}

/**
 * The folder the copy goes to: the first workspace folder, or a new folder under global
 * storage (one per call, named by time, so examples opened without a workspace never collide).
 */
async function destination(globalStorageUri: vscode.Uri): Promise<vscode.Uri> {
  const ws = vscode.workspace.workspaceFolders?.[0];
  if (ws) return ws.uri;
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const dir = vscode.Uri.joinPath(globalStorageUri, "examples", stamp);
  await vscode.workspace.fs.createDirectory(dir);
  return dir;
}

/**
 * Copies an example and opens it in an editor. `name` (e.g. "quickstart") skips the quick
 * pick; without it the user picks one. Returns the new file, or undefined when the pick was
 * dismissed or the example is not shipped.
 */
export async function openExample(context: Pick<vscode.ExtensionContext, "extensionUri" | "globalStorageUri">, name?: unknown): Promise<vscode.Uri | undefined> {
  const dir = examplesDir(context.extensionUri);
  const shipped: ExampleInfo[] = [];
  for (const ex of EXAMPLES) if (await exists(vscode.Uri.joinPath(dir, `${ex.name}.ts`))) shipped.push(ex);
  let chosen: ExampleInfo | undefined;
  if (typeof name === "string") {
    chosen = shipped.find((ex) => ex.name === name.replace(/\.ts$/, ""));
    if (!chosen) {
      void vscode.window.showErrorMessage(`Primal: Open Example: no example named "${name}", got only ${shipped.map((e) => e.name).join(", ") || "none"}`);
      return undefined;
    }
  } else {
    if (!shipped.length) {
      void vscode.window.showErrorMessage(`Primal: Open Example: no examples found in ${dir.fsPath}`);
      return undefined;
    }
    const pick = await vscode.window.showQuickPick(
      shipped.map((ex) => ({ label: ex.label, description: `${ex.name}.ts`, detail: ex.description, ex })),
      { title: "Primal: open an example cell file", placeHolder: "The example is copied into your workspace (or a new folder) and opened" },
    );
    chosen = pick?.ex;
  }
  if (!chosen) return undefined;
  const target = await freeName(await destination(context.globalStorageUri), chosen.name);
  await vscode.workspace.fs.copy(vscode.Uri.joinPath(dir, `${chosen.name}.ts`), target, { overwrite: false });
  const doc = await vscode.workspace.openTextDocument(target);
  const ed = await vscode.window.showTextDocument(doc, { preview: false });
  // The cursor on the import line: Shift+Enter there runs the header cell first, as a user must.
  const first = Math.max(0, doc.getText().split("\n").findIndex((l) => l.startsWith("import ")));
  ed.selection = new vscode.Selection(first, 0, first, 0);
  return target;
}
