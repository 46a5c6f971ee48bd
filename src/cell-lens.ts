// What the editor draws around cells: a CodeLens row above each `// %%` marker (Run Cell ·
// Run Above · Debug Cell) and a subtle boundary — a thin top border over each marker line
// and a tinted marker line — so cells read as blocks without a notebook UI. Both follow
// edits: the lens provider is re-asked on every change, and boundary decorations are redrawn
// (debounced) whenever CellModel reports that a visible document's cells may have changed.

import * as vscode from "vscode";
import { CellModel } from "./cell-model";

/** CodeLenses above cell markers; arguments carry the document and cell index. */
export class CellCodeLensProvider implements vscode.CodeLensProvider {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;

  constructor(private readonly model: CellModel) {
    model.onDidChangeCells(() => this.changed.fire());
  }

  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    if (!this.model.hasCells(doc)) return [];
    const lenses: vscode.CodeLens[] = [];
    for (const cell of this.model.cellsOf(doc)) {
      // Code before the first marker is a cell too; its lens sits on its first line.
      const line = (cell.markerLine ?? cell.startLine) - 1;
      const range = new vscode.Range(line, 0, line, 0);
      const args = [doc.uri, cell.index];
      lenses.push(
        new vscode.CodeLens(range, { title: "$(play) Run Cell", command: "primal.runCell", arguments: args, tooltip: "Run this cell in the Primal kernel" }),
        new vscode.CodeLens(range, { title: "Run Above", command: "primal.runAbove", arguments: args, tooltip: "Run every cell above this one" }),
        new vscode.CodeLens(range, { title: "Debug Cell", command: "primal.debugCell", arguments: args, tooltip: "Run this cell with the JavaScript debugger attached" }),
      );
    }
    return lenses;
  }

  dispose(): void {
    this.changed.dispose();
  }
}

/** Draws the cell boundaries in visible editors and keeps them in step with edits. */
export class CellBoundaries implements vscode.Disposable {
  private readonly marker = vscode.window.createTextEditorDecorationType({
    isWholeLine: true,
    borderStyle: "solid none none none",
    borderWidth: "1px 0 0 0",
    borderColor: new vscode.ThemeColor("editorWidget.border"),
    backgroundColor: new vscode.ThemeColor("editor.lineHighlightBackground"),
    overviewRulerColor: new vscode.ThemeColor("editorOverviewRuler.infoForeground"),
    overviewRulerLane: vscode.OverviewRulerLane.Left,
  });
  private readonly disposables: vscode.Disposable[] = [this.marker];
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly model: CellModel) {
    this.disposables.push(
      model.onDidChangeCells(() => this.schedule()),
      vscode.window.onDidChangeVisibleTextEditors(() => this.schedule()),
    );
    this.schedule();
  }

  /** The marker lines (0-based) currently decorated in an editor; a test hook. */
  readonly drawn = new Map<string, number[]>();

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    // Typing fast would otherwise redraw on every keystroke; 60 ms is below what the eye notices.
    this.timer = setTimeout(() => this.redraw(), 60);
  }

  /** Redraws every visible editor now. */
  redraw(): void {
    this.timer = undefined;
    for (const ed of vscode.window.visibleTextEditors) {
      const lines = this.model.hasCells(ed.document)
        ? this.model.cellsOf(ed.document).flatMap((c) => (c.markerLine === null ? [] : [c.markerLine - 1]))
        : [];
      ed.setDecorations(this.marker, lines.map((l) => new vscode.Range(l, 0, l, 0)));
      this.drawn.set(ed.document.uri.toString(), lines);
    }
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    for (const d of this.disposables) d.dispose();
  }
}
