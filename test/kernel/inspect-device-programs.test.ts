// The kernels panel's records of the programs the CPU devices' own threads compile (issue 8:
// "the IR and kernels panels show per-device programs"), over 2 logical CPU devices
// (PRIMAL_CPU_DEVICES=2, read when the CPU backend loads, so it is set in vi.hoisted before the
// kernel is imported). A pmap whose body has a psum in the middle is cut into two programs, each
// compiled and run on both devices' threads; inspect/kernelRecords (kernelRecords) then answers
// with one record per program and device, named after the pmapped function, carrying its device
// and linked to the pmap's IR record. Checked against independent references: the outputs
// against float64, the equations each program covers against the positions of the psum in the
// IR record's own jaxpr, the steps and kernel sources against the same program compiled on this
// thread, the measured kernel calls against the number of pmap calls (following this thread's
// timing setting when it changes). Also: asking starts no thread, ids are unique and decodable,
// the ids and file filters, the merged order (newest first, a program's devices together), the
// panel's guard, and a one-device pmap's programs compiled on this thread, linked the same way.

import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

const savedDevices = vi.hoisted(() => {
  const was = process.env.PRIMAL_CPU_DEVICES;
  process.env.PRIMAL_CPU_DEVICES = "2";
  return was;
});

import { ClosedJaxpr, NDArray, devices, jit, lax, np, pmap } from "../../kernel/index";
import { deviceThreadRecords, deviceThreadStats, deviceThreadsEnabled } from "../../kernel/backends/cpu/device-threads";
import { bind } from "../../kernel/core/trace";
import { setKernelTiming } from "../../kernel/lower/inspect";
import { jitP } from "../../kernel/transforms/jit";
import { compiledRecordOf } from "../../kernel/lower/jit-runner";
import { IrRecord, KernelProgramRecord, validateHostMessage } from "../../kernel/protocol";
import { DEVICE_RECORD_IDS, splitDeviceRecordId } from "../../kernel/server/inspect-devices";
import { clearInspectRecords, irRecords, kernelProgramRecord, kernelRecords, setInspectRecording } from "../../kernel/server/inspect-records";

const N = 4096;
const devs = devices("cpu");

/** The body: two elementwise runs with a psum between them, so pmap cuts it into two programs. */
function centre(x: NDArray): NDArray {
  const s = np.exp(x.mul(0.001)).mul(2);
  const t = lax.psum(s, "i");
  return np.sin(s.div(t)).add(x);
}
const centred = pmap(centre, { axisName: "i" });

/** x[d][j] = (d * N + j) mod 97 - 48: distinct shards. */
const input = () => np.array(Array.from({ length: 2 }, (_, d) => Array.from({ length: N }, (_, j) => ((d * N + j) % 97) - 48)), { dtype: "float32" });

/** The float64 reference of the body over both shards. */
function reference(): number[] {
  const x = (d: number, j: number) => ((d * N + j) % 97) - 48;
  const s = (d: number, j: number) => 2 * Math.exp(Math.fround(x(d, j) * Math.fround(0.001)));
  const out: number[] = [];
  for (let d = 0; d < 2; d++) for (let j = 0; j < N; j++) out.push(Math.sin(s(d, j) / (s(0, j) + s(1, j))) + x(d, j));
  return out;
}

const deviceRecords = (recs: KernelProgramRecord[]) => recs.filter((r) => r.device !== undefined);
const pmapRecord = (name: string): IrRecord => {
  const r = irRecords().records.find((q) => q.kind === "pmap" && q.name === name);
  if (!r) throw new Error(`no pmap IR record of ${name}`);
  return r;
};

beforeAll(() => {
  setInspectRecording(true);
  clearInspectRecords();
  setKernelTiming(true);
});
afterAll(() => {
  setKernelTiming(false);
  setInspectRecording(false);
  if (savedDevices === undefined) delete process.env.PRIMAL_CPU_DEVICES;
  else process.env.PRIMAL_CPU_DEVICES = savedDevices;
});

