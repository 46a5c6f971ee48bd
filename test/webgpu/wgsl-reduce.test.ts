// The passes of fused kernels on the device (kernel/backends/webgpu/wgsl-reduce.ts and the
// vec4 and float16 paths of codegen-wgsl.ts), against independent references: float sums within
// the documented bound 5 * 2^-24 * sum|x| of the float64 sum rounded to float32 (on data where a
// plain float32 sum of the same chunks breaks it), row and column sums, max/min with NaN and
// +-0 bit for bit as the CPU's fold order defines them, a logsumexp whose prologue and epilogue
// surround two-pass folds, wrapping int32 sums, a split over two flattened folded axes, vec4
// elementwise equal to the scalar shader, and float16 kernels equal to the CPU's eager float16
// ops bit for bit (add/sub/mul over all 65536 float16 patterns) or within an ulp (tanh, sums).

import { describe, expect, it } from "vitest";
import { makeJaxpr, nn, np } from "../../kernel/index";
import { ShapedArray } from "../../kernel/core/aval";
import { Storage, float16, int32 } from "../../kernel/core/dtype";
import { f16DecodeTable, numberToF16 } from "../../kernel/core/float16";
import { NDArray, fromStorage } from "../../kernel/core/ndarray";
import { Kernel } from "../../kernel/lower/kernel-ir";
import { generateWgsl } from "../../kernel/backends/webgpu/codegen-wgsl";
import { WgslCall } from "../../kernel/backends/webgpu/wgsl-library";
import { generateWgslPasses, reducePlan } from "../../kernel/backends/webgpu/wgsl-reduce";
import { lowerPure } from "../kernel/helpers/golden";
import { RawDevice, gpuRequired, rawDevice, runCall } from "./helpers/raw-device";
import { rng } from "../kernel/helpers/rng";

const U = 2 ** -24;


/** Float32 values of both signs spread over 8 decades. */
function mixed(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => (r() < 0.5 ? -1 : 1) * 10 ** (r() * 8 - 4));
}

async function device(): Promise<RawDevice | null> {
  const dev = await rawDevice();
  if (!dev && gpuRequired) throw new Error("no WebGPU adapter (PRIMAL_CI=1 requires one)");
  return dev;
}

/** The fused kernels of a program, as jit lowers it. */
function kernelsOf(f: (...xs: NDArray[]) => unknown, shapes: number[][], dtype = "float32"): Kernel[] {
  const args = shapes.map((s) => np.zeros(s, { dtype: dtype as "float32" }));
  return lowerPure(makeJaxpr(f)(...args)).steps.flatMap((s) => (s.kind === "kernel" ? [s.kernel] : []));
}

/** Runs a call on the kernel's inputs (in the order of its input buffers); returns its outputs. */
function run(dev: RawDevice, k: Kernel, call: WgslCall, inputs: Storage[]): Promise<Storage[]> {
  const outs = k.bufs.filter((b) => b.role === "out").map((b) => ({ dtype: b.dtype, elements: b.size }));
  const ins = k.bufs.filter((b) => b.role === "in").map((b, i) => ({ data: inputs[i], dtype: b.dtype }));
  return runCall(dev, call, outs, ins);
}

/** Sum and sum of magnitudes, in float64, of x[off + i * stride], i < n. */
function sum64(x: Float32Array, off: number, stride: number, n: number): [number, number] {
  let s = 0;
  let a = 0;
  for (let i = 0; i < n; i++) {
    const v = x[off + i * stride];
    s += v;
    a += Math.abs(v);
  }
  return [s, a];
}

