// The three status-bar items: the kernel's state (idle/busy/dead; click restarts a dead
// kernel or shows the log), the backend and device ("CPU · 2 threads", "WebGPU · llvmpipe";
// click selects the backend) and "JIT: on/off" (click toggles the `primal.jit.enabled`
// setting). They show while the active editor is a cell file or a kernel runs, so plain
// TypeScript projects don't get Primal clutter.

import * as vscode from "vscode";
import type { ConfigState, InitializeResult } from "../kernel/protocol";
import { CellModel } from "./cell-model";
import { KernelManager, KernelState } from "./kernel-manager";
import { readKernelConfig } from "./settings";

export class StatusBar implements vscode.Disposable {
  readonly kernel = vscode.window.createStatusBarItem("primal.kernel", vscode.StatusBarAlignment.Left, 50);
  readonly device = vscode.window.createStatusBarItem("primal.device", vscode.StatusBarAlignment.Left, 49);
  readonly jit = vscode.window.createStatusBarItem("primal.jit", vscode.StatusBarAlignment.Left, 48);
  private readonly disposables: vscode.Disposable[] = [this.kernel, this.device, this.jit];
  private busySince = 0;
  private ticker: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly km: KernelManager,
    private readonly model: CellModel,
  ) {
    this.kernel.name = "Primal Kernel";
    this.device.name = "Primal Backend";
    this.jit.name = "Primal JIT";
    this.device.command = "primal.selectBackend";
    this.jit.command = "primal.toggleJit";
    this.disposables.push(
      km.onDidChangeState((s) => this.onState(s)),
      vscode.window.onDidChangeActiveTextEditor(() => this.updateVisibility()),
      model.onDidChangeCells(() => this.updateVisibility()),
      vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration("primal") && this.update()),
    );
    this.update();
  }

  /** The visible texts, a test hook: `{ kernel: "$(check) Primal: idle", device: "CPU · 2 threads", jit: "JIT: on" }`. */
  texts(): { kernel: string; device: string; jit: string } {
    return { kernel: this.kernel.text, device: this.device.text, jit: this.jit.text };
  }

  private onState(s: KernelState): void {
    if (s === "busy") {
      this.busySince = Date.now();
      // Count the time ourselves: a synchronous cell blocks the kernel's progress notifications.
      this.ticker ??= setInterval(() => this.update(), 1000);
    } else if (this.ticker) {
      clearInterval(this.ticker);
      this.ticker = undefined;
    }
    this.update();
  }

  /** Redraws all three items from the kernel state and the settings. */
  update(): void {
    const s = this.km.state;
    const busyFor = Math.floor((Date.now() - this.busySince) / 1000);
    const k: Record<KernelState, [string, string]> = {
      stopped: ["$(circle-outline) Primal: no kernel", "The kernel starts with the first Run Cell"],
      starting: ["$(loading~spin) Primal: starting", "Starting the Primal kernel"],
      idle: ["$(circle-filled) Primal: idle", "The Primal kernel is idle"],
      busy: [`$(sync~spin) Primal: busy${busyFor >= 2 ? ` ${busyFor}s` : ""}`, "A cell is running — click to interrupt"],
      dead: ["$(error) Primal: dead", `The Primal kernel died${this.km.death ? `: ${this.km.death.message}` : ""} — click to restart`],
    };
    [this.kernel.text, this.kernel.tooltip] = k[s];
    this.kernel.command = s === "dead" ? "primal.restartKernel" : s === "busy" ? "primal.interruptKernel" : "primal.showLog";
    this.kernel.backgroundColor = s === "dead" ? new vscode.ThemeColor("statusBarItem.errorBackground") : undefined;

    const info = this.km.info;
    const cfg = readKernelConfig();
    this.device.text = info ? deviceLabel(info, this.km.config) : `$(chip) ${cfg.backend ? backendName(cfg.backend) : "Auto"}`;
    this.device.tooltip = info
      ? `Primal backend: ${this.km.config?.platform ?? "?"} (default device ${this.km.config?.defaultDevice ?? info.defaultDevice}) — click to select`
      : "Primal backend (the kernel is not running) — click to select";

    this.jit.text = `JIT: ${cfg.jitEnabled ? "on" : "off"}`;
    this.jit.tooltip = cfg.jitEnabled
      ? "jit compiles traced functions — click to run everything eagerly (debuggable)"
      : "JIT is off: jit-wrapped functions run eagerly, line by line — click to turn it on";
    this.updateVisibility();
  }

  private updateVisibility(): void {
    const ed = vscode.window.activeTextEditor;
    const show = (!!ed && this.model.hasCells(ed.document)) || this.km.state !== "stopped";
    for (const item of [this.kernel, this.device, this.jit]) show ? item.show() : item.hide();
  }

  dispose(): void {
    if (this.ticker) clearInterval(this.ticker);
    for (const d of this.disposables) d.dispose();
  }
}

function backendName(platform: string): string {
  return platform === "webgpu" ? "WebGPU" : platform === "cpu" ? "CPU" : platform;
}

/** "CPU · 2 threads", "WebGPU · llvmpipe". */
export function deviceLabel(info: InitializeResult, config: ConfigState | undefined): string {
  const id = config?.defaultDevice ?? info.defaultDevice;
  const dev = info.devices.find((d) => d.id === id);
  const platform = config?.platform ?? dev?.platform ?? id.split(":")[0];
  let detail = "";
  if (dev) {
    if (platform === "cpu") detail = dev.threads ? `${dev.threads} thread${dev.threads === 1 ? "" : "s"}` : "";
    else detail = (dev.adapter ?? dev.kind).replace(/\s*\(.*$/, "");
  }
  return `$(chip) ${backendName(platform)}${detail ? ` · ${detail}` : ""}`;
}
