// Owns the kernel process (dist/kernel.js): spawns it with VS Code's own Node runtime
// (`process.execPath` + ELECTRON_RUN_AS_NODE=1, as language servers are started), speaks
// JSON-RPC over its stdio with vscode-jsonrpc, and tracks its state (idle/busy/dead).
//
// Why it is shaped this way:
// - A kernel that dies (a cell calling process.exit(), a native fault, out of memory) must
//   never take the editor down or leave a command hanging: every request races the process's
//   exit, the pending run is answered with a KernelDiedError, and the state goes to "dead".
//   The next run starts a new kernel.
// - Interrupt is SIGINT, not a request: a cell stuck in a synchronous loop cannot read its
//   stdin, but `vm.runInContext({ breakOnSigint })` turns the signal into an exception.
// - Debug Cell opens the inspector of the running kernel (`debug/start`, or SIGUSR1 — the
//   kernel is started with `--inspect-port=0`, which costs nothing until then), so debugging
//   a cell keeps the state of the cells run before. Only where neither works (Windows has no
//   SIGUSR1) is the kernel restarted with `--inspect=0`.
// - Settings the kernel reads (JIT, backend, PRNG mode) go with `config/set` before a run
//   whenever they changed, so toggling JIT takes effect on the next run without a restart.

import { ChildProcess, spawn } from "node:child_process";
import * as path from "node:path";
import * as vscode from "vscode";
import type { MessageConnection } from "vscode-jsonrpc/node";
import {
  CellOutputParams, CellProgressParams, ConfigState, DebugStartParams, DebugStartResult, InitializeParams, InitializeResult, InterruptParams, Methods,
  Notifications, PROTOCOL_VERSION, RunCellParams, RunCellResult,
} from "../kernel/protocol";
import { KernelConfig, configParams } from "./settings";

export type KernelState = "stopped" | "starting" | "idle" | "busy" | "dead";

/** A request could not be answered because the kernel process ended. */
export class KernelDiedError extends Error {
  constructor(readonly exitCode: number | null, readonly signal: NodeJS.Signals | null, detail: string) {
    super(`The Primal kernel ${signal ? `was killed by ${signal}` : `exited with code ${exitCode}`}${detail ? `: ${detail}` : ""}`);
    this.name = "KernelDiedError";
  }
}

interface Live {
  proc: ChildProcess;
  conn: MessageConnection;
  /** Settles when the process exits; never rejects. */
  exited: Promise<KernelDiedError>;
  info?: InitializeResult;
  /** The config last sent to this process. */
  sentConfig?: string;
  configState?: ConfigState;
  stderrTail: string;
  /** Resolves with the inspector's port once the kernel prints "Debugger listening on". */
  inspectorPort?: Promise<number>;
  portWaiters: ((port: number) => void)[];
  expectedExit: boolean;
}

/** Options that tests and Debug Cell use. */
export interface StartOptions {
  /** Start with the inspector open on a random port (used where SIGUSR1 is unavailable). */
  inspect?: boolean;
}

export class KernelManager implements vscode.Disposable {
  private live: Live | undefined;
  private starting: Promise<Live> | undefined;
  private _state: KernelState = "stopped";
  private lastDeath: KernelDiedError | undefined;
  private readonly stateEmitter = new vscode.EventEmitter<KernelState>();
  private readonly outputEmitter = new vscode.EventEmitter<CellOutputParams>();
  /** Fires on every state change. */
  readonly onDidChangeState = this.stateEmitter.event;
  /** Fires for each streamed `cell/output` notification. */
  readonly onOutput = this.outputEmitter.event;
  private readonly progressEmitter = new vscode.EventEmitter<CellProgressParams>();
  /** Fires for each `cell/progress` notification. */
  readonly onProgress = this.progressEmitter.event;
  /** How many kernel processes this manager has started (a test hook for restart checks). */
  startCount = 0;

