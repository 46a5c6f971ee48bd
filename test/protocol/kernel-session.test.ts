// The kernel process's protocol (kernel/protocol.ts) end to end: dist/kernel.js is spawned
// and driven over JSON-RPC as the extension drives it. Covers capabilities, shared cell
// state, streamed and ordered output, error locations, throttling of a flood of lines, the
// summary of a huge array, plots and tables, interrupt (SIGINT for synchronous loops, the
// request for awaiting cells) with state kept, JIT and backend configuration between runs,
// progress and status, process.exit() in a cell, and shutdown.

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ArrayOutput, ConfigState, InitializeResult, KernelErrorCodes, KernelStatus, Methods, PROTOCOL_VERSION, PlotOutput, TableOutput,
} from "../../kernel/protocol";
import { KernelClient, startKernel, textOf, waitFor } from "./kernel-client";

const dir = mkdtempSync(join(tmpdir(), "primal-session-"));
const file = join(dir, "cells.ts");

describe("kernel process: one session", () => {
  let k: KernelClient;
  let init: InitializeResult;
  beforeAll(async () => {
    k = startKernel(file);
    await expect(k.conn.sendRequest(Methods.initialize, { protocolVersion: PROTOCOL_VERSION + 1 })).rejects.toMatchObject({
      code: KernelErrorCodes.protocolMismatch,
      message: expect.stringMatching(/protocol version mismatch, got 3 \(kernel speaks 2\)/),
    });
    init = await k.initialize();
  });
  afterAll(() => k?.dispose());

  it("reports its capabilities at initialize", () => {
    expect(init.protocolVersion).toBe(PROTOCOL_VERSION);
    expect(init.versions).toEqual({ protocol: PROTOCOL_VERSION, kernel: init.kernelVersion, node: process.version, v8: process.versions.v8 });
    expect(init.kernelVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(init.backends).toContain("cpu");
    expect(init.devices).toContainEqual(expect.objectContaining({ id: "cpu:0", platform: "cpu", kind: "cpu" }));
    expect(init.devices.find((d) => d.id === "cpu:0")!.threads).toBeGreaterThan(0);
    expect(init.defaultDevice).toBe("cpu:0");
    expect(init.jitEnabled).toBe(true);
    expect(init.config).toEqual({ jitEnabled: true, backend: null, platform: "cpu", defaultDevice: "cpu:0", prngPartitionable: true, kernelTiming: true });
    expect(init.pid).toBe(k.proc.pid);
    expect(init.limits.maxLinesPerCell).toBeGreaterThan(0);
  });

  it("keeps state across cells and returns the last value with its array record", async () => {
    expect((await k.run(`import { np } from "primal";\nconst base = np.arange(4);\nlet counter = 1;`)).status).toBe("ok");
    const r = await k.run("counter += 1;\nbase.mul(counter)", { cell: 1, startLine: 5 });
    expect(r.status).toBe("ok");
    expect(r.value).toBe("Array([0, 2, 4, 6], dtype=int32)");
    const v = r.valueOutput as ArrayOutput;
    expect(v).toMatchObject({ kind: "array", shape: [4], dtype: "int32", size: 4, device: "cpu:0" });
    expect(v.preview).toEqual({ rows: 1, cols: 4, rowIndex: [0], colIndex: [0, 1, 2, 3], values: [[0, 2, 4, 6]], truncated: false });
    expect(v.stats).toEqual({ min: 0, max: 6, mean: 3 });
    expect((await k.run("counter")).value).toBe("2");
  });

  it("streams output while the cell runs, in the order it was produced", async () => {
    const runId = "stream-order";
    let firstAt = 0;
    const seen = k.outputs.length;
    const watch = waitFor(() => k.outputs.slice(seen).some((o) => o.runId === runId), 5000, "the first output").then(() => (firstAt = Date.now()));
    const r = await k.run(
      `console.log("a");\nawait new Promise((r) => setTimeout(r, 400));\nconsole.error("b");\ndisplay(np.ones([2, 2]));\nprint("c", np.arange(3));\n"done"`,
      { runId },
    );
    const doneAt = Date.now();
    await watch;
    expect(r.value).toBe("'done'");
    // "a" left the kernel while the cell was still waiting.
    expect(doneAt - firstAt).toBeGreaterThan(250);
    const outs = k.outputsOf(runId);
    expect(outs.map((o) => o.kind)).toEqual(["text", "text", "array", "text"]);
    expect(outs[0]).toEqual({ kind: "text", stream: "stdout", text: "a\n" });
    expect(outs[1]).toEqual({ kind: "text", stream: "stderr", text: "b\n" });
    expect(outs[2]).toMatchObject({ kind: "array", shape: [2, 2], dtype: "float32", repr: "Array([[1., 1.],\n       [1., 1.]], dtype=float32)" });
    expect(outs[3]).toEqual({ kind: "text", stream: "stdout", text: "c [0 1 2]\n" });
  });

  it("reports an error with its cell, line and column in the user's file, last in the output", async () => {
    const runId = "err";
    const r = await k.run(`print("before");\nconst bad = np.add(np.ones([3]), np.ones([4]));`, { cell: 3, startLine: 10, runId });
    expect(r.status).toBe("error");
    expect(r.ok).toBe(false);
    expect(r.error).toMatchObject({ name: "ShapeError", message: "add: shapes [3] and [4] cannot be broadcast together" });
    expect(r.error!.location).toMatchObject({ file, cell: 3, line: 11 });
    expect(r.error!.location!.column).toBeGreaterThan(1);
    expect(r.error!.stack).toContain(`${file}:11:`);
    const outs = k.outputsOf(runId);
    expect(outs.map((o) => o.kind)).toEqual(["text", "error"]);
    expect((outs[1] as { error: unknown }).error).toEqual(r.error);
    expect((await k.run("counter")).value).toBe("2"); // the kernel lives on
  });

  it("throttles a cell printing 100,000 lines: few notifications, a summary and the last lines", async () => {
    const runId = "flood";
    const before = k.notifications.length;
    const r = await k.run(`for (let i = 0; i < 100000; i++) console.log("line " + i);\n"end"`, { runId });
    expect(r.value).toBe("'end'");
    const mine = k.notifications.slice(before).filter((n) => (n.params as { runId: string }).runId === runId);
    expect(mine.length).toBeLessThan(60);
    const outs = k.outputsOf(runId);
    const text = textOf(outs);
    const limit = init.limits.maxLinesPerCell;
    const tail = init.limits.tailLines;
    expect(text.startsWith("line 0\nline 1\n")).toBe(true);
    expect(text).toContain(`line ${limit - 1}\n`);
    expect(text).not.toContain(`line ${limit}\n`);
    expect(text.endsWith("line 99999\n")).toBe(true);
    expect(text).toContain(`line ${100000 - tail}\n`);
    expect(text).not.toContain(`line ${100000 - tail - 1}\n`);
    const summary = outs.find((o) => o.kind === "text" && o.omittedLines !== undefined) as { text: string; omittedLines: number };
    expect(summary.omittedLines).toBe(100000 - limit - tail);
    expect(summary.text).toContain(`${(100000 - limit - tail).toLocaleString("en-US")} more lines`);
    expect(r.omitted).toEqual({ lines: 100000 - limit - tail, displays: 0 });
    expect(text.length).toBeLessThan(30_000);
  });

  it("summarises a 100M-element array instead of sending it", async () => {
    const r = await k.run(`const huge = np.zeros([10000, 10000]).at(9999, 9999).set(7);\nhuge`, { runId: "huge" });
    expect(r.status).toBe("ok");
    expect(JSON.stringify(r).length).toBeLessThan(20_000);
    const v = r.valueOutput as ArrayOutput;
    expect(v).toMatchObject({ kind: "array", shape: [10000, 10000], dtype: "float32", size: 100_000_000 });
    expect(v.stats).toBeUndefined();
    expect(v.preview.truncated).toBe(true);
    expect(v.preview.rowIndex).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9990, 9991, 9992, 9993, 9994, 9995, 9996, 9997, 9998, 9999]);
    expect(v.preview.values.length * v.preview.values[0].length).toBeLessThanOrEqual(init.limits.maxPreviewElements);
    expect(v.preview.values[19][19]).toBe(7);
    expect(v.preview.values[0][0]).toBe(0);
    expect(r.value).toContain("...");
    expect(r.value).toContain("7.]]");
    await k.run("huge.dispose()");
  });

  it("shows plots and tables as data records", async () => {
    const runId = "plots";
    await k.run(
      `display(plot.line([3, 1, 2], { title: "loss" }));\n` +
        `import { plot as p2 } from "primal";\ndisplay(p2.hist(np.array([0, 1, 1, 2, 2, 2, 3, 3, 3, 3]), { bins: 4 }));\n` +
        `display([{ step: 1, loss: 0.5 }, { step: 2, loss: NaN }]);\n` +
        `display(plot.line(np.arange(100000).astype("float32")))`,
      { runId },
    );
    const [line, hist, table, long] = k.outputsOf(runId) as [PlotOutput, PlotOutput, TableOutput, PlotOutput];
    expect(line.plot).toMatchObject({ type: "line", title: "loss", series: [{ x: [0, 1, 2], y: [3, 1, 2] }], downsampledFrom: 0 });
    expect(hist.plot.bins).toEqual({ edges: [0, 0.75, 1.5, 2.25, 3], counts: [1, 2, 3, 4] });
    expect(table).toEqual({ kind: "table", columns: ["step", "loss"], rows: [[1, 0.5], [2, "NaN"]], totalRows: 2 });
    expect(long.plot.downsampledFrom).toBe(100000);
    const ys = long.plot.series![0].y as number[];
    expect(ys.length).toBeLessThanOrEqual(2000);
    expect(ys[0]).toBe(0);
    expect(ys[ys.length - 1]).toBe(99999);
  });

  it("sends progress: busy when a cell starts, ticks while it awaits, idle when it ends", async () => {
    const runId = "slow";
    const p = k.run(`await new Promise((r) => setTimeout(r, 1600));\n1`, { runId });
    await waitFor(() => k.progress.some((x) => x.runId === runId), 5000, "progress");
    const st: KernelStatus = await k.conn.sendRequest(Methods.status);
    expect(st.state).toBe("busy");
    expect(st.running).toMatchObject({ runId, file, cell: 0 });
    expect((await p).value).toBe("1");
    const mine = k.progress.filter((x) => x.runId === runId);
    expect(mine[0]).toMatchObject({ state: "busy", elapsedMs: 0 });
    expect(mine.at(-1)).toMatchObject({ state: "idle" });
    expect(mine.at(-1)!.elapsedMs).toBeGreaterThanOrEqual(1500);
    expect(mine.some((x) => x.state === "busy" && x.elapsedMs >= 900)).toBe(true);
    expect(((await k.conn.sendRequest(Methods.status)) as KernelStatus).state).toBe("idle");
  });

  it("turns JIT off and on with config/set, effective on the next run", async () => {
    const src = `import { jit } from "primal";\nlet calls = 0;\nconst f = jit((x) => { calls++; return x.mul(2); });`;
    await k.run(src);
    const twice = "calls = 0;\nf(np.ones([3]));\nf(np.ones([3]));\ncalls";
    expect((await k.run(twice)).value).toBe("1"); // traced once, then the compiled program runs
    const off: ConfigState = await k.conn.sendRequest(Methods.setConfig, { jitEnabled: false });
    expect(off.jitEnabled).toBe(false);
    expect((await k.run(twice)).value).toBe("2"); // eager: the function runs on every call
    expect((await k.run(`import { config } from "primal";\nconfig.read("jax_disable_jit")`)).value).toBe("true");
    expect(((await k.conn.sendRequest(Methods.setConfig, { jitEnabled: true })) as ConfigState).jitEnabled).toBe(true);
    // On again: the program compiled before the toggle is reused (no new trace, so no call).
    expect((await k.run(twice)).value).toBe("0");
  });

  it("selects the backend and PRNG mode with config/set, and refuses what it cannot apply", async () => {
    const cpu: ConfigState = await k.conn.sendRequest(Methods.setConfig, { backend: "cpu", prngPartitionable: false });
    expect(cpu).toMatchObject({ backend: "cpu", platform: "cpu", defaultDevice: "cpu:0", prngPartitionable: false });
    expect((await k.run(`config.read("jax_platform_name") + " " + config.read("jax_threefry_partitionable") + " " + np.ones([1]).device`)).value).toBe("'cpu false cpu:0'");
    await expect(k.conn.sendRequest(Methods.setConfig, { backend: "tpu" })).rejects.toMatchObject({
      code: KernelErrorCodes.invalidConfig,
      message: expect.stringMatching(/^config\/set: backend "tpu" has no devices here/),
    });
    await expect(k.conn.sendRequest(Methods.setConfig, { jitEnabled: "yes" })).rejects.toThrow(/jitEnabled must be a boolean/);
    // A refused request changes nothing.
    expect(((await k.conn.sendRequest(Methods.status)) as KernelStatus).config).toMatchObject({ backend: "cpu", prngPartitionable: false, jitEnabled: true });
    // The kernels panel's timing: on by default, off and on again through config/set.
    expect(await k.conn.sendRequest(Methods.setConfig, { kernelTiming: false })).toMatchObject({ kernelTiming: false });
    await expect(k.conn.sendRequest(Methods.setConfig, { kernelTiming: "yes" })).rejects.toThrow(/kernelTiming must be a boolean/);
    expect(await k.conn.sendRequest(Methods.setConfig, { kernelTiming: true })).toMatchObject({ kernelTiming: true });
    await k.conn.sendRequest(Methods.setConfig, { env: { PRIMAL_TEST_VAR: "hello" } });
    expect((await k.run("process.env.PRIMAL_TEST_VAR")).value).toBe("'hello'");
    const auto: ConfigState = await k.conn.sendRequest(Methods.setConfig, { backend: null, prngPartitionable: true, env: { PRIMAL_TEST_VAR: null } });
    expect(auto).toMatchObject({ backend: null, platform: "cpu", prngPartitionable: true });
    expect((await k.run("process.env.PRIMAL_TEST_VAR")).value).toBeUndefined();
  });

  it("opens the inspector for Debug Cell and runs a cell in debug mode", async () => {
    const d: { url: string; port: number } = await k.conn.sendRequest(Methods.debugStart, {});
    expect(d.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\//);
    expect(d.url).toContain(`:${d.port}/`);
    const r = await k.run("const dbg = counter * 10;\ndbg", { debug: true });
    expect(r.value).toBe("20");
    const e = await k.run("\nthrow new Error('boom')", { debug: true, cell: 7, startLine: 40 });
    expect(e.error!.location).toMatchObject({ cell: 7, line: 41 });
  });

  it("shuts down on request with exit code 0 and no crash message", async () => {
    await k.conn.sendRequest(Methods.shutdown);
    expect(await k.exited, `kernel stderr:\n${k.stderr()}`).toEqual({ code: 0, signal: null });
    expect(k.stderr()).not.toMatch(/primal kernel: exiting/);
  });
});

