// The WGSL lowering of dot_general (kernel/backends/webgpu/wgsl-dot.ts): the generated text and
// the variant choice without a device, and every variant run on the test device against a
// reference computed here straight from the dimension numbers (float64 for floats, Math.imul
// wrapping for integers). float32 results are compared with a bound of a few ulps times
// sqrt(K) times sum |a_k b_k| per element: the GPU sums in f32 (the CPU in float64), but a
// wrong index is off by the size of the terms themselves.

import { describe, expect, it } from "vitest";
import { ShapedArray } from "../../kernel/core/aval";
import { DType, Storage, bool, float16, float32, int32, int8, uint32 } from "../../kernel/core/dtype";
import { DotDimensionNumbers, DotGeneralParams, dotGeneral } from "../../kernel/primitives/contraction";
import { DEFAULT_CAPS, wgslRule } from "../../kernel/backends/webgpu/wgsl-library";
import { DotPlan, chooseDotVariant, dotGeneralWgsl, dotVariants, planDot } from "../../kernel/backends/webgpu/wgsl-dot";
import { rng } from "../kernel/helpers/rng";
import { gpuRequired, rawDevice, runCall } from "./helpers/raw-device";

const params = (dn: DotDimensionNumbers, pref: DType | null = null): DotGeneralParams => ({ dimension_numbers: dn, precision: null, preferred_element_type: pref });
const MATMUL: DotDimensionNumbers = [[[1], [0]], [[], []]];

interface Case {
  a: number[];
  b: number[];
  dn: DotDimensionNumbers;
  dtype?: DType;
  out?: DType;
}

/** Output avals by the primitive's own shape rule. */
function avals(c: Case): { ins: ShapedArray[]; outs: ShapedArray[]; p: DotGeneralParams } {
  const d = c.dtype ?? float32;
  const ins = [new ShapedArray(c.a, d), new ShapedArray(c.b, d)];
  const p = params(c.dn, c.out ?? null);
  return { ins, outs: dotGeneral.abstractEval(ins, p) as ShapedArray[], p };
}

function randomData(shape: number[], d: DType, seed: number): Storage {
  const r = rng(seed);
  const n = shape.reduce((x, y) => x * y, 1);
  if (d === float32) return Float32Array.from({ length: n }, () => r() * 2 - 1);
  if (d === int32) return Int32Array.from({ length: n }, () => (r() * 2 ** 32) | 0);
  if (d === uint32) return Uint32Array.from({ length: n }, () => (r() * 2 ** 32) >>> 0);
  return Uint8Array.from({ length: n }, () => (r() < 0.3 ? 1 : 0));
}

const strides = (s: number[]) => s.map((_, i) => s.slice(i + 1).reduce((x, y) => x * y, 1));

/**
 * The reference, from the dimension numbers alone: every output index is [batch, lhs free, rhs
 * free]; every contracting index is summed. Returns the value and sum |a b| per output.
 */
function reference(c: Case, A: Storage, B: Storage): { ref: number[]; mag: number[] } {
  const [[ac, bc], [ab, bb]] = c.dn;
  const af = c.a.map((_, i) => i).filter((i) => !ac.includes(i) && !ab.includes(i));
  const bf = c.b.map((_, i) => i).filter((i) => !bc.includes(i) && !bb.includes(i));
  const outShape = [...ab.map((d) => c.a[d]), ...af.map((d) => c.a[d]), ...bf.map((d) => c.b[d])];
  const kShape = ac.map((d) => c.a[d]);
  const sa = strides(c.a);
  const sb = strides(c.b);
  const n = outShape.reduce((x, y) => x * y, 1);
  const nk = kShape.reduce((x, y) => x * y, 1);
  const inT = c.dtype ?? float32;
  const outT = c.out ?? inT;
  const wrap = inT.isInt && !outT.isFloat;
  const ref: number[] = [];
  const mag: number[] = [];
  for (let o = 0; o < n; o++) {
    const oi = outShape.map((s, i) => Math.floor(o / strides(outShape)[i]) % s);
    let base1 = 0;
    let base2 = 0;
    ab.forEach((d, i) => (base1 += oi[i] * sa[d]));
    bb.forEach((d, i) => (base2 += oi[i] * sb[d]));
    af.forEach((d, i) => (base1 += oi[ab.length + i] * sa[d]));
    bf.forEach((d, i) => (base2 += oi[ab.length + af.length + i] * sb[d]));
    let acc = 0;
    let m = 0;
    for (let k = 0; k < nk; k++) {
      let i1 = base1;
      let i2 = base2;
      kShape.forEach((s, j) => {
        const kj = Math.floor(k / strides(kShape)[j]) % s;
        i1 += kj * sa[ac[j]];
        i2 += kj * sb[bc[j]];
      });
      if (wrap) acc = (acc + Math.imul(A[i1], B[i2])) | 0;
      else acc += A[i1] * B[i2];
      m += Math.abs(A[i1] * B[i2]);
    }
    ref.push(outT.isBool ? (acc ? 1 : 0) : outT === uint32 ? acc >>> 0 : acc);
    mag.push(m);
  }
  return { ref, mag };
}

