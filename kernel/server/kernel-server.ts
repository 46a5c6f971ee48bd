// The kernel process's JSON-RPC server (the protocol is kernel/protocol.ts): initialize,
// run cells (one CellRunner, i.e. one scope, per file; one cell at a time across files),
// stream their output through a per-run OutputThrottle, report progress, interrupt, apply
// configuration between runs, open the inspector for Debug Cell, and shut down.
// Nothing a cell does may write to stdout, which carries the protocol: main.ts sends stray
// writes to stderr.

import { randomUUID } from "node:crypto";
import * as inspector from "node:inspector";
import * as os from "node:os";
import * as path from "node:path";
import { MessageConnection, ResponseError, ErrorCodes } from "vscode-jsonrpc/node";
import { allDevicesOfAllBackends, defaultDevice, defaultPlatformName, getBackend } from "../core/device";
import { config } from "../core/config";
import { plot, setOutputSink } from "../api/output";
import {
  CellErrorInfo, CellOutput, CheckGradsParams, CellOutputParams, CellProgressParams, ConfigState, DebugStartParams, DebugStartResult, DeviceInfo,
  InitializeParams, InspectParams, InspectRecordsParams, InitializeResult, InterruptParams, InterruptResult, KernelErrorCodes, KernelStatus, Methods, Notifications,
  PROTOCOL_VERSION, RunCellParams, RunCellResult, SetConfigParams, UnavailableBackend,
} from "../protocol";
import { CellRunner, CellErrorInfo as RunnerError, CellOutput as RunnerOutput } from "./cell-runner";
import { OutputThrottle } from "./output-throttle";
import { inspectText, keepTraceRecords } from "./inspect-text";
import { kernelTimingOn, setKernelTiming } from "../lower/inspect";
import { checkGradsRecord, gradientRecords, irRecords, kernelRecords, setInspectRecording } from "./inspect-records";
import { DEFAULT_LIMITS, richOutput } from "./output-summary";

/** Converts the runner's error record to the protocol's. */
export function toProtocolError(e: RunnerError, file: string): CellErrorInfo {
  return { name: e.name, message: e.message, stack: e.stack, location: { file, cell: e.cell, line: e.line, column: e.column ?? 1 } };
}

/** A requested run, queued or running. */
interface Run {
  params: RunCellParams;
  runId: string;
  file: string;
  cancelled: boolean;
  started: number;
  runner?: CellRunner;
  throttle?: OutputThrottle;
}

/** How often `cell/progress` is sent while a cell runs (when the event loop is free). */
const PROGRESS_INTERVAL_MS = 1000;

/** Serves one client over `conn`. `library` is the module object cells import as "primal". */
export class KernelServer {
  private readonly runners = new Map<string, CellRunner>();
  private readonly queue: Run[] = [];
  private current: Run | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private initialized = false;
  private readonly limits = DEFAULT_LIMITS;

  constructor(
    private readonly conn: MessageConnection,
    private readonly library: Record<string, unknown>,
    private readonly version: string,
    /** Called on kernel/shutdown; the owner exits after the response is sent. */
    private readonly exit: (code: number) => void,
  ) {
    // The library's own print/display/debug.print (and a cell's console via the runner).
    setOutputSink((kind, text) => {
      if (kind === "print") this.text("stdout", text + "\n");
      else this.current?.throttle?.display({ kind: "display", text });
    });
    conn.onRequest(Methods.initialize, (p: InitializeParams) => this.initialize(p));
    conn.onRequest(Methods.runCell, (p: RunCellParams) => this.runCell(p));
    conn.onRequest(Methods.interrupt, (p?: InterruptParams) => this.interrupt(p ?? {}));
    conn.onRequest(Methods.status, () => this.status());
    conn.onRequest(Methods.setConfig, (p: SetConfigParams) => this.setConfig(p ?? {}));
    conn.onRequest(Methods.debugStart, (p?: DebugStartParams) => this.debugStart(p ?? {}));
    conn.onRequest(Methods.shutdown, () => {
      this.exit(0); // the process leaves once this response is written
      return null;
    });
    keepTraceRecords();
    // The kernels panel shows each kernel's measured time: timing is on unless config/set turns it off.
    this.timing = true;
    setKernelTiming(true);
    setInspectRecording(true, () => (this.current ? { runId: this.current.runId, file: this.current.file, cell: this.current.params.cell } : null));
    conn.onRequest(Methods.inspectIrRecords, (p?: InspectRecordsParams) => irRecords(p ?? {}));
    conn.onRequest(Methods.inspectGradientRecords, (p?: InspectRecordsParams) => gradientRecords(p ?? {}));
    conn.onRequest(Methods.inspectKernelRecords, (p?: InspectRecordsParams) => kernelRecords(p ?? {}));
    conn.onRequest(Methods.inspectCheckGrads, (p: CheckGradsParams) => {
      if (!p || !Number.isInteger(p.recordId)) throw new ResponseError(-32602, `inspect/checkGrads: expected {recordId: integer}, got ${JSON.stringify(p)}`);
      return checkGradsRecord(p);
    });
    conn.onRequest(Methods.inspectJaxprs, (p?: InspectParams) => inspectText("jaxprs", p ?? {}));
    conn.onRequest(Methods.inspectGradients, (p?: InspectParams) => inspectText("gradients", p ?? {}));
    conn.onRequest(Methods.inspectKernels, (p?: InspectParams) => inspectText("kernels", p ?? {}));
    process.on("unhandledRejection", (e) => this.runnerFor(this.current?.file ?? this.lastFile ?? "").reportUncaught(e));
  }

