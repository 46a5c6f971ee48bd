// WGSL rules of the indexing and movement primitives (kernel/backends/webgpu/wgsl-indexing.ts):
// a pure part (which plan each rule picks, declines, binding limits, the text's declarations)
// and a device part that runs every rule on random data with NaN payloads, -0, infinities,
// subnormals, out-of-bounds and repeated indices, and compares the result with the primitive's
// own CPU implementation (prim.cpu) bit for bit, except float32 scatter-add through
// compare-exchange with repeated indices (order-dependent rounding: a float64 bound instead).

import { describe, expect, it } from "vitest";
import { ShapedArray } from "../../kernel/core/aval";
import { DType, Storage, bool, float16, float32, int16, int32, int8, uint32 } from "../../kernel/core/dtype";
import { Primitive } from "../../kernel/core/primitive";
import * as I from "../../kernel/primitives/indexing";
import * as M from "../../kernel/primitives/movement";
import { WgslCall, DEFAULT_CAPS, wgslRule } from "../../kernel/backends/webgpu/wgsl-library";
import { scatterCall } from "../../kernel/backends/webgpu/wgsl-indexing";
import { gpuRequired, rawDevice, runCall } from "./helpers/raw-device";
import { rng } from "../kernel/helpers/rng";

interface Host {
  data: Storage;
  shape: number[];
  dtype: DType;
}

// ------------------------------------------------------------------------------- data


/** Special float32 words: NaN with payloads (both signs), +-0, +-inf, subnormals. */
const SPECIAL = [0x7fc12345, 0xffc00001, 0x7fc00000, 0x80000000, 0, 0x7f800000, 0xff800000, 0x00000123, 0x80400000];

function f32(shape: number[], seed: number, specials = true): Host {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  const bits = new Uint32Array(data.buffer);
  for (let i = 0; i < n; i++) {
    if (specials && r() < 0.15) bits[i] = SPECIAL[Math.floor(r() * SPECIAL.length)];
    else data[i] = (r() - 0.5) * 20;
  }
  return { data, shape, dtype: float32 };
}

function ints(shape: number[], dtype: DType, seed: number, lo: number, hi: number): Host {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new dtype.storage(n);
  for (let i = 0; i < n; i++) data[i] = lo + Math.floor(r() * (hi - lo + 1));
  return { data, shape, dtype };
}

const host = (dtype: DType, shape: number[], values: number[]): Host => ({ data: (dtype.storage as unknown as { from(v: number[]): Storage }).from(values), shape, dtype });

/** Raw 32-bit words of storage (bool as its 0/1 values). */
function words(s: Storage): Uint32Array {
  if (s instanceof Float32Array || s instanceof Int32Array) return new Uint32Array(s.buffer, s.byteOffset, s.length);
  return Uint32Array.from(s as ArrayLike<number>);
}

const isNaNWord = (w: number) => (w & 0x7fffffff) > 0x7f800000;

/** Bit-for-bit equality; `nanEq`: any NaN equals any NaN (results of float arithmetic). */
function expectBits(got: Storage, ref: Storage, what: string, nanEq = false): void {
  const g = words(got);
  const r = words(ref);
  expect(g.length, what).toBe(r.length);
  const bad: string[] = [];
  for (let i = 0; i < r.length && bad.length < 5; i++) {
    if (g[i] === r[i] || (nanEq && isNaNWord(g[i]) && isNaNWord(r[i]))) continue;
    bad.push(`[${i}] got 0x${g[i].toString(16)} want 0x${r[i].toString(16)}`);
  }
  expect(bad, what).toEqual([]);
}

// ------------------------------------------------------------------------------- device runs

async function device() {
  const dev = await rawDevice();
  if (!dev && gpuRequired) throw new Error("PRIMAL_CI=1 but no WebGPU adapter");
  return dev;
}

/** The rule's call for these inputs (must not decline). */
function callOf(prim: Primitive, ins: ShapedArray[], params: any, caps = DEFAULT_CAPS): WgslCall {
  const out = prim.abstractEval(ins, params);
  const call = wgslRule(prim.name)!(ins, out, params, caps);
  if ("why" in call) throw new Error(`${prim.name} declined: ${call.why}`);
  return call;
}

