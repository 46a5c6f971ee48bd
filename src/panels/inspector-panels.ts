// The inspector panels together: Show IR / Show Gradients / Show Kernels open (or reveal) one
// webview panel per kind beside the editor; a WebviewPanelSerializer per view type brings
// them back after a window reload; live updates follow the kernel (a cell run ending, a
// restart, a death); and the pages' requests are carried out here: reveal a source line in
// the editor, show equations in the IR panel, check a function's gradients, open text in a
// read-only editor, log.
//
// The editor and the IR panel follow each other: a click on an equation selects and flashes
// its source line (revealSource), and moving the cursor in a cell file highlights that
// line's equations in the IR panel (a debounced "cursor" message).

import * as vscode from "vscode";
import { CellModel } from "../cell-model";
import { InspectViews } from "../inspect-views";
import { KernelManager, KernelState } from "../kernel-manager";
import { CheckGradsParams, CheckGradsResult, HostToPanel, Methods, PanelKind, PanelToHost, SourceLine } from "../../kernel/protocol";
import { InspectorPanel, PanelContext } from "./inspector-panel";
import { PANEL_KINDS, PANEL_SPECS, webviewOptions } from "./panel-kinds";

/** Cursor moves closer together than this send one "cursor" message. */
const CURSOR_DEBOUNCE_MS = 100;
/** How long a revealed source line stays highlighted. */
const FLASH_MS = 1500;
/** JSON-RPC's "method not found": a kernel without inspect/checkGrads. */
const METHOD_NOT_FOUND = -32601;

export interface InspectorDeps {
  kernel: KernelManager;
  model: CellModel;
  inspect: InspectViews;
  log: vscode.OutputChannel;
  extensionUri: vscode.Uri;
}

export class InspectorPanels implements vscode.Disposable {
  private readonly hosts = new Map<PanelKind, InspectorPanel>();
  private readonly disposables: vscode.Disposable[] = [];
  /** The serializers registered per view type (a test hook: deserialize through them). */
  readonly serializers = new Map<string, vscode.WebviewPanelSerializer>();
  /** The last cell file the user was in: the panels show its records. */
  private cellFile: string | undefined;
  private cursorTimer: ReturnType<typeof setTimeout> | undefined;
  /** The last cursor position sent to the IR panel (re-sent when its page reloads). */
  private lastCursor: { file: string; line: number } | null = null;
  private readonly flash = vscode.window.createTextEditorDecorationType({
    backgroundColor: new vscode.ThemeColor("editor.findMatchHighlightBackground"),
    borderColor: new vscode.ThemeColor("editor.findMatchBorder"),
    isWholeLine: true,
    overviewRulerColor: new vscode.ThemeColor("editorOverviewRuler.findMatchForeground"),
    overviewRulerLane: vscode.OverviewRulerLane.Center,
  });
  private flashTimer: ReturnType<typeof setTimeout> | undefined;
  /** Lines flashed by revealSource, newest last (a test hook). */
  readonly flashed: { file: string; line: number }[] = [];

  constructor(private readonly d: InspectorDeps) {
    this.disposables.push(
      this.flash,
      // A run ends (busy -> idle), a kernel (re)starts or stops or dies: every panel refetches
      // (a hidden one when it is shown). config/set re-fires the current state (the device may
      // have changed): refetch then too.
      d.kernel.onDidChangeState((s: KernelState) => {
        if (s !== "busy") for (const h of this.hosts.values()) h.invalidate();
      }),
      vscode.window.onDidChangeActiveTextEditor((ed) => ed && this.noteEditor(ed)),
      vscode.window.onDidChangeTextEditorSelection((e) => this.onSelection(e)),
    );
    if (vscode.window.activeTextEditor) this.noteEditor(vscode.window.activeTextEditor);
  }

  /** Registers a WebviewPanelSerializer per view type (restores panels after a reload); call once from activate(). */
  registerSerializers(): void {
    for (const kind of PANEL_KINDS) {
      const spec = PANEL_SPECS[kind];
      const serializer: vscode.WebviewPanelSerializer = {
        // The page restores its own UI state (getState); the host only adopts the panel and
        // sends fresh data (the kernel of the previous window is gone).
        deserializeWebviewPanel: async (panel: vscode.WebviewPanel) => {
          this.adopt(kind, panel);
        },
      };
      this.serializers.set(spec.viewType, serializer);
      this.disposables.push(vscode.window.registerWebviewPanelSerializer(spec.viewType, serializer));
    }
  }

  /** The open panel of a kind, if any (a test hook). */
  get(kind: PanelKind): InspectorPanel | undefined {
    return this.hosts.get(kind);
  }

  /** Opens the panel of a kind beside the editor, or reveals it; returns its host. */
  show(kind: PanelKind, preserveFocus = true): InspectorPanel {
    const open = this.hosts.get(kind);
    if (open) {
      open.reveal(preserveFocus);
      return open;
    }
    const spec = PANEL_SPECS[kind];
    // Inspectors share one group: beside the code for the first, then where the others are
    // (Beside is relative to the active group, which may be an inspector's own).
    const sibling = [...this.hosts.values()].find((h) => h.panel.viewColumn !== undefined);
    const viewColumn = sibling?.panel.viewColumn ?? vscode.ViewColumn.Beside;
    const panel = vscode.window.createWebviewPanel(spec.viewType, spec.title, { viewColumn, preserveFocus }, {
      ...webviewOptions(this.d.extensionUri),
      enableFindWidget: true,
    });
    return this.adopt(kind, panel);
  }