function check(c: Case, got: Storage, A: Storage, B: Storage, label: string): void {
  const { ref, mag } = reference(c, A, B);
  expect(got.length, label).toBe(ref.length);
  const outT = c.out ?? c.dtype ?? float32;
  const K = c.dn[0][0].reduce((x, d) => x * c.a[d], 1);
  const bad: string[] = [];
  for (let i = 0; i < ref.length && bad.length < 5; i++) {
    if (outT.isFloat) {
      const tol = 4 * 2 ** -24 * Math.sqrt(Math.max(K, 1)) * mag[i] + 1e-30;
      if (!(Math.abs(got[i] - ref[i]) <= tol)) bad.push(`[${i}] got ${got[i]} want ${ref[i]} (tol ${tol})`);
    } else if (got[i] !== ref[i]) bad.push(`[${i}] got ${got[i]} want ${ref[i]}`);
  }
  expect(bad, label).toEqual([]);
}

// ---------------------------------------------------------------------------------------------
// Pure: text, bindings, choice.

describe("wgsl dot_general: generated text", () => {
  it("is registered as the dot_general rule", () => {
    expect(wgslRule("dot_general")).toBe(dotGeneralWgsl);
  });

  it("binds out, lhs, rhs once each, with read_write only on the output", () => {
    const { ins, outs, p } = avals({ a: [37, 53], b: [53, 29], dn: MATMUL });
    const vs = dotVariants(ins, outs, p, DEFAULT_CAPS);
    if ("why" in vs) throw new Error(vs.why);
    expect(vs.map((v) => v.name).sort()).toEqual(["reg4x4", "reg8x8", "simple", "smem"]);
    for (const { name, call } of vs) {
      expect(call.temps).toEqual([]);
      expect(call.passes).toHaveLength(1);
      expect(call.note).toContain(name);
      const k = call.passes[0];
      expect(k.bindings.map((b) => [b.binding, b.buf, b.role, b.access, b.storage, b.elements])).toEqual([
        [0, 0, "out", "read_write", "f32", 37 * 29],
        [1, 1, "in", "read", "f32", 37 * 53],
        [2, 2, "in", "read", "f32", 53 * 29],
      ]);
      for (const b of [0, 1, 2]) expect(k.code.match(new RegExp(`@binding\\(${b}\\)`, "g")), name).toHaveLength(1);
      expect(k.code).toContain("var<storage, read_write> b0: array<f32>");
      expect(k.workgroupSize).toBeLessThanOrEqual(DEFAULT_CAPS.maxInvocations);
      expect(k.code.includes("var<workgroup>"), name).toBe(name === "smem");
      expect(k.code.includes("workgroupBarrier"), name).toBe(name === "smem");
      expect(k.dispatch[0] * k.dispatch[1] * k.workgroupSize).toBeGreaterThanOrEqual(k.invocations);
      expect(k.bitExact).toBe(false);
    }
    const byName = Object.fromEntries(vs.map((v) => [v.name, v.call.passes[0]]));
    expect(byName.simple.invocations).toBe(37 * 29);
    expect(byName.reg8x8.invocations).toBe(5 * 4);
    expect(byName.smem.invocations).toBe(256);
    // 37 x 53 is not 16-byte aligned along k, 29 not along n: scalar loads.
    expect(byName.reg8x8.code).not.toContain("vec4<f32>>");
  });

  it("reads aligned operands as vec4 and bakes transposed strides into the shader", () => {
    const { ins, outs, p } = avals({ a: [64, 32], b: [48, 64], dn: [[[0], [1]], [[], []]] }); // x.T @ y.T
    const plan = planDot(ins, outs, p, DEFAULT_CAPS) as DotPlan;
    expect([plan.batch, plan.M, plan.K, plan.N]).toEqual([1, 32, 64, 48]);
    expect(plan.a.outer).toEqual([{ size: 32, stride: 1 }]);
    expect(plan.a.k).toEqual([{ size: 64, stride: 32 }]);
    expect(plan.b.k).toEqual([{ size: 64, stride: 1 }]);
    // x.T @ y with M and N multiples of 4: both read as vec4 (along m, along n).
    const tn = avals({ a: [32, 64], b: [32, 48], dn: [[[0], [0]], [[], []]] });
    const reg = (dotVariants(tn.ins, tn.outs, tn.p, DEFAULT_CAPS) as any[]).find((v) => v.name === "reg8x8").call.passes[0];
    expect(reg.code).toContain("var<storage, read> b1: array<vec4<f32>>");
    expect(reg.code).toContain("var<storage, read> b2: array<vec4<f32>>");
    expect(reg.code).toContain("lhs vec4 along m, rhs vec4 along n");
    expect(reg.invocations).toBe(8 * 6);
    expect(reg.dispatch).toEqual([1, 1, 1]);
  });

  it("merges contiguous axes and keeps split ones as separate runs", () => {
    // lhs [2, 3, 4, 5] contracting over axes 1 and 3 (not adjacent), free axes 0 and 2.
    const { ins, outs, p } = avals({ a: [2, 3, 4, 5], b: [5, 3, 6], dn: [[[3, 1], [0, 1]], [[], []]] });
    const plan = planDot(ins, outs, p, DEFAULT_CAPS) as DotPlan;
    expect([plan.M, plan.K, plan.N]).toEqual([8, 15, 6]);
    expect(plan.a.outer).toEqual([{ size: 2, stride: 60 }, { size: 4, stride: 5 }]);
    // In the given pair order (3,0),(1,1) rhs axes 0,1 merge (3 runs in all); sorted by lhs axis
    // (1,1),(3,0) neither side would (4 runs).
    expect(plan.b.k).toEqual([{ size: 15, stride: 6 }]);
    expect(plan.a.k).toEqual([{ size: 5, stride: 1 }, { size: 3, stride: 20 }]);
  });

  it("chooses by shape and adapter kind, and says why in the note", () => {
    const choose = (a: number[], b: number[], caps = {}) => {
      const { ins, outs, p } = avals({ a, b, dn: MATMUL });
      return chooseDotVariant(planDot(ins, outs, p, DEFAULT_CAPS) as DotPlan, { ...DEFAULT_CAPS, ...caps }).name;
    };
    expect(choose([1024, 1024], [1024, 1])).toBe("simple"); // matrix-vector
    expect(choose([40, 30], [30, 50])).toBe("simple"); // small
    expect(choose([1024, 512], [512, 1024])).toBe("reg8x8");
    expect(choose([1024, 512], [512, 1024], { software: true })).toBe("reg8x8");
    expect(choose([1024, 512], [512, 16], { software: true })).toBe("reg4x4");
    expect(choose([1024, 512], [512, 1024], { software: false })).toBe("smem");
    expect(choose([1024, 512], [512, 1024], { software: false, maxInvocations: 128 })).toBe("reg8x8");
    const { ins, outs, p } = avals({ a: [256, 256], b: [256, 256], dn: MATMUL });
    const call = dotGeneralWgsl(ins, outs, p, DEFAULT_CAPS);
    expect("why" in call ? call.why : call.note).toMatch(/^dot_general as batched matmul \[batch 1\] 256x256 @ 256x256 \(float32 -> float32\): reg8x8, /);
  });

  it("dispatches nothing for an empty output and declines what WGSL cannot store", () => {
    const { ins, outs, p } = avals({ a: [0, 5], b: [5, 7], dn: MATMUL });
    const call = dotGeneralWgsl(ins, outs, p, DEFAULT_CAPS);
    if ("why" in call) throw new Error(call.why);
    expect(call.passes[0].dispatch).toEqual([0, 1, 1]);
    const f16 = avals({ a: [4, 4], b: [4, 4], dn: MATMUL, dtype: float16 });
    expect(dotGeneralWgsl(f16.ins, f16.outs, f16.p, DEFAULT_CAPS)).toEqual({ why: expect.stringContaining("float16") });
    const i8 = avals({ a: [4, 4], b: [4, 4], dn: MATMUL, dtype: int8, out: int32 });
    expect(dotGeneralWgsl(i8.ins, i8.outs, i8.p, DEFAULT_CAPS)).toEqual({ why: expect.stringContaining("int8") });
    const f2i = avals({ a: [4, 4], b: [4, 4], dn: MATMUL, out: int32 });
    expect(dotGeneralWgsl(f2i.ins, f2i.outs, f2i.p, DEFAULT_CAPS)).toEqual({ why: "preferred_element_type int32 for float32 operands" });
    const big = avals({ a: [2 ** 16, 2 ** 10], b: [2 ** 10, 4], dn: MATMUL });
    expect(dotGeneralWgsl(big.ins, big.outs, big.p, { ...DEFAULT_CAPS, maxStorageBinding: 2 ** 27 })).toEqual({ why: expect.stringContaining("over maxStorageBindingSize") });
  });
});

