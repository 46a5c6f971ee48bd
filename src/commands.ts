// The `primal.*` commands (each one is declared in package.json): running cells (Run Cell,
// Run Cell and Advance, Run Above, Run File, Debug Cell), controlling the kernel (Interrupt,
// Restart), settings (Toggle JIT, Select Backend) and the inspector panels (Show IR, Show
// Gradients, Show Kernels: webviews, src/panels/; Open IR as Text: the same IR as a read-only
// primal-ir document); Open Example (src/examples.ts) copies a shipped example and opens it.
//
// Commands that run code refuse in an untrusted workspace and say why: the kernel executes
// the cell file's code with the user's rights. Run commands take an optional (uri, cellIndex)
// — the CodeLens passes them — and otherwise act on the cursor's cell. They return the
// RunRecords of what ran, which the extension-host tests use.

import { randomUUID } from "node:crypto";
import * as vscode from "vscode";
import { Methods } from "../kernel/protocol";
import { Cell, CellModel } from "./cell-model";
import { DebugCell } from "./debug-cell";
import { openExample } from "./examples";
import { InspectViews } from "./inspect-views";
import { InspectorPanels } from "./panels/inspector-panels";
import { KernelDiedError, KernelManager } from "./kernel-manager";
import { ResultsPanel } from "./results-panel";
import { ResultsStore, RunRecord } from "./results";
import { readKernelConfig, updateSetting } from "./settings";

/** Everything the commands work with. */
export interface CommandDeps {
  model: CellModel;
  kernel: KernelManager;
  results: ResultsStore;
  panel: ResultsPanel;
  debug: DebugCell;
  inspect: InspectViews;
  panels: InspectorPanels;
  log: vscode.OutputChannel;
}

/** Seconds after an interrupt before a restart is offered (a loop in native code ignores SIGINT). */
const INTERRUPT_GRACE_MS = 3000;

export class Commands {
  /** Tests set this to check the untrusted-workspace path; undefined means "ask VS Code". */
  trustOverride: boolean | undefined;
  /** Messages shown to the user (info/warning/error), newest last: a test hook. */
  readonly messages: string[] = [];

  constructor(private readonly d: CommandDeps) {}

  /** Registers every command. */
  register(context: vscode.ExtensionContext): void {
    const reg = (id: string, fn: (...args: unknown[]) => unknown): void => void context.subscriptions.push(vscode.commands.registerCommand(id, fn));
    reg("primal.runCell", (uri, index) => this.runCell(uri, index));
    reg("primal.runCellAndAdvance", (uri, index) => this.runCellAndAdvance(uri, index));
    reg("primal.runAbove", (uri, index) => this.runAbove(uri, index));
    reg("primal.runFile", (uri) => this.runFile(uri));
    reg("primal.debugCell", (uri, index) => this.debugCell(uri, index));
    reg("primal.interruptKernel", () => this.interrupt());
    reg("primal.restartKernel", () => this.restart());
    reg("primal.toggleJit", () => this.toggleJit());
    reg("primal.selectBackend", (backend) => this.selectBackend(backend));
    reg("primal.showIr", () => this.d.panels.show("ir"));
    reg("primal.showGradients", () => this.d.panels.show("gradients"));
    reg("primal.showKernels", () => this.d.panels.show("kernels"));
    reg("primal.openIrAsText", () => this.d.inspect.show(Methods.inspectJaxprs, "IR", "primal-ir"));
    reg("primal.showLog", () => this.d.log.show(true));
    reg("primal.openExample", (name) => openExample(context, name));
  }

  private get trusted(): boolean {
    return this.trustOverride ?? vscode.workspace.isTrusted;
  }

  /** Explains why running is refused in an untrusted workspace; true if refused. */
  private refuseUntrusted(what: string): boolean {
    if (this.trusted) return false;
    const msg = `Primal: ${what} is disabled because this workspace is not trusted. Running a cell executes the file's code with your rights in a kernel process; trust the workspace to enable it.`;
    this.messages.push(msg);
    void vscode.window.showWarningMessage(msg, "Manage Workspace Trust").then((pick) => {
      if (pick) void vscode.commands.executeCommand("workbench.trust.manage");
    });
    return true;
  }

