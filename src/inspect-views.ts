// Read-only text documents for inspection output, beside the webview panels (src/panels/):
// "Primal: Open IR as Text" asks the kernel for `inspect/jaxprs` (the text `primal run --ir`
// prints) and opens it with the `primal-ir` language, and a panel's "Open as Text" (the
// `openText` message) opens the text it sends — a jaxpr, a WGSL shader, a JS kernel — with
// its language. The documents live in a TextDocumentContentProvider (scheme primal-inspect),
// so they are read-only and need no file on disk.

import * as vscode from "vscode";
import { InspectParams, InspectResult, KernelLanguage } from "../kernel/protocol";
import { KernelManager } from "./kernel-manager";

const SCHEME = "primal-inspect";

/** The languages a panel may ask for, and the file extension that VS Code maps to each. */
const EXTENSIONS: Record<"primal-ir" | KernelLanguage, string> = { "primal-ir": "jaxpr", wgsl: "wgsl", javascript: "js", wat: "wat" };

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

  /** Asks the kernel for one inspection method's text and opens it; returns the document. */
  async show(method: string, label: string, language?: "primal-ir"): Promise<vscode.TextDocument> {
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
        text = `Primal ${label}: the kernel did not answer ${method}:\n  ${(e as Error).message}`;
      }
    }
    return this.open(`Primal ${label}`, text, language);
  }

  /** Opens `text` read-only beside the editor with a language (a panel's "Open as Text"). */
  async openText(title: string, language: "primal-ir" | KernelLanguage, text: string): Promise<vscode.TextDocument> {
    return this.open(title, text, language);
  }

  private async open(title: string, text: string, language: "primal-ir" | KernelLanguage | undefined): Promise<vscode.TextDocument> {
    // The name is the tab's title: keep it to one path segment.
    const name = title.replace(/[\\/:*?"<>|\n\r]+/g, " ").trim().slice(0, 120) || "Primal";
    const ext = language ? EXTENSIONS[language] : "txt";
    const uri = vscode.Uri.from({ scheme: SCHEME, path: `/${name}.${ext}`, query: String(++this.seq) });
    this.contents.set(uri.toString(), text);
    // Bounded: the oldest texts go (a tab still showing one keeps its loaded text).
    for (const k of this.contents.keys()) {
      if (this.contents.size <= 100) break;
      this.contents.delete(k);
    }
    let doc = await vscode.workspace.openTextDocument(uri);
    if (language && doc.languageId !== language) {
      try {
        doc = await vscode.languages.setTextDocumentLanguage(doc, language);
      } catch {
        // A language no extension provides here (e.g. "wat" without a WebAssembly extension): keep plain text.
      }
    }
    await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preview: true, preserveFocus: true });
    return doc;
  }

  dispose(): void {
    this.registration.dispose();
    this.changed.dispose();
  }
}
