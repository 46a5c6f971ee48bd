// The WGSL lowerings of argmax/argmin and the cumulative ops (kernel/backends/webgpu/
// wgsl-scan.ts): on the device, against the CPU implementations (reduce.ts's cpu rules): exact
// for argmax/argmin (NaN, +-0, ties), integer scans and cummax/cummin, exact for the serial
// float32 cumsum/cumprod (the CPU rounds every partial to float32), within tolerance of a
// float64 recomputation for the chunked float scans and cumlogsumexp; both the serial and the
// chunked path. Without a device: the plans and the structure of the generated passes.

import { describe, expect, it } from "vitest";
import { ShapedArray } from "../../kernel/core/aval";
import { DType, Storage, bool, float16, float32, int16, int32, uint32 } from "../../kernel/core/dtype";
import { sizeOf } from "../../kernel/core/shape";
import { Primitive } from "../../kernel/core/primitive";
import { argmax, argmin, cumlogsumexp, cummax, cummin, cumprod, cumsum } from "../../kernel/primitives/reduce";
import { DEFAULT_CAPS, WgslCall, wgslRule } from "../../kernel/backends/webgpu/wgsl-library";
import { scanPlan } from "../../kernel/backends/webgpu/wgsl-scan";
import { gpuRequired, rawDevice, runCall } from "./helpers/raw-device";
import { rng } from "../kernel/helpers/rng";


interface Arr {
  data: Storage;
  shape: number[];
  dtype: DType;
}

/** Values of `dtype` with ties; floats with NaN, +-0 and +-inf at rate `special`. */
function data(dtype: DType, shape: number[], seed: number, special = 0.05): Arr {
  const r = rng(seed);
  const n = sizeOf(shape);
  const out = new dtype.storage(n);
  for (let i = 0; i < n; i++) {
    const c = r();
    if (dtype === float32) out[i] = c < special / 4 ? NaN : c < special / 2 ? (r() < 0.5 ? 0 : -0) : c < special ? (r() < 0.5 ? Infinity : -Infinity) : Math.round((r() - 0.5) * 64) / 8;
    else if (dtype === int32) out[i] = c < 0.02 ? 2147483647 : Math.floor((r() - 0.5) * 2000);
    else if (dtype === uint32) out[i] = c < 0.1 ? 4294967295 - Math.floor(r() * 10) : Math.floor(r() * 2000);
    else out[i] = c < 0.5 ? 1 : 0;
  }
  return { data: out, shape, dtype };
}

const show = (v: number) => (Object.is(v, -0) ? "-0" : String(v));

/** Runs the rule on the device (null without one, unless CI requires it) and the CPU implementation. */
async function both(prim: Primitive<any>, x: Arr, params: any): Promise<{ got: Storage; want: Storage; call: WgslCall } | null> {
  const dev = await rawDevice();
  if (!dev) {
    if (gpuRequired) throw new Error("no WebGPU adapter (PRIMAL_CI=1 requires one)");
    return null;
  }
  const aval = new ShapedArray(x.shape, x.dtype);
  const [outAval] = prim.abstractEval([aval], params);
  const call = wgslRule(prim.name)!([aval], [outAval], params, dev.caps);
  if ("why" in call) throw new Error(call.why);
  const [got] = await runCall(dev, call, [{ dtype: outAval.dtype, elements: sizeOf(outAval.shape) }], [x]);
  const [want] = prim.cpu([x], params, [outAval]);
  return { got, want, call };
}

function expectExact(got: Storage, want: Storage, what: string): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++)
    if (!(Object.is(got[i], want[i]) || (got[i] !== got[i] && want[i] !== want[i]))) throw new Error(`${what}: element ${i} is ${show(got[i])}, the CPU has ${show(want[i])}`);
}

