// The WebAssembly kernels (kernel/backends/cpu/codegen-wasm.ts, wasm-lanes.ts, wasm-kernels.ts)
// against the generated JS kernels, an independent implementation of the same kernel IR: for
// kernels lowered from real jitted functions, every output element must be identical
// (Object.is; any NaN equals any NaN), in SIMD, scalar and differently unrolled renderings, over
// shapes that exercise the vector body and the scalar tail, broadcasts, transposed / reversed /
// strided views, reductions over inner and outer axes, and float32 / int / bool dtypes. Float
// sums folded across SIMD lanes may differ from JS's row-major float64 sum in its last bits;
// after rounding to float32 they are allowed 1 ulp (and checked against a float64 reference).
// Also: eligibility, the allocator and resident cache, and jit end to end with wasm on and off.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jit, lax, makeJaxpr, np } from "../../kernel/index";
import { DType, Storage, bool, float16, float32, int16, int32, int8, uint16, uint32, uint8 } from "../../kernel/core/dtype";
import { NDArray } from "../../kernel/core/ndarray";
import { optimize } from "../../kernel/ir/passes";
import { KernelStep, lowerProgram } from "../../kernel/lower/program";
import { Kernel } from "../../kernel/lower/kernel-ir";
import { generateJs } from "../../kernel/lower/codegen-js";
import { compiledRecordOf } from "../../kernel/lower/jit-runner";
import { disableJit } from "../../kernel/transforms/jit";
import { kernelFunction } from "../../kernel/backends/cpu/compiled";
import { WasmCodegenOptions, generateWasm, wasmSupport } from "../../kernel/backends/cpu/codegen-wasm";
import { allocate, copyIn, copyOut, heap, resident, runWasmKernel, setWasmKernelsEnabled, startKernelThreads, wasmKernel, wasmKernelsEnabled } from "../../kernel/backends/cpu/wasm-kernels";
import { validateWasm, wasmApi } from "../../kernel/backends/cpu/wasm-runtime";
import { F32_MATH } from "../../kernel/primitives/f32-math";
import { rng } from "./helpers/rng";

type Fn = (...a: NDArray[]) => NDArray;

/** The fused kernels of `f` on arguments like `args` (as jit lowers them). */
function kernelsOf(f: Fn, ...args: NDArray[]): KernelStep[] {
  const cj = makeJaxpr(f)(...args);
  const p = lowerProgram(cj, optimize(cj).jaxpr);
  return p.steps.filter((s): s is KernelStep => s.kind === "kernel");
}

const SPECIAL_F32 = [0, -0, 1, -1, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0.49999997, -0.49999997, NaN, Infinity, -Infinity, 1e-45, -1e-45, 1.1754942e-38, 3.4e38, -3.4e38, 1e-30, 88.7, -88.7, 100, -104, 2147483648, -2147483904, 4294967296, 300, -300, 8388609.5, 1e-8];

/**
 * Inputs of a buffer's dtype: special values mixed with random ones of several scales. `tame`
 * leaves out the huge specials: float sums over them cancel catastrophically, and then any two
 * summation orders disagree by far more than an ulp.
 */
function values(d: DType, n: number, r: () => number, tame = false): Storage {
  const s = new d.storage(n);
  const specials = tame ? SPECIAL_F32.filter((v) => !(Math.abs(v) > 1e3) || !Number.isFinite(v)) : SPECIAL_F32;
  for (let i = 0; i < n; i++) {
    if (d === float32) {
      const k = r();
      s[i] = k < 0.15 ? specials[Math.floor(r() * specials.length)] : k < 0.3 ? Math.round((r() - 0.5) * 16) / 2 : (r() - 0.5) * 10 ** Math.floor(r() * (tame ? 4 : 6) - 2);
    } else if (d.isBool) s[i] = r() < 0.5 ? 1 : 0;
    else {
      const lo = d.isUnsigned ? 0 : -(2 ** (d.bits - 1));
      const k = r();
      s[i] = k < 0.1 ? lo : k < 0.2 ? lo + 2 ** d.bits - 1 : k < 0.5 ? Math.floor(r() * 40) - 5 : lo + Math.floor(r() * 2 ** d.bits);
    }
  }
  return s;
}

