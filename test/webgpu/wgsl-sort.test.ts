// The WGSL lowering of sort (kernel/backends/webgpu/wgsl-sort.ts): on the device, bit-exact
// against the CPU implementation (sort.cpu, an independent implementation on V8's stable sort)
// for every key dtype, NaN/-0/duplicates, stability, several operands and sort dimensions, rows
// of 1, non-powers of two and 2^20; without a device, the structure of the generated passes.

import { describe, expect, it } from "vitest";
import { ShapedArray } from "../../kernel/core/aval";
import { DType, bool, float16, float32, int32, uint32 } from "../../kernel/core/dtype";
import { Storage } from "../../kernel/core/dtype";
import { sizeOf } from "../../kernel/core/shape";
import { sort, SortParams } from "../../kernel/primitives/sort";
import { DEFAULT_CAPS, WgslCall, wgslRule } from "../../kernel/backends/webgpu/wgsl-library";
import { SortPlan, sortPlan, sortRule, sortStages } from "../../kernel/backends/webgpu/wgsl-sort";
import { gpuRequired, rawDevice, runCall } from "./helpers/raw-device";
import { rng } from "../kernel/helpers/rng";


interface Arr {
  data: Storage;
  shape: number[];
  dtype: DType;
}

/** Float32 keys with many ties and the special values: NaNs of both signs and payloads, +-0, +-inf, subnormals. */
function floatKeys(n: number, seed: number): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  const u = new Uint32Array(out.buffer);
  for (let i = 0; i < n; i++) {
    const c = r();
    if (c < 0.05) u[i] = 0x7fc00000;
    else if (c < 0.08) u[i] = 0xffc00001; // a negative NaN with a payload
    else if (c < 0.13) out[i] = 0;
    else if (c < 0.18) out[i] = -0;
    else if (c < 0.2) out[i] = Infinity;
    else if (c < 0.22) out[i] = -Infinity;
    else if (c < 0.24) u[i] = (r() < 0.5 ? 0x80000000 : 0) | 1 + Math.floor(r() * 0x7fffff); // subnormal
    else out[i] = Math.round((r() - 0.5) * 40) / 4; // few distinct values: ties
  }
  return out;
}

function intData(dtype: DType, n: number, seed: number, span: number): Storage {
  const r = rng(seed);
  const out = new dtype.storage(n);
  for (let i = 0; i < n; i++) {
    if (dtype === uint32) out[i] = r() < 0.3 ? 0xffffffff - Math.floor(r() * span) : Math.floor(r() * span);
    else if (dtype === int32) out[i] = r() < 0.1 ? (r() < 0.5 ? -2147483648 : 2147483647) : Math.floor((r() - 0.5) * span);
    else out[i] = r() < 0.5 ? 1 : 0;
  }
  return out;
}

const iota = (n: number) => Int32Array.from({ length: n }, (_, i) => i);

/** Same values, NaN matching any NaN (the CPU may canonicalise a payload when it copies), -0 distinct from +0. */
function expectSame(got: Storage, want: Storage, what: string): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const g = got[i];
    const w = want[i];
    if (!(Object.is(g, w) || (g !== g && w !== w))) throw new Error(`${what}: element ${i} is ${Object.is(g, -0) ? "-0" : g}, the CPU has ${Object.is(w, -0) ? "-0" : w}`);
  }
}

async function checkSort(xs: Arr[], p: SortParams): Promise<WgslCall | null> {
  const dev = await rawDevice();
  if (!dev) {
    if (gpuRequired) throw new Error("no WebGPU adapter (PRIMAL_CI=1 requires one)");
    return null;
  }
  const avals = xs.map((x) => new ShapedArray(x.shape, x.dtype));
  const call = sortRule(avals, avals, p, dev.caps);
  if ("why" in call) throw new Error(call.why);
  const n = sizeOf(xs[0].shape);
  const got = await runCall(dev, call, xs.map((x) => ({ dtype: x.dtype, elements: n })), xs);
  const want = sort.cpu(xs, p, avals);
  xs.forEach((x, i) => expectSame(got[i], want[i], `operand ${i} (${x.dtype.name})`));
  return call;
}