// ---------------------------------------------------------------------------------------------
// On the device: each case through each variant it names (all = every candidate).

const CASES: [string, Case, "all" | "chosen"][] = [
  ["odd matmul 37x53 @ 53x29", { a: [37, 53], b: [53, 29], dn: MATMUL }, "all"],
  ["aligned matmul 72x64 @ 64x40 (vec4 loads)", { a: [72, 64], b: [64, 40], dn: MATMUL }, "all"],
  ["x.T @ y (lhs contracted over axis 0)", { a: [33, 21], b: [33, 18], dn: [[[0], [0]], [[], []]] }, "all"],
  ["x.T @ y aligned (vec4 along m and n)", { a: [20, 36], b: [20, 44], dn: [[[0], [0]], [[], []]] }, "all"],
  ["batched and aligned (vec4 rows across batches)", { a: [3, 10, 12], b: [3, 12, 16], dn: [[[2], [1]], [[0], [0]]] }, "all"],
  ["x @ y.T (rhs contracted over axis 1)", { a: [19, 24], b: [35, 24], dn: [[[1], [1]], [[], []]] }, "all"],
  ["batched, batch axes not leading", { a: [9, 3, 11], b: [3, 11, 10], dn: [[[2], [1]], [[1], [0]]] }, "all"],
  ["int32 wraps", { a: [13, 17], b: [17, 11], dn: MATMUL, dtype: int32 }, "all"],
  ["uint32 wraps, transposed", { a: [17, 13], b: [11, 17], dn: [[[0], [1]], [[], []]], dtype: uint32 }, "all"],
  ["two batch axes, two free axes per side", { a: [2, 3, 4, 5, 6], b: [2, 3, 6, 7], dn: [[[4], [2]], [[0, 1], [0, 1]]] }, "chosen"],
  ["split free and contracting axes", { a: [2, 3, 4, 5], b: [5, 3, 6], dn: [[[3, 1], [0, 1]], [[], []]] }, "all"],
  ["matrix-vector", { a: [40, 33], b: [33], dn: [[[1], [0]], [[], []]] }, "chosen"],
  ["vector-matrix", { a: [33], b: [33, 40], dn: [[[0], [0]], [[], []]] }, "chosen"],
  ["K = 1 (outer product)", { a: [12, 1], b: [1, 10], dn: MATMUL }, "all"],
  ["K = 0 (zeros)", { a: [5, 0], b: [0, 6], dn: MATMUL }, "chosen"],
  ["empty output", { a: [0, 5], b: [5, 7], dn: MATMUL }, "chosen"],
  ["bool: or of ands", { a: [9, 7], b: [7, 8], dn: MATMUL, dtype: bool }, "all"],
  ["bool, x @ y.T (dot products along k)", { a: [9, 8], b: [6, 8], dn: [[[1], [1]], [[], []]], dtype: bool }, "all"],
  ["int32 -> float32", { a: [9, 8], b: [8, 12], dn: MATMUL, dtype: int32, out: float32 }, "all"],
  ["uint32 -> int32, x @ y.T", { a: [9, 8], b: [6, 8], dn: [[[1], [1]], [[], []]], dtype: uint32, out: int32 }, "all"],
];

