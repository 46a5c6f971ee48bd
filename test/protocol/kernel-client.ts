// A test client for the kernel process: spawns dist/kernel.js (or $PRIMAL_KERNEL_JS) with
// this Node, speaks JSON-RPC over its stdio as the extension does, and records every
// notification, stderr and the exit, so that tests can assert on what arrived and in which order.

import { ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { MessageConnection, StreamMessageReader, StreamMessageWriter, createMessageConnection } from "vscode-jsonrpc/node";
import {
  CellOutput, CellOutputParams, CellProgressParams, InitializeResult, Methods, Notifications, PROTOCOL_VERSION, RunCellParams, RunCellResult,
} from "../../kernel/protocol";

export const kernelJs = process.env.PRIMAL_KERNEL_JS ?? resolve(__dirname, "../../dist/kernel.js");

/** One kernel process and what it sent. */
export interface KernelClient {
  proc: ChildProcess;
  conn: MessageConnection;
  outputs: CellOutputParams[];
  progress: CellProgressParams[];
  /** Every notification in arrival order (method, params). */
  notifications: { method: string; params: unknown }[];
  stderr: () => string;
  /** Resolves with the exit code and signal once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  initialize(): Promise<InitializeResult>;
  run(code: string, opts?: Partial<RunCellParams>): Promise<RunCellResult>;
  /** The outputs of one run, in order. */
  outputsOf(runId: string): CellOutput[];
  dispose(): void;
}

let seq = 0;

/** Spawns a kernel. `file` is the cell file runs refer to (it need not exist). */
export function startKernel(file: string, env: Record<string, string> = {}): KernelClient {
  if (!existsSync(kernelJs)) throw new Error(`${kernelJs} is missing: run node scripts/build.mjs first`);
  const proc = spawn(process.execPath, [kernelJs], { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, PRIMAL_BACKEND: "cpu", ...env } });
  let stderr = "";
  proc.stderr!.on("data", (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => proc.on("exit", (code, signal) => res({ code, signal })));
  const conn = createMessageConnection(new StreamMessageReader(proc.stdout!), new StreamMessageWriter(proc.stdin!));
  const outputs: CellOutputParams[] = [];
  const progress: CellProgressParams[] = [];
  const notifications: { method: string; params: unknown }[] = [];
  conn.onNotification(Notifications.cellOutput, (p: CellOutputParams) => {
    outputs.push(p);
    notifications.push({ method: Notifications.cellOutput, params: p });
  });
  conn.onNotification(Notifications.cellProgress, (p: CellProgressParams) => {
    progress.push(p);
    notifications.push({ method: Notifications.cellProgress, params: p });
  });
  conn.onError(() => undefined);
  conn.listen();
  return {
    proc,
    conn,
    outputs,
    progress,
    notifications,
    stderr: () => stderr,
    exited,
    initialize: () => conn.sendRequest(Methods.initialize, { protocolVersion: PROTOCOL_VERSION }),
    run: (code, opts = {}) => conn.sendRequest(Methods.runCell, { file, cell: 0, code, startLine: 2, runId: `run${++seq}`, ...opts }),
    outputsOf: (runId) => outputs.filter((o) => o.runId === runId).map((o) => o.output),
    dispose: () => {
      conn.dispose();
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
    },
  };
}

/** The concatenated text a run printed on one stream. */
export function textOf(outputs: CellOutput[], stream: "stdout" | "stderr" = "stdout"): string {
  return outputs.map((o) => (o.kind === "text" && o.stream === stream ? o.text : "")).join("");
}

/** Resolves when `pred` holds (polled), or rejects after `ms`. */
export async function waitFor(pred: () => boolean, ms: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