  /** The document and cells a run command applies to: its arguments or the active editor. */
  private async target(uri: unknown, index: unknown): Promise<{ doc: vscode.TextDocument; cells: Cell[]; cell?: Cell } | undefined> {
    let doc: vscode.TextDocument | undefined;
    if (uri instanceof vscode.Uri) doc = await vscode.workspace.openTextDocument(uri);
    else doc = vscode.window.activeTextEditor?.document;
    if (!doc) {
      this.tell("Primal: open a TypeScript cell file first.");
      return undefined;
    }
    const cells = this.d.model.cellsOf(doc);
    if (!cells.length) {
      this.tell("Primal: this file has no cells. Start a cell with a `// %%` line.");
      return undefined;
    }
    let cell: Cell | undefined;
    if (typeof index === "number") cell = cells[index];
    else {
      const ed = vscode.window.activeTextEditor;
      if (ed && ed.document === doc) cell = this.d.model.cellAt(doc, ed.selection.active.line) ?? cells[0];
    }
    return { doc, cells, cell };
  }

  private tell(msg: string): void {
    this.messages.push(msg);
    void vscode.window.showInformationMessage(msg);
  }

  async runCell(uri?: unknown, index?: unknown): Promise<RunRecord[]> {
    if (this.refuseUntrusted("Run Cell")) return [];
    const t = await this.target(uri, index);
    if (!t?.cell) return [];
    return this.runCells(t.doc, [t.cell]);
  }

  async runCellAndAdvance(uri?: unknown, index?: unknown): Promise<RunRecord[]> {
    if (this.refuseUntrusted("Run Cell and Advance")) return [];
    const t = await this.target(uri, index);
    if (!t?.cell) return [];
    // Move first, as Jupyter does, so the user can keep working while the cell runs.
    const next = t.cells[t.cell.index + 1];
    const active = vscode.window.activeTextEditor;
    const ed = active?.document === t.doc ? active : vscode.window.visibleTextEditors.find((e) => e.document === t.doc);
    if (ed) {
      const line = next ? Math.min(next.startLine - 1, t.doc.lineCount - 1) : t.doc.lineCount - 1;
      const pos = next ? new vscode.Position(line, 0) : t.doc.lineAt(line).range.end;
      ed.selection = new vscode.Selection(pos, pos);
      ed.revealRange(new vscode.Range(pos, pos));
    }
    return this.runCells(t.doc, [t.cell]);
  }

  async runAbove(uri?: unknown, index?: unknown): Promise<RunRecord[]> {
    if (this.refuseUntrusted("Run Above")) return [];
    const t = await this.target(uri, index);
    if (!t?.cell) return [];
    return this.runCells(t.doc, t.cells.slice(0, t.cell.index));
  }

  async runFile(uri?: unknown): Promise<RunRecord[]> {
    if (this.refuseUntrusted("Run File")) return [];
    const t = await this.target(uri, undefined);
    if (!t) return [];
    return this.runCells(t.doc, t.cells);
  }

  async debugCell(uri?: unknown, index?: unknown): Promise<RunRecord[]> {
    if (this.refuseUntrusted("Debug Cell")) return [];
    const t = await this.target(uri, index);
    if (!t?.cell) return [];
    try {
      await this.d.debug.attach(vscode.workspace.getWorkspaceFolder(t.doc.uri));
    } catch (e) {
      this.d.log.appendLine(`[debug] ${(e as Error).message}`);
      void vscode.window.showErrorMessage(`Primal: could not start debugging: ${(e as Error).message}`);
      this.messages.push((e as Error).message);
      return [];
    }
    return this.runCells(t.doc, [t.cell], true);
  }