describe("sort on the device, bit-exact against sort.cpu", () => {
  it("float32 keys with NaN, -0, inf, subnormals and ties; the values follow stably", async () => {
    const n = 1000;
    const keys = floatKeys(n, 1);
    const call = await checkSort([{ data: keys, shape: [n], dtype: float32 }, { data: iota(n), shape: [n], dtype: int32 }], { dimension: 0, is_stable: false, num_keys: 1 });
    if (call) expect(call.note).toMatch(/padded to 1024/);
  });

  it("two keys of three operands (int32, uint32 keys, bool values), sorted along the middle axis", async () => {
    const shape = [3, 45, 7];
    const n = sizeOf(shape);
    await checkSort(
      [
        { data: intData(int32, n, 2, 6), shape, dtype: int32 },
        { data: intData(uint32, n, 3, 4), shape, dtype: uint32 },
        { data: intData(bool, n, 4, 0), shape, dtype: bool },
      ],
      { dimension: 1, is_stable: true, num_keys: 2 },
    );
  });

  it("many short rows, bool keys, four operands (two gather passes), along the last axis", async () => {
    const shape = [300, 3];
    const n = sizeOf(shape);
    const call = await checkSort(
      [
        { data: intData(bool, n, 5, 0), shape, dtype: bool },
        { data: floatKeys(n, 6), shape, dtype: float32 },
        { data: iota(n), shape, dtype: int32 },
        { data: intData(uint32, n, 7, 1000), shape, dtype: uint32 },
      ],
      { dimension: 1, is_stable: false, num_keys: 1 },
    );
    if (call) expect(call.passes.filter((k) => k.code.includes("gather")).length).toBe(2);
  });

  it("rows longer than a block (global steps), along axis 0", async () => {
    const shape = [3000, 2];
    const n = sizeOf(shape);
    const call = await checkSort([{ data: floatKeys(n, 8), shape, dtype: float32 }, { data: iota(n), shape, dtype: int32 }], { dimension: 0, is_stable: true, num_keys: 1 });
    if (call) expect(call.passes.filter((k) => k.code.includes("stage and distance from ctl")).length).toBeGreaterThan(10);
  });

  it("one row of 2^20 float32 keys with an int32 payload", async () => {
    const n = 2 ** 20;
    const keys = floatKeys(n, 9);
    await checkSort([{ data: keys, shape: [n], dtype: float32 }, { data: iota(n), shape: [n], dtype: int32 }], { dimension: 0, is_stable: true, num_keys: 1 });
  }, 60000);

  it("rows of one element and of two, and empty operands", async () => {
    await checkSort([{ data: Float32Array.of(3, -0, NaN, 1), shape: [4, 1], dtype: float32 }], { dimension: 1, is_stable: true, num_keys: 1 });
    await checkSort([{ data: Float32Array.of(NaN, -0, 0, -0, 2, 1), shape: [3, 2], dtype: float32 }, { data: iota(6), shape: [3, 2], dtype: int32 }], { dimension: 1, is_stable: true, num_keys: 1 });
    const dev = await rawDevice();
    const call = sortRule([new ShapedArray([0, 5], float32)], [new ShapedArray([0, 5], float32)], { dimension: 1, is_stable: true, num_keys: 1 }, dev?.caps ?? DEFAULT_CAPS);
    expect(call).toEqual({ passes: [], temps: [], note: "sort: empty operands" });
  });
});