/** Runs a generated module on host storage (like runWasmKernel, with codegen options). */
function runGenerated(k: Kernel, ins: Storage[], opts: WasmCodegenOptions): Storage[] {
  const gen = generateWasm(k, opts);
  expect(validateWasm(gen.bytes)).toBe(true);
  const inst = new wasmApi!.Instance(new wasmApi!.Module(gen.bytes), { env: { memory: heap().memory } });
  const outs = k.bufs.filter((b) => b.role === "out");
  const regions = [...outs.map((b) => allocate(b.size * b.dtype.itemsize)), ...ins.map((s) => allocate(s.byteLength))];
  ins.forEach((s, i) => copyIn(s, regions[outs.length + i]));
  const scratch = gen.scratchBytes ? [allocate(gen.scratchBytes)] : [];
  const run = inst.exports.kernel as (...o: number[]) => void;
  const offsets = [...regions, ...scratch].map((r) => r.offset);
  if (gen.split) {
    // As two threads would: the outermost loop cut at an odd point (mid-vector), in either order.
    const n0 = k.shape[0];
    const mid = Math.min(n0, Math.floor(n0 / 2) | 1);
    run(...offsets, mid, n0);
    run(...offsets, 0, mid);
  } else run(...offsets);
  const res = outs.map((b, i) => copyOut(regions[i], b.dtype, b.size));
  for (const r of [...regions, ...scratch]) heap().release(r);
  return res;
}

const ulpF32 = (x: number) => {
  const a = Math.abs(Math.fround(x));
  return a === 0 ? 1.401298464324817e-45 : Math.fround(a * (1 + 2 ** -23)) - a || 1.401298464324817e-45;
};

const RENDERINGS: [string, WasmCodegenOptions][] = [
  ["simd", {}],
  ["scalar", { simd: false }],
  ["simd unroll 2, reduce unroll 1", { unroll: 2, reduceUnroll: 1 }],
  ["simd reduce unroll 4", { reduceUnroll: 4 }],
  ["split in two ranges", { split: true }],
  ["scalar, split", { split: true, simd: false }],
];

/**
 * Checks every kernel of `f`: JS and wasm outputs agree element for element in each rendering.
 * Returns how many kernels were vectorised (so tests can say which path they exercised).
 */
function agree(f: Fn, args: NDArray[], seed = 1): { kernels: number; vectorized: number } {
  const steps = kernelsOf(f, ...args);
  let vectorized = 0;
  for (const s of steps) {
    const k = s.kernel;
    expect(wasmSupport(k), `${k.name} eligible`).toBeNull();
    const r = rng(seed);
    const red = k.ops.find((o) => o.op === "reduce");
    const floatSum = red?.op === "reduce" && red.kind === "sum" && red.dtype === float32;
    const ins = k.bufs.filter((b) => b.role === "in").map((b) => values(b.dtype, b.size, r, floatSum));
    const want = k.bufs.filter((b) => b.role === "out").map((b) => new b.dtype.storage(b.size));
    kernelFunction(s.source)(...want, ...ins);
    if (generateWasm(k).vectorized) vectorized++;
    for (const [name, opts] of RENDERINGS) {
      const got = runGenerated(k, ins, opts);
      want.forEach((w, j) => {
        for (let i = 0; i < w.length; i++) {
          const a = Number(got[j][i]);
          const b = Number(w[i]);
          if (Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b))) continue;
          if (floatSum && Math.abs(a - b) <= ulpF32(b)) continue;
          throw new Error(`${k.name} (${name}): element ${i} is ${a}, JS gives ${b}`);
        }
      });
    }
  }
  return { kernels: steps.length, vectorized };
}

const f32 = (shape: number[]) => np.zeros(shape, { dtype: float32 });
const typed = (shape: number[], d: DType) => np.zeros(shape, { dtype: d });