describe("two-pass float sums against float64", () => {
  it("a sum of 1M mixed magnitudes and an adversarial one stay within 5u sum|x| of the CPU's result", async () => {
    const dev = await device();
    if (!dev) return;
    const n = 1 << 20;
    const [k] = kernelsOf((x) => np.sum(x), [[n]]);
    const plan = reducePlan(k)!;
    expect(plan).toMatchObject({ vec4: true, interleaved: true });
    const call = generateWgslPasses(k, dev.caps);
    expect(call.passes).toHaveLength(2);
    // 2^24 first, then ones: a plain float32 sum loses the ones added to 2^24 in the first chunk.
    const adversarial = new Float32Array(n).fill(1);
    adversarial[0] = 2 ** 24;
    for (const x of [mixed(n, 1), adversarial]) {
      const [s, a] = sum64(x, 0, 1, n);
      const cpu = Math.fround(s);
      const [got] = await run(dev, k, call, [x]);
      expect(Math.abs(got[0] - cpu)).toBeLessThanOrEqual(5 * U * a);
      if (x === adversarial) {
        // The data can fail the test: the same chunks summed plainly in float32 break the bound.
        const C = plan.chunks;
        let plain = 0;
        for (let c = 0; c < C; c++) {
          let part = 0;
          for (let v = c; v < n / 4; v += C) for (let l = 0; l < 4; l++) part = Math.fround(part + x[v * 4 + l]);
          plain = Math.fround(plain + part);
        }
        expect(Math.abs(plain - cpu)).toBeGreaterThan(5 * U * a);
        expect(got[0]).toBe(cpu); // 2^24 + 2^20 - 1 rounded to even
      }
    }
  });

  it("row sums and column sums of 1024 x 1024 (interleaved vec4 chunks; kept points fastest)", async () => {
    const dev = await device();
    if (!dev) return;
    const n = 1024;
    const x = mixed(n * n, 2);
    for (const axis of [1, 0]) {
      const [k] = kernelsOf((a) => np.sum(a, { axis }), [[n, n]]);
      const call = generateWgslPasses(k, dev.caps);
      expect(call.passes).toHaveLength(2);
      const [got] = await run(dev, k, call, [x]);
      let worst = 0;
      for (let j = 0; j < n; j++) {
        const [s, a] = axis === 1 ? sum64(x, j * n, 1, n) : sum64(x, j, n, n);
        worst = Math.max(worst, Math.abs(got[j] - Math.fround(s)) / (U * a));
      }
      expect(worst, `axis ${axis}: worst error in units of u sum|x|`).toBeLessThanOrEqual(5);
    }
  });

  it("a split over two flattened folded axes: sum(exp(x)) over axes 0 and 2", async () => {
    const dev = await device();
    if (!dev) return;
    const [k] = kernelsOf((a) => np.sum(np.exp(a), { axis: [0, 2] }), [[2, 3, 2000]]);
    expect(reducePlan(k)).toMatchObject({ outerAxes: 2, vec4: false });
    const x = Float32Array.from(mixed(12000, 3), (v) => Math.sign(v) * Math.min(Math.abs(v), 20));
    const [got] = await run(dev, k, generateWgslPasses(k, dev.caps), [x]);
    for (let j = 0; j < 3; j++) {
      let s = 0;
      for (let i0 = 0; i0 < 2; i0++) for (let i2 = 0; i2 < 2000; i2++) s += Math.exp(x[i0 * 6000 + j * 2000 + i2]);
      // exp is within a few ulp per term (f32-math), the terms are positive: relative bound.
      expect(Math.abs(got[j] - s) / s).toBeLessThan(1e-6);
    }
  });
});