  constructor(
    private readonly kernelJs: string,
    private readonly log: vscode.OutputChannel,
    private readonly readConfig: () => KernelConfig,
    private readonly workspaceFolder: () => string | undefined,
  ) {}

  get state(): KernelState {
    return this._state;
  }
  /** What the running kernel said at initialize (backends, devices), if one runs. */
  get info(): InitializeResult | undefined {
    return this.live?.info;
  }
  /** The configuration the running kernel reported last (platform actually used, JIT). */
  get config(): ConfigState | undefined {
    return this.live?.configState;
  }
  /** Process id of the running kernel (tests check that a restart makes a new one). */
  get pid(): number | undefined {
    return this.live?.proc.pid;
  }
  /** Why the last kernel died, while the state is "dead". */
  get death(): KernelDiedError | undefined {
    return this._state === "dead" ? this.lastDeath : undefined;
  }

  private setState(s: KernelState): void {
    if (s === this._state) return;
    this._state = s;
    this.stateEmitter.fire(s);
  }

  /** The running kernel, starting one if needed. */
  async ensureStarted(opts: StartOptions = {}): Promise<InitializeResult> {
    const live = this.live ?? (await (this.starting ??= this.start(opts).finally(() => (this.starting = undefined))));
    return live.info!;
  }

  private async start(opts: StartOptions): Promise<Live> {
    this.setState("starting");
    // vscode-jsonrpc is half of the extension's code: loaded when the first kernel starts, so that
    // activation (every TypeScript file opened) does not pay for it.
    const { StreamMessageReader, StreamMessageWriter, createMessageConnection } = await import("vscode-jsonrpc/node");
    const cfg = this.readConfig();
    const args = [opts.inspect ? "--inspect=0" : "--inspect-port=0", this.kernelJs];
    const env: NodeJS.ProcessEnv = { ...process.env, ...cfg.env, ELECTRON_RUN_AS_NODE: "1" };
    // The kernel's own stdout is the protocol; colour codes in stderr would only clutter the log.
    env.FORCE_COLOR = "0";
    this.log.appendLine(`[kernel] starting ${process.execPath} ${args.join(" ")}`);
    const proc = spawn(process.execPath, args, { cwd: this.workspaceFolder() ?? path.dirname(this.kernelJs), env, stdio: ["pipe", "pipe", "pipe"] });
    this.startCount++;
    const conn = createMessageConnection(new StreamMessageReader(proc.stdout!), new StreamMessageWriter(proc.stdin!));
    const live: Live = { proc, conn, exited: undefined as unknown as Promise<KernelDiedError>, stderrTail: "", portWaiters: [], expectedExit: false };
    live.exited = new Promise((resolve) => {
      const onEnd = (code: number | null, signal: NodeJS.Signals | null): void =>
        resolve(new KernelDiedError(code, signal, lastLines(live.stderrTail, 3)));
      proc.once("exit", onEnd);
      proc.once("error", (e) => {
        live.stderrTail += `\n${e.message}`;
        onEnd(null, null);
      });
    });
    void live.exited.then((death) => this.onExit(live, death));
    proc.stderr!.on("data", (b: Buffer) => this.onStderr(live, b.toString()));
    conn.onNotification(Notifications.cellOutput, (p: CellOutputParams) => this.outputEmitter.fire(p));
    conn.onNotification(Notifications.cellProgress, (p: CellProgressParams) => this.progressEmitter.fire(p));
    conn.onError(([e]) => this.log.appendLine(`[protocol] error: ${e.message}`));
    conn.listen();
    try {
      const config = configParams(this.readConfig());
      const params: InitializeParams = { protocolVersion: PROTOCOL_VERSION, workspaceFolder: this.workspaceFolder(), config };
      live.info = await this.request<InitializeResult>(live, Methods.initialize, params);
      live.sentConfig = JSON.stringify(config);
      live.configState = live.info.config;
      this.log.appendLine(
        `[kernel] pid ${proc.pid} ready: kernel ${live.info.kernelVersion}, node ${live.info.nodeVersion}, devices ${live.info.devices.map((d) => d.id).join(", ")}`,
      );
      this.live = live;
      await this.syncConfig(live);
      this.setState("idle");
      return live;
    } catch (e) {
      this.log.appendLine(`[kernel] failed to start: ${(e as Error).message}`);
      live.expectedExit = true;
      proc.kill();
      this.live = undefined;
      this.lastDeath = e instanceof KernelDiedError ? e : new KernelDiedError(null, null, (e as Error).message);
      this.setState("dead");
      throw this.lastDeath;
    }
  }