describe("per-device programs in inspect/kernelRecords", () => {
  it("two CPU devices with threads of their own; asking for records before any pmap starts no thread", () => {
    expect(devs.map(String)).toEqual(["cpu:0", "cpu:1"]);
    expect(deviceThreadsEnabled()).toBe(true);
    jit(function warm(x: NDArray) {
      return x.add(1);
    })(np.ones([3]));
    const r = kernelRecords({});
    expect(r.records.map((q) => q.name)).toEqual(["warm"]);
    expect(deviceRecords(r.records)).toEqual([]);
    expect(deviceThreadStats()).toEqual([]);
  });

  let recs: KernelProgramRecord[] = [];
  let ir: IrRecord;

  it("a pmap with a psum in the middle: outputs against float64", () => {
    const x = input();
    centred(x).dispose();
    const out = centred(x);
    const got = Array.from(out.dataSync() as Float32Array);
    const want = reference();
    got.forEach((v, k) => {
      if (!(Math.abs(v - want[k]) <= 2e-6 * Math.max(1, Math.abs(want[k])))) throw new Error(`element ${k}: got ${v}, want ${want[k]}`);
    });
    ir = pmapRecord("centre");
    recs = deviceRecords(kernelRecords({}).records);
  });

  it("one record per program and device, named after the pmapped function, linked to the pmap's IR record", () => {
    expect(recs).toHaveLength(4);
    for (const r of recs) {
      expect(r.name).toBe("centre");
      expect(r.platform).toBe("cpu");
      expect(r.irRecordId).toBe(ir.id);
      expect(r.calls).toBe(2);
      expect(r.source?.file).toBe(__filename);
    }
    // Newest first, the two devices of a program together, cpu:0 first.
    expect(recs.map((r) => r.device)).toEqual(["cpu:0", "cpu:1", "cpu:0", "cpu:1"]);
    // The equations each program computes are those before and after the psum in the IR record's jaxpr.
    const prims = ir.jaxpr.eqns.map((e) => e.primitive);
    const cut = prims.indexOf("psum");
    expect(cut).toBeGreaterThan(0);
    const before = prims.slice(0, cut).map((_, k) => k);
    const after = prims.slice(cut + 1).map((_, k) => cut + 1 + k);
    expect(recs.map((r) => r.irEqns)).toEqual([after, after, before, before]);
    // And their steps compute those primitives.
    const fused = (r: KernelProgramRecord) => r.steps.flatMap((s) => s.eqnText).map((t) => t.split(" = ")[1].split(/[\s[]/)[0]);
    expect(new Set(fused(recs[0]))).toEqual(new Set(after.map((k) => prims[k])));
    expect(new Set(fused(recs[2]))).toEqual(new Set(before.map((k) => prims[k])));
  });

  it("ids are unique across the threads and this process, and say which device holds them", () => {
    const all = kernelRecords({}).records;
    expect(new Set(all.map((r) => r.id)).size).toBe(all.length);
    for (const r of all) {
      const s = splitDeviceRecordId(r.id);
      if (r.device === undefined) {
        expect(r.id).toBeLessThan(DEVICE_RECORD_IDS);
        expect(s).toBeNull();
      } else expect(`cpu:${s!.device}`).toBe(r.device);
    }
    // The same ids on the next request (the panel keys what is expanded by id).
    expect(deviceRecords(kernelRecords({}).records).map((r) => r.id)).toEqual(recs.map((r) => r.id));
  });

  it("the ids, file and limit filters", () => {
    const one = kernelRecords({ ids: [recs[1].id] }).records;
    expect(one.map((r) => [r.id, r.device])).toEqual([[recs[1].id, "cpu:1"]]);
    expect(one[0].steps.map((s) => s.name)).toEqual(recs[1].steps.map((s) => s.name));
    const mixed = kernelRecords({ ids: [recs[2].id, recs[3].id, kernelRecords({}).records.find((r) => r.name === "warm")!.id] }).records;
    expect(mixed.map((r) => r.device ?? r.name)).toEqual(["cpu:0", "cpu:1", "warm"]);
    // Every record here was made from this file; the device records' file is the pmap call's.
    expect(deviceRecords(kernelRecords({ file: __filename }).records)).toHaveLength(4);
    expect(kernelRecords({ file: "/nowhere.ts" }).records).toEqual([]);
    const two = kernelRecords({ limit: 2 });
    expect(two.records.map((r) => r.device)).toEqual(["cpu:0", "cpu:1"]);
    // The total counts the threads' records too.
    expect(two.total).toBe(kernelRecords({ limit: 200 }).records.length);
  });

  it("a program compiled after the pmap comes first (merged by compile time)", () => {
    jit(function later(x: NDArray) {
      return x.mul(3);
    })(np.ones([2]));
    const names = kernelRecords({}).records.map((r) => r.device ?? r.name);
    expect(names).toEqual(["later", "cpu:0", "cpu:1", "cpu:0", "cpu:1", "warm"]);
  });

  it("kernel timing: every step of every device's record measured each call while timing is on", () => {
    for (const r of recs) {
      expect(r.timingOn).toBe(true);
      expect(r.steps.length).toBeGreaterThan(0);
      for (const s of r.steps) {
        expect(s.timing.calls).toBe(2);
        expect(s.timing.totalMs).toBeGreaterThan(0);
      }
    }
  });

  it("the threads follow this thread's timing setting when it changes", () => {
    const x = input();
    setKernelTiming(false);
    try {
      centred(x).dispose();
      const off = deviceRecords(kernelRecords({}).records);
      expect(off.map((r) => r.calls)).toEqual([3, 3, 3, 3]);
      for (const r of off) {
        expect(r.timingOn).toBe(false);
        for (const s of r.steps) expect(s.timing.calls).toBe(2);
      }
    } finally {
      setKernelTiming(true);
    }
    centred(x).dispose();
    const on = deviceRecords(kernelRecords({}).records);
    expect(on.map((r) => r.calls)).toEqual([4, 4, 4, 4]);
    for (const r of on) {
      expect(r.timingOn).toBe(true);
      for (const s of r.steps) expect(s.timing.calls).toBe(3);
    }
  });

  it("each device's steps and kernel sources are those of the same program compiled on this thread", () => {
    const threads = deviceThreadRecords(() => ({}));
    expect(threads.map((t) => String(t.device))).toEqual(["cpu:0", "cpu:1"]);
    const byId = new Map(deviceRecords(kernelRecords({}).records).map((r) => [r.id, r]));
    let compared = 0;
    for (const t of threads)
      for (const { record, program } of t.records) {
        expect(program).toBeInstanceOf(ClosedJaxpr);
        // Run here as often as on the threads: small kernels turn to wasm at a program's second call.
        for (let k = 0; k < 2; k++) for (const o of bind(jitP, program!.inAvals.map((a) => np.zeros(a.shape, { dtype: a.dtype.name })), { jaxpr: program!, name: "same" })) o.dispose();
        const main = compiledRecordOf(program!, "cpu");
        expect(main).not.toBeNull();
        const mine = kernelProgramRecord(main!);
        const theirs = [...byId.values()].find((r) => r.device === String(t.device) && splitDeviceRecordId(r.id)!.local === record.id)!;
        expect(theirs).toBeDefined();
        const shape = (r: KernelProgramRecord) => r.steps.map((s) => ({ kind: s.kind, name: s.name, source: s.source, language: s.language, ir: s.ir, eqnText: s.eqnText, launchShape: s.launchShape }));
        expect(shape(theirs)).toEqual(shape(mine));
        expect(theirs.counts).toEqual(mine.counts);
        expect(theirs.eqnCount).toBe(mine.eqnCount);
        expect(theirs.steps.some((s) => s.kind === "kernel" && s.source)).toBe(true);
        compared++;
      }
    expect(compared).toBe(4);
  });

  it("the message carrying them passes the panel's guard", () => {
    const data = kernelRecords({});
    const m = JSON.parse(JSON.stringify({ type: "kernelRecords", data, devices: [], kernel: "idle" }));
    expect(validateHostMessage(m)).toEqual(m);
  });

  it("a one-device pmap compiles its programs on this thread: linked to its IR record the same way, with no device", () => {
    const halved = pmap(
      function halve(x: NDArray) {
        const m = x.mul(0.5);
        return lax.psum(m, "j").add(m);
      },
      { axisName: "j", devices: [devs[0]] },
    );
    const out = halved(np.array([[2, 4, 6]], { dtype: "float32" }));
    expect(Array.from(out.dataSync() as Float32Array)).toEqual([2, 4, 6]);
    const rec = pmapRecord("halve");
    const mine = kernelRecords({}).records.filter((r) => r.name === "halve");
    expect(mine.length).toBeGreaterThan(0);
    const prims = rec.jaxpr.eqns.map((e) => e.primitive);
    const cut = prims.indexOf("psum");
    for (const r of mine) {
      expect(r.device).toBeUndefined();
      expect(r.irRecordId).toBe(rec.id);
      expect(r.id).toBeLessThan(DEVICE_RECORD_IDS);
    }
    expect(mine.map((r) => r.irEqns).sort()).toEqual([prims.slice(0, cut).map((_, k) => k), prims.slice(cut + 1).map((_, k) => cut + 1 + k)].filter((e) => e.length).sort());
  });
});
