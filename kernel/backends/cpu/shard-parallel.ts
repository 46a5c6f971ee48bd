// pmap's shards side by side on the CPU: the lockstep interpreter (transforms/pmap.ts) hands one
// equation for every shard at once to `runShards`, which runs the shards' kernels concurrently
// on the kernels' worker threads (kernel-threads.ts), each logical device getting its share of
// the cores (cores / devices, at least one), instead of running them one after another with
// every thread on each. Null when the equation has no such path: the interpreter then binds
// it shard by shard as before.
//
// Why per equation and not whole programs per worker: the CPU backend's compute is WebAssembly
// over one shared memory (wasm-kernels.ts's heap), already run from worker threads (the GEMM's
// sub-products, split kernels); JavaScript kernels and compiled programs' glue run on the main
// thread only. So the big pieces of a shard's work (its matmuls and big elementwise kernels) can
// run on a worker with no copy, while a worker running a whole jitted segment would need the
// runtime itself in every worker. On the 2-core VM one 1024 matmul already uses both cores
// (1.9× its one-thread speed), so running two shards one after another on two threads or side
// by side on one thread each does the same work on the same cores: side by side saves the
// fork/join and packing per product, not a factor two (measured in test/bench/pmap.ts).
//
// What runs side by side:
//   - float32 dot_general (HeapSgemm.runMany: one GEMM per device, its own work areas);
//   - elementwise ops and reductions that eager-wasm.ts runs as a wasm kernel: one call of the
//     kernel per shard, each on its own thread (a split kernel gets its whole range).
// The results are bit for bit those of the shard-by-shard path: the same GEMM records (every
// element the same K chain) and the same kernels.
//
// Memory: the logical devices share the one wasm heap (a device's arrays are host typed arrays
// as before, CpuBuffer); each shard's operands are copied into regions of it for the call, an
// operand replicated to every device (one storage object) once.

import { ShapedArray } from "../../core/aval";
import { Storage, float32 } from "../../core/dtype";
import { HostArray, Primitive } from "../../core/primitive";
import { DotGeneralParams, dotGeneral, permuteInto } from "../../primitives/contraction";
import { eagerKernel } from "./eager-wasm";
import { Batched, DotPlan, THREAD_MIN_FLOPS, planDot, sgemm } from "./gemm";
import { Region, THREAD_MIN_WORK, copyIn, copyOut, heap, kernelThreads, kernelWork, runKernelsSideBySide, tryAllocate } from "./wasm-kernels";

/** Equations run side by side so far, by path (tests check the path is taken). */
export const shardStats = { dot: 0, kernel: 0 };

/**
 * Runs one primitive on every shard's inputs at once, the shards side by side on the worker
 * threads; null (nothing done) when the primitive or its operands have no such path, or when
 * there is one shard or one thread. `shards[i]` are shard i's inputs; every shard has the same
 * avals, so `outAvals` is one shard's outputs.
 */
export function runShards(prim: Primitive, shards: readonly HostArray[][], params: unknown, outAvals: ShapedArray[]): Storage[][] | null {
  if (shards.length < 2 || !kernelThreads()) return null;
  if (prim === dotGeneral) return dotShards(shards, params as DotGeneralParams, outAvals[0]);
  return kernelShards(prim, shards, params, outAvals);
}

/** Copies storage into the heap once per distinct storage object (a replicated operand is shared). */
class Placer {
  readonly regions: Region[] = [];
  private readonly at = new Map<Storage, number>();
  /** The storage's offset in the heap, or null when the heap is full. */
  place(s: Storage): number | null {
    let off = this.at.get(s);
    if (off !== undefined) return off;
    const r = tryAllocate(Math.max(1, s.byteLength));
    if (!r) return null;
    this.regions.push(r);
    copyIn(s, r);
    this.at.set(s, (off = r.offset));
    return off;
  }
  /** A fresh region of `bytes`, or null. */
  fresh(bytes: number): Region | null {
    const r = tryAllocate(Math.max(1, bytes));
    if (r) this.regions.push(r);
    return r;
  }
  release(): void {
    for (const r of this.regions) heap().release(r);
  }
}