/** Float64 scan of x along `axis` with `f`, as the CPU's loop but never rounding. */
function scan64(x: Arr, axis: number, reverse: boolean, f: (a: number, v: number) => number): Float64Array {
  const outer = sizeOf(x.shape.slice(0, axis));
  const n = x.shape[axis];
  const inner = sizeOf(x.shape.slice(axis + 1));
  const out = new Float64Array(x.data.length);
  for (let a = 0; a < outer; a++)
    for (let c = 0; c < inner; c++) {
      let acc = 0;
      for (let t = 0; t < n; t++) {
        const i = (a * n + (reverse ? n - 1 - t : t)) * inner + c;
        acc = t === 0 ? x.data[i] : f(acc, x.data[i]);
        out[i] = acc;
      }
    }
  return out;
}

describe("argmax/argmin on the device, exact against the CPU", () => {
  it("float32 with NaN, +-0 and ties, serial rows, each index dtype; int32, uint32, bool", async () => {
    for (const [prim, d, od, axis] of [
      [argmax, float32, int32, 1], [argmin, float32, uint32, 0], [argmax, int32, int32, 2], [argmin, uint32, int32, 1], [argmax, bool, int32, 1],
    ] as const) {
      const x = data(d, [5, 37, 3], 11 + axis, 0.1);
      const r = await both(prim, x, { axes: [axis], index_dtype: od });
      if (!r) return;
      expect(r.call.passes.length).toBe(1);
      expectExact(r.got, r.want, `${prim.name} ${d.name} axis ${axis}`);
    }
  });

  it("-0 ties +0 (the first wins), and known answers", async () => {
    const x = { data: Float32Array.of(-0, 0, -1, 0, -0, -2, 1, -0, 0, -1, NaN, NaN), shape: [4, 3], dtype: float32 };
    const mx = await both(argmax, x, { axes: [1], index_dtype: int32 });
    if (!mx) return;
    expect([...mx.got]).toEqual([0, 0, 0, 1]);
    const mn = await both(argmin, x, { axes: [1], index_dtype: int32 });
    expect([...mn!.got]).toEqual([2, 2, 1, 1]);
    expectExact(mx.got, mx.want, "argmax");
    expectExact(mn!.got, mn!.want, "argmin");
  });

  it("long rows in chunks: the first NaN and the first of tied maxima across chunks", async () => {
    const shape = [2, 5000];
    const x = data(float32, shape, 21, 0);
    const f = x.data as Float32Array;
    // Row 0: the maximum 100 at 4000 and 1000 (the first wins, in another chunk); row 1: NaNs at 3100 and 4999 after a max at 10.
    f[4000] = 100; f[1000] = 100; f[5000 + 10] = 100; f[5000 + 3100] = NaN; f[5000 + 4999] = NaN;
    f[2222] = -100; f[3333] = -100; // argmin ties
    for (const prim of [argmax, argmin]) {
      const r = await both(prim, x, { axes: [1], index_dtype: int32 });
      if (!r) return;
      expect(r.call.passes.length).toBe(2);
      expectExact(r.got, r.want, `${prim.name} chunked`);
    }
    const r = await both(argmax, x, { axes: [1], index_dtype: int32 });
    if (r) expect([...r.got]).toEqual([1000, 3100]);
  });
});