  /**
   * Runs cells one after another, stopping at the first that fails (later cells usually
   * depend on it, as in "Run All" of a notebook).
   */
  async runCells(doc: vscode.TextDocument, cells: readonly Cell[], debug = false): Promise<RunRecord[]> {
    const done: RunRecord[] = [];
    const file = doc.uri.scheme === "file" ? doc.uri.fsPath : doc.uri.path;
    const jit = readKernelConfig().jitEnabled;
    for (const cell of cells) {
      const runId = randomUUID();
      const rec = this.d.results.begin({ runId, uri: doc.uri.toString(), file, cell: cell.index, title: cell.title, startLine: cell.startLine, jit, debug });
      done.push(rec);
      try {
        const r = await this.d.kernel.run({ file, cell: cell.index, code: cell.source, startLine: cell.startLine, endLine: cell.endLine, runId, debug: debug || undefined });
        this.d.results.finish(rec, r);
      } catch (e) {
        if (e instanceof KernelDiedError) {
          this.d.results.fail(rec, "crashed", e.message);
          this.offerRestart(`${e.message}. The next run starts a new kernel.`);
        } else {
          this.d.results.fail(rec, "error", `Primal: ${(e as Error).message}`);
          this.d.log.appendLine(`[protocol] cell/run failed: ${(e as Error).message}`);
        }
      }
      if (rec.status !== "ok") break;
    }
    return done;
  }

  private offerRestart(msg: string): void {
    this.messages.push(msg);
    void vscode.window.showErrorMessage(msg, "Restart Kernel", "Show Log").then((pick) => {
      if (pick === "Restart Kernel") void this.restart();
      else if (pick === "Show Log") this.d.log.show(true);
    });
  }

  /** Interrupts the running cell; offers a restart if it does not stop. */
  async interrupt(): Promise<boolean> {
    if (this.d.kernel.state !== "busy") {
      this.tell("Primal: no cell is running.");
      return false;
    }
    this.d.kernel.interrupt();
    const stopped = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        sub.dispose();
        resolve(false);
      }, INTERRUPT_GRACE_MS);
      const sub = this.d.kernel.onDidChangeState((s) => {
        if (s === "busy") return;
        clearTimeout(timer);
        sub.dispose();
        resolve(true);
      });
    });
    if (!stopped) {
      const msg = "Primal: the cell did not stop (a loop inside native code, or synchronous code after an await, ignores interrupts). Restart the kernel? Its state will be lost.";
      this.messages.push(msg);
      void vscode.window.showWarningMessage(msg, "Restart Kernel").then((pick) => pick && this.restart());
    }
    return stopped;
  }

  async restart(): Promise<boolean> {
    if (this.refuseUntrusted("Restart Kernel")) return false;
    await this.d.debug.detach();
    try {
      await this.d.kernel.restart();
      this.d.log.appendLine("[kernel] restarted by the user");
      return true;
    } catch (e) {
      void vscode.window.showErrorMessage(`Primal: the kernel did not start: ${(e as Error).message}`);
      return false;
    }
  }

  /** Flips `primal.jit.enabled`; the kernel gets it before the next run (no restart). */
  async toggleJit(): Promise<boolean> {
    const next = !readKernelConfig().jitEnabled;
    await updateSetting("jit.enabled", next);
    await this.d.kernel.applyConfig();
    return next;
  }

  /** Picks the backend (quick pick of what the kernel offers), or sets `backend` directly. */
  async selectBackend(backend?: unknown): Promise<string | undefined> {
    let pick = typeof backend === "string" ? backend : undefined;
    if (pick === undefined) {
      const info = this.trusted ? await this.d.kernel.ensureStarted().catch(() => undefined) : undefined;
      const current = readKernelConfig().backend ?? "auto";
      const items: (vscode.QuickPickItem & { id: string })[] = [
        { id: "auto", label: "Automatic", description: "a hardware GPU if there is one, else the CPU" },
        ...(info?.backends ?? ["cpu"]).map((b) => ({
          id: b,
          label: b === "webgpu" ? "WebGPU" : b === "cpu" ? "CPU" : b,
          description: info?.devices.filter((d) => d.platform === b).map((d) => d.adapter ?? d.kind).join(", "),
        })),
        ...(info?.unavailableBackends ?? []).map((u) => ({ id: "", label: `$(circle-slash) ${u.platform}`, description: `unavailable: ${u.reason}` })),
      ];
      for (const it of items) if (it.id === current) it.label = `$(check) ${it.label}`;
      const chosen = await vscode.window.showQuickPick(items, { title: "Primal: backend for new arrays" });
      if (!chosen || !chosen.id) return undefined;
      pick = chosen.id;
    }
    await updateSetting("backend", pick);
    await this.d.kernel.applyConfig();
    return pick;
  }
}