/** Runs the rule (or `make`'s call) on the device and the CPU implementation; null without a device. */
async function both(prim: Primitive, ins: Host[], params: any, make?: (avals: ShapedArray[], outs: ShapedArray[]) => WgslCall) {
  const dev = await device();
  if (!dev) return null;
  const avals = ins.map((x) => new ShapedArray(x.shape, x.dtype));
  const outs = prim.abstractEval(avals, params);
  const call = make ? make(avals, outs) : callOf(prim, avals, params, dev.caps);
  const got = await runCall(dev, call, outs.map((o) => ({ dtype: o.dtype, elements: o.size })), ins.map((x) => ({ data: x.data, dtype: x.dtype })));
  const ref = prim.cpu(ins, params, outs);
  return { got, ref, call };
}

async function same(prim: Primitive, ins: Host[], params: any, what: string, nanEq = false): Promise<WgslCall | null> {
  const r = await both(prim, ins, params);
  if (!r) return null;
  r.ref.forEach((ref, i) => expectBits(r.got[i], ref, `${what} output ${i}`, nanEq));
  return r.call;
}

const gp = (offset_dims: number[], collapsed_slice_dims: number[], start_index_map: number[], slice_sizes: number[], mode: I.IndexMode, fill_value: number | null = null): I.GatherParams => ({
  dimension_numbers: { offset_dims, collapsed_slice_dims, start_index_map }, slice_sizes, mode, fill_value, indices_are_sorted: false, unique_indices: false,
});
const sp = (update_window_dims: number[], inserted_window_dims: number[], scatter_dims_to_operand_dims: number[], mode: I.IndexMode, unique_indices = false): I.ScatterParams => ({
  dimension_numbers: { update_window_dims, inserted_window_dims, scatter_dims_to_operand_dims }, mode, indices_are_sorted: false, unique_indices,
});

// Rows of an [8, 3] operand: repeated rows (1 three times), out of bounds (-1, 8).
const ROWS = host(int32, [6, 1], [1, 3, 1, -1, 8, 1]);
const ROW_DN = sp([1], [0], [0], "fill");

