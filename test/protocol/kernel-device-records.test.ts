// inspect/kernelRecords of a real kernel process (dist/kernel.js, with its bundled device-thread
// code dist/cpu-device-thread.js) started with two CPU devices (PRIMAL_CPU_DEVICES=2): a cell
// runs a pmap whose body has a psum in the middle, and the answer carries the programs the two
// device threads compiled, one record per program and device, named after the pmapped function,
// pointing at the cell's line that called it and at the pmap's IR record, with the kernel times
// the threads measured (the kernel process times kernels by default). Turning kernel timing off
// with config/set reaches the threads: the next run is not measured there.

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IrRecordsResult, KernelProgramRecord, KernelRecordsResult, Methods, validateHostMessage } from "../../kernel/protocol";
import { KernelClient, startKernel } from "./kernel-client";

const dir = mkdtempSync(join(tmpdir(), "primal-devices-"));
const file = join(dir, "data-parallel.ts");
writeFileSync(file, "// the cells are sent with their lines; the file only has to exist\n");
let k: KernelClient;

// The cell starts at line 3 of the file.
const cell = [
  `import { np, lax, pmap } from "primal";`, // 3
  `const centre = pmap(function centre(x) {`, // 4
  `  const s = np.exp(x).mul(2);`, // 5
  `  return np.sin(s.div(lax.psum(s, "i")));`, // 6
  `}, { axisName: "i" });`, // 7
  `const x = np.arange(2048).reshape([2, 1024]).astype("float32").mul(0.001);`, // 8
  `centre(x).sum().item();`, // 9
  `centre(x).sum().item();`, // 10
].join("\n");

const deviceRecords = async (): Promise<KernelProgramRecord[]> => {
  const res: KernelRecordsResult = await k.conn.sendRequest(Methods.inspectKernelRecords, { file });
  expect(typeof validateHostMessage({ type: "kernelRecords", data: res, devices: [], kernel: "idle" })).toBe("object");
  return res.records.filter((r) => r.device !== undefined);
};

beforeAll(async () => {
  k = startKernel(file, { PRIMAL_CPU_DEVICES: "2" });
  await k.initialize();
  const r = await k.run(cell, { cell: 0, startLine: 3, runId: "pmap-run" });
  expect(r.error).toBeUndefined();
}, 60_000);
afterAll(() => k?.dispose());

describe("inspect/kernelRecords with CPU devices of their own", () => {
  it("answers each device's compiled programs, linked to the pmap's IR record and the cell's line", async () => {
    const ir: IrRecordsResult = await k.conn.sendRequest(Methods.inspectIrRecords, { file });
    const pmapRec = ir.records.find((r) => r.kind === "pmap" && r.name === "centre")!;
    expect(pmapRec).toBeDefined();
    const recs = await deviceRecords();
    expect(recs.map((r) => r.device)).toEqual(["cpu:0", "cpu:1", "cpu:0", "cpu:1"]);
    const prims = pmapRec.jaxpr.eqns.map((e) => e.primitive);
    const cut = prims.indexOf("psum");
    for (const r of recs) {
      expect(r.name).toBe("centre");
      expect(r.irRecordId).toBe(pmapRec.id);
      expect([r.cell, r.runId]).toEqual([0, "pmap-run"]);
      expect(r.source?.file).toBe(file);
      expect([9, 10]).toContain(r.source?.line);
      expect(r.calls).toBe(2);
      expect(r.steps.length).toBeGreaterThan(0);
      expect(r.steps.every((s) => s.source === null || s.source.length > 0)).toBe(true);
    }
    expect(recs.map((r) => r.irEqns![0] < cut)).toEqual([false, false, true, true]);
  });

  it("the threads measure their kernels while the kernel process has timing on, and stop when config/set turns it off", async () => {
    for (const r of await deviceRecords()) {
      expect(r.timingOn).toBe(true);
      for (const s of r.steps) expect(s.timing.calls).toBe(2);
    }
    await k.conn.sendRequest(Methods.setConfig, { kernelTiming: false });
    expect((await k.run("centre(x).sum().item();", { cell: 1, startLine: 12 })).error).toBeUndefined();
    const off = await deviceRecords();
    expect(off.map((r) => r.calls)).toEqual([3, 3, 3, 3]);
    for (const r of off) {
      expect(r.timingOn).toBe(false);
      for (const s of r.steps) expect(s.timing.calls).toBe(2);
    }
    await k.conn.sendRequest(Methods.setConfig, { kernelTiming: true });
  });
});
