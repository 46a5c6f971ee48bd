// The "Primal Results" webview panel: the full output of each run, newest last, updated as
// output streams in. The HTML of each run is rendered here (results-html.ts, everything
// escaped) and sent to the page by postMessage, so a run updates in place without reloading
// the page or losing the scroll position. The page has a strict Content-Security-Policy: no
// remote loads, only its own nonce'd style and script; colours are VS Code's theme variables.
// A click on an error location posts back, and the extension reveals that line.

import { randomBytes } from "node:crypto";
import * as vscode from "vscode";
import { RunView, renderRun } from "./results-html";
import { ResultsStore, RunRecord } from "./results";

const REPLAY = 50;

export class ResultsPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  /** Last HTML sent per run id: a test hook (what the page shows for that run). */
  readonly sent = new Map<string, string>();
  /** Pending updates, flushed together so a chatty cell does not post a message per line. */
  private pending = new Map<string, RunRecord>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** The HTML of the page itself (a test hook for the CSP). */
  pageHtml = "";

  constructor(private readonly store: ResultsStore) {
    this.disposables.push(store.onDidChange((rec) => this.queue(rec)));
  }

  /** True while the panel exists. */
  get isOpen(): boolean {
    return !!this.panel;
  }

  /** Opens the panel beside the editor (without taking focus) if it is not open. */
  show(preserveFocus = true): void {
    if (this.panel) {
      if (!this.panel.visible) this.panel.reveal(vscode.ViewColumn.Beside, preserveFocus);
      return;
    }
    const panel = vscode.window.createWebviewPanel("primal.results", "Primal Results", { viewColumn: vscode.ViewColumn.Beside, preserveFocus }, {
      enableScripts: true,
      retainContextWhenHidden: true,
      localResourceRoots: [],
    });
    this.panel = panel;
    this.pageHtml = pageHtml(nonce());
    panel.webview.html = this.pageHtml;
    panel.webview.onDidReceiveMessage((m: unknown) => this.onMessage(m), undefined, this.disposables);
    panel.onDidDispose(() => {
      this.panel = undefined;
      this.sent.clear();
    });
    // Replay recent runs into the new page.
    for (const rec of this.store.records.slice(-REPLAY)) this.pending.set(rec.runId, rec);
    this.flush();
  }

  private queue(rec: RunRecord): void {
    this.pending.set(rec.runId, rec);
    // Finished runs go out at once (tests and users wait for them); streaming ones are batched.
    if (rec.status !== "running") this.flush();
    else this.timer ??= setTimeout(() => this.flush(), 100);
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const recs = [...this.pending.values()];
    this.pending.clear();
    if (!recs.length) return;
    this.show();
    for (const rec of recs) {
      const html = renderRun(toView(rec));
      this.sent.set(rec.runId, html);
      void this.panel?.webview.postMessage({ type: "run", runId: rec.runId, html });
    }
  }

  private onMessage(m: unknown): void {
    const msg = m as { type?: string; file?: string; line?: number; column?: number };
    if (msg.type === "reveal" && typeof msg.file === "string") void revealLocation(msg.file, msg.line ?? 1, msg.column ?? 1);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.panel?.dispose();
    for (const d of this.disposables) d.dispose();
  }
}

/** Opens a file at a 1-based line and column (error links in the panel). */
export async function revealLocation(file: string, line: number, column: number): Promise<void> {
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
  const pos = new vscode.Position(Math.max(0, line - 1), Math.max(0, column - 1));
  await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.One, selection: new vscode.Range(pos, pos) });
}

function toView(r: RunRecord): RunView {
  return {
    runId: r.runId, file: r.file, cell: r.cell, title: r.title, status: r.status, outputs: r.outputs,
    value: r.result?.value, valueOutput: r.result?.valueOutput, error: r.error, crash: r.crash,
    durationMs: r.durationMs, jit: r.jit, omitted: r.result?.omitted,
  };
}

function nonce(): string {
  return randomBytes(16).toString("base64").replace(/[^A-Za-z0-9]/g, "");
}