/** One float32 dot_general per shard, the shards' GEMMs side by side (HeapSgemm.runMany). */
function dotShards(shards: readonly HostArray[][], params: DotGeneralParams, out: ShapedArray): Storage[][] | null {
  const [a0, b0] = shards[0];
  if (a0.dtype !== float32 || b0.dtype !== float32 || out.dtype !== float32) return null;
  const plan = planDot(a0.shape, b0.shape, params.dimension_numbers);
  // Work too small to be worth a second thread runs shard by shard (each a few µs).
  if (plan.size === 0 || plan.K === 0 || 2 * plan.B * plan.M * plan.N * plan.K * shards.length < THREAD_MIN_FLOPS) return null;
  const g = sgemm();
  if (!g) return null;
  const mem = new Placer();
  try {
    const products = [];
    const results: Region[] = [];
    for (const [a, b] of shards) {
      const pa = operand(mem, plan, a.data as Float32Array, "lhs");
      const pb = pa && operand(mem, plan, b.data as Float32Array, "rhs");
      const c = pb && mem.fresh(4 * plan.size);
      if (!pa || !pb || !c) return null;
      results.push(c);
      products.push({ count: plan.B, M: plan.M, N: plan.N, K: plan.K, a: pa, b: pb, c: { offset: c.offset, bs: plan.M * plan.N, rs: plan.N, cs: 1 } });
    }
    g.runMany(products);
    shardStats.dot++;
    // The shards' results are copied out into one array, each shard's a view of its part: pmap
    // stacks outputs along axis 0, and views already in order stack without a copy (pmap.ts).
    const all = new Float32Array(plan.size * shards.length);
    return results.map((c, i) => {
      all.set(new Float32Array(heap().memory.buffer, c.offset, plan.size), i * plan.size);
      return [all.subarray(i * plan.size, (i + 1) * plan.size)];
    });
  } finally {
    mem.release();
  }
}

/** An operand of a planned dot_general in the heap, read through its strides or permuted into [B, rows, cols]. */
function operand(mem: Placer, plan: DotPlan, data: Float32Array, side: "lhs" | "rhs"): Batched | null {
  const strides = side === "lhs" ? plan.aStrides : plan.bStrides;
  if (strides) {
    const off = mem.place(data);
    return off === null ? null : { offset: off, bs: strides[0], rs: strides[1], cs: strides[2] };
  }
  const [shape, perm, rows, cols] = side === "lhs" ? [plan.aShape, plan.layout.lhsPerm, plan.M, plan.K] : [plan.bShape, plan.layout.rhsPerm, plan.K, plan.N];
  const n = plan.B * rows * cols;
  const r = mem.fresh(4 * n);
  if (!r) return null;
  permuteInto(data, shape, perm, new Float32Array(heap().memory.buffer, r.offset, n));
  return { offset: r.offset, bs: rows * cols, rs: cols, cs: 1 };
}

/** An elementwise op or reduction eager-wasm.ts runs as a wasm kernel: one call per shard, side by side. */
function kernelShards(prim: Primitive, shards: readonly HostArray[][], params: unknown, outAvals: ShapedArray[]): Storage[][] | null {
  const k = eagerKernel(prim, shards[0], params, outAvals);
  // Work too small to be worth a second thread runs shard by shard (as in runKernel).
  if (!k || kernelWork(k.kernel) * shards.length < THREAD_MIN_WORK) return null;
  const mem = new Placer();
  try {
    const outBufs = k.kernel.bufs.filter((b) => b.role === "out");
    const calls: number[][] = [];
    const outs: Region[][] = [];
    for (const shard of shards) {
      const o = outBufs.map((b) => mem.fresh(b.size * b.dtype.itemsize));
      const ins = k.order.map((i) => mem.place(shard[i].data));
      const scratch = k.wasm.scratchBytes ? mem.fresh(k.wasm.scratchBytes) : null;
      if (o.some((r) => !r) || ins.some((x) => x === null) || (k.wasm.scratchBytes && !scratch)) return null;
      outs.push(o as Region[]);
      calls.push([...o.map((r) => r!.offset), ...(ins as number[]), ...(scratch ? [scratch.offset] : [])]);
    }
    runKernelsSideBySide(k.wasm, calls);
    shardStats.kernel++;
    return outs.map((o) => o.map((r, j) => copyOut(r, outBufs[j].dtype, outBufs[j].size)));
  } finally {
    mem.release();
  }
}
