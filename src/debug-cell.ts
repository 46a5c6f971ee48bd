// Debug Cell: opens the running kernel's inspector and attaches VS Code's JavaScript debugger
// to it (a "node" attach configuration on the inspector's port), then the cell runs with
// `debug: true`, for which the kernel gives the cell's code a source map back to the `.ts`
// file, so breakpoints set in the cell file bind and `debugger;` statements stop there.
//
// The session is reused for later Debug Cell runs of the same kernel and ends with it
// (restart, crash). Where the debugger stopped is recorded (the top frame of each pause),
// which is what the extension-host tests check. Arrays
// get a readable description in the Variables view through js-debug's
// `customDescriptionGenerator` (no kernel change needed).

import * as vscode from "vscode";
import { KernelManager } from "./kernel-manager";

/** Where the debugger stopped: the top frame of a stack trace it reported. */
export interface DebugStop {
  path: string;
  line: number;
  name: string;
}

const SESSION_NAME = "Primal kernel";

/** The attach session or one of its children (js-debug attaches to each target as a child). */
function isPrimalSession(s: vscode.DebugSession): boolean {
  for (let p: vscode.DebugSession | undefined = s; p; p = p.parentSession) if (p.name === SESSION_NAME) return true;
  return false;
}

/**
 * How js-debug describes objects in the Variables view, hovers and the debug console: an
 * NDArray reads as `int32[2,3] Array([[0, 1, 2], [3, 4, 5]], dtype=int32)` (dtype, shape,
 * the first values of its summarised repr) instead of a class instance with private fields.
 * It runs inside the kernel with `this` bound to the object; anything else keeps js-debug's
 * own description. A tracer (paused inside a traced function) has no values: its repr says so.
 */
export const NDARRAY_DESCRIPTION = `function (defaultValue) {
  try {
    if (this && typeof this.repr === "function" && Array.isArray(this.shape) && this.dtype !== undefined) {
      const r = String(this.repr()).replace(/\s+/g, " ");
      return String(this.dtype) + "[" + this.shape.join(",") + "] " + (r.length > 160 ? r.slice(0, 159) + "…" : r);
    }
  } catch (e) {}
  return defaultValue;
}`;

export class DebugCell implements vscode.Disposable {
  private session: vscode.DebugSession | undefined;
  private port: number | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  /** Top frames of the stack traces the debugger reported, newest last: a test hook. */
  readonly stops: DebugStop[] = [];

  constructor(
    private readonly kernel: KernelManager,
    private readonly log: vscode.OutputChannel,
  ) {
    this.disposables.push(
      vscode.debug.onDidTerminateDebugSession((s) => {
        if (s === this.session) {
          this.session = undefined;
          this.port = undefined;
        }
      }),
      // The session cannot outlive the kernel it is attached to.
      kernel.onDidChangeState((s) => {
        if ((s === "dead" || s === "stopped") && this.session) void this.detach();
      }),
      vscode.debug.onDidChangeActiveStackItem((item) => void this.recordStop(item)),
    );
  }

  /** Asks the paused session for its top frame (what the editor shows as the current line). */
  private async recordStop(item: vscode.DebugThread | vscode.DebugStackFrame | undefined): Promise<void> {
    if (!item || !isPrimalSession(item.session)) return;
    try {
      const r = (await item.session.customRequest("stackTrace", { threadId: item.threadId, startFrame: 0, levels: 1 })) as {
        stackFrames?: { name: string; line: number; source?: { path?: string } }[];
      };
      const top = r.stackFrames?.[0];
      if (top) this.stops.push({ path: top.source?.path ?? "", line: top.line, name: top.name });
    } catch (e) {
      this.log.appendLine(`[debug] stackTrace: ${(e as Error).message}`);
    }
  }

  /** True while a debug session is attached to the kernel. */
  get attached(): boolean {
    return !!this.session;
  }

  /** Attaches the debugger to the kernel (opening its inspector), unless already attached. */
  async attach(folder: vscode.WorkspaceFolder | undefined): Promise<void> {
    const port = await this.kernel.openInspector();
    if (this.session && this.port === port) return;
    // js-debug starts the attach session, then a child session per target (the kernel's
    // process), which is where breakpoints get set: wait for both.
    let parent: vscode.DebugSession | undefined;
    const started = new Promise<vscode.DebugSession>((resolve) => {
      const sub = vscode.debug.onDidStartDebugSession((s) => {
        if (s.name === SESSION_NAME) parent = s;
        else if (!parent || s.parentSession !== parent) return;
        if (s.parentSession && isPrimalSession(s)) {
          sub.dispose();
          resolve(parent);
        }
      });
    });
    const config: vscode.DebugConfiguration = {
      type: "node",
      request: "attach",
      name: SESSION_NAME,
      address: "127.0.0.1",
      port,
      continueOnAttach: true,
      sourceMaps: true,
      // A cell's script runs as soon as it is compiled: js-debug must pause on its source map
      // to bind the .ts breakpoints before the first statement (off by default for attach).
      pauseForSourceMap: true,
      // Cells are compiled at run time; their maps come inline, so nothing needs to be found on disk.
      resolveSourceMapLocations: null,
      skipFiles: ["<node_internals>/**"],
      customDescriptionGenerator: NDARRAY_DESCRIPTION,
    };
    this.log.appendLine(`[debug] attaching to the kernel's inspector on port ${port}`);
    const ok = await vscode.debug.startDebugging(folder, config, { suppressDebugToolbar: false });
    if (!ok) throw new Error(`VS Code did not start a "node" attach session on port ${port} (is the JavaScript debugger extension enabled?)`);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the JavaScript debugger attached to port ${port} but no target session started within 10 s`)), 10000);
    });
    try {
      this.session = await Promise.race([started, timeout]);
    } finally {
      clearTimeout(timer);
    }
    this.port = port;
  }

  /** Ends the debug session, if any. */
  async detach(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    this.port = undefined;
    if (s) await vscode.debug.stopDebugging(s);
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