/** The page: CSP with a nonce, theme-variable styles, and the small script that places runs. */
function pageHtml(n: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'nonce-${n}'; script-src 'nonce-${n}'; img-src data:;">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>Primal Results</title>
<style nonce="${n}">
body { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); color: var(--vscode-foreground); background: var(--vscode-editor-background); padding: 0 12px 24px; }
#empty { color: var(--vscode-descriptionForeground); margin-top: 1em; }
.run { border-top: 1px solid var(--vscode-panel-border, var(--vscode-widget-border, #8884)); padding: 8px 0; }
.run-head { display: flex; gap: 8px; align-items: baseline; margin-bottom: 4px; }
.cell-name { font-weight: 600; }
.meta, .note { color: var(--vscode-descriptionForeground); font-size: 0.9em; }
.run-head .meta { margin-left: auto; }
.status-ok { color: var(--vscode-testing-iconPassed, var(--vscode-charts-green)); }
.status-running { color: var(--vscode-progressBar-background); }
.status-error, .status-crashed, .status-interrupted { color: var(--vscode-errorForeground); }
pre { font-family: var(--vscode-editor-font-family); font-size: var(--vscode-editor-font-size); margin: 2px 0; white-space: pre-wrap; word-break: break-word; }
pre.stderr { color: var(--vscode-editorWarning-foreground); }
.value { margin-top: 4px; }
.error { color: var(--vscode-errorForeground); font-family: var(--vscode-editor-font-family); margin: 4px 0; }
.error-name { font-weight: 700; }
.error a.loc { color: var(--vscode-textLink-foreground); margin-left: 6px; }
.error details pre { color: var(--vscode-descriptionForeground); }
.array-head { display: flex; gap: 10px; align-items: baseline; margin: 4px 0; }
.dtype { font-family: var(--vscode-editor-font-family); font-weight: 600; }
table.grid { border-collapse: collapse; font-family: var(--vscode-editor-font-family); font-size: var(--vscode-editor-font-size); }
table.grid th, table.grid td { padding: 1px 8px; text-align: right; border: 1px solid var(--vscode-widget-border, #8883); }
table.grid th { color: var(--vscode-descriptionForeground); font-weight: normal; background: var(--vscode-editorWidget-background); }
.gap { color: var(--vscode-descriptionForeground); }
.plot-svg { max-width: 100%; height: auto; }
.plot-svg .axis { stroke: var(--vscode-foreground); stroke-width: 1; }
.plot-svg .gridline { stroke: var(--vscode-widget-border, #8883); stroke-width: 0.5; }
.plot-svg text { fill: var(--vscode-foreground); font-size: 10px; }
.plot-svg .title { font-size: 12px; font-weight: 600; }
.plot-svg .bar { fill: var(--vscode-charts-blue); }
.plot-svg .series { stroke-width: 1.5; }
.plot-svg polyline.s0, .key.s0 { stroke: var(--vscode-charts-blue); color: var(--vscode-charts-blue); }
.plot-svg polyline.s1, .key.s1 { stroke: var(--vscode-charts-orange); color: var(--vscode-charts-orange); }
.plot-svg polyline.s2, .key.s2 { stroke: var(--vscode-charts-green); color: var(--vscode-charts-green); }
.plot-svg polyline.s3, .key.s3 { stroke: var(--vscode-charts-red); color: var(--vscode-charts-red); }
.plot-svg polyline.s4, .key.s4 { stroke: var(--vscode-charts-purple); color: var(--vscode-charts-purple); }
.plot-svg polyline.s5, .key.s5 { stroke: var(--vscode-charts-yellow); color: var(--vscode-charts-yellow); }
.plot-svg circle.s0 { fill: var(--vscode-charts-blue); } .plot-svg circle.s1 { fill: var(--vscode-charts-orange); }
.plot-svg circle.s2 { fill: var(--vscode-charts-green); } .plot-svg circle.s3 { fill: var(--vscode-charts-red); }
.plot-svg circle.s4 { fill: var(--vscode-charts-purple); } .plot-svg circle.s5 { fill: var(--vscode-charts-yellow); }
</style></head>
<body>
<div id="runs"><div id="empty">Run a cell (Shift+Enter) to see its results here.</div></div>
<script nonce="${n}">
(function () {
  const vscode = acquireVsCodeApi();
  const runs = document.getElementById("runs");
  window.addEventListener("message", (ev) => {
    const m = ev.data;
    if (!m || m.type !== "run") return;
    const empty = document.getElementById("empty");
    if (empty) empty.remove();
    const tpl = document.createElement("template");
    tpl.innerHTML = m.html;
    const el = tpl.content.firstElementChild;
    const old = document.getElementById("run-" + m.runId);
    if (old) old.replaceWith(el); else { runs.appendChild(el); }
    if (!old || el.dataset.status !== "running") el.scrollIntoView({ block: "end" });
  });
  document.addEventListener("click", (ev) => {
    const a = ev.target && ev.target.closest ? ev.target.closest("a.loc") : null;
    if (!a) return;
    ev.preventDefault();
    vscode.postMessage({ type: "reveal", file: a.dataset.file, line: Number(a.dataset.line), column: Number(a.dataset.column) });
  });
})();
</script>
</body></html>`;
}
