// The kernel process's JSON-RPC server: answers `kernel/initialize`, runs cells (`cell/run`)
// with one CellRunner per file, streams their output as `cell/output` notifications, and
// shuts down on `kernel/shutdown`. Methods of later issues answer "not available yet".
// Nothing a cell does may write to stdout, which carries the protocol: stray writes go to stderr.

import { randomUUID } from "node:crypto";
import * as path from "node:path";
import { MessageConnection, ResponseError, ErrorCodes } from "vscode-jsonrpc/node";
import { allDevicesOfAllBackends, defaultDevice } from "../core/device";
import { setOutputSink } from "../api/output";
import {
  CellErrorInfo, CellOutput, CellOutputParams, InitializeParams, InitializeResult, Methods, Notifications, PROTOCOL_VERSION,
  RunCellParams, RunCellResult,
} from "../protocol";
import { CellRunner, CellErrorInfo as RunnerError, CellOutput as RunnerOutput } from "./cell-runner";

/** Converts the runner's error record to the protocol's. */
export function toProtocolError(e: RunnerError, file: string): CellErrorInfo {
  return { name: e.name, message: e.message, stack: e.stack, location: { file, cell: e.cell, line: e.line, column: e.column ?? 1 } };
}

function toProtocolOutput(o: RunnerOutput): CellOutput {
  return o.kind === "text" ? { kind: "text", stream: o.stream, text: o.text } : { kind: "display", text: o.text };
}

/** Serves one client over `conn`. `library` is the module object cells import as "primal". */
export class KernelServer {
  private readonly runners = new Map<string, CellRunner>();
  private currentRun: string | null = null;
  private initialized = false;

  constructor(
    private readonly conn: MessageConnection,
    private readonly library: Record<string, unknown>,
    private readonly version: string,
    /** Called on kernel/shutdown; the owner exits after the response is sent. */
    private readonly exit: (code: number) => void,
  ) {
    setOutputSink((kind, text) => this.emit(kind === "print" ? { kind: "text", stream: "stdout", text: text + "\n" } : { kind: "display", text }));
    conn.onRequest(Methods.initialize, (p: InitializeParams) => this.initialize(p));
    conn.onRequest(Methods.runCell, (p: RunCellParams) => this.runCell(p));
    conn.onRequest(Methods.shutdown, () => {
      this.exit(0); // the process leaves once this response is written
      return null;
    });
    for (const m of [Methods.interrupt, Methods.setConfig, Methods.inspectJaxprs, Methods.inspectGradients, Methods.inspectKernels])
      conn.onRequest(m, () => {
        throw new ResponseError(ErrorCodes.MethodNotFound, `${m}: not available yet in this kernel version`);
      });
    process.on("unhandledRejection", (e) => this.runnerFor(this.lastFile ?? "").reportUncaught(e));
  }

  private lastFile: string | null = null;

  private initialize(p: InitializeParams): InitializeResult {
    if (p?.protocolVersion !== PROTOCOL_VERSION)
      throw new ResponseError(ErrorCodes.InvalidRequest, `kernel/initialize: protocol version mismatch, got ${p?.protocolVersion} (kernel speaks ${PROTOCOL_VERSION})`);
    this.initialized = true;
    // Every backend's devices, so that the editor can offer them all.
    const devs = allDevicesOfAllBackends();
    return {
      protocolVersion: PROTOCOL_VERSION,
      kernelVersion: this.version,
      nodeVersion: process.version,
      backends: [...new Set(devs.map((d) => d.platform))],
      devices: devs.map((d) => ({ id: String(d), platform: d.platform, kind: d.deviceKind })),
      defaultDevice: String(defaultDevice()),
    };
  }

  private emit(output: CellOutput): void {
    const params: CellOutputParams = { runId: this.currentRun ?? "", output };
    void this.conn.sendNotification(Notifications.cellOutput, params);
  }

  private runnerFor(file: string): CellRunner {
    const key = path.resolve(file || "untitled.ts");
    let r = this.runners.get(key);
    if (!r) {
      r = new CellRunner({ library: this.library, filePath: key, onOutput: (o) => this.emit(toProtocolOutput(o)) });
      this.runners.set(key, r);
    }
    return r;
  }

  private async runCell(p: RunCellParams): Promise<RunCellResult> {
    if (!this.initialized) throw new ResponseError(ErrorCodes.ServerNotInitialized, "cell/run: kernel/initialize must come first");
    const runId = p.runId || randomUUID();
    const runner = this.runnerFor(p.file);
    this.lastFile = p.file;
    const t0 = performance.now();
    this.currentRun = runId;
    try {
      const r = await runner.runCell({ index: p.cell, title: "", startLine: p.startLine, source: p.code } as Parameters<CellRunner["runCell"]>[0]);
      const durationMs = performance.now() - t0;
      if (r.ok) return { runId, ok: true, value: r.display, durationMs };
      const error = toProtocolError(r.error, path.resolve(p.file));
      this.emit({ kind: "error", error });
      return { runId, ok: false, error, durationMs };
    } finally {
      this.currentRun = null;
    }
  }
}