describe("wasm kernels equal the JS kernels: float32 elementwise", () => {
  const shapes = [[1003], [7], [3], [1], [37, 45]];
  const binary: [string, (a: NDArray, b: NDArray) => NDArray][] = [
    ["add", (a, b) => a.add(b)],
    ["sub", (a, b) => a.sub(b)],
    ["mul", (a, b) => a.mul(b)],
    ["div", (a, b) => a.div(b)],
    ["max", (a, b) => lax.max(a, b)],
    ["min", (a, b) => lax.min(a, b)],
    ["where", (a, b) => np.where(a.gt(b), a, b)],
    ["comparisons", (a, b) => np.where(a.eq(b).or(a.lt(b)), a.le(b).astype(float32), a.ge(b).and(a.ne(b)).astype(float32))],
    ["chain", (a, b) => a.mul(b).add(a.div(b.add(3))).sub(lax.max(a, 0.5))],
  ];
  for (const [name, op] of binary)
    it(`${name} over vector bodies, scalar tails and tiny shapes`, () => {
      for (const s of shapes) agree(op, [f32(s), f32(s)], s[0]);
      expect(agree(op, [f32([1003]), f32([1003])]).vectorized).toBeGreaterThan(0);
    });

  const unary: [string, (a: NDArray) => NDArray][] = [
    ["neg", (a) => lax.neg(a)],
    ["abs", (a) => lax.abs(a)],
    ["sqrt", (a) => lax.sqrt(a)],
    ["rsqrt", (a) => lax.rsqrt(a)],
    ["floor", (a) => lax.floor(a)],
    ["ceil", (a) => lax.ceil(a)],
    ["round away from zero", (a) => lax.round(a, 0)],
    ["round half to even", (a) => lax.round(a, 1)],
    ["sign", (a) => lax.sign(a)],
    ["square", (a) => lax.square(a)],
    ["is_finite", (a) => lax.isFinite(a)],
    ["clamp", (a) => lax.clamp(-1.5, a, 2)],
    ["integer_pow 0, 1, 2, 3, 5", (a) => lax.integerPow(a, 0).add(lax.integerPow(a, 1)).add(lax.integerPow(a, 2)).add(lax.integerPow(a, 3)).add(lax.integerPow(a, 5))],
    ["integer_pow -1, -2, -7", (a) => lax.integerPow(a, -1).add(lax.integerPow(a, -2)).add(lax.integerPow(a, -7))],
  ];
  for (const [name, op] of unary)
    it(name, () => {
      for (const s of shapes) agree(op, [f32(s)], 7 + s[0]);
    });

  it("the transcendentals of the F32_MATH registry (identical bits, SIMD and scalar)", () => {
    const prims: Record<string, (a: NDArray) => NDArray> = { exp: lax.exp, log: lax.log, log1p: lax.log1p, expm1: lax.expm1, tanh: lax.tanh, logistic: lax.logistic };
    let n = 0;
    for (const name of Object.keys(F32_MATH)) {
      const op = prims[name];
      if (!op) continue;
      agree(op, [f32([4099])], 11);
      agree((a) => op(a.mul(3)), [f32([37, 45])], 12);
      n++;
    }
    expect(n).toBe(Object.keys(F32_MATH).filter((p) => p in prims).length);
  });

  it("tanh(x * 2 + 1) * x, the fused benchmark kernel, is one vectorised kernel", () => {
    const r = agree((a) => np.tanh(a.mul(2).add(1)).mul(a), [f32([4101])]);
    expect(r).toEqual({ kernels: 1, vectorized: "tanh" in F32_MATH ? 1 : 0 });
  });
});