describe("exact folds", () => {
  /** The CPU's max/min fold (`if (v > acc || v !== v) acc = v`), as the index of the element it keeps. */
  function foldIndex(x: Float32Array, off: number, n: number, max: boolean): number {
    let acc = max ? -Infinity : Infinity;
    let at = -1;
    for (let i = 0; i < n; i++) {
      const v = x[off + i];
      if ((max ? v > acc : v < acc) || v !== v) (acc = v), (at = off + i);
    }
    return at;
  }

  it("max and min over rows with NaNs (last wins), +-0 ties (first wins) and infinities, bit for bit", async () => {
    const dev = await device();
    if (!dev) return;
    const rows = 8;
    const n = 4096;
    const x = mixed(rows * n, 4);
    const u = new Uint32Array(x.buffer);
    // Positions 368 and 2572 lie in vec4 units 92 and 643: chunks 12 and 3 if the 16 chunks of a row
    // were interleaved, so a fold in chunk order would see them in the opposite order to the CPU.
    const [a, b] = [368, 2572];
    u[1 * n + 77] = 0x7fc00000; // one NaN
    u[2 * n + a] = 0x7fc00001; // two NaNs, different payloads and signs: the CPU keeps the last
    u[2 * n + b] = 0xffc00002;
    for (let i = 0; i < n; i++) x[3 * n + i] = -Math.abs(x[3 * n + i]) - 1; // negatives, then -0 before +0
    x[3 * n + a] = -0;
    x[3 * n + b] = 0;
    for (let i = 0; i < n; i++) x[4 * n + i] = -Math.abs(x[4 * n + i]) - 1; // +0 before -0
    x[4 * n + a] = 0;
    x[4 * n + b] = -0;
    x.fill(-Infinity, 5 * n, 6 * n);
    x[6 * n + 5] = Infinity;
    x[6 * n + 4000] = Infinity;
    for (const max of [true, false]) {
      if (!max) for (const r of [3, 4]) for (let i = 0; i < n; i++) x[r * n + i] = -x[r * n + i]; // mirror the tie rows for min
      const [k] = kernelsOf((a) => (max ? np.max(a, { axis: 1 }) : np.min(a, { axis: 1 })), [[rows, n]]);
      expect(reducePlan(k)).toMatchObject({ chunks: 16, vec4: true, interleaved: false });
      const call = generateWgslPasses(k, dev.caps);
      expect(call.passes).toHaveLength(2);
      expect(call.passes[1].bitExact).toBe(true);
      const [got] = await run(dev, k, call, [x]);
      const gotBits = new Uint32Array((got as Float32Array).buffer);
      const init = max ? 0xff800000 : 0x7f800000; // the fold's start, -inf or +inf, when no element replaces it
      for (let r = 0; r < rows; r++) {
        const at = foldIndex(x, r * n, n, max);
        expect(gotBits[r].toString(16), `${max ? "max" : "min"} row ${r}`).toBe((at < 0 ? init : u[at]).toString(16));
      }
    }
  });

  it("int32 sums wrap exactly as the CPU's (whatever the split); bool any through u32 partials", async () => {
    const dev = await device();
    if (!dev) return;
    const n = 1 << 16;
    const r = rng(5);
    const x = Int32Array.from({ length: 4 * n }, () => Math.floor((r() - 0.5) * 2 ** 32));
    const [k] = kernelsOf((a) => np.sum(a, { axis: 1 }), [[4, n]], "int32");
    expect(k.bufs[0].dtype).toBe(int32);
    const call = generateWgslPasses(k, dev.caps);
    expect(call.passes).toHaveLength(2);
    const [got] = await run(dev, k, call, [x]);
    for (let j = 0; j < 4; j++) {
      let s = 0;
      for (let i = 0; i < n; i++) s = (s + x[j * n + i]) | 0;
      expect(got[j]).toBe(s);
    }
    const f = Float32Array.from({ length: 4 * n }, () => r());
    f[2 * n + 5000] = 2; // only rows 1 and 2 have an element above 1.5
    f[1 * n + n - 1] = 1.75;
    const [kb] = kernelsOf((a) => np.any(np.greater(a, 1.5), { axis: 1 }), [[4, n]]);
    const callB = generateWgslPasses(kb, dev.caps);
    expect(callB.temps[0].dtype.isBool).toBe(true);
    const [anyGot] = await run(dev, kb, callB, [f]);
    expect([...anyGot]).toEqual([0, 1, 1, 0]);
  });
});

describe("prologue and epilogue around split folds", () => {
  it("logsumexp over 8 x 32768: the max kernel, then exp(x - max) summed and log(sum) + max", async () => {
    const dev = await device();
    if (!dev) return;
    const rows = 8;
    const n = 32768;
    const [kmax, klse] = kernelsOf((a) => nn.logsumexp(a, 1), [[rows, n]]);
    expect(klse.bufs.map((b) => [b.role, b.size])).toEqual([["out", rows], ["in", rows * n], ["in", rows]]);
    const r = rng(6);
    const x = Float32Array.from({ length: rows * n }, () => (r() - 0.5) * 40);
    x.fill(-Infinity, 7 * n, 8 * n); // a row of -inf: -inf
    x[6 * n + 123] = 80; // one dominant term
    const [mx] = await run(dev, kmax, generateWgslPasses(kmax, dev.caps), [x]);
    const call = generateWgslPasses(klse, dev.caps);
    expect(call.passes).toHaveLength(2);
    const [got] = await run(dev, klse, call, [x, mx]);
    for (let j = 0; j < rows; j++) {
      let m = -Infinity;
      for (let i = 0; i < n; i++) m = Math.max(m, x[j * n + i]);
      expect(mx[j]).toBe(m);
      if (m === -Infinity) {
        expect(got[j]).toBe(-Infinity);
        continue;
      }
      let s = 0;
      for (let i = 0; i < n; i++) s += Math.exp(x[j * n + i] - m);
      const want = Math.log(s) + m;
      expect(Math.abs(got[j] - want), `row ${j}`).toBeLessThan(2e-6 * Math.abs(want) + 1e-6);
    }
  });
});

