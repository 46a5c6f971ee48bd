// The inspector panels' requests against a real kernel process (dist/kernel.js): after two
// cells (one defines a jitted function, the next calls it and runs a small valueAndGrad loop),
// inspect/irRecords, inspect/gradientRecords and inspect/kernelRecords answer structured
// records whose source lines point at the cells' lines in the file, whose gradients are named
// by parameter path with statistics recomputed here in float64, and whose kernels carry their
// sources; the text answers keep working beside them.
// A third cell trains with valueAndGrad inside a jitted step whose parameter shadows the
// cell's `params` (esbuild renames it in the cell's JS; the kernel puts the name back): the
// gradient record names the leaves `params.w`, carries the values the compiled step returned,
// and inspect/checkGrads re-checks them against finite differences.

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CheckGradsResult, GradientRecordsResult, IrRecordsResult, KernelRecordsResult, Methods } from "../../kernel/protocol";
import { KernelClient, startKernel, textOf, waitFor } from "./kernel-client";

const dir = mkdtempSync(join(tmpdir(), "primal-inspect-"));
const file = join(dir, "train.ts");
writeFileSync(file, "// the cells are sent with their lines; the file only has to exist\n");
let k: KernelClient;

// Cell 0 starts at line 2 of the file, cell 1 at line 10.
const cell0 = [
  `import { np, jit, valueAndGrad } from "primal";`, // 2
  `const predict = jit(function predict(params, x) {`, // 3
  `  const h = np.tanh(np.dot(x, params.w));`, // 4
  `  return h.add(params.b).sum();`, // 5
  `});`, // 6
].join("\n");
const cell1 = [
  `const params = { w: np.array([[0.5, -1], [0.25, 0], [1, 2]], { dtype: "float32" }), b: np.zeros([2]) };`, // 10
  `const x = np.arange(6).reshape([2, 3]).astype("float32");`, // 11
  `predict(params, x).item();`, // 12
  `const loss = (p, xb) => np.tanh(np.dot(xb, p.w)).add(p.b).sum();`, // 13
  `const vg = valueAndGrad(loss);`, // 14
  `for (let i = 0; i < 3; i++) vg(params, x);`, // 15
  `console.log(JSON.stringify(vg(params, x)[1].w.tolist()));`, // 16
].join("\n");
let gradW: number[][];
let run1 = "";

beforeAll(async () => {
  k = startKernel(file);
  await k.initialize();
  expect((await k.run(cell0, { cell: 0, startLine: 2 })).ok).toBe(true);
  const r = await k.run(cell1, { cell: 1, startLine: 10, runId: "train-run" });
  expect(r.error).toBeUndefined();
  run1 = r.runId;
  await waitFor(() => textOf(k.outputsOf(run1)).includes("\n"), 5000, "the printed gradient");
  gradW = JSON.parse(textOf(k.outputsOf(run1))) as number[][];
});
afterAll(() => k?.dispose());