describe("wasm kernels equal the JS kernels: views and broadcasts", () => {
  it("broadcast operands (stride 0) along inner and outer axes, and scalars", () => {
    expect(agree((a, b) => a.add(b), [f32([37, 45]), f32([45])]).vectorized).toBe(1);
    expect(agree((a, b) => a.mul(b), [f32([37, 45]), f32([37, 1])]).vectorized).toBe(1);
    agree((a, b) => a.sub(b), [f32([5, 1, 9]), f32([1, 6, 1])]);
    agree((a) => a.mul(2.5).add(-0), [f32([1003])]);
  });
  it("transposed, reversed and strided views: lanes gathered and scattered one by one", () => {
    const gathered = (f: Fn, ...args: NDArray[]) => kernelsOf(f, ...args).map((s) => generateWasm(s.kernel).gathered);
    expect(agree((a) => a.T.mul(2), [f32([37, 45])]).vectorized).toBe(1);
    expect(gathered((a) => a.T.mul(2), f32([37, 45]))).toEqual([true]);
    expect(agree((a) => lax.rev(a, [0]).add(1), [f32([1003])]).vectorized).toBe(1);
    agree((a) => lax.rev(a, [1]).sub(a), [f32([9, 13])]);
    agree((a) => lax.slice(a, [1], [1000], [3]).mul(a.sum()), [f32([1003])]);
    agree((a, b) => a.T.add(b), [f32([6, 10]), f32([10, 6])]);
    agree((a) => np.tanh(a.T), [f32([37, 45])]);
    // Scattered stores: the output written through a transposed index.
    agree((a) => np.sum(a.T, { axis: 1 }), [f32([45, 37])]);
    for (const d of [int8, uint16, int32]) agree((a) => lax.rev(a, [0]).add(a.T), [typed([19, 19], d)]);
  });
  it("a kernel storing through a transposed index (hand-built IR): scattered lanes", () => {
    for (const d of [float32, int16, uint8]) {
      const k: Kernel = {
        name: "scatter",
        shape: [10, 7],
        reduced: [false, false],
        bufs: [{ dtype: d, size: 70, role: "out" }, { dtype: d, size: 70, role: "in" }],
        ops: [
          { op: "load", buf: 1, index: { offset: 0, strides: [7, 1] }, dtype: d },
          { op: "store", buf: 0, index: { offset: 0, strides: [1, 10] }, src: 0, dtype: d },
        ],
      };
      expect(generateWasm(k).gathered).toBe(true);
      const x = values(d, 70, rng(4));
      const want = new d.storage(70);
      kernelFunction(generateJs(k))(want, x);
      for (const [, opts] of RENDERINGS) expect([...runGenerated(k, [x], opts)[0]]).toEqual([...want]);
    }
  });

  it("a view vectorised along its contiguous inner axis (slices of rows)", () => {
    expect(agree((a) => lax.slice(a, [1, 2], [30, 43]).mul(3), [f32([37, 45])]).vectorized).toBe(1);
  });
});