describe("vec4 elementwise", () => {
  it("tanh(x*2+1)*x: the vec4 shader gives the scalar shader's bits", async () => {
    const dev = await device();
    if (!dev) return;
    const n = 1 << 16;
    const [k] = kernelsOf((a) => np.tanh(a.mul(2).add(1)).mul(a), [[n]]);
    const vec = generateWgslPasses(k, dev.caps);
    expect(vec.passes[0].code).toContain("array<vec4<f32>>");
    const x = Float32Array.from(mixed(n, 7), (v) => Math.sign(v) * Math.min(Math.abs(v), 30));
    const [a] = await run(dev, k, vec, [x]);
    const [b] = await run(dev, k, { passes: [generateWgsl(k, dev.caps)], temps: [] }, [x]);
    expect(new Uint32Array((a as Float32Array).buffer)).toEqual(new Uint32Array((b as Float32Array).buffer));
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(a[i] - Math.tanh(x[i] * 2 + 1) * x[i]) / Math.abs(x[i]));
    expect(worst).toBeLessThan(4e-7);
  });
});

describe("float16", () => {
  const f16 = (bits: Uint16Array) => fromStorage(bits, new ShapedArray([bits.length], float16));
  /** The CPU's float16 result as bit patterns (NaN -> 0x7e00 with its sign, as both encoders do). */
  const cpuBits = (y: NDArray): Uint16Array => Uint16Array.from(y.dataSync() as Float32Array, (v) => numberToF16(v));
  const isNaN16 = (h: number) => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;

  it("(x*2+1)*x - y and x*y over all 65536 float16 patterns x equal the CPU's eager float16 ops bit for bit", async () => {
    const dev = await device();
    if (!dev) return;
    if (!dev.caps.f16) return; // codegen-wgsl.test.ts checks the refusal without shader-f16
    const n = 65536;
    const r = rng(8);
    const xb = Uint16Array.from({ length: n }, (_, i) => i);
    const yb = Uint16Array.from({ length: n }, () => Math.floor(r() * 65536));
    const [k] = kernelsOf((a, b) => a.mul(2).add(1).mul(a).sub(b), [[n], [n]], "float16");
    const call = generateWgslPasses(k, dev.caps);
    expect(call.passes[0].bitExact).toBe(true);
    const [got] = await run(dev, k, call, [xb, yb]);
    const want = cpuBits(f16(xb).mul(2).add(1).mul(f16(xb)).sub(f16(yb)));
    let bad = 0;
    for (let i = 0; i < n; i++) if (got[i] !== want[i] && !(isNaN16(got[i]) && isNaN16(want[i]))) bad++;
    expect(bad).toBe(0);
    // Products that round to nearest even, subnormal ones included (x * 0.5 of an odd subnormal is a tie).
    const [km] = kernelsOf((a, b) => a.mul(b), [[n], [n]], "float16");
    const mb = Uint16Array.from({ length: n }, (_, i) => (i % 5 < 4 ? numberToF16([0.5, 0.25, 0.75, 1.5][i % 5]) : yb[i]));
    const [gm] = await run(dev, km, generateWgslPasses(km, dev.caps), [xb, mb]);
    const wm = cpuBits(f16(xb).mul(f16(mb)));
    bad = 0;
    for (let i = 0; i < n; i++) if (gm[i] !== wm[i] && !(isNaN16(gm[i]) && isNaN16(wm[i]))) bad++;
    expect(bad).toBe(0);
  });

  it("float32 -> float16 rounds as the CPU's encoder (ties to even, overflow, subnormals, NaN); float16 -> float32 decodes every pattern", async () => {
    const dev = await device();
    if (!dev || !dev.caps.f16) return;
    const n = 1 << 18;
    const r = rng(10);
    const x = new Float32Array(n);
    const u = new Uint32Array(x.buffer);
    // Random patterns near float16's range (exponents 100..145), with the low mantissa bits often
    // exactly at a rounding tie, plus the edges.
    for (let i = 0; i < n; i++) {
      const e = 100 + Math.floor(r() * 46);
      let m = Math.floor(r() * 0x800000);
      if (r() < 0.3) m = (m & ~0x1fff) | 0x1000; // a tie for normal float16 results
      u[i] = (r() < 0.5 ? 0x80000000 : 0) | (e << 23) | m;
    }
    const edges = [65504, 65519.99, 65520, 2 ** -25, 2 ** -25 * 1.0000001, 2 ** -24 * 1.5, 2 ** -24 * 2.5, 2 ** -14 * (1 - 2 ** -11), -0, Infinity, -Infinity, NaN, 1e-45, 3e38];
    edges.forEach((v, i) => (x[i] = v));
    u[edges.length] = 0xffc00001; // a negative NaN with a payload
    const [kc] = kernelsOf((a) => a.astype("float16"), [[n]]);
    const [gc] = await run(dev, kc, generateWgslPasses(kc, dev.caps), [x]);
    let bad = 0;
    for (let i = 0; i < n; i++) if (gc[i] !== numberToF16(x[i])) bad++;
    expect(bad).toBe(0);
    const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const [kd] = kernelsOf((a) => a.astype("float32"), [[65536]], "float16");
    const [gd] = await run(dev, kd, generateWgslPasses(kd, dev.caps), [all]);
    expect(new Uint32Array((gd as Float32Array).buffer)).toEqual(new Uint32Array(f16DecodeTable().buffer, f16DecodeTable().byteOffset, 65536));
  });

  it("tanh within one float16 ulp of the CPU; a float16 sum of 65536 (f32 two-pass fold) within one ulp; max exact", async () => {
    const dev = await device();
    if (!dev || !dev.caps.f16) return;
    const n = 65536;
    const dec = f16DecodeTable();
    const xb = Uint16Array.from({ length: n }, (_, i) => i);
    const [kt] = kernelsOf((a) => np.tanh(a), [[n]], "float16");
    const [gt] = await run(dev, kt, generateWgslPasses(kt, dev.caps), [xb]);
    const wt = cpuBits(np.tanh(f16(xb)));
    let off = 0;
    for (let i = 0; i < n; i++) {
      if (isNaN16(wt[i])) expect(isNaN16(gt[i])).toBe(true);
      else if (gt[i] !== wt[i]) (off++, expect(Math.abs(gt[i] - wt[i]), `tanh of ${dec[i]}`).toBe(1));
    }
    expect(off).toBeLessThan(n / 100);
    // The sum: finite values only, as they would overflow float16 otherwise.
    const r = rng(9);
    const sb = Uint16Array.from({ length: n }, () => numberToF16((r() - 0.45) * 2));
    const [ks] = kernelsOf((a) => np.sum(a), [[n]], "float16");
    const call = generateWgslPasses(ks, dev.caps);
    expect(call.passes).toHaveLength(2);
    const [gs] = await run(dev, ks, call, [sb]);
    const ws = cpuBits(np.sum(f16(sb)));
    expect(Math.abs(gs[0] - ws[0])).toBeLessThanOrEqual(1);
    let s = 0;
    for (let i = 0; i < n; i++) s += dec[sb[i]];
    expect(Math.abs(dec[gs[0]] - s)).toBeLessThanOrEqual(Math.abs(s) * 2 ** -11);
    // max over float16: exact, a NaN wins.
    const [kx] = kernelsOf((a) => np.max(a), [[n]], "float16");
    const [gx] = await run(dev, kx, generateWgslPasses(kx, dev.caps), [sb]);
    expect(gx[0]).toBe(cpuBits(np.max(f16(sb)))[0]);
    const withNaN = sb.slice();
    withNaN[40000] = 0xfe00;
    const [gn] = await run(dev, kx, generateWgslPasses(kx, dev.caps), [withNaN]);
    expect(isNaN16(gn[0])).toBe(true);
  });
});