  private lastFile: string | null = null;
  /** Whether this server asked for kernel timing (the kernels panel's measured times). */
  private timing = false;

  /**
   * SIGINT (the extension's interrupt): synchronous cell code is stopped by vm's breakOnSigint
   * before this handler can run; a cell that is awaiting is stopped here. Idle: ignored.
   * The owner installs it (it also keeps the default SIGINT exit from killing the kernel).
   */
  onSigint(): void {
    this.current?.runner?.interrupt();
  }

  // ---- kernel/initialize, config/set, kernel/status -------------------------------------

  private initialize(p: InitializeParams): InitializeResult {
    if (p?.protocolVersion !== PROTOCOL_VERSION)
      throw new ResponseError(
        KernelErrorCodes.protocolMismatch,
        `kernel/initialize: protocol version mismatch, got ${p?.protocolVersion} (kernel speaks ${PROTOCOL_VERSION})`,
      );
    if (p.config) this.setConfig(p.config);
    this.initialized = true;
    // Every backend's devices, so that the editor can offer them all.
    const devs = allDevicesOfAllBackends();
    const threads = typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length;
    const devices: DeviceInfo[] = devs.map((d) => {
      const info: DeviceInfo = { id: String(d), platform: d.platform, kind: d.deviceKind };
      if (d.platform === "cpu") info.threads = threads;
      else info.adapter = d.deviceKind;
      if (d.limits) info.limits = { ...d.limits };
      if (d.features) info.features = [...d.features];
      return info;
    });
    const backends = [...new Set(devs.map((d) => d.platform))];
    const unavailableBackends: UnavailableBackend[] = [];
    for (const name of ["cpu", "webgpu"]) {
      if (backends.includes(name)) continue;
      try {
        const b = getBackend(name);
        unavailableBackends.push({ platform: name, reason: b.unavailableReason?.() ?? "no devices" });
      } catch {
        // not registered in this build
      }
    }
    const cfg = this.configState();
    return {
      protocolVersion: PROTOCOL_VERSION,
      kernelVersion: this.version,
      nodeVersion: process.version,
      versions: { protocol: PROTOCOL_VERSION, kernel: this.version, node: process.version, v8: process.versions.v8 },
      backends,
      unavailableBackends,
      devices,
      defaultDevice: cfg.defaultDevice,
      jitEnabled: cfg.jitEnabled,
      config: cfg,
      pid: process.pid,
      limits: this.limits,
    };
  }

  private configState(): ConfigState {
    let dev = "";
    try {
      dev = String(defaultDevice());
    } catch (e) {
      dev = `none (${(e as Error).message})`;
    }
    return {
      jitEnabled: !config.read("disableJit"),
      backend: config.read("platformName"),
      platform: defaultPlatformName(),
      defaultDevice: dev,
      prngPartitionable: config.read("threefryPartitionable"),
      kernelTiming: kernelTimingOn(),
    };
  }