  private onStderr(live: Live, text: string): void {
    this.log.append(text);
    live.stderrTail = (live.stderrTail + text).slice(-4000);
    const m = /Debugger listening on ws:\/\/[^:\s]+:(\d+)\//.exec(live.stderrTail);
    if (m) {
      const port = Number(m[1]);
      live.inspectorPort = Promise.resolve(port);
      for (const w of live.portWaiters.splice(0)) w(port);
    }
  }

  private onExit(live: Live, death: KernelDiedError): void {
    live.conn.dispose();
    if (this.live !== live && this.live !== undefined) return;
    this.live = undefined;
    if (live.expectedExit) {
      this.log.appendLine(`[kernel] pid ${live.proc.pid} stopped`);
      if (this._state !== "starting") this.setState("stopped");
      return;
    }
    this.log.appendLine(`[kernel] pid ${live.proc.pid}: ${death.message}`);
    this.lastDeath = death;
    this.setState("dead");
  }

  /** Sends a request that fails with KernelDiedError if the process ends first. */
  private request<T>(live: Live, method: string, params: unknown): Promise<T> {
    // The connection may notice the closed pipe before the process's exit event: a failed
    // request is the kernel's death if the process ends within a moment.
    const sent = live.conn.sendRequest<T>(method, params).catch(async (e: unknown) => {
      const death = await Promise.race([live.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 1000))]);
      throw death ?? e;
    });
    return Promise.race([
      sent,
      live.exited.then((d) => {
        throw d;
      }),
    ]);
  }

  /** Sends `config/set` if the settings changed since the last run. */
  private async syncConfig(live: Live): Promise<void> {
    const params = configParams(this.readConfig());
    const key = JSON.stringify(params);
    if (live.sentConfig === key) return;
    // Variables dropped from primal.kernel.env are removed from the kernel's environment too.
    const before = live.sentConfig ? (JSON.parse(live.sentConfig) as { env?: Record<string, string> }).env ?? {} : {};
    const env: Record<string, string | null> = { ...params.env };
    for (const k of Object.keys(before)) if (!(k in env)) env[k] = null;
    params.env = env;
    try {
      live.configState = await this.request<ConfigState>(live, Methods.setConfig, params);
      live.sentConfig = key;
      this.stateEmitter.fire(this._state); // the device may have changed
    } catch (e) {
      if (e instanceof KernelDiedError) throw e;
      this.log.appendLine(`[protocol] config/set failed: ${(e as Error).message}`);
    }
  }

  /** Sends changed settings to an idle kernel now (a busy one gets them before its next run). */
  async applyConfig(): Promise<void> {
    const live = this.live;
    if (live && this._state === "idle") await this.syncConfig(live).catch(() => undefined);
  }

  /** Runs one cell, starting the kernel if needed. Rejects with KernelDiedError if it dies. */
  async run(params: RunCellParams): Promise<RunCellResult> {
    await this.ensureStarted();
    const live = this.live;
    if (!live) throw this.lastDeath ?? new KernelDiedError(null, null, "not running");
    await this.syncConfig(live);
    this.setState("busy");
    try {
      return await this.request<RunCellResult>(live, Methods.runCell, params);
    } finally {
      if (this.live === live) this.setState("idle");
    }
  }

  /** Any other request to the running kernel (inspection), starting it if needed. */
  async send<T>(method: string, params: unknown): Promise<T> {
    await this.ensureStarted();
    if (!this.live) throw this.lastDeath ?? new KernelDiedError(null, null, "not running");
    return this.request<T>(this.live, method, params);
  }

  /**
   * A request to the kernel that runs now, never starting one (the inspector panels ask for
   * their data whenever they are shown; that alone must not spawn a kernel). Rejects with
   * KernelDiedError when no kernel is ready.
   */
  async query<T>(method: string, params: unknown): Promise<T> {
    if (!this.live) throw this.lastDeath ?? new KernelDiedError(null, null, "not running");
    return this.request<T>(this.live, method, params);
  }

  /**
   * Interrupts the running cell: SIGINT stops synchronous code (vm's breakOnSigint) and
   * `kernel/interrupt` stops a cell awaiting a promise. False if no kernel runs.
   */
  interrupt(): boolean {
    const live = this.live;
    if (!live) return false;
    this.log.appendLine(`[kernel] interrupt (SIGINT to pid ${live.proc.pid})`);
    const sent = live.proc.kill("SIGINT");
    const params: InterruptParams = {};
    live.conn.sendRequest(Methods.interrupt, params).catch((e: Error) => this.log.appendLine(`[protocol] kernel/interrupt: ${e.message}`));
    return sent;
  }

  /**
   * Opens the kernel's inspector and resolves with its port, keeping the kernel's state:
   * `debug/start` (the kernel calls inspector.open), else SIGUSR1, else (Windows, an old
   * kernel) a restart with `--inspect=0`.
   */
  async openInspector(timeoutMs = 10000): Promise<number> {
    await this.ensureStarted();
    let live = this.live!;
    if (!live.inspectorPort) {
      try {
        const params: DebugStartParams = { port: 0 };
        const r = await this.request<DebugStartResult>(live, Methods.debugStart, params);
        live.inspectorPort = Promise.resolve(r.port);
      } catch (e) {
        if (e instanceof KernelDiedError) throw e;
        this.log.appendLine(`[protocol] debug/start: ${(e as Error).message}; opening the inspector another way`);
      }
    }
    if (!live.inspectorPort && process.platform === "win32") {
      await this.stop();
      await this.ensureStarted({ inspect: true });
      live = this.live!;
    }
    if (!live.inspectorPort) {
      const l = live;
      const p = new Promise<number>((resolve) => l.portWaiters.push(resolve));
      l.proc.kill("SIGUSR1");
      l.inspectorPort = p;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Debug Cell: the kernel did not open its inspector within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([live.inspectorPort as Promise<number>, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops the kernel: kernel/shutdown, then SIGKILL if it does not leave within 2 s. */
  async stop(): Promise<void> {
    const live = this.live ?? (this.starting ? await this.starting.catch(() => undefined) : undefined);
    if (!live) {
      if (this._state === "dead") this.setState("stopped");
      return;
    }
    live.expectedExit = true;
    this.live = undefined;
    // A busy kernel cannot answer; a bounded wait keeps restart snappy.
    live.conn.sendRequest(Methods.shutdown, null).catch(() => undefined);
    const timer = setTimeout(() => live.proc.kill("SIGKILL"), 2000);
    await live.exited;
    clearTimeout(timer);
    this.setState("stopped");
  }

  /** Stops the kernel (if any) and starts a new one. */
  async restart(): Promise<InitializeResult> {
    await this.stop();
    return this.ensureStarted();
  }

  dispose(): void {
    const live = this.live;
    if (live) {
      live.expectedExit = true;
      live.proc.kill();
    }
    this.stateEmitter.dispose();
    this.outputEmitter.dispose();
    this.progressEmitter.dispose();
  }
}

/** The most telling stderr line of a dead kernel: its own exit note, else the last error line, else the last lines. */
function lastLines(text: string, n: number): string {
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("at "));
  const note = lines.filter((l) => l.startsWith("primal kernel:")).at(-1) ?? lines.filter((l) => /\b\w*Error\b|FATAL|out of memory/i.test(l)).at(-1);
  return note ?? lines.slice(-n).join(" | ");
}
