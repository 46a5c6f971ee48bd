// Protocol tests against a real kernel process (dist/kernel.js, built by `npm test`), spoken
// to over stdio with vscode-jsonrpc, as the extension will.

import { ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MessageConnection, StreamMessageReader, StreamMessageWriter, createMessageConnection } from "vscode-jsonrpc/node";
import { CellOutputParams, InitializeResult, Methods, Notifications, PROTOCOL_VERSION, RunCellResult } from "../../kernel/protocol";
import { kernelJs } from "./kernel-client";

let proc: ChildProcess;
let conn: MessageConnection;
let stderr = "";
const outputs: CellOutputParams[] = [];
const dir = mkdtempSync(join(tmpdir(), "primal-protocol-"));
const file = join(dir, "cells.ts");
writeFileSync(file, "// %%\nconst a = 1;\n");

beforeAll(() => {
  if (!existsSync(kernelJs)) throw new Error(`${kernelJs} is missing: run npm run build first`);
  proc = spawn(process.execPath, [kernelJs], { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, PRIMAL_BACKEND: "cpu" } });
  proc.stderr!.on("data", (b: Buffer) => (stderr += b.toString()));
  conn = createMessageConnection(new StreamMessageReader(proc.stdout!), new StreamMessageWriter(proc.stdin!));
  conn.onNotification(Notifications.cellOutput, (p: CellOutputParams) => void outputs.push(p));
  conn.listen();
});
afterAll(() => {
  conn?.dispose();
  proc?.kill();
});

let n = 0;
function run(code: string, startLine = 2, cell = 0): Promise<RunCellResult> {
  return conn.sendRequest(Methods.runCell, { file, cell, code, startLine, runId: `r${++n}` });
}

describe("kernel process over JSON-RPC", () => {
  it("rejects a cell before initialize, and a wrong protocol version", async () => {
    await expect(run("1")).rejects.toThrow(/kernel\/initialize must come first/);
    await expect(conn.sendRequest(Methods.initialize, { protocolVersion: 999 })).rejects.toThrow(/protocol version mismatch, got 999/);
  });
  it("initializes and reports its devices", async () => {
    const r: InitializeResult = await conn.sendRequest(Methods.initialize, { protocolVersion: PROTOCOL_VERSION });
    expect(r.protocolVersion).toBe(PROTOCOL_VERSION);
    expect(r.backends).toContain("cpu");
    expect(r.devices[0]).toMatchObject({ id: "cpu:0", platform: "cpu", kind: "cpu" });
    expect(r.defaultDevice).toBe("cpu:0");
  });
  it("runs cells in one scope, streams printed output and returns the repr of the last value", async () => {
    const r1 = await run(`import { np } from "primal";\nconst x = np.arange(3);\nconsole.log(x.mul(2));\nx`);
    expect(r1.ok).toBe(true);
    expect(r1.value).toBe("Array([0, 1, 2], dtype=int32)");
    expect(outputs.filter((o) => o.runId === `r${n}`).map((o) => o.output)).toContainEqual({ kind: "text", stream: "stdout", text: "[0 2 4]\n" });
    const r2 = await run("x.sum()", 10, 1);
    expect(r2.value).toBe("Array(3, dtype=int32)");
  });
  it("print from the library and a stray stdout write do not corrupt the protocol", async () => {
    const r = await run(`import { print } from "primal";\nprint("hello", np.ones([2]));\nprocess.stdout.write("stray\\n");\n42`);
    expect(r.value).toBe("42");
    expect(outputs.filter((o) => o.runId === `r${n}`).map((o) => o.output)).toContainEqual({ kind: "text", stream: "stdout", text: "hello [1. 1.]\n" });
    expect(stderr).toContain("stray");
  });
  it("reports errors with the line in the user's file, and keeps the kernel alive", async () => {
    const r = await run(`const y: number = 1;\nnp.add(np.ones([3]), np.ones([10]))`, 20, 2);
    expect(r.ok).toBe(false);
    expect(r.error?.name).toBe("ShapeError");
    expect(r.error?.message).toBe("add: shapes [3] and [10] cannot be broadcast together");
    expect(r.error?.location).toMatchObject({ file, cell: 2, line: 21 });
    expect((await run("1 + 1")).value).toBe("2");
  });
  it("answers inspect/* with the jaxprs, gradients and kernels as text", async () => {
    const r1 = await run(`import { jit, grad } from "primal";\nconst sq = jit(function square(v) { return v.mul(v).add(1); });\nsq(np.arange(3)).tolist()`);
    expect(r1.ok).toBe(true);
    const r2 = await run("grad((v) => v.mul(v).sum())(np.arange(3).astype('float32')).tolist()");
    expect(r2.ok).toBe(true);
    const ir = await conn.sendRequest<{ count: number; text: string }>(Methods.inspectJaxprs, {});
    expect(ir.count).toBeGreaterThan(0);
    expect(ir.text).toMatch(/--- jaxpr of jit\(square\)/);
    expect(ir.text).toMatch(/mul a a/);
    const g = await conn.sendRequest<{ count: number; text: string }>(Methods.inspectGradients, {});
    expect(g.text).toMatch(/--- linear program of grad/);
    const k = await conn.sendRequest<{ count: number; text: string }>(Methods.inspectKernels, {});
    expect(k.text).toMatch(/--- kernels of jit\(square\)/);
  });
  it("shuts down on request", async () => {
    const exited = new Promise<number | null>((res) => proc.on("exit", (c) => res(c)));
    await conn.sendRequest(Methods.shutdown);
    expect(await exited).toBe(0);
  });
});