  /** Applies settings; they are read by jit, the PRNG and array creation at call time, so the next run sees them. */
  private setConfig(p: SetConfigParams): ConfigState {
    const bad = (what: string): never => {
      throw new ResponseError(KernelErrorCodes.invalidConfig, `config/set: ${what}`);
    };
    if (p.jitEnabled !== undefined && typeof p.jitEnabled !== "boolean") bad(`jitEnabled must be a boolean, got ${JSON.stringify(p.jitEnabled)}`);
    if (p.prngPartitionable !== undefined && typeof p.prngPartitionable !== "boolean")
      bad(`prngPartitionable must be a boolean, got ${JSON.stringify(p.prngPartitionable)}`);
    if (p.backend !== undefined && p.backend !== null) {
      if (typeof p.backend !== "string") bad(`backend must be a platform name or null, got ${JSON.stringify(p.backend)}`);
      let n = 0;
      let why = "";
      try {
        const b = getBackend(p.backend);
        n = b.devices().length;
        why = b.unavailableReason?.() ?? "";
      } catch (e) {
        why = (e as Error).message;
      }
      if (n === 0) bad(`backend "${p.backend}" has no devices here, got none${why ? ` (${why})` : ""}`);
    }
    if (p.kernelTiming !== undefined && typeof p.kernelTiming !== "boolean") bad(`kernelTiming must be a boolean, got ${JSON.stringify(p.kernelTiming)}`);
    if (p.env !== undefined && (p.env === null || typeof p.env !== "object")) bad(`env must be an object of strings, got ${JSON.stringify(p.env)}`);
    // Everything is checked: now apply.
    if (p.jitEnabled !== undefined) config.update("jax_disable_jit", !p.jitEnabled);
    if (p.prngPartitionable !== undefined) config.update("jax_threefry_partitionable", p.prngPartitionable);
    if (p.backend !== undefined) config.update("jax_platform_name", p.backend);
    if (p.kernelTiming !== undefined && p.kernelTiming !== this.timing) {
      this.timing = p.kernelTiming;
      setKernelTiming(this.timing);
    }
    for (const [k, v] of Object.entries(p.env ?? {})) {
      if (v === null) delete process.env[k];
      else process.env[k] = String(v);
    }
    return this.configState();
  }

  private status(): KernelStatus {
    const c = this.current;
    const m = process.memoryUsage();
    return {
      state: c ? "busy" : "idle",
      running: c ? { runId: c.runId, file: c.file, cell: c.params.cell, elapsedMs: performance.now() - c.started } : undefined,
      queued: this.queue.length,
      config: this.configState(),
      pid: process.pid,
      memory: { rss: m.rss, heapUsed: m.heapUsed, external: m.external },
      files: [...this.runners.keys()],
    };
  }

  // ---- kernel/interrupt, debug/start ----------------------------------------------------

  private interrupt(p: InterruptParams): InterruptResult {
    let cancelled = 0;
    if (!p.keepQueued) {
      for (const r of this.queue.splice(0)) {
        r.cancelled = true;
        cancelled++;
      }
    }
    const c = this.current;
    if (!c || (p.runId !== undefined && p.runId !== c.runId)) return { interrupted: false, cancelled };
    return { interrupted: c.runner?.interrupt() ?? false, runId: c.runId, cancelled };
  }

  private debugStart(p: DebugStartParams): DebugStartResult {
    if (!inspector.url()) inspector.open(p.port ?? 0, "127.0.0.1", false);
    const url = inspector.url();
    if (!url) throw new ResponseError(ErrorCodes.InternalError, "debug/start: the inspector did not open, got no url");
    return { url, port: Number(new URL(url).port) };
  }

  // ---- cell/run ---------------------------------------------------------------------------

  private text(stream: "stdout" | "stderr", text: string): void {
    if (this.current?.throttle) this.current.throttle.text(stream, text);
    else process.stderr.write(text); // output from outside any run (a late timer): keep it visible
  }

  private notify(run: Run, output: CellOutput): void {
    const params: CellOutputParams = { runId: run.runId, output };
    void this.conn.sendNotification(Notifications.cellOutput, params);
  }

  /** Resolves once the notification is written: the "busy" one must leave before a synchronous cell blocks the event loop. */
  private progress(run: Run, state: "busy" | "idle"): Promise<void> {
    const params: CellProgressParams = {
      runId: run.runId,
      file: run.file,
      cell: run.params.cell,
      state,
      elapsedMs: state === "busy" && run.started === 0 ? 0 : performance.now() - run.started,
      queued: this.queue.length,
    };
    return this.conn.sendNotification(Notifications.cellProgress, params).catch(() => undefined);
  }

