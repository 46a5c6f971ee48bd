// The cells of open TypeScript documents, as the editor sees them: parsed with the kernel's
// own parser (kernel/server/cell-parser.ts, a pure helper) so that the editor's cell indices
// and line numbers are exactly the kernel's. Parses are cached per document version because
// CodeLens, decorations, the context key and every command ask for them on each keystroke.
//
// Also owns the `primal.hasCells` context key, which the keybindings and menus use: it is true
// while the active editor is a TypeScript file with at least one `// %%` marker.

import * as vscode from "vscode";
import { Cell, cellAtLine, parseCells } from "../kernel/server/cell-parser";

export type { Cell };

/** The context key that enables the Primal keybindings and menu items. */
export const HAS_CELLS_KEY = "primal.hasCells";

/** Languages whose documents may hold cells (`.ts` files; `.mts`/`.tsx` are typescript(react)). */
const LANGUAGES = new Set(["typescript", "typescriptreact"]);

/** True if the document is one Primal treats as a cell file candidate. */
export function isCellLanguage(doc: vscode.TextDocument): boolean {
  return LANGUAGES.has(doc.languageId);
}

/** Caches cell parses and keeps the `primal.hasCells` context key current. */
export class CellModel implements vscode.Disposable {
  private readonly cache = new Map<string, { version: number; cells: Cell[]; hasMarker: boolean }>();
  private readonly disposables: vscode.Disposable[] = [];
  private readonly changed = new vscode.EventEmitter<vscode.TextDocument>();
  /** Fires after the cells of a document may have changed (edits, open, close). */
  readonly onDidChangeCells = this.changed.event;
  private lastKey: boolean | undefined;

  constructor() {
    this.disposables.push(
      this.changed,
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (!isCellLanguage(e.document) || e.contentChanges.length === 0) return;
        this.changed.fire(e.document);
        if (e.document === vscode.window.activeTextEditor?.document) this.updateContextKey();
      }),
      vscode.workspace.onDidCloseTextDocument((d) => this.cache.delete(d.uri.toString())),
      vscode.window.onDidChangeActiveTextEditor(() => this.updateContextKey()),
    );
    this.updateContextKey();
  }

  /** The cells of a document (empty for non-TypeScript documents). */
  cellsOf(doc: vscode.TextDocument): Cell[] {
    return this.entry(doc).cells;
  }

  /** True if the document has at least one `// %%` marker (what makes it a cell file). */
  hasCells(doc: vscode.TextDocument): boolean {
    return this.entry(doc).hasMarker;
  }

  /** The cell containing a 0-based editor line, if any. */
  cellAt(doc: vscode.TextDocument, line0: number): Cell | undefined {
    return cellAtLine(this.cellsOf(doc), line0 + 1);
  }

  /** Editor range of a whole cell, marker line included (0-based lines). */
  static rangeOf(cell: Cell): vscode.Range {
    const first = (cell.markerLine ?? cell.startLine) - 1;
    return new vscode.Range(first, 0, Math.max(first, cell.endLine - 1), Number.MAX_SAFE_INTEGER);
  }

  /** Sets the context key from the active editor; cheap when nothing changed. */
  updateContextKey(): void {
    const ed = vscode.window.activeTextEditor;
    const value = !!ed && this.hasCells(ed.document);
    if (value === this.lastKey) return;
    this.lastKey = value;
    void vscode.commands.executeCommand("setContext", HAS_CELLS_KEY, value);
  }

  private entry(doc: vscode.TextDocument): { cells: Cell[]; hasMarker: boolean } {
    if (!isCellLanguage(doc)) return { cells: [], hasMarker: false };
    const key = doc.uri.toString();
    const hit = this.cache.get(key);
    if (hit && hit.version === doc.version) return hit;
    const text = doc.getText();
    const cells = parseCells(text);
    const hasMarker = cells.some((c) => c.markerLine !== null);
    const e = { version: doc.version, cells, hasMarker };
    this.cache.set(key, e);
    return e;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
    this.cache.clear();
  }
}