describe("wasm kernels equal the JS kernels: reductions", () => {
  const kinds: [string, (a: NDArray, axis?: number | number[]) => NDArray][] = [
    ["sum", (a, axis) => np.sum(a, { axis })],
    ["max", (a, axis) => np.max(a, { axis })],
    ["min", (a, axis) => np.min(a, { axis })],
    ["prod", (a, axis) => np.prod(a.mul(0.01).add(1), { axis })],
  ];
  for (const [name, red] of kinds) {
    it(`${name} over all, inner (vectorised lanes) and outer (vectorised kept axis) axes`, () => {
      agree((a) => red(a), [f32([1003])]);
      agree((a) => red(a, 1), [f32([37, 45])]);
      agree((a) => red(a, 0), [f32([37, 45])]);
      agree((a) => red(a, [0, 2]), [f32([3, 5, 7])]);
      agree((a) => red(a, 1), [f32([3, 5, 7])]);
      agree((a) => red(a.T, 1), [f32([45, 37])]);
      agree((a) => red(a, 0), [f32([5, 2])]);
    });
  }
  it("float max/min: NaN wins, and the first zero in row-major order decides the sign of a zero maximum", () => {
    // Index 5 is in the second vector, index 8 in the third: lanes are combined vector by vector
    // (first the accumulator of vectors 0, 2, ..., then of 1, 3, ...), so without the in-order
    // pass a zero maximum would take the sign of element 8.
    const jmax = jit((a: NDArray) => np.max(a));
    const jmin = jit((a: NDArray) => np.min(a));
    for (const [first, second] of [[-0, 0], [0, -0]]) {
      const zs = new Float32Array(4096).fill(-1); // (big enough to run as wasm)
      zs[5] = first;
      zs[8] = second;
      expect(Object.is(jmax(np.array(zs)).dataSync()[0], first)).toBe(true);
      const ones = zs.map((v) => (v === -1 ? 1 : v));
      expect(Object.is(jmin(np.array(ones)).dataSync()[0], first)).toBe(true);
      zs[500] = NaN;
      expect(jmax(np.array(zs)).dataSync()[0]).toBeNaN();
    }
    const rows = new Float32Array(64 * 64).fill(-3);
    rows[64 + 5] = -0;
    rows[64 + 8] = 0;
    const m = jit((a: NDArray) => np.max(a, { axis: 1 }))(np.array(rows).reshape([64, 64])).dataSync();
    expect(Object.is(m[1], -0)).toBe(true);
    expect(Object.is(m[0], -3)).toBe(true);
  });
  it("sums: within 1 ulp of JS and of a float64 reference", () => {
    const r = rng(5);
    const x = new Float32Array(1 << 16).map(() => (r() - 0.5) * 100);
    const got = jit((a: NDArray) => np.sum(a))(np.array(x)).dataSync()[0];
    const ref = x.reduce((s, v) => s + v, 0);
    expect(Math.abs(got - ref)).toBeLessThanOrEqual(ulpF32(ref));
  });
  it("float sums in the scalar rendering fold in the JS order: the same bits (what compiled programs run below 2048 points)", () => {
    const cases: [Fn, number[]][] = [
      [(a: NDArray) => np.sum(a, { axis: 1 }), [32, 10]],
      [(a: NDArray) => np.sum(a), [407]],
      [(a: NDArray) => np.sum(np.exp(a.mul(0.01)), { axis: 1 }), [9, 45]],
      [(a: NDArray) => np.sum(a, { axis: 0 }), [13, 7]],
      [(a: NDArray) => np.prod(a, { axis: 1 }), [8, 33]],
    ];
    for (const [f, shape] of cases) {
      const [s] = kernelsOf(f, f32(shape));
      const k = s.kernel;
      const r = rng(shape[0]);
      // Untamed values: huge terms cancel, so any other summation order shows in the result.
      const ins = k.bufs.filter((b) => b.role === "in").map((b) => values(b.dtype, b.size, r));
      const want = new Float32Array(k.bufs[0].size);
      kernelFunction(s.source)(want, ...ins);
      const got = runGenerated(k, ins, { simd: false })[0];
      for (let i = 0; i < want.length; i++) expect(Object.is(got[i], want[i]) || (Number.isNaN(got[i]) && Number.isNaN(want[i])), `${k.name} element ${i}: ${got[i]} vs ${want[i]}`).toBe(true);
    }
    // The check has teeth: rows [3e30, 1 x7, -3e30, 1 x7] sum to 7 in order (the first ones are
    // absorbed by 3e30), to something else when lanes fold disjoint subsets.
    const [s] = kernelsOf((a: NDArray) => np.sum(a, { axis: 1 }), f32([4, 16]));
    const x = new Float32Array(64).map((_, i) => (i % 16 === 0 ? 3e30 : i % 16 === 8 ? -3e30 : 1));
    const js = new Float32Array(4);
    kernelFunction(s.source)(js, x);
    expect([...js]).toEqual([7, 7, 7, 7]);
    expect([...runGenerated(s.kernel, [x], { simd: false })[0]]).toEqual([7, 7, 7, 7]);
    expect([...runGenerated(s.kernel, [x], {})[0]]).not.toEqual([7, 7, 7, 7]);
  });

  it("the epilogue after the fold (logsumexp) and a softmax", () => {
    const lse = (a: NDArray) => {
      const m = np.max(a, { axis: 1, keepdims: true });
      return np.log(np.sum(np.exp(a.sub(m)), { axis: 1 })).add(m.reshape([a.shape[0]]));
    };
    agree(lse, [f32([37, 45])]);
    agree((a) => {
      const e = np.exp(a.sub(np.max(a, { axis: 0, keepdims: true })));
      return e.div(np.sum(e, { axis: 0, keepdims: true }));
    }, [f32([37, 45])]);
  });
  it("integer and bool reductions", () => {
    agree((a) => np.sum(a), [typed([1003], int32)]);
    agree((a) => np.sum(a, { axis: 0 }), [typed([37, 45], int32)]);
    agree((a) => np.max(a, { axis: 1 }), [typed([37, 45], int32)]);
    agree((a) => np.min(a), [typed([1003], uint32)]);
    agree((a) => np.max(a, { axis: 0 }), [typed([37, 45], uint8)]);
    agree((a) => np.prod(a, { axis: 1 }), [typed([37, 45], int32)]);
    agree((a) => np.any(a, { axis: 1 }), [typed([37, 45], bool)]);
    agree((a) => np.all(a), [typed([1003], bool)]);
    agree((a) => lax.reduceAnd(a, [0]), [typed([37, 45], int16)]);
    agree((a) => lax.reduceOr(a, [1]), [typed([37, 45], uint8)]);
  });
});