describe("sort's generated passes (no device)", () => {
  const avals = (shape: number[], ...ds: DType[]) => ds.map((d) => new ShapedArray(shape, d));

  it("is registered, and its passes follow the network's stages", () => {
    expect(wgslRule("sort")).toBe(sortRule);
    // P = 2^12, 2 words per record: 8 records per invocation (S = 3). One record pass; one pass
    // for stages 2..8; stages 2^4..2^12 have 4..12 steps, 3 per pass: 2+2+2+3+3+3+4+4+4 = 27
    // network passes, each but the last followed by a control pass; one gather.
    const p = { dimension: 0, is_stable: true, num_keys: 1 };
    const pl = sortPlan([4000], p, DEFAULT_CAPS);
    expect(pl).toMatchObject({ P: 4096, R: 2, N: 4096, S: 3 });
    const call = sortRule(avals([4000], float32), avals([4000], float32), p, DEFAULT_CAPS) as WgslCall;
    expect(call.passes.length).toBe(1 + 1 + 27 + 26 + 1);
    // The network passes' text does not depend on the length: 3 step counts + 3 control passes + stage 0.
    const texts = new Set(call.passes.map((k) => k.code));
    expect(texts.size).toBe(1 + 1 + 3 + 3 + 1);
    const other = sortRule(avals([300, 7], float32), avals([300, 7], float32), { dimension: 0, is_stable: true, num_keys: 1 }, DEFAULT_CAPS) as WgslCall;
    expect(other.passes.filter((k) => !texts.has(k.code)).map((k) => k.code.split("\n")[0])).toEqual([
      "// sort: records of key 0 (float32), 7 rows of 300 padded to 512",
      "// sort: gather operands 0 by the sorted positions",
    ]);
    expect(call.temps).toEqual([{ dtype: uint32, elements: 4096 * 2 }, { dtype: uint32, elements: 4 }]);
    // Every step of the network, each once: stage k has the distances k/2 .. 1 in order.
    const stages = sortStages(pl as SortPlan);
    for (let k = 16; k <= 4096; k *= 2) {
      const d = stages.filter((s) => s.k === k).flatMap((s) => s.dists);
      expect(d).toEqual(Array.from({ length: Math.log2(k) }, (_, i) => k / 2 ** (i + 1)));
    }
    // Stage 0 holds 8 contiguous records per invocation: 4 exchanges per step, 1 + 2 + 3 = 6 steps.
    const first = call.passes[1].code;
    expect(first.match(/^\s*\{ let sw = /gm)?.length).toBe(4 * 6);
    expect(call.passes[1].invocations).toBe(4096 / 8);
  });

  it("keeps every pass within the limits: bindings distinct and at most 8, outputs written, no workgroup memory", () => {
    const ins = avals([2, 3000, 3], float32, int32, uint32, bool, float32);
    const call = sortRule(ins, ins, { dimension: 1, is_stable: false, num_keys: 3 }, DEFAULT_CAPS) as WgslCall;
    const nbufs = 2 * ins.length + call.temps.length;
    for (const k of call.passes) {
      const bufs = k.bindings.map((b) => b.buf);
      expect(new Set(bufs).size).toBe(bufs.length);
      expect(bufs.length).toBeLessThanOrEqual(8);
      expect(bufs.every((b) => b >= 0 && b < nbufs)).toBe(true);
      expect(k.workgroupSize).toBeLessThanOrEqual(DEFAULT_CAPS.maxInvocations);
      expect(k.code).not.toContain("var<workgroup>");
      for (const b of k.bindings) if (b.access === "read_write") expect(b.buf < ins.length || b.buf >= 2 * ins.length).toBe(true);
    }
    for (let o = 0; o < ins.length; o++) expect(call.passes.some((k) => k.bindings.some((b) => b.buf === o && b.access === "read_write"))).toBe(true);
    // 4 words per record: 8 records per invocation.
    expect(sortPlan([2, 3000, 3], { dimension: 1, is_stable: false, num_keys: 3 }, DEFAULT_CAPS)).toMatchObject({ R: 4, S: 3, P: 4096, N: 6 * 4096 });
  });

  it("maps keys to integer order keys (no float compares) and declines what it cannot store", () => {
    const call = sortRule(avals([10], float32), avals([10], float32), { dimension: 0, is_stable: true, num_keys: 1 }, DEFAULT_CAPS) as WgslCall;
    const text = call.passes.map((k) => k.code).join("\n");
    expect(text).toContain("fn p_okey(x: f32) -> u32");
    expect(text).not.toMatch(/f32\(|: f32 =|< 0\.0/);
    const r = sortRule(avals([10], float16), avals([10], float16), { dimension: 0, is_stable: true, num_keys: 1 }, DEFAULT_CAPS);
    expect(r).toEqual({ why: expect.stringContaining("float16") });
    const big = sortRule(avals([2 ** 25 + 1], float32), avals([2 ** 25 + 1], float32), { dimension: 0, is_stable: true, num_keys: 1 }, DEFAULT_CAPS);
    expect(big).toEqual({ why: expect.stringContaining("storage binding") });
  });
});
