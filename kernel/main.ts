// The kernel process (dist/kernel.js): spawned by the extension with VS Code's own Node and
// spoken to with JSON-RPC over stdio. stdout carries only protocol messages, so anything else
// that would write there (a stray process.stdout.write in user code) is sent to stderr.

import { Writable } from "node:stream";
import { StreamMessageReader, StreamMessageWriter, createMessageConnection } from "vscode-jsonrpc/node";
import * as primal from "./index";
import { shutdownBackends } from "./core/device";
import { KernelServer } from "./server/kernel-server";
import { setLinearizeSources } from "./ir/source";

// The editor shows the source line of every equation, the backward ones of eager grad included.
setLinearizeSources(true);

const out = process.stdout.write.bind(process.stdout);
// The protocol writer keeps the real stdout; everybody else gets stderr.
// After kernel/shutdown, the process exits once the response has been written.
let exitCode: number | null = null;
const protocolOut = new Writable({
  write: (chunk: Buffer, _enc, cb) =>
    void out(chunk, (e) => {
      cb(e);
      if (exitCode !== null) setImmediate(() => void exitAfterDevices(exitCode ?? 0));
    }),
});
process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;

const conn = createMessageConnection(new StreamMessageReader(process.stdin), new StreamMessageWriter(protocolOut));
const server = new KernelServer(conn, primal as unknown as Record<string, unknown>, primal.version, (code) => (exitCode = code));
conn.listen();
process.stdin.on("end", () => void exitAfterDevices(0));

// Interrupt: the extension sends SIGINT. Synchronous cell code is stopped by vm's
// breakOnSigint; this listener stops a cell that is awaiting, and (being a listener) keeps
// Node's default SIGINT exit from killing the kernel.
process.on("SIGINT", () => server.onSigint());

// Any exit the client did not ask for is a crash to the extension: say why on stderr, which
// it logs. process.exit() in a cell keeps its code; exit code 0 is unambiguous only after
// kernel/shutdown, so a cell's process.exit(0) is reported here too.
const realExit = process.exit.bind(process);
let exitReason = "";
process.exit = ((code?: number | string | null) => {
  if (!exitReason) exitReason = exitCode !== null ? "kernel/shutdown" : "process.exit() called by cell code";
  return realExit(code as number);
}) as typeof process.exit;
process.on("exit", (code) => {
  if (exitReason === "kernel/shutdown" || exitReason === "stdin closed") return;
  process.stderr.write(`primal kernel: exiting with code ${code} (${exitReason || "the event loop ran empty"})\n`);
});
// An error thrown from a callback nobody guards (an event emitter a cell created): the kernel
// reports it and keeps running, like an uncaught error in a notebook; the cell runner already
// guards timers and routes unhandled rejections.
process.on("uncaughtException", (e) => {
  process.stderr.write(`primal kernel: uncaught exception (kernel keeps running): ${(e as Error)?.stack ?? String(e)}\n`);
});

/** Exits once the devices have finished their work (a GPU torn down mid-work can abort the process). */
async function exitAfterDevices(code: number): Promise<never> {
  exitReason ||= exitCode !== null ? "kernel/shutdown" : "stdin closed";
  await shutdownBackends().catch(() => undefined);
  process.exit(code);
}