describe("wasm kernels equal the JS kernels: integer and bool dtypes, conversions", () => {
  const ints = [int32, uint32, int16, uint16, int8, uint8];
  it("arithmetic, bitwise ops, comparisons and extrema wrap like the JS", () => {
    for (const d of ints) {
      agree((a, b) => a.add(b).mul(a).sub(b), [typed([1003], d), typed([1003], d)]);
      // Wrapped intermediates observed through order, conversion and shifts (not only stores).
      agree((a, b) => lax.max(a.add(b), b).astype(float32).add(a.mul(b).lt(a).astype(float32)).add(lax.shiftRightLogical(a.sub(b), lax.convertElementType(2, d)).astype(float32)), [typed([1003], d), typed([1003], d)]);
      agree((a, b) => lax.bitwiseAnd(a, b).add(lax.bitwiseXor(a, lax.bitwiseOr(a, b))), [typed([37, 45], d), typed([37, 45], d)]);
      agree((a, b) => np.where(a.lt(b), lax.max(a, b), lax.min(a, b)), [typed([1003], d), typed([1003], d)]);
      agree((a) => lax.not(a).add(lax.square(a)), [typed([1003], d)]);
      agree((a) => lax.integerPow(a, 3).add(lax.integerPow(a, 0)), [typed([101], d)]);
      agree((a, b) => lax.clamp(lax.min(a, b), a, lax.max(a, b)), [typed([101], d), typed([101], d)]);
      agree((a) => a.eq(3).or(a.ge(7)), [typed([101], d)]);
    }
  });
  it("signed-only ops: neg, abs, sign", () => {
    for (const d of [int32, int16, int8]) agree((a) => lax.neg(a).add(lax.abs(a)).mul(lax.sign(a)), [typed([1003], d)]);
    agree((a) => lax.sign(a), [typed([101], uint8)]);
  });
  it("shifts: scalar when the amount varies per element, SIMD when it is loop-invariant", () => {
    for (const d of [int32, uint32, int8, uint8, int16]) {
      const per = agree((a, b) => lax.shiftLeft(a, b).add(lax.shiftRightLogical(a, b)).add(lax.shiftRightArithmetic(a, b)), [typed([101], d), typed([101], d)]);
      expect(per.vectorized).toBe(0);
      const inv = agree((a, b) => lax.shiftLeft(a, b).add(lax.shiftRightLogical(a, b)).add(lax.shiftRightArithmetic(a, b)), [typed([3, 41], d), typed([3, 1], d)]);
      expect(inv.vectorized).toBe(1);
    }
  });
  it("bool ops and selects", () => {
    agree((a, b) => lax.bitwiseAnd(a, b).add(lax.bitwiseXor(a, lax.not(b))), [typed([1003], bool), typed([1003], bool)]);
    agree((w, a, b) => np.where(w, a, b), [typed([1003], bool), f32([1003]), f32([1003])]);
    agree((w, a, b, c) => lax.selectN(w, a, b, c), [typed([1003], int32), f32([1003]), f32([1003]), f32([1003])]);
    agree((w, a, b, c) => lax.selectN(w, a, b, c), [typed([201], uint32), typed([201], int8), typed([201], int8), typed([201], int8)]);
  });
  it("conversions: float32 -> int saturating (NaN -> 0), int -> float32, int -> int wrapping, -> bool", () => {
    for (const d of [...ints, bool]) {
      agree((a) => lax.convertElementType(a, d), [f32([1003])]);
      agree((a) => lax.convertElementType(a, float32).mul(0.5), [typed([1003], d)]);
      for (const e of [...ints, bool]) if (e !== d) agree((a) => lax.convertElementType(a, e), [typed([37], d)]);
    }
  });
});