describe("wgsl dot_general: on the device", () => {
  for (const [label, c, which] of CASES)
    it(label, async () => {
      const dev = await rawDevice();
      if (!dev) {
        if (gpuRequired) throw new Error("no WebGPU adapter (PRIMAL_CI=1 requires one)");
        return;
      }
      const { ins, outs, p } = avals(c);
      const d = c.dtype ?? float32;
      const A = randomData(c.a, d, 1);
      const B = randomData(c.b, d, 2);
      if (c.out === float32 && d === int32) {
        // Small integers, so that every f32 product and partial sum is exact.
        for (let i = 0; i < A.length; i++) A[i] %= 1000;
        for (let i = 0; i < B.length; i++) B[i] %= 1000;
      }
      const vs = dotVariants(ins, outs, p, dev.caps);
      if ("why" in vs) throw new Error(vs.why);
      for (const v of which === "all" ? vs : vs.slice(0, 1)) {
        const [got] = await runCall(dev, v.call, [{ dtype: outs[0].dtype, elements: outs[0].size }], [{ data: A, dtype: d }, { data: B, dtype: d }]);
        check(c, got, A, B, `${label}: ${v.name}`);
      }
      // The CPU implementation agrees with the reference on the exact dtypes (a check of the reference).
      if (!d.isFloat && c.out !== float32) {
        const [cpu] = dotGeneral.cpu([{ data: A, shape: c.a, dtype: d }, { data: B, shape: c.b, dtype: d }] as any, p, outs);
        check(c, cpu as Storage, A, B, `${label}: cpu`);
      }
    });
});