describe("inspect/*Records over JSON-RPC", () => {
  it("irRecords: the jitted function's jaxpr, its equations at the lines of the cell that defined it", async () => {
    const res: IrRecordsResult = await k.conn.sendRequest(Methods.inspectIrRecords, { file });
    const r = res.records.find((x) => x.name === "predict")!;
    expect(r).toBeDefined();
    expect([r.kind, r.cell, r.runId]).toEqual(["jit", 1, run1]);
    expect(r.source).toMatchObject({ file, line: 12 });
    expect(r.text).toMatch(/^\{ lambda ; a:f32\[2\] b:f32\[3,2\] c:f32\[2,3\]\. let/);
    const lines = Object.fromEntries(r.jaxpr.eqns.map((e) => [e.primitive, e.source?.line]));
    expect(lines).toMatchObject({ dot_general: 4, tanh: 4, add: 5, reduce_sum: 5 });
    expect(r.jaxpr.eqns.every((e) => e.source?.file === file)).toBe(true);
    expect(r.optimized?.text).toMatch(/lambda/);
    // The grad's linear program is there too, traced by cell 1.
    expect(res.records.some((x) => x.kind === "grad" && x.name === "loss" && x.cell === 1)).toBe(true);
    // Another file's records are filtered out.
    expect((await k.conn.sendRequest<IrRecordsResult>(Methods.inspectIrRecords, { file: join(dir, "other.ts") })).records).toEqual([]);
  });

  it("gradientRecords: per parameter path, statistics equal to a float64 recomputation, a history of 4 calls", async () => {
    const res: GradientRecordsResult = await k.conn.sendRequest(Methods.inspectGradientRecords, {});
    expect(res.lastRunId).toBe(run1);
    const r = res.records.find((x) => x.name === "loss")!;
    expect([r.kind, r.calls, r.history.length, r.cell]).toEqual(["valueAndGrad", 4, 4, 1]);
    expect(r.source).toMatchObject({ file, line: 16 });
    expect(r.last.leaves.map((l) => [l.path, l.shape])).toEqual([["p.b", [2]], ["p.w", [3, 2]]]);
    const w = r.last.leaves[1].stats!;
    const flat = gradW.flat();
    expect(w.l2 as number).toBeCloseTo(Math.hypot(...flat), 12);
    expect([w.min, w.max]).toEqual([Math.min(...flat), Math.max(...flat)]);
    expect(w.mean as number).toBeCloseTo(flat.reduce((a, b) => a + b, 0) / flat.length, 12);
    expect(w.histogram.counts.reduce((a, b) => a + b, 0)).toBe(6);
    // d/db of sum(... + b) over 2 rows: 2 per element.
    expect(r.last.leaves[0].stats).toMatchObject({ l2: Math.hypot(2, 2), min: 2, max: 2, zeroFraction: 0, nanCount: 0, infCount: 0 });
    expect(typeof r.last.value).toBe("number");
    expect(r.history.every((h) => typeof h.globalNorm === "number" && h.value === r.last.value)).toBe(true);
  });

  it("kernelRecords: the compiled program's steps with their sources, its run and IR record", async () => {
    const ir: IrRecordsResult = await k.conn.sendRequest(Methods.inspectIrRecords, {});
    const res: KernelRecordsResult = await k.conn.sendRequest(Methods.inspectKernelRecords, {});
    const r = res.records.find((x) => x.name === "predict")!;
    expect([r.platform, r.adapter, r.cell, r.runId, r.cacheHit]).toEqual(["cpu", "cpu", 1, run1, null]);
    expect(r.irRecordId).toBe(ir.records.find((x) => x.name === "predict")!.id);
    expect(r.calls).toBe(1);
    const kernels = r.steps.filter((s) => s.kind === "kernel");
    expect(kernels.length).toBe(r.counts.kernels);
    expect(kernels.length).toBeGreaterThan(0);
    for (const s of kernels) {
      expect(["javascript", "wat"]).toContain(s.language);
      expect(s.source!.length).toBeGreaterThan(0);
      expect(s.eqns.length).toBe(s.eqnText.length);
    }
    expect(r.steps.flatMap((s) => s.eqnText).join("\n")).toMatch(/dot_general/);
    // Timing is on in the kernel process: every kernel that ran has a measured time, and its bindings.
    expect(r.timingOn).toBe(true);
    for (const s of kernels) {
      expect(s.timing.calls).toBe(1);
      expect(s.timing.totalMs).toBeGreaterThanOrEqual(0);
      expect(s.bindings![0]).toMatchObject({ binding: 0, access: "write" });
      expect(s.bindings!.slice(1).every((b) => b.access === "read" && /^[a-z]+\d*\[/.test(b.aval!))).toBe(true);
    }
  });

  it("keeps the text answers", async () => {
    const t = await k.conn.sendRequest<{ count: number; text: string }>(Methods.inspectJaxprs, { file });
    expect(t.text).toMatch(/--- jaxpr of jit\(predict\)/);
    const g = await k.conn.sendRequest<{ count: number; text: string }>(Methods.inspectGradients, {});
    expect(g.text).toMatch(/linear program of grad\(loss\)/);
  });

  it("a jitted training step: gradients the compiled step returned, named by the cell's parameter names, and checkGrads", async () => {
    const cell2 = [
      `const lossFn = (params, xb) => np.square(np.dot(xb, params.w).add(params.b)).mean();`, // 20
      `const step = jit((params, xb) => {`, // 21
      `  const [l, g] = valueAndGrad(lossFn)(params, xb);`, // 22
      `  return [{ w: params.w.sub(g.w.mul(0.1)), b: params.b.sub(g.b.mul(0.1)) }, l];`, // 23
      `});`, // 24
      `let state = params;`, // 25
      `const seen = [];`, // 26
      `for (let i = 0; i < 5; i++) { seen.push(state.w.tolist()); const [next, l] = step(state, x); state = next; }`, // 27
      `console.log(JSON.stringify({ w: seen[4], b: seen.length }));`, // 28
    ].join("\n");
    const r = await k.run(cell2, { cell: 2, startLine: 20, runId: "jit-run" });
    expect(r.error).toBeUndefined();
    await waitFor(() => textOf(k.outputsOf(r.runId)).includes("\n"), 5000, "the printed weights");
    const res: GradientRecordsResult = await k.conn.sendRequest(Methods.inspectGradientRecords, {});
    const g = res.records.find((q) => q.name === "lossFn")!;
    expect(g.calls).toBe(5);
    expect(g.last.origin).toBe("jit");
    expect(g.last.leaves.map((q) => [q.path, q.shape])).toEqual([["params.b", [2]], ["params.w", [3, 2]]]);
    expect(g.last.leaves.every((q) => typeof q.stats?.l2 === "number" && Number.isFinite(q.stats.l2))).toBe(true);
    expect(g.history).toHaveLength(5);
    const chk: CheckGradsResult = await k.conn.sendRequest(Methods.inspectCheckGrads, { recordId: g.id });
    expect(chk.message).toBeUndefined();
    expect(chk.ok).toBe(true);
    expect(chk.leaves!.map((q) => q.path)).toEqual(["params.b", "params.w"]);
    await expect(k.conn.sendRequest(Methods.inspectCheckGrads, { recordId: "x" })).rejects.toThrow(/recordId/);
  });
});