  /** A runner's output: text goes through the throttle, displays become rich records. */
  private onRunnerOutput(o: RunnerOutput): void {
    if (o.kind === "text") return this.text(o.stream, o.text);
    const t = this.current?.throttle;
    if (!t) return;
    if (!("value" in o)) return t.display({ kind: "display", text: o.text });
    const runner = this.current?.runner;
    t.display(this.shown(o.value, runner));
  }

  /** The output record of a shown value: rich when it has a rich form, else its repr. */
  private shown(v: unknown, runner: CellRunner | undefined): CellOutput {
    return richOutput(v, this.limits) ?? { kind: "display", text: runner ? runner.reprOf(v) : String(v) };
  }

  private runnerFor(file: string): CellRunner {
    const key = path.resolve(file || "untitled.ts");
    let r = this.runners.get(key);
    if (!r) {
      r = new CellRunner({ library: this.library, filePath: key, onOutput: (o) => this.onRunnerOutput(o), richDisplay: true, extraGlobals: { plot } });
      this.runners.set(key, r);
    }
    return r;
  }

  private runCell(p: RunCellParams): Promise<RunCellResult> {
    if (!this.initialized) throw new ResponseError(ErrorCodes.ServerNotInitialized, "cell/run: kernel/initialize must come first");
    if (typeof p?.code !== "string" || typeof p.file !== "string")
      throw new ResponseError(ErrorCodes.InvalidParams, `cell/run: expected { file, cell, code, startLine, runId }, got ${JSON.stringify(p)?.slice(0, 200)}`);
    const run: Run = { params: p, runId: p.runId || randomUUID(), file: path.resolve(p.file), cancelled: false, started: 0 };
    this.queue.push(run);
    const result = this.chain.then(() => this.execute(run));
    this.chain = result.catch(() => undefined);
    return result;
  }

  private async execute(run: Run): Promise<RunCellResult> {
    const i = this.queue.indexOf(run);
    if (i >= 0) this.queue.splice(i, 1);
    if (run.cancelled) {
      const error: CellErrorInfo = { name: "Interrupted", message: "cell: cancelled by kernel/interrupt before it started" };
      return { runId: run.runId, status: "interrupted", ok: false, error, durationMs: 0 };
    }
    const p = run.params;
    const runner = this.runnerFor(p.file);
    this.lastFile = p.file;
    run.runner = runner;
    run.throttle = new OutputThrottle(this.limits, (o) => this.notify(run, o));
    this.current = run;
    await this.progress(run, "busy");
    run.started = performance.now();
    const ticker = setInterval(() => void this.progress(run, "busy"), PROGRESS_INTERVAL_MS);
    let result: RunCellResult;
    try {
      const cell = { index: p.cell, title: "", startLine: p.startLine, source: p.code } as Parameters<CellRunner["runCell"]>[0];
      const r = await runner.runCell(cell, { debug: p.debug, stopOnEntry: p.stopOnEntry });
      const durationMs = performance.now() - run.started;
      if (r.ok) {
        result = { runId: run.runId, status: "ok", ok: true, durationMs };
        if (r.value !== undefined) {
          const shown = this.shown(r.value, runner);
          result.value = shown.kind === "array" ? shown.repr : shown.kind === "display" ? shown.text : runner.reprOf(r.value);
          if (shown.kind !== "display") result.valueOutput = shown;
        }
      } else {
        const error = toProtocolError(r.error, run.file);
        run.throttle.flush();
        result = { runId: run.runId, status: r.interrupted ? "interrupted" : "error", ok: false, error, durationMs };
      }
    } catch (e) {
      // The runner never rejects; this is the summary of the value failing (e.g. a device error on read).
      const error: CellErrorInfo = { name: (e as Error)?.name ?? "Error", message: String((e as Error)?.message ?? e), stack: (e as Error)?.stack };
      result = { runId: run.runId, status: "error", ok: false, error, durationMs: performance.now() - run.started };
    } finally {
      clearInterval(ticker);
    }
    const omitted = run.throttle.finish();
    if (omitted.lines || omitted.displays) result.omitted = omitted;
    if (result.error) this.notify(run, { kind: "error", error: result.error });
    this.current = null;
    void this.progress(run, "idle");
    return result;
  }
}