describe("eligibility", () => {
  const eligible = (f: Fn, ...args: NDArray[]) => kernelsOf(f, ...args).map((s) => wasmSupport(s.kernel));
  it("kernels with float16/bfloat16 or without an exact rendering (erf, pow, lgamma, int division) stay JS", () => {
    expect(eligible((a) => a.add(1), typed([8], float16))[0]).toMatch(/float16/);
    expect(eligible((a) => lax.erf(a), f32([8]))[0]).toMatch(/erf/);
    expect(eligible((a, b) => lax.pow(a, b), f32([8]), f32([8]))[0]).toMatch(/pow/);
    expect(eligible((a) => lax.lgamma(a), f32([8]))[0]).toMatch(/lgamma/);
    expect(eligible((a, b) => lax.div(a, b), typed([8], int32), typed([8], int32))[0]).toMatch(/div/);
    expect(eligible((a) => lax.reduceProd(a, [0]), typed([8], int8))[0]).toMatch(/prod/);
    expect(eligible((a) => lax.tanh(a.mul(2)), f32([8]))[0]).toBe("tanh" in F32_MATH ? null : expect.anything());
    expect(() => generateWasm(kernelsOf((a) => lax.erf(a), f32([8]))[0].kernel)).toThrow(/not eligible/);
  });
  it("runWasmKernel returns null for an ineligible kernel and the outputs otherwise", () => {
    const [erf] = kernelsOf((a) => lax.erf(a), f32([8]));
    expect(runWasmKernel(erf.kernel, [new Float32Array(8)])).toBeNull();
    const [add] = kernelsOf((a, b) => a.add(b), f32([5]), f32([5]));
    const out = runWasmKernel(add.kernel, [new Float32Array([1, 2, 3, 4, 5]), new Float32Array([0.5, 0.5, 0.5, 0.5, -0])]);
    expect([...out![0]]).toEqual([1.5, 2.5, 3.5, 4.5, 5]);
  });
  it("a split kernel computes exactly the iterations lo..hi-1 of its outermost loop", () => {
    for (const [shape, f] of [[[1003], (a: NDArray) => np.tanh(a).add(1)], [[37, 45], (a: NDArray) => np.tanh(a.T).add(1)]] as const) {
      const [step] = kernelsOf(f, f32([...shape]));
      const k0 = step.kernel.shape[0];
      const gen = generateWasm(step.kernel, { split: true });
      expect(gen.split).toBe(true);
      const n = step.kernel.bufs[0].size;
      const out = allocate(4 * n);
      const inp = allocate(4 * n);
      heap().bytesView().fill(0, out.offset, out.offset + 4 * n);
      copyIn(new Float32Array(n).fill(1), inp);
      const inst = new wasmApi!.Instance(new wasmApi!.Module(gen.bytes), { env: { memory: heap().memory } });
      const [lo, hi] = [3, k0 - 2];
      (inst.exports.kernel as (...o: number[]) => void)(out.offset, inp.offset, lo, hi);
      const got = copyOut(out, float32, n);
      const per = n / k0;
      const want = new Float32Array(n);
      kernelFunction(step.source)(want, new Float32Array(n).fill(1));
      for (let i = 0; i < n; i++) expect(got[i]).toBe(i >= lo * per && i < hi * per ? want[i] : 0);
      heap().release(out);
      heap().release(inp);
    }
    const [red] = kernelsOf((a) => np.sum(a, { axis: 0 }), f32([37, 45]));
    expect(generateWasm(red.kernel, { split: true }).split).toBe(false);
  });

  it("modules validate and declare the shared memory; the listing names the instructions", () => {
    const [k] = kernelsOf((a) => np.tanh(a.mul(2).add(1)).mul(a), f32([1024]));
    const gen = generateWasm(k.kernel);
    expect(validateWasm(gen.bytes)).toBe(true);
    expect(gen.text).toMatch(/\(func \$kernel \(export "kernel"\) \(param \$0 i32\) \(param \$1 i32\)/);
    expect(gen.text).toMatch(/v128\.load/);
    expect(gen.text).toMatch(/f32x4\.mul/);
    expect(gen.text).toMatch(/v128\.store/);
  });
});

describe("the runtime: memory, resident copies, jit end to end", () => {
  let was: boolean;
  beforeAll(() => (was = setWasmKernelsEnabled(true)));
  afterAll(() => setWasmKernelsEnabled(was));

  it("the allocator reuses and coalesces freed blocks", () => {
    const h = heap();
    const before = h.blocks;
    const a = allocate(100);
    const b = allocate(1000);
    const c = allocate(64);
    expect(a.offset % 64).toBe(0);
    expect(b.offset).toBeGreaterThanOrEqual(a.offset + 128);
    h.release(b);
    const d = allocate(900);
    expect(d.offset).toBe(b.offset);
    h.release(a);
    h.release(d);
    const e = allocate(1100);
    expect(e.offset).toBe(a.offset);
    h.release(c);
    h.release(e);
    expect(h.blocks).toBe(before);
    expect(() => h.release(e)).toThrow(/not allocated/);
  });

  it("an input array read twice is copied into wasm memory once and reused", () => {
    const s = new Float32Array(5000).fill(2);
    expect(resident.get(s)).toBeNull(); // the first read: the caller copies it
    const r1 = resident.get(s)!;
    resident.unpin(s);
    const r2 = resident.get(s)!;
    resident.unpin(s);
    expect(r2.offset).toBe(r1.offset);
    expect(new Float32Array(heap().memory.buffer, r1.offset, 3)[2]).toBe(2);
  });

  it("jit(f)(x) equals eager f(x) with the wasm kernels, and equals the JS path", () => {
    expect(wasmKernelsEnabled()).toBe(true);
    const r = rng(3);
    const x = np.array(new Float32Array(20000).map(() => (r() - 0.5) * 8)).reshape([100, 200]);
    const fs: Fn[] = [
      (a) => np.tanh(a.mul(2).add(1)).mul(a),
      (a) => np.sum(a),
      (a) => np.max(a, { axis: 0 }),
      (a) => { const m = np.max(a); return np.log(np.sum(np.exp(a.sub(m)))).add(m); },
      (a) => np.sum(np.exp(a).T.mul(3), { axis: 1 }).add(1),
      (a) => np.where(a.gt(0), a, a.mul(0.01)).astype(int32).add(np.sum(a.astype(int32), { axis: 0 })),
    ];
    const blocks = heap().blocks;
    for (const f of fs) {
      const want = disableJit(() => f(x)).dataSync();
      const jf = jit(f);
      for (let rep = 0; rep < 2; rep++) {
        const got = jf(x).dataSync();
        expect(got.length).toBe(want.length);
        for (let i = 0; i < want.length; i++) expect(Object.is(got[i], want[i]) || Math.abs(got[i] - want[i]) <= ulpF32(want[i])).toBe(true);
      }
      setWasmKernelsEnabled(false);
      const js = jf(x).dataSync();
      setWasmKernelsEnabled(true);
      for (let i = 0; i < want.length; i++) expect(Object.is(js[i], want[i]) || Math.abs(js[i] - want[i]) <= ulpF32(want[i])).toBe(true);
    }
    // Only resident copies (inputs, adopted outputs) outlive the calls.
    resident.clear();
    expect(heap().blocks).toBeLessThanOrEqual(blocks);
  });

  it("kernels worth it run split over the worker threads, with the same results", () => {
    const f = (a: NDArray) => np.tanh(a.mul(2).add(1)).mul(a);
    const [step] = kernelsOf(f, f32([3, 40001]));
    const w = wasmKernel(step.kernel)!;
    expect(w.parallel).toBe(true);
    const threaded = startKernelThreads();
    const r = rng(9);
    const x = values(float32, 3 * 40001, r);
    const want = new Float32Array(3 * 40001);
    kernelFunction(step.source)(want, x);
    for (let rep = 0; rep < 3; rep++) {
      const got = runWasmKernel(step.kernel, [x])![0];
      for (let i = 0; i < want.length; i++) if (!Object.is(got[i], want[i]) && !(Number.isNaN(got[i]) && Number.isNaN(want[i]))) throw new Error(`element ${i}: ${got[i]} vs ${want[i]} (threads ${threaded})`);
    }
  });

  it("the compiled record shows the wasm listing for the kernels that run as wasm", () => {
    const f = jit((a: NDArray) => np.tanh(a.mul(2).add(1)).mul(a));
    const big = np.zeros([4096]);
    f(big);
    const rec = compiledRecordOf(f.lower(big))!;
    // A small kernel's module is made at the program's second call; its first run is JS.
    expect(rec.kernels[0].source).toMatch(/return function/);
    f(big);
    expect(rec.kernels[0].source).toMatch(/WebAssembly/);
    expect(rec.kernels[0].source).toMatch(/\(func \$kernel/);
    // A big one gets it at once.
    const huge = np.zeros([1 << 16]);
    f(huge);
    expect(compiledRecordOf(f.lower(huge))!.kernels[0].source).toMatch(/WebAssembly/);
    const small = np.zeros([8]);
    f(small);
    expect(compiledRecordOf(f.lower(small))!.kernels[0].source).toMatch(/return function/);
  });
});