describe("wgsl indexing rules on the device", () => {
  it("gather: row take (clip), 2-D index vectors into partial windows (fill, uint32), window axes first, bool fill", async () => {
    const take = gp([1], [0], [0], [1, 5], "clip");
    await same(I.gather, [f32([6, 5], 1), host(int32, [7, 1], [0, 5, -3, 9, 2, 2, 6])], take, "take rows");
    // [5, 7] int32, windows [2, 3] at (row, col): hi = 3 and 4; 4, 2^32-1 and 5 are out of bounds.
    const idx = host(uint32, [3, 4, 2], [0, 0, 3, 4, 4, 0, 0xffffffff, 1, 1, 5, 2, 2, 3, 0, 0, 4, 1, 1, 2, 3, 3, 3, 4, 4]);
    await same(I.gather, [ints([5, 7], int32, 2, -1000, 1000), idx], gp([1, 3], [], [0, 1], [2, 3], "fill", -7), "2-D windows, fill");
    await same(I.gather, [f32([5, 7], 3), idx], gp([1, 3], [], [0, 1], [2, 3], "fill"), "2-D windows, default NaN fill");
    // Columns of a bool [4, 6]: the window axis (4) first, default fill true.
    await same(I.gather, [ints([4, 6], bool, 4, 0, 1), host(int32, [5, 1], [0, 5, 6, -1, 2])], gp([0], [1], [1], [4, 1], "fill"), "bool columns");
    await same(I.gather, [ints([10], uint32, 5, 0, 2 ** 32 - 1), host(int32, [8, 1], [0, 7, 8, -5, 3, 100, 2, 1])], gp([1], [], [0], [3], "promise_in_bounds"), "uint32 clamped");
  });

  it("scatter-add float32: the exact per-element scan (row order and update-number order) and compare-exchange", async () => {
    const op = f32([8, 3], 10);
    await same(I.scatterAdd, [op, ROWS, f32([6, 3], 11)], ROW_DN, "add, rows", true);
    await same(I.scatterMul, [op, ROWS, f32([6, 3], 12)], { ...ROW_DN, mode: "promise_in_bounds" }, "mul, rows", true);
    // Window axis first in the updates ([3, 6]), whole rows: still row order, clip mode.
    const rowCall = await same(I.scatterAdd, [op, ROWS, f32([3, 6], 13)], sp([0], [0], [0], "clip"), "add, window axis first", true);
    if (rowCall) expect(rowCall.passes[0].code).not.toContain("best");
    // Windows of 3 sliding along a 1-D operand, window axis first in the updates ([3, 5]): the
    // hits on element 2 in update-number order are rows 0, 2, 1, 3 (offsets 0, 0, 1, 2), and
    // 1e8 + -1e8 + 1 + 0.5 = 1.5 only in that order (row order gives 0.5).
    const slide = sp([0], [], [0], "fill");
    const starts = host(int32, [5, 1], [2, 1, 2, 0, 3]);
    const upd = host(float32, [3, 5], [1e8, 3, -1e8, 7, 11, 13, 1, 17, 19, 23, 29, 31, 37, 0.5, 41]);
    const call = await same(I.scatterAdd, [host(float32, [8], [0, 0, 0, 0, 0, 0, 0, 0]), starts, upd], slide, "add, sliding windows");
    if (call) expect(call.passes[0].code).toContain("best");
    await same(I.scatterMul, [f32([8], 18), starts, f32([3, 5], 19)], slide, "mul, sliding windows", true);
    // Compare-exchange (limit 0), finite data: within float32 rounding of every order.
    const a = f32([8, 3], 14, false);
    const u = f32([6, 3], 15, false);
    const r = await both(I.scatterAdd, [a, ROWS, u], ROW_DN, (avals, outs) => scatterCall("add", avals, outs, ROW_DN, DEFAULT_CAPS, 0) as WgslCall);
    if (!r) return;
    expect(r.call.passes.map((p) => p.bitExact)).toEqual([true, false]);
    const abs = (h: Host): Host => ({ ...h, data: (h.data as Float32Array).map(Math.abs) });
    const mag = I.scatterAdd.cpu([abs(a), ROWS, abs(u)], ROW_DN, [new ShapedArray([8, 3], float32)])[0];
    const got = r.got[0] as Float32Array;
    const ref = r.ref[0] as Float32Array;
    for (let i = 0; i < ref.length; i++) expect(Math.abs(got[i] - ref[i]), `element ${i}`).toBeLessThanOrEqual(4 * 2 ** -24 * mag[i]);
    // Unique rows through compare-exchange: exact.
    const uniq = host(int32, [3, 1], [6, 0, 2]);
    const r2 = await both(I.scatterAdd, [f32([8, 3], 16), uniq, f32([3, 3], 17)], ROW_DN, (avals, outs) => scatterCall("add", avals, outs, ROW_DN, DEFAULT_CAPS, 0) as WgslCall);
    expectBits(r2!.got[0], r2!.ref[0], "unique rows, compare-exchange", true);
  });

  it("scatter-add/mul/min/max of int32, uint32 and bool: atomics and compare-exchange, exact", async () => {
    const big = (seed: number, d: DType) => ints([8, 3], d, seed, d === uint32 ? 0 : -(2 ** 31), d === uint32 ? 2 ** 32 - 1 : 2 ** 31 - 1);
    const clip = { ...ROW_DN, mode: "clip" as const };
    await same(I.scatterAdd, [big(20, int32), ROWS, ints([6, 3], int32, 21, -(2 ** 31), 2 ** 31 - 1)], clip, "int32 add (wraps)");
    await same(I.scatterAdd, [big(22, uint32), ROWS, ints([6, 3], uint32, 23, 0, 2 ** 32 - 1)], ROW_DN, "uint32 add (wraps)");
    await same(I.scatterMul, [big(24, int32), ROWS, ints([6, 3], int32, 25, -(2 ** 20), 2 ** 20)], ROW_DN, "int32 mul (wraps)");
    await same(I.scatterMin, [big(26, int32), ROWS, ints([6, 3], int32, 27, -(2 ** 31), 2 ** 31 - 1)], clip, "int32 min");
    await same(I.scatterMax, [big(28, uint32), ROWS, ints([6, 3], uint32, 29, 0, 2 ** 32 - 1)], ROW_DN, "uint32 max");
    const b = (seed: number, shape: number[]) => ints(shape, bool, seed, 0, 1);
    await same(I.scatterAdd, [b(30, [8, 3]), ROWS, b(31, [6, 3])], ROW_DN, "bool add (or)");
    await same(I.scatterMul, [b(32, [8, 3]), ROWS, b(33, [6, 3])], ROW_DN, "bool mul (and)");
    await same(I.scatterMin, [b(34, [8, 3]), ROWS, b(35, [6, 3])], ROW_DN, "bool min");
  });

  it("scatter-min/max float32: NaN and signed zeros as the CPU, through compare-exchange", async () => {
    const op = f32([8, 3], 40);
    const zeros = host(float32, [6, 3], [-0, 0, -0, 0, -0, 0, 1, -1, NaN, -0, 0, -0, 0, -0, 0, 5, -5, 0]);
    for (const [prim, name] of [[I.scatterMin, "min"], [I.scatterMax, "max"]] as const) {
      await same(prim, [op, ROWS, f32([6, 3], 41)], ROW_DN, `${name}, random`);
      await same(prim, [op, ROWS, zeros], { ...ROW_DN, mode: "clip" }, `${name}, zeros`);
      // Row 1 gets updates 0, 2, 5 and row 3 update 1: every mix of +0 and -0, and NaNs with
      // payloads (operand 0x7fc12345, update 0xffc00001) that must come out canonical.
      const zop = host(float32, [8, 3], [1, 1, 1, 0, -0, 0, 2, 2, 2, -0, 0, 0, 3, 3, 3, 4, 4, 4, 5, 5, 5, 6, 6, 6]);
      new Uint32Array(zop.data.buffer)[11] = 0x7fc12345;
      const zup = host(float32, [6, 3], [-0, 0, -0, 0, -0, 1, 0, -0, 0, 9, 9, 9, 9, 9, 9, -0, 0, 2]);
      new Uint32Array(zup.data.buffer)[8] = 0xffc00001;
      await same(prim, [zop, ROWS, zup], ROW_DN, `${name}, signed zeros`);
    }
  });

  it("scatter (replace): last writer wins with repeated indices; unique indices write directly", async () => {
    const call = await same(I.scatter, [f32([8, 3], 50), ROWS, f32([6, 3], 51)], ROW_DN, "replace rows");
    if (call) expect([call.passes.length, call.temps.length]).toEqual([3, 1]);
    await same(I.scatter, [f32([8, 3], 52), host(int32, [3, 1], [7, 0, 2]), f32([3, 3], 53)], sp([1], [0], [0], "fill", true), "replace, unique");
    // 2-D index vectors, [2, 3] windows of a [5, 6] int32, clamped, overlapping.
    const idx = host(int32, [4, 2], [0, 0, 4, 5, -2, 1, 1, 1]);
    await same(I.scatter, [ints([5, 6], int32, 54, -99, 99), idx, ints([4, 2, 3], int32, 55, 100, 999)], sp([1, 2], [], [0, 1], "clip"), "replace windows");
    await same(I.scatterAdd, [f32([5, 6], 56), idx, f32([4, 2, 3], 57)], sp([1, 2], [], [0, 1], "clip"), "add windows", true);
  });

  it("pad (negative low/high, interior), concatenate (empty operand, more operands than bindings)", async () => {
    await same(M.pad, [f32([4, 5], 60), host(float32, [], [-0])], { padding_config: [[-1, 2, 1], [2, -3, 0]] }, "pad f32");
    await same(M.pad, [ints([3], int32, 61, -9, 9), host(int32, [], [-1])], { padding_config: [[2, 3, 2]] }, "pad int32 interior");
    await same(M.pad, [ints([0, 3], int32, 61, -9, 9), host(int32, [], [7])], { padding_config: [[1, 1, 0], [0, 0, 0]] }, "pad empty");
    await same(M.pad, [ints([3, 2], bool, 62, 0, 1), host(bool, [], [1])], { padding_config: [[0, 0, 1], [-1, 1, 0]] }, "pad bool");
    await same(M.concatenate, [f32([2, 3], 63), f32([2, 0], 64), f32([2, 4], 65)], { dimension: 1 }, "concatenate f32");
    const nine = Array.from({ length: 9 }, (_, i) => ints([1 + (i % 3), 2], int32, 66 + i, -50, 50));
    const call = await same(M.concatenate, nine, { dimension: 0 }, "concatenate 9");
    if (call) expect(call.passes.length).toBe(2);
  });

  it("dynamic_slice / dynamic_update_slice: clamped int32 and uint32 starts, staged starts at high rank", async () => {
    const x = f32([5, 6], 70);
    const s = (d: DType, v: number) => host(d, [], [v]);
    await same(M.dynamicSlice, [x, s(int32, -2), s(int32, 5)], { slice_sizes: [2, 3] }, "ds int32");
    await same(M.dynamicSlice, [x, s(uint32, 0xffffffff), s(uint32, 1)], { slice_sizes: [2, 6] }, "ds uint32");
    const hi = ints([2, 3, 2, 3, 2, 3, 2], int32, 71, -9, 9);
    const st7 = [-1, 1, 0, 5, 1, 1, 0].map((v) => s(int32, v));
    const c7 = await same(M.dynamicSlice, [hi, ...st7], { slice_sizes: [1, 2, 1, 1, 1, 2, 1] }, "ds rank 7");
    if (c7) expect([c7.passes.length, c7.temps.length]).toEqual([2, 1]);
    await same(M.dynamicUpdateSlice, [x, f32([2, 3], 72), s(int32, 4), s(int32, -1)], {}, "dus");
    await same(M.dynamicUpdateSlice, [x, f32([5, 2], 73), s(uint32, 3), s(uint32, 0xfffffff0)], {}, "dus uint32");
    const st6 = [2, -1, 1, 9, 0, 1].map((v) => s(int32, v));
    const c6 = await same(M.dynamicUpdateSlice, [ints([3, 3, 2, 3, 2, 3], int32, 74, -9, 9), ints([2, 1, 1, 2, 1, 2], int32, 75, 100, 200), ...st6], {}, "dus rank 6");
    if (c6) expect(c6.passes.length).toBe(2);
  });

  it("iota (int32, float32, a 2-D grid of workgroups) and bitcast_convert_type", async () => {
    await same(M.iota, [], { dtype: int32, shape: [3, 4], dimension: 0, sharding: null }, "iota int32");
    await same(M.iota, [], { dtype: float32, shape: [5, 7], dimension: 1, sharding: null }, "iota f32");
    // More than 65535 workgroups of 64: the shader recombines gid.x and gid.y.
    const call = await same(M.iota, [], { dtype: uint32, shape: [65535 * 64 + 100], dimension: 0, sharding: null }, "iota 2-D grid");
    if (call) expect(call.passes[0].dispatch[1]).toBe(2);
    await same(M.bitcastConvertType, [f32([7, 9], 80)], { new_dtype: int32 }, "f32 -> i32");
    await same(M.bitcastConvertType, [ints([7, 9], int32, 81, -(2 ** 31), 2 ** 31 - 1)], { new_dtype: float32 }, "i32 -> f32");
  });
});