describe("cumulative ops on the device", () => {
  it("int32 and uint32 scans wrap exactly as the CPU's, serial and chunked, forward and reverse", async () => {
    for (const [shape, axis] of [[[4, 50, 3], 1], [[3, 3000], 1]] as const) {
      for (const prim of [cumsum, cumprod, cummax, cummin])
        for (const d of [int32, uint32]) {
          const x = data(d, [...shape], 31, 0);
          const reverse = prim === cumsum || prim === cummin;
          const r = await both(prim, x, { axis, reverse });
          if (!r) return;
          expect(r.call.passes.length).toBe(shape[axis] > 1000 ? 3 : 1);
          expectExact(r.got, r.want, `${prim.name} ${d.name} ${shape}`);
        }
    }
  });

  it("float32 cummax/cummin are exact (NaN sticks, +-0 ties as Math.max/min), serial and chunked", async () => {
    for (const [shape, axis] of [[[6, 40], 0], [[2, 4000], 1]] as const)
      for (const prim of [cummax, cummin]) {
        // NaNs rare, so most rows run long before one sticks.
        const x = data(float32, [...shape], 41, 0.004);
        const r = await both(prim, x, { axis, reverse: axis === 1 });
        if (!r) return;
        expectExact(r.got, r.want, `${prim.name} ${shape}`);
      }
  });

  it("float32 cumsum and cumprod: serial bit-exact with the CPU's float32 partials, chunked within float32 rounding", async () => {
    for (const prim of [cumsum, cumprod]) {
      const x = data(float32, [7, 30], 51, 0);
      if (prim === cumprod) for (let i = 0; i < x.data.length; i++) x.data[i] = 1 + (x.data[i] as number) / 64;
      const r = await both(prim, x, { axis: 1, reverse: false });
      if (!r) return;
      expect(r.call.passes[0].bitExact).toBe(true);
      expectExact(r.got, r.want, `serial ${prim.name}`);
    }
    const n = 20000;
    const x = data(float32, [1, n], 52, 0);
    const r = await both(cumsum, x, { axis: 1, reverse: true });
    if (!r) return;
    expect(r.call.passes.length).toBe(3);
    const ref = scan64(x, 1, true, (a, v) => a + v);
    const mag = scan64({ ...x, data: Float32Array.from(x.data as Float32Array, Math.abs) }, 1, true, (a, v) => a + v);
    // Both the CPU's serial float32 sum and the chunked one are within n * eps of the sum of magnitudes; a wrong carry is off by whole chunk totals.
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(r.got[i] - ref[i]) / (mag[i] * 2 ** -24 * 200));
    expect(worst).toBeLessThan(1);
    const p = { ...x, data: Float32Array.from(x.data as Float32Array, (v) => 1 + v / 4096) };
    const rp = await both(cumprod, p, { axis: 1, reverse: false });
    const refp = scan64(p, 1, false, (a, v) => a * v);
    for (let i = 0; i < n; i++) expect(Math.abs(rp!.got[i] / refp[i] - 1)).toBeLessThan(2e-4);
  });

  it("cumlogsumexp within a few float32 ulp of float64, with the CPU's infinities and NaN", async () => {
    const lse = (a: number, v: number) => {
      const m = Math.max(a, v);
      return m === -Infinity ? -Infinity : m + Math.log(Math.exp(a - m) + Math.exp(v - m));
    };
    for (const [shape, axis] of [[[4, 33], 1], [[1, 3000], 1]] as const) {
      const x = data(float32, [...shape], 61, 0);
      const f = x.data as Float32Array;
      for (let i = 0; i < f.length; i++) f[i] = (f[i] - 2) * 3;
      // Row 0 of the small case: -inf first, +inf in the middle (the CPU's scan is NaN after it); row 1: a NaN; row 2: two +inf.
      if (shape[1] === 33) { f[0] = -Infinity; f[1] = -Infinity; f[20] = Infinity; f[33 + 5] = NaN; f[66 + 3] = Infinity; f[66 + 9] = Infinity; }
      const r = await both(cumlogsumexp, x, { axis, reverse: false });
      if (!r) return;
      expect(r.call.passes.length).toBe(shape[1] > 1000 ? 3 : 1);
      const ref = scan64(x, axis, false, lse);
      for (let i = 0; i < f.length; i++) {
        const g = r.got[i];
        const w = ref[i];
        if (!Number.isFinite(w)) expect(show(g)).toBe(show(w));
        else expect(Math.abs(g - w)).toBeLessThanOrEqual(8 * 2 ** -23 * Math.max(1, Math.abs(w)));
      }
      // The CPU agrees on every non-finite result.
      for (let i = 0; i < f.length; i++) if (!Number.isFinite(r.want[i])) expect(show(r.got[i])).toBe(show(r.want[i]));
    }
  });
});