  /** Wraps a new or restored WebviewPanel. */
  private adopt(kind: PanelKind, panel: vscode.WebviewPanel): InspectorPanel {
    const old = this.hosts.get(kind);
    if (old && old.panel !== panel) old.dispose();
    const ctx: PanelContext = {
      kernel: this.d.kernel,
      extensionUri: this.d.extensionUri,
      log: this.d.log,
      recordFile: () => this.cellFile,
      onMessage: (p, m) => void this.onMessage(p, m),
      pageState: (p) => (p.kind === "ir" && this.lastCursor ? [{ type: "cursor", source: this.lastCursor }] : []),
    };
    const host = new InspectorPanel(PANEL_SPECS[kind], panel, ctx);
    this.hosts.set(kind, host);
    host.onDidDispose(() => {
      if (this.hosts.get(kind) === host) this.hosts.delete(kind);
    });
    return host;
  }

  private noteEditor(ed: vscode.TextEditor): void {
    if (ed.document.uri.scheme === "file" && this.d.model.hasCells(ed.document)) this.cellFile = ed.document.uri.fsPath;
  }

  private onSelection(e: vscode.TextEditorSelectionChangeEvent): void {
    const doc = e.textEditor.document;
    if (doc.uri.scheme !== "file" || !this.d.model.hasCells(doc)) return;
    this.cellFile = doc.uri.fsPath;
    const line = e.selections[0].active.line + 1;
    if (this.cursorTimer) clearTimeout(this.cursorTimer);
    this.cursorTimer = setTimeout(() => {
      this.cursorTimer = undefined;
      const source = { file: doc.uri.fsPath, line };
      if (this.lastCursor?.file === source.file && this.lastCursor.line === source.line) return;
      this.lastCursor = source;
      const ir = this.hosts.get("ir");
      if (ir?.visible) ir.post({ type: "cursor", source });
    }, CURSOR_DEBOUNCE_MS);
  }

  /** Carries out a (validated) request of a page. */
  private async onMessage(from: InspectorPanel, m: PanelToHost): Promise<void> {
    try {
      switch (m.type) {
        case "revealSource":
          await this.revealSource(m.source);
          return;
        case "showInIr": {
          const focus: HostToPanel = { type: "focus", irRecordId: m.irRecordId, optimized: m.optimized, eqns: m.eqns };
          const open = this.hosts.get("ir");
          if (open?.visible) open.post(focus);
          else (open ? (open.reveal(), open) : this.show("ir")).postAfterData(focus);
          return;
        }
        case "checkGrads":
          from.post({ type: "checkGradsResult", result: await this.checkGrads(m.recordId) });
          return;
        case "openText":
          await this.d.inspect.openText(m.title, m.language, m.text);
          return;
        case "log":
          this.d.log.appendLine(`[panel ${from.kind}] ${m.level}: ${m.message}`);
          return;
        default:
          return;
      }
    } catch (e) {
      this.d.log.appendLine(`[panel ${from.kind}] ${m.type} failed: ${(e as Error).message}`);
    }
  }

  /** Opens the file, selects the line, centres it and flashes it. */
  async revealSource(src: SourceLine): Promise<vscode.TextEditor> {
    const uri = vscode.Uri.file(src.file);
    const doc = await vscode.workspace.openTextDocument(uri);
    const line = Math.min(Math.max(0, src.line - 1), doc.lineCount - 1);
    const col = Math.min(Math.max(0, src.column - 1), doc.lineAt(line).text.length);
    const pos = new vscode.Position(line, col);
    // Where the file is already shown, else the first column (the panels sit beside it).
    const shown = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === uri.toString());
    const ed = await vscode.window.showTextDocument(doc, { viewColumn: shown?.viewColumn ?? vscode.ViewColumn.One, selection: new vscode.Range(pos, pos), preserveFocus: false });
    ed.revealRange(new vscode.Range(pos, pos), vscode.TextEditorRevealType.InCenter);
    ed.setDecorations(this.flash, [doc.lineAt(line).range]);
    this.flashed.push({ file: src.file, line: src.line });
    if (this.flashed.length > 20) this.flashed.shift();
    if (this.flashTimer) clearTimeout(this.flashTimer);
    this.flashTimer = setTimeout(() => {
      for (const e of vscode.window.visibleTextEditors) e.setDecorations(this.flash, []);
    }, FLASH_MS);
    return ed;
  }

  /** `inspect/checkGrads` for a gradient record; a failure is a result with ok: false and why. */
  async checkGrads(recordId: number): Promise<CheckGradsResult> {
    const failed = (message: string): CheckGradsResult => ({ recordId, ok: false, message, eps: 0, order: 1, ms: 0 });
    if (this.d.kernel.state === "stopped" || this.d.kernel.state === "dead") return failed("No kernel is running: run the cell again to record the call.");
    try {
      return await this.d.kernel.query<CheckGradsResult>(Methods.inspectCheckGrads, { recordId } satisfies CheckGradsParams);
    } catch (e) {
      const err = e as Error & { code?: number };
      if (err.code === METHOD_NOT_FOUND) return failed(`This kernel cannot check gradients (${Methods.inspectCheckGrads} is not implemented): ${err.message}`);
      return failed(err.message);
    }
  }

  dispose(): void {
    if (this.cursorTimer) clearTimeout(this.cursorTimer);
    if (this.flashTimer) clearTimeout(this.flashTimer);
    for (const h of [...this.hosts.values()]) h.dispose();
    for (const d of this.disposables) d.dispose();
  }
}
