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
new KernelServer(conn, primal as unknown as Record<string, unknown>, primal.version, (code) => (exitCode = code));
conn.listen();
process.stdin.on("end", () => void exitAfterDevices(0));

/** Exits once the devices have finished their work (a GPU torn down mid-work can abort the process). */
async function exitAfterDevices(code: number): Promise<never> {
  await shutdownBackends().catch(() => undefined);
  process.exit(code);
}