describe("scan passes without a device", () => {
  const av = (shape: number[], d: DType) => new ShapedArray(shape, d);

  it("registers every primitive and chooses serial or chunked by rows and length", () => {
    for (const n of ["argmax", "argmin", "cumsum", "cumprod", "cummax", "cummin", "cumlogsumexp"]) expect(wgslRule(n)).toBeDefined();
    expect(scanPlan([100, 50], 1)).toMatchObject({ rows: 100, n: 50, NC: 1 });
    expect(scanPlan([20000, 5000], 1)).toMatchObject({ rows: 20000, NC: 1 });
    // Two rows of 3000: chunks of the minimum 32 (94 per row); one row of 2^20: at most 4096 chunks, of 256.
    expect(scanPlan([2, 3000], 1)).toMatchObject({ rows: 2, C: 32, NC: 94 });
    expect(scanPlan([2 ** 20], 0)).toMatchObject({ rows: 1, C: 256, NC: 4096 });
    const big = scanPlan([2 ** 26], 0);
    expect(big.NC).toBeLessThanOrEqual(4096);
    expect(big.NC * big.C).toBeGreaterThanOrEqual(2 ** 26);
  });

  it("builds three passes for a chunked scan: totals, carries, rescan; outputs written once, temps declared", () => {
    const call = wgslRule("cumsum")!([av([3, 5000, 2], float32)], [av([3, 5000, 2], float32)], { axis: 1, reverse: true }, DEFAULT_CAPS) as WgslCall;
    expect(call.passes.map((k) => k.code.split("\n")[0])).toEqual([
      expect.stringContaining("totals of chunks"), expect.stringContaining("carries"), expect.stringContaining("rescan"),
    ]);
    const pl = scanPlan([3, 5000, 2], 1);
    expect(call.temps).toEqual([{ dtype: float32, elements: 3 * pl.NC * 2 }]);
    expect(call.passes.map((k) => k.bindings.map((b) => `${b.buf}${b.access === "read" ? "r" : "w"}`).join(" "))).toEqual(["2w 1r", "2w", "0w 1r 2r"]);
    expect(call.passes.every((k) => !k.bitExact)).toBe(true);
    const ints = wgslRule("cumsum")!([av([3, 5000, 2], int32)], [av([3, 5000, 2], int32)], { axis: 1, reverse: true }, DEFAULT_CAPS) as WgslCall;
    expect(ints.passes.every((k) => k.bitExact)).toBe(true);
  });

  it("compares floats through integer keys in argmax and cummax (no float compare for NaN-sensitive choices)", () => {
    const am = wgslRule("argmax")!([av([4, 9], float32)], [av([4], int32)], { axes: [1], index_dtype: int32 }, DEFAULT_CAPS) as WgslCall;
    expect(am.passes[0].code).toContain("fn p_okey(x: f32) -> u32");
    expect(am.passes[0].code).toContain("fn p_better(v: f32, best: f32) -> bool { return p_okey(v) > p_okey(best); }");
    const cm = wgslRule("cummin")!([av([4, 9], float32)], [av([4, 9], float32)], { axis: 1, reverse: false }, DEFAULT_CAPS) as WgslCall;
    expect(cm.passes[0].code).toContain("return bitcast<f32>(ua | uv);");
  });

  it("declines what it cannot store or compute", () => {
    const why = (name: string, x: ShapedArray, params: any) => (wgslRule(name)!([x], [x], params, DEFAULT_CAPS) as { why: string }).why;
    expect(why("cumsum", av([4], float16), { axis: 0, reverse: false })).toContain("float16");
    expect(why("cumsum", av([4], bool), { axis: 0, reverse: false })).toContain("bool");
    expect(why("cumlogsumexp", av([4], int32), { axis: 0, reverse: false })).toContain("float32 only");
    expect(why("argmax", av([4], float32), { axes: [0], index_dtype: int16 })).toContain("int16");
  });
});