// ------------------------------------------------------------------------------- pure

describe("wgsl indexing rules, generated text", () => {
  const A = (shape: number[], d: DType = float32) => new ShapedArray(shape, d);
  const rule = (prim: Primitive, ins: ShapedArray[], params: any) => wgslRule(prim.name)!(ins, prim.abstractEval(ins, params), params, DEFAULT_CAPS);

  it("registers every primitive", () => {
    for (const n of ["gather", "scatter", "scatter-add", "scatter-mul", "scatter-min", "scatter-max", "pad", "concatenate", "dynamic_slice", "dynamic_update_slice", "iota", "bitcast_convert_type"])
      expect(wgslRule(n), n).toBeDefined();
  });

  it("declines what WGSL storage cannot hold, with a reason", () => {
    const why = (r: unknown) => (r as { why?: string }).why ?? "";
    expect(why(rule(I.gather, [A([4, 3], float16), A([2, 1], int32)], gp([1], [0], [0], [1, 3], "clip")))).toMatch(/float16/);
    expect(why(rule(I.gather, [A([4, 3]), A([2, 1], int8)], gp([1], [0], [0], [1, 3], "clip")))).toMatch(/int8/);
    expect(why(rule(M.bitcastConvertType, [A([4], float16)], { new_dtype: int16 }))).toMatch(/32-bit/);
  });

  it("picks the float32 scatter-add plan by cost, atomics for integers", () => {
    const ins = [A([8, 3]), A([6, 1], int32), A([6, 3])];
    const outs = [A([8, 3])];
    const exact = scatterCall("add", ins, outs, ROW_DN, DEFAULT_CAPS) as WgslCall;
    expect(exact.passes.map((p) => p.bitExact)).toEqual([true]);
    expect(exact.passes[0].code).toMatch(/for \(var g = 0i; g < 6i; g\+\+\)/);
    const cas = scatterCall("add", ins, outs, ROW_DN, DEFAULT_CAPS, 8 * 6 - 1) as WgslCall;
    expect(cas.passes[1].code).toContain("atomicCompareExchangeWeak");
    const int = scatterCall("add", ins.map((a) => A([...a.shape], int32)), [A([8, 3], int32)], ROW_DN, DEFAULT_CAPS) as WgslCall;
    expect(int.passes[1].code).toContain("atomicAdd(&b0[pos], v)");
    expect(int.passes[1].code).toContain("array<atomic<i32>>");
  });

  it("float32 iota's conversion f32(hi) + f32(lo) rounds to nearest even as the CPU's store", () => {
    const r = rng(90);
    const vals = [2 ** 24 + 1, 2 ** 24 + 3, 2 ** 25 + 2, 2 ** 25 + 6, 0xffffffff, 0xffffff80, 0xffffff7f, 0x80000080, 0x80000180];
    for (let i = 0; i < 2000; i++) vals.push(Math.floor(r() * 2 ** 32));
    for (const v of vals) expect(Math.fround(Math.fround(v - (v % 256)) + (v % 256)), `v = ${v}`).toBe(Math.fround(v));
    const call = rule(M.iota, [], { dtype: float32, shape: [5, 7], dimension: 1, sharding: null }) as WgslCall;
    expect(call.passes[0].code).toContain("f32(v & 0xffffff00u) + f32(v & 0xffu)");
  });

  it("declares each binding once, numbered in order, with its access; at most 8 per pass", () => {
    const calls: WgslCall[] = [
      rule(I.gather, [A([6, 5]), A([7, 1], int32)], gp([1], [0], [0], [1, 5], "fill")) as WgslCall,
      rule(I.scatter, [A([8, 3]), A([6, 1], int32), A([6, 3])], ROW_DN) as WgslCall,
      rule(M.concatenate, Array.from({ length: 15 }, () => A([2, 2], int32)), { dimension: 1 }) as WgslCall,
      rule(M.dynamicSlice, [A([2, 2, 2, 2, 2, 2, 2, 2, 2]), ...Array.from({ length: 9 }, () => A([], int32))], { slice_sizes: Array(9).fill(1) }) as WgslCall,
      rule(M.pad, [A([3, 4]), A([])], { padding_config: [[1, -1, 2], [0, 0, 0]] }) as WgslCall,
    ];
    for (const c of calls) {
      for (const p of c.passes) {
        expect(p.bindings.length).toBeLessThanOrEqual(8);
        p.bindings.forEach((b, i) => {
          expect(b.binding).toBe(i);
          const decl = new RegExp(`@binding\\(${i}\\) var<storage, ${b.access}> b${b.buf}: array<`);
          expect(p.code).toMatch(decl);
          // Every declared binding is used (an auto layout drops unused ones).
          expect(p.code.split(`b${b.buf}[`).length + p.code.split(`&b${b.buf}[`).length).toBeGreaterThan(2);
        });
        expect(new Set(p.bindings.map((b) => b.buf)).size).toBe(p.bindings.length);
      }
    }
    expect(calls[2].passes.length).toBe(3);
    expect(calls[3].passes.length).toBe(3); // two staging passes of the 9 starts, then the slice
  });
});
