// The VS Code extension's entry point. Until the extension issue lands Run Cell and the
// panels, it offers one command, "Primal: Run File", which runs the active cell file through
// the kernel's CLI with VS Code's own Node runtime and shows the output in an output channel.

import { spawn } from "node:child_process";
import * as path from "node:path";
import * as vscode from "vscode";

/** Called by VS Code when a TypeScript file is opened or a Primal command runs. */
export function activate(context: vscode.ExtensionContext): void {
  const channel = vscode.window.createOutputChannel("Primal");
  context.subscriptions.push(
    channel,
    vscode.commands.registerCommand("primal.runFile", async () => {
      const doc = vscode.window.activeTextEditor?.document;
      if (!doc || doc.languageId !== "typescript") {
        void vscode.window.showWarningMessage("Primal: open a TypeScript cell file first.");
        return;
      }
      if (!vscode.workspace.isTrusted) {
        void vscode.window.showWarningMessage("Primal: running code needs a trusted workspace.");
        return;
      }
      await doc.save();
      channel.clear();
      channel.show(true);
      const cli = path.join(context.extensionPath, "dist", "cli.js");
      // VS Code's Node (Electron in Node mode), as language servers are started.
      const child = spawn(process.execPath, [cli, "run", doc.fileName], {
        cwd: path.dirname(doc.fileName),
        env: { ...process.env, ELECTRON_RUN_AS_NODE: "1" },
      });
      child.stdout.on("data", (b: Buffer) => channel.append(b.toString()));
      child.stderr.on("data", (b: Buffer) => channel.append(b.toString()));
      child.on("close", (code) => channel.appendLine(code === 0 ? "" : `[primal exited with status ${code}]`));
    }),
  );
}

export function deactivate(): void {}
