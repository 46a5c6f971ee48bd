// The VS Code extension's entry point: wires the cell model, CodeLens and boundaries, the
// kernel manager, results (inline, panel, diagnostics), the status bar, Debug Cell and the
// commands together. `activate` returns a small API of read-only views into that state; the
// extension-host tests (test/extension/suite) use it to check what the user would see
// (inline text, panel HTML, diagnostics, status-bar texts, what the inspector panels were
// sent) without scraping the DOM.

import * as path from "node:path";
import * as vscode from "vscode";
import { CellBoundaries, CellCodeLensProvider } from "./cell-lens";
import { CellModel } from "./cell-model";
import { Commands } from "./commands";
import { DebugCell } from "./debug-cell";
import { InspectViews } from "./inspect-views";
import { KernelManager } from "./kernel-manager";
import { InspectorPanels } from "./panels/inspector-panels";
import { ResultsPanel } from "./results-panel";
import { ResultsStore } from "./results";
import { readKernelConfig } from "./settings";
import { StatusBar } from "./status-bar";

/** What `activate` returns: views into the extension's state for tests and other extensions. */
export interface PrimalApi {
  kernel: KernelManager;
  results: ResultsStore;
  panel: ResultsPanel;
  statusBar: StatusBar;
  commands: Commands;
  boundaries: CellBoundaries;
  debug: DebugCell;
  model: CellModel;
  /** The inspector panels (IR, gradients, kernels). */
  inspectors: InspectorPanels;
  /** The recent text of the "Primal" output channel. */
  logText(): string;
}

/** Called by VS Code when a TypeScript file is opened or a Primal command runs. */
export function activate(context: vscode.ExtensionContext): PrimalApi {
  const activateStart = performance.now();
  const log = vscode.window.createOutputChannel("Primal");
  // Keep the recent log in memory too: tests (and bug reports) read it through the API.
  const logLines: string[] = [];
  const keep = (text: string): void => {
    logLines.push(text);
    if (logLines.length > 2000) logLines.splice(0, logLines.length - 2000);
  };
  const append = log.append.bind(log);
  const appendLine = log.appendLine.bind(log);
  log.append = (t: string) => (keep(t), append(t));
  log.appendLine = (t: string) => (keep(t + "\n"), appendLine(t));
  const model = new CellModel();
  const folder = (): string | undefined => vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  const kernel = new KernelManager(path.join(context.extensionPath, "dist", "kernel.js"), log, readKernelConfig, folder);
  const results = new ResultsStore(model);
  const panel = new ResultsPanel(results);
  const lens = new CellCodeLensProvider(model);
  const boundaries = new CellBoundaries(model);
  const statusBar = new StatusBar(kernel, model);
  const debug = new DebugCell(kernel, log);
  const inspect = new InspectViews(kernel);
  const inspectors = new InspectorPanels({ kernel, model, inspect, log, extensionUri: context.extensionUri });
  // Registered during activation, so VS Code can restore panels after a reload
  // ("onWebviewPanel:primal.irPanel" and the others activate the extension for that).
  inspectors.registerSerializers();
  const commands = new Commands({ model, kernel, results, panel, debug, inspect, panels: inspectors, log });
  commands.register(context);
  context.subscriptions.push(
    log, model, kernel, results, panel, lens, boundaries, statusBar, debug, inspect, inspectors,
    vscode.languages.registerCodeLensProvider([{ language: "typescript" }, { language: "typescriptreact" }], lens),
    kernel.onOutput((p) => results.addOutput(p.runId, p.output)),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration("primal.jit.enabled") || e.affectsConfiguration("primal.backend") || e.affectsConfiguration("primal.prng.partitionable") || e.affectsConfiguration("primal.kernels.timing"))
        void kernel.applyConfig();
      if (e.affectsConfiguration("primal.kernel.env")) log.appendLine("[kernel] primal.kernel.env changed: variables read at startup need Restart Kernel");
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => log.appendLine("[trust] workspace trusted: running cells is enabled")),
  );
  log.appendLine(`[extension] Primal activated in ${activationTiming(context.extension.id, activateStart)} (VS Code ${vscode.version}, ${vscode.workspace.isTrusted ? "trusted" : "untrusted"} workspace)`);
  return { kernel, results, panel, statusBar, commands, boundaries, debug, model, inspectors, logText: () => logLines.join("") };
}

export function deactivate(): void {}

/**
 * This extension's own activation cost, for the log (the VSIX test checks it is under 50 ms):
 * loading its code, as the extension host's performance marks time the require (VS Code's
 * "Running Extensions" figure also counts an await before it, time that is not ours), plus
 * activate() itself.
 */
function activationTiming(id: string, activateStart: number): string {
  const activate = performance.now() - activateStart;
  type Mark = { name: string; startTime: number };
  const marks = (globalThis as { MonacoPerformanceMarks?: { getMarks(): Mark[] } }).MonacoPerformanceMarks?.getMarks() ?? [];
  const at = (what: string): number | undefined => marks.find((m) => m.name === `code/extHost/${what}ExtensionCode/${id}`)?.startTime;
  const will = at("willLoad");
  const did = at("didLoad");
  const code = will !== undefined && did !== undefined ? `code ${(did - will).toFixed(1)} ms + ` : "";
  return `${code}activate ${activate.toFixed(1)} ms`;
}
