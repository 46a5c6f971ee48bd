// The results of cell runs, and the two places in the editor that show them directly:
// a compact inline decoration after the last line of the cell (the value, or the first line
// of output; errors in red) and diagnostics on the line an error points at.
//
// Every run is a RunRecord that fills in as `cell/output` notifications stream and ends with
// the `cell/run` result (or with the kernel's death). The results panel (results-panel.ts)
// listens to the same store. Inline decorations are keyed by cell index and placed on the
// cell's *current* last line, so they follow edits that move or resize the cell.

import * as vscode from "vscode";
import type { CellErrorInfo, CellOutput, RunCellResult } from "../kernel/protocol";
import { CellModel } from "./cell-model";
import { inlineResultsEnabled } from "./settings";

export type RunStatus = "running" | "ok" | "error" | "interrupted" | "crashed";

/** One run of one cell, as the results panel and the tests see it. */
export interface RunRecord {
  runId: string;
  uri: string;
  file: string;
  cell: number;
  title: string;
  startLine: number;
  status: RunStatus;
  outputs: CellOutput[];
  result?: RunCellResult;
  error?: CellErrorInfo;
  /** For status "crashed": what the kernel's death looked like. */
  crash?: string;
  startedAt: number;
  durationMs?: number;
  /** Whether the run had JIT on (the setting when it started). */
  jit: boolean;
  debug: boolean;
}

const MAX_RECORDS = 200;
const INLINE_MAX = 120;

