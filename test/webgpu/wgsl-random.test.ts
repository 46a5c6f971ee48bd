// WGSL rule of threefry2x32 (kernel/backends/webgpu/wgsl-random.ts): on the device, JAX's
// published known answers (shared/jax-reference.md §1.2, split and fold_in of key(0) from §1.4
// and §1.5) and bit-exact agreement with the CPU implementation (prim.cpu) on random words with
// keys broadcast against counters; without a device, the generated text (round constants in
// order, bindings).

import { describe, expect, it } from "vitest";
import { ShapedArray } from "../../kernel/core/aval";
import { int32, uint32 } from "../../kernel/core/dtype";
import { threefry2x32 } from "../../kernel/primitives/random";
import { DEFAULT_CAPS, WgslCall, wgslRule } from "../../kernel/backends/webgpu/wgsl-library";
import "../../kernel/backends/webgpu/wgsl-random";
import { gpuRequired, rawDevice, runCall } from "./helpers/raw-device";

type U = { data: Uint32Array; shape: number[] };

function words(shape: number[], seed: number): U {
  let a = seed >>> 0;
  const n = shape.reduce((x, y) => x * y, 1);
  const data = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    // xorshift32: any well-spread words (includes values above 2^31).
    a ^= a << 13; a >>>= 0; a ^= a >>> 17; a ^= a << 5; a >>>= 0;
    data[i] = a;
  }
  return { data, shape };
}

function callFor(ins: U[]): { call: WgslCall; outs: ShapedArray[] } {
  const avals = ins.map((x) => new ShapedArray(x.shape, uint32));
  const outs = threefry2x32.abstractEval(avals, {});
  const call = wgslRule("threefry2x32")!(avals, outs, {}, DEFAULT_CAPS);
  if ("why" in call) throw new Error(call.why);
  return { call, outs };
}

/** Runs the rule on the device: [y0, y1], or null without a device. */
async function gpu(ins: U[]): Promise<Uint32Array[] | null> {
  const dev = await rawDevice();
  if (!dev) {
    if (gpuRequired) throw new Error("PRIMAL_CI=1 but no WebGPU adapter");
    return null;
  }
  const { call, outs } = callFor(ins);
  const res = await runCall(dev, call, outs.map((o) => ({ dtype: uint32, elements: o.size })), ins.map((x) => ({ data: x.data, dtype: uint32 })));
  return res as Uint32Array[];
}

const cpu = (ins: U[]) => threefry2x32.cpu(ins.map((x) => ({ ...x, dtype: uint32 })), {}, threefry2x32.abstractEval(ins.map((x) => new ShapedArray(x.shape, uint32)), {})) as Uint32Array[];

describe("threefry2x32 on the device", () => {
  it("gives JAX's known answers", async () => {
    // (k0, k1, x0, x1) -> (y0, y1): tests/random_test.py::testThreefry2x32, split(key(0)) in
    // partitionable mode (counters (0, 0) and (0, 1)), fold_in(key(0), 4) (counter (0, 4)).
    const cases: [number, number, number, number, number, number][] = [
      [0, 0, 0, 0, 0x6b200159, 0x99ba4efe],
      [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x1cb996fc, 0xbb002be7],
      [0x13198a2e, 0x03707344, 0x243f6a88, 0x85a308d3, 0xc4923a9c, 0x483df7a0],
      [0, 0, 0, 1, 928981903, 3453687069],
      [0, 0, 0, 4, 2285895361, 433833334],
    ];
    const col = (j: number): U => ({ data: Uint32Array.from(cases.map((c) => c[j])), shape: [cases.length] });
    const res = await gpu([col(0), col(1), col(2), col(3)]);
    if (!res) return;
    expect([...res[0]]).toEqual(cases.map((c) => c[4]));
    expect([...res[1]]).toEqual(cases.map((c) => c[5]));
  });

  it("equals the CPU bit for bit, keys broadcast against counters", async () => {
    const layouts: U[][] = [
      // One scalar key for 1000 counter pairs.
      [words([], 1), words([], 2), words([1000], 3), words([1000], 4)],
      // Keys per row [3, 1], counters [3, 50]; x0 broadcast along rows, x1 full.
      [words([3, 1], 5), words([3, 1], 6), words([1, 50], 7), words([3, 50], 8)],
    ];
    for (const ins of layouts) {
      const res = await gpu(ins);
      if (!res) return;
      const ref = cpu(ins);
      expect(res[0]).toEqual(ref[0]);
      expect(res[1]).toEqual(ref[1]);
    }
  });
});

describe("threefry2x32 WGSL text", () => {
  it("unrolls 20 rounds with Random123's rotations and 5 key injections", () => {
    const { call } = callFor([words([], 1), words([], 2), words([4], 3), words([4], 4)]);
    expect(call.passes.length).toBe(1);
    const code = call.passes[0].code;
    const rots = [...code.matchAll(/b = \(b << (\d+)u\) \| \(b >> (\d+)u\)/g)].map((m) => [Number(m[1]), Number(m[2])]);
    const R0 = [13, 15, 26, 6];
    const R1 = [17, 29, 16, 24];
    expect(rots).toEqual([...R0, ...R1, ...R0, ...R1, ...R0].map((r) => [r, 32 - r]));
    expect([...code.matchAll(/b = b \+ k(\d) \+ (\d)u;/g)].map((m) => [Number(m[1]), Number(m[2])])).toEqual([[2, 1], [0, 2], [1, 3], [2, 4], [0, 5]]);
    expect(code).toContain("k0 ^ k1 ^ 0x1bd11bdau");
    // Scalar keys read element 0; the full-size counters read element p.
    expect(code).toContain("let k0 = b2[0];");
    expect(code).toContain("let x1 = b5[p];");
    expect(call.passes[0].bindings.map((b) => [b.buf, b.access])).toEqual([[0, "read_write"], [1, "read_write"], [2, "read"], [3, "read"], [4, "read"], [5, "read"]]);
  });

  it("declines non-uint32 operands", () => {
    const u = new ShapedArray([4], uint32);
    const r = wgslRule("threefry2x32")!([u, u, u, new ShapedArray([4], int32)], [u, u], {}, DEFAULT_CAPS);
    expect((r as { why?: string }).why).toMatch(/uint32/);
  });
});
