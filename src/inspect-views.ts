// Show IR / Show Gradients / Show Kernels, until the inspector panels of the next issue land:
// each asks the kernel for its inspection records of the active file (`inspect/jaxprs`,
// `inspect/gradients`, `inspect/kernels`: the text `primal run --ir` / `--kernels` prints) and
// opens them as a read-only text document beside the editor.

import * as vscode from "vscode";
import { InspectParams, InspectResult } from "../kernel/protocol";
import { KernelManager } from "./kernel-manager";

const SCHEME = "primal-inspect";

export class InspectViews implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly contents = new Map<string, string>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private readonly registration: vscode.Disposable;
  private seq = 0;

  constructor(private readonly kernel: KernelManager) {
    this.registration = vscode.workspace.registerTextDocumentContentProvider(SCHEME, this);
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.contents.get(uri.toString()) ?? "";
  }

  /** Asks the kernel for one inspection method and opens the answer; returns the document. */
  async show(method: string, label: string): Promise<vscode.TextDocument> {
    const ed = vscode.window.activeTextEditor;
    const file = ed?.document.uri.scheme === "file" ? ed.document.uri.fsPath : undefined;
    let text: string;
    if (this.kernel.state === "stopped" || this.kernel.state === "dead") {
      text = `Primal ${label}: no kernel is running. Run a cell first; this view shows what the kernel traced and compiled.`;
    } else {
      try {
        const r = await this.kernel.send<InspectResult>(method, { file } satisfies InspectParams);
        text = r.text;
      } catch (e) {
        text = `Primal ${label}: the kernel did not answer ${method}:\n  ${(e as Error).message}\n\n(The ${label} panel is part of the next issue; this kernel does not provide it yet.)`;
      }
    }
    const uri = vscode.Uri.from({ scheme: SCHEME, path: `/Primal ${label}.txt`, query: String(++this.seq) });
    this.contents.set(uri.toString(), text);
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preview: true, preserveFocus: true });
    return doc;
  }

  dispose(): void {
    this.registration.dispose();
    this.changed.dispose();
  }
}