/** Stores runs, draws inline results and keeps the error diagnostics. */
export class ResultsStore implements vscode.Disposable {
  readonly records: RunRecord[] = [];
  private readonly byId = new Map<string, RunRecord>();
  /** Latest run per document and cell index (what the inline decoration shows). */
  private readonly latest = new Map<string, Map<number, RunRecord>>();
  private readonly diagnostics = vscode.languages.createDiagnosticCollection("primal");
  /** Diagnostics per document, by the cell whose run produced them. */
  private readonly diagByCell = new Map<string, Map<number, vscode.Diagnostic[]>>();
  private readonly changed = new vscode.EventEmitter<RunRecord>();
  /** Fires when a run starts, receives output, or ends. */
  readonly onDidChange = this.changed.event;
  private readonly okType = vscode.window.createTextEditorDecorationType({
    after: { color: new vscode.ThemeColor("editorCodeLens.foreground"), margin: "0 0 0 2em", fontStyle: "italic" },
  });
  private readonly errorType = vscode.window.createTextEditorDecorationType({
    after: { color: new vscode.ThemeColor("errorForeground"), margin: "0 0 0 2em" },
  });
  /** Inline text currently drawn, per document and cell: a test hook. */
  readonly inlineText = new Map<string, Map<number, { text: string; error: boolean; line: number }>>();
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly model: CellModel) {
    this.disposables.push(
      this.diagnostics,
      this.changed,
      this.okType,
      this.errorType,
      model.onDidChangeCells((d) => this.redraw(d.uri.toString())),
      vscode.window.onDidChangeVisibleTextEditors(() => this.redrawAll()),
      vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration("primal.results.inline") && this.redrawAll()),
    );
  }

  /** Records the start of a run. */
  begin(r: Omit<RunRecord, "status" | "outputs" | "startedAt">): RunRecord {
    const rec: RunRecord = { ...r, status: "running", outputs: [], startedAt: Date.now() };
    this.records.push(rec);
    this.byId.set(rec.runId, rec);
    while (this.records.length > MAX_RECORDS) this.byId.delete(this.records.shift()!.runId);
    let m = this.latest.get(rec.uri);
    if (!m) this.latest.set(rec.uri, (m = new Map()));
    m.set(rec.cell, rec);
    // A new run of the cell replaces the diagnostics its previous run left.
    this.diagByCell.get(rec.uri)?.delete(rec.cell);
    this.publishDiagnostics(rec.uri);
    this.fire(rec);
    return rec;
  }

  /** Appends a streamed output to its run (unknown run ids are ignored). */
  addOutput(runId: string, output: CellOutput): void {
    const rec = this.byId.get(runId);
    if (!rec) return;
    // The error also comes in the result; keep one copy, the result's.
    if (output.kind === "error") return;
    rec.outputs.push(output);
    this.fire(rec);
  }

  /** Ends a run with the kernel's answer. */
  finish(rec: RunRecord, result: RunCellResult): void {
    rec.result = result;
    rec.status = result.status ?? (result.ok ? "ok" : "error");
    rec.durationMs = result.durationMs;
    if (result.error) {
      rec.error = result.error;
      this.addDiagnostic(rec, result.error);
    }
    this.fire(rec);
  }

  /** Ends a run whose kernel died (or whose request failed). */
  fail(rec: RunRecord, status: "crashed" | "error", message: string): void {
    rec.status = status;
    rec.crash = message;
    rec.durationMs = Date.now() - rec.startedAt;
    this.fire(rec);
  }

  /** A run by id. */
  get(runId: string): RunRecord | undefined {
    return this.byId.get(runId);
  }

  /** The latest run of a cell. */
  latestFor(uri: vscode.Uri, cell: number): RunRecord | undefined {
    return this.latest.get(uri.toString())?.get(cell);
  }

  /** Forgets inline results and diagnostics (e.g. after a kernel restart the user asked for). */
  clearInline(): void {
    this.latest.clear();
    this.diagByCell.clear();
    this.diagnostics.clear();
    this.redrawAll();
  }

  private fire(rec: RunRecord): void {
    this.redraw(rec.uri);
    this.changed.fire(rec);
  }

  private addDiagnostic(rec: RunRecord, err: CellErrorInfo): void {
    const loc = err.location;
    if (!loc) return;
    const target = vscode.Uri.file(loc.file).toString() === rec.uri || loc.file === rec.file ? rec.uri : vscode.Uri.file(loc.file).toString();
    const line = Math.max(0, loc.line - 1);
    const col = Math.max(0, loc.column - 1);
    const d = new vscode.Diagnostic(new vscode.Range(line, col, line, Number.MAX_SAFE_INTEGER), `${err.name}: ${err.message}`, vscode.DiagnosticSeverity.Error);
    d.source = "Primal";
    let m = this.diagByCell.get(target);
    if (!m) this.diagByCell.set(target, (m = new Map()));
    m.set(rec.cell, [...(m.get(rec.cell) ?? []), d]);
    this.publishDiagnostics(target);
  }

  private publishDiagnostics(uri: string): void {
    const all = [...(this.diagByCell.get(uri)?.values() ?? [])].flat();
    this.diagnostics.set(vscode.Uri.parse(uri), all);
  }

  /** The diagnostics Primal currently shows for a document. */
  diagnosticsFor(uri: vscode.Uri): readonly vscode.Diagnostic[] {
    return this.diagnostics.get(uri) ?? [];
  }

  private redrawAll(): void {
    for (const ed of vscode.window.visibleTextEditors) this.redraw(ed.document.uri.toString());
  }

  private redraw(uri: string): void {
    const editors = vscode.window.visibleTextEditors.filter((e) => e.document.uri.toString() === uri);
    if (!editors.length) return;
    const doc = editors[0].document;
    const ok: vscode.DecorationOptions[] = [];
    const bad: vscode.DecorationOptions[] = [];
    const drawn = new Map<number, { text: string; error: boolean; line: number }>();
    if (inlineResultsEnabled()) {
      const cells = this.model.cellsOf(doc);
      for (const [index, rec] of this.latest.get(uri) ?? []) {
        const cell = cells[index];
        if (!cell) continue;
        // After the cell's last non-blank line, so the result sits right below the code.
        let line = cell.endLine - 1;
        while (line > cell.startLine - 1 && line < doc.lineCount && doc.lineAt(line).isEmptyOrWhitespace) line--;
        if (line >= doc.lineCount) continue;
        const { text, error } = inlineSummary(rec);
        const end = doc.lineAt(line).range.end;
        const opt: vscode.DecorationOptions = {
          range: new vscode.Range(end, end),
          renderOptions: { after: { contentText: text } },
          hoverMessage: new vscode.MarkdownString().appendCodeblock(hoverText(rec), "text"),
        };
        (error ? bad : ok).push(opt);
        drawn.set(index, { text, error, line: line + 1 });
      }
    }
    for (const ed of editors) {
      ed.setDecorations(this.okType, ok);
      ed.setDecorations(this.errorType, bad);
    }
    this.inlineText.set(uri, drawn);
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

/** The one-line summary drawn after a cell. */
export function inlineSummary(rec: RunRecord): { text: string; error: boolean } {
  const clip = (s: string): string => {
    const one = s.replace(/\s+/g, " ").trim();
    return one.length > INLINE_MAX ? one.slice(0, INLINE_MAX - 1) + "…" : one;
  };
  switch (rec.status) {
    case "running":
      return { text: `⋯ running${rec.debug ? " (debug)" : ""}`, error: false };
    case "crashed":
      return { text: `✖ ${clip(rec.crash ?? "kernel died")}`, error: true };
    case "interrupted":
      return { text: "■ interrupted", error: true };
    case "error":
      return { text: `✖ ${clip(rec.error ? `${rec.error.name}: ${rec.error.message}` : (rec.crash ?? "error"))}`, error: true };
    case "ok": {
      const ms = rec.durationMs !== undefined ? ` (${formatMs(rec.durationMs)})` : "";
      if (rec.result?.value !== undefined) return { text: `⇒ ${clip(rec.result.value)}${ms}`, error: false };
      const first = firstOutputLine(rec.outputs);
      return { text: first !== undefined ? `${clip(first)}${ms}` : `✓${ms}`, error: false };
    }
  }
}

function firstOutputLine(outputs: readonly CellOutput[]): string | undefined {
  for (const o of outputs) {
    switch (o.kind) {
      case "text": {
        const line = o.text.split("\n").find((l) => l.trim() !== "");
        if (line !== undefined) return line;
        break;
      }
      case "display":
        return o.text.split("\n")[0];
      case "array":
        return o.repr.split("\n")[0];
      case "table":
        return `table ${o.title ?? ""} (${o.totalRows} rows)`.replace("  ", " ");
      case "plot":
        return `plot: ${o.plot.title ?? o.plot.type}`;
    }
  }
  return undefined;
}

function hoverText(rec: RunRecord): string {
  if (rec.error) return `${rec.error.name}: ${rec.error.message}`;
  if (rec.crash) return rec.crash;
  const parts: string[] = [];
  for (const o of rec.outputs.slice(0, 20)) {
    if (o.kind === "text" || o.kind === "display") parts.push(o.text.replace(/\n$/, ""));
    else if (o.kind === "array") parts.push(o.repr);
  }
  if (rec.result?.value !== undefined) parts.push(rec.result.value);
  return parts.join("\n").slice(0, 4000) || "(no output)";
}

/** "12 ms", "1.3 s". */
export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
