// Eager primitives through the compiler's wasm kernels (kernel/backends/cpu/eager-wasm.ts): big
// elementwise ops and reductions run as one-equation kernels in WebAssembly and must give the
// bits of the JS loops they replace (and values a float64 recomputation agrees with); small
// ones, and what wasm cannot render, stay JS.

import { afterEach, describe, expect, it } from "vitest";
import { lax, np } from "../../kernel/index";
import { NDArray } from "../../kernel/core/ndarray";
import { EAGER_WASM_MIN_POINTS, eagerWasm, eagerWasmStats } from "../../kernel/backends/cpu/eager-wasm";
import { setWasmKernelsEnabled } from "../../kernel/backends/cpu/wasm-kernels";
import { getPrimitive } from "../../kernel/core/primitive";
import { ShapedArray } from "../../kernel/core/aval";
import { float16, float32, int32 } from "../../kernel/core/dtype";
import { rng } from "./helpers/rng";

afterEach(() => void setWasmKernelsEnabled(true));

const N = EAGER_WASM_MIN_POINTS * 2 + 37; // SIMD body and a scalar tail
const r = rng(7);
const xf = np.array(Float32Array.from({ length: N }, () => (r() - 0.5) * 20));
const yf = np.array(Float32Array.from({ length: N }, () => (r() - 0.5) * 4));
const xi = np.array(Int32Array.from({ length: N }, () => Math.floor((r() - 0.5) * 2 ** 31)));
const mat = np.array(Float32Array.from({ length: 512 * 256 }, () => r() - 0.5)).reshape([512, 256]);
const row = np.array(Float32Array.from({ length: 256 }, () => r()));

/** The op's result with the wasm kernels off (JS loops) and on, as raw bits. */
function both(f: () => NDArray): [NDArray, NDArray] {
  setWasmKernelsEnabled(false);
  const before = eagerWasmStats.runs;
  const js = f();
  expect(eagerWasmStats.runs).toBe(before);
  setWasmKernelsEnabled(true);
  const w = f();
  expect(eagerWasmStats.runs, "no op of the case ran as a wasm kernel").toBeGreaterThan(before);
  return [js, w];
}
function sameBits(a: NDArray, b: NDArray): void {
  expect(b.shape).toEqual(a.shape);
  expect(b.dtype).toBe(a.dtype);
  const [u, v] = [a.dataSync(), b.dataSync()];
  let bad = -1;
  for (let i = 0; i < u.length && bad < 0; i++) if (!Object.is(u[i], v[i])) bad = i;
  expect(bad, bad >= 0 ? `element ${bad}: js ${u[bad]} wasm ${v[bad]}` : "").toBe(-1);
}

describe("eager ops as wasm kernels: the JS loops' bits", () => {
  const cases: [string, () => NDArray][] = [
    ["add", () => np.add(xf, yf)],
    ["x * 2 + 1 (weak scalars)", () => xf.mul(2).add(1)],
    ["broadcast row add", () => np.add(mat, row)],
    ["divide, maximum, minimum", () => np.minimum(np.maximum(np.divide(xf, yf), -3), 3)],
    ["exp, log, tanh, logistic (float32 f32-math)", () => np.tanh(np.log(np.abs(xf).add(1e-3))).add(lax.logistic(np.exp(yf)))],
    ["log1p, expm1", () => np.log1p(np.abs(yf)).add(np.expm1(yf))],
    ["compare and select", () => np.where(np.greater(xf, yf), xf, yf)],
    ["int32 add, and, shift", () => np.bitwiseAnd(np.add(xi, 12345), np.rightShift(xi, 3))],
    ["float32 -> int32 -> float32", () => xf.astype("int32").astype("float32")],
    ["sum (all)", () => np.sum(xf)],
    ["max, min (all)", () => np.stack([np.max(xf), np.min(xf)])],
    ["sum over the inner axis", () => np.sum(mat, { axis: 1 })],
    ["sum over the outer axis", () => np.sum(mat, { axis: 0 })],
    ["max over the outer axis", () => np.max(mat, { axis: 0 })],
    ["int32 max", () => np.max(xi)],
  ];
  for (const [name, f] of cases) it(name, () => sameBits(...both(f)));

  it("values agree with a float64 recomputation", () => {
    const e = np.exp(yf).dataSync();
    const s = np.sum(mat, { axis: 1 }).dataSync();
    const yd = yf.dataSync();
    for (let i = 0; i < N; i += 101) expect(Math.abs(e[i] - Math.exp(yd[i])) / Math.exp(yd[i])).toBeLessThan(2.5e-7);
    const m = mat.dataSync();
    for (let i = 0; i < 512; i += 7) {
      let acc = 0;
      for (let j = 0; j < 256; j++) acc += m[i * 256 + j];
      expect(s[i]).toBe(Math.fround(acc));
    }
  });
});

describe("what stays JS", () => {
  const host = (x: NDArray) => ({ data: x.dataSync(), shape: x.shape, dtype: x.dtype });
  const add = getPrimitive("add")!;
  it("arrays below the threshold", () => {
    const small = np.ones([EAGER_WASM_MIN_POINTS - 1]);
    expect(eagerWasm(add, [host(small), host(small)], {}, [new ShapedArray(small.shape, float32)])).toBeNull();
    const big = np.ones([EAGER_WASM_MIN_POINTS]);
    expect(eagerWasm(add, [host(big), host(big)], {}, [new ShapedArray(big.shape, float32)])).not.toBeNull();
  });
  it("dtypes and primitives wasm does not render exactly (float16, non-elementwise)", () => {
    const h = np.ones([N], { dtype: "float16" });
    expect(eagerWasm(add, [host(h), host(h)], {}, [new ShapedArray([N], float16)])).toBeNull();
    const iota = getPrimitive("iota")!;
    expect(eagerWasm(iota, [], { dtype: int32, shape: [N], dimension: 0, sharding: null }, [new ShapedArray([N], int32)])).toBeNull();
  });
  it("with wasm kernels off", () => {
    setWasmKernelsEnabled(false);
    const big = np.ones([EAGER_WASM_MIN_POINTS]);
    expect(eagerWasm(add, [host(big), host(big)], {}, [new ShapedArray(big.shape, float32)])).toBeNull();
  });
});