// A separate kernel: if interrupting fails, the loop would block every later test.
describe("kernel process: interrupt", () => {
  let k: KernelClient;
  beforeAll(async () => {
    k = startKernel(file);
    await k.initialize();
  });
  afterAll(() => k?.dispose());

  it("interrupts a synchronous infinite loop on SIGINT and keeps the kernel's state", async () => {
    await k.run(`import { np } from "primal";\nconst base = np.arange(4);\nlet kept = 41;`);
    const runId = "spin";
    const t0 = Date.now();
    const p = k.run("kept = 42;\nwhile (true) {}", { runId, cell: 5, startLine: 30 });
    await waitFor(() => k.progress.some((x) => x.runId === runId && x.state === "busy"), 5000, "the loop to start");
    await new Promise((r) => setTimeout(r, 300));
    k.proc.kill("SIGINT");
    const r = await p;
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(r.status).toBe("interrupted");
    expect(r.error).toMatchObject({ name: "Interrupted", location: { cell: 5 } });
    expect((await k.run("kept")).value).toBe("42");
    expect((await k.run("base.sum()")).value).toBe("Array(6, dtype=int32)"); // from before the interrupt
  });

  it("interrupts a cell that awaits forever with kernel/interrupt, and clears its timers", async () => {
    await k.run("let ticks = 0;");
    const runId = "await-forever";
    const p = k.run("setInterval(() => ticks++, 5);\nawait new Promise(() => {});", { runId });
    await waitFor(() => k.progress.some((x) => x.runId === runId), 5000, "the cell to start");
    await new Promise((r) => setTimeout(r, 100));
    const queued = k.run("'never runs'", { runId: "queued" });
    const ir = await k.conn.sendRequest(Methods.interrupt, {});
    expect(ir).toEqual({ interrupted: true, runId, cancelled: 1 });
    expect((await p).status).toBe("interrupted");
    expect((await queued).status).toBe("interrupted");
    const t1 = Number((await k.run("ticks")).value);
    expect(t1).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 100));
    expect(Number((await k.run("ticks")).value)).toBe(t1);
    // Idle: nothing to interrupt.
    expect(await k.conn.sendRequest(Methods.interrupt, {})).toEqual({ interrupted: false, cancelled: 0 });
  });

  it("a SIGINT while idle does not kill the kernel", async () => {
    k.proc.kill("SIGINT");
    await new Promise((r) => setTimeout(r, 100));
    expect((await k.run("1 + 1")).value).toBe("2");
  });

});

describe("kernel process: a cell that ends the process", () => {
  it("process.exit(3) in a cell ends the kernel with code 3 and says why on stderr", async () => {
    const k = startKernel(file);
    try {
      await k.initialize();
      expect((await k.run("1")).value).toBe("1");
      const r = k.run("print('bye');\nprocess.exit(3)");
      r.catch(() => undefined);
      expect(await k.exited).toEqual({ code: 3, signal: null });
      expect(k.stderr()).toContain("primal kernel: exiting with code 3 (process.exit() called by cell code)");
      k.dispose(); // the extension sees the exit, not a response
      await expect(r).rejects.toThrow(/connection got disposed/);
    } finally {
      k.dispose();
    }
  });

  it("a cell run before initialize is refused", async () => {
    const k = startKernel(file);
    try {
      await expect(k.run("1")).rejects.toThrow(/kernel\/initialize must come first/);
      await expect(k.conn.sendRequest(Methods.initialize, { protocolVersion: 1 })).rejects.toThrow(/protocol version mismatch, got 1/);
    } finally {
      k.dispose();
    }
  });
});
