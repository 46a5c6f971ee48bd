// Eager primitives (jit off, or outside jit) through the compiler's WebAssembly kernels: an
// elementwise primitive or a reduction applied to big enough arrays is lowered on its own, as a
// one-equation program, to the same kernel IR a jitted program uses, and runs as that kernel's
// wasm module (codegen-wasm.ts, wasm-kernels.ts). So eager and jit share one backend and compute
// the same bits, and eager float32 math gets SIMD (the JS helpers of f32-math are exact but
// slow: ~40 ms per 1M exp in JS against ~2 ms in wasm).
//
// The kernel of a (primitive, params, input avals) is built once and cached; a call then costs
// a key, a map lookup and runWasmKernel (copies in, kernel, copy out; inputs already resident
// in wasm memory are read in place, see wasm-kernels.ts). Below EAGER_WASM_MIN_POINTS the
// copies and the dispatch cost more than the JS loops, which then run as before (measured on
// this 2-core VM: an eager add of 64K float32 is 0.10 ms as JS, 0.09 ms as wasm; 1M: 3.9 vs 1.2).

import { ShapedArray } from "../../core/aval";
import { Storage } from "../../core/dtype";
import { HostArray, Primitive } from "../../core/primitive";
import { ClosedJaxpr, Jaxpr, JaxprEqn, Var } from "../../ir/jaxpr";
import { buildKernelGraph, classify } from "../../lower/fusion";
import { Kernel, coalesce, kernelPoints } from "../../lower/kernel-ir";
import { wasmSupport } from "./codegen-wasm";
import { WasmKernel, runWasmKernel, wasmKernel, wasmKernelsEnabled } from "./wasm-kernels";

/** Eager ops with fewer output (or reduced-input) points run as JS loops. */
export const EAGER_WASM_MIN_POINTS = 1 << 16;

/** A cached lowering: the kernel, and which host input feeds each of its input buffers. */
export interface EagerKernel {
  kernel: Kernel;
  order: number[];
}

/** Eager ops run as wasm kernels so far (tests check the path is taken). */
export const eagerWasmStats = { runs: 0 };

const MAX_CACHED = 2048;
const cache = new Map<string, EagerKernel | null>();

function keyOf(prim: Primitive, inputs: readonly HostArray[], params: unknown, out: ShapedArray): string {
  let k = `${prim.name}|${JSON.stringify(params)}|${out.dtype.name}`;
  for (const x of inputs) k += `|${x.dtype.name}:${x.shape.join(",")}`;
  return k;
}

/** The one-equation program's kernel, or null when it has none wasm can run. */
function lower(prim: Primitive, inputs: readonly HostArray[], params: unknown, outAvals: ShapedArray[]): EagerKernel | null {
  if (outAvals.length !== 1) return null;
  const invars = inputs.map((x) => new Var(new ShapedArray(x.shape, x.dtype)));
  const out = new Var(outAvals[0]);
  const eqn = new JaxprEqn(prim, invars, params as Record<string, unknown>, [out], null);
  const cls = classify(eqn);
  if (cls !== "elementwise" && cls !== "reduce") return null;
  let graph;
  try {
    graph = buildKernelGraph(new ClosedJaxpr(new Jaxpr([], invars, [eqn], [out]), []));
  } catch {
    return null;
  }
  if (graph.kernels.length !== 1) return null;
  const built = graph.kernels[0];
  const kernel = coalesce(built.kernel);
  if (wasmSupport(kernel) !== null) return null;
  return { kernel, order: built.inputs.map((v) => invars.indexOf(v)) };
}

/** An eager primitive's wasm kernel: the kernel, which input feeds each input buffer, its compiled module. */
export interface EagerWasmKernel extends EagerKernel {
  wasm: WasmKernel;
}

/**
 * The wasm kernel an eager primitive on these inputs runs as (cached), or null when it is not
 * an elementwise op or a reduction wasm renders exactly, or the arrays are too small.
 * shard-parallel.ts runs it once per pmap shard, side by side.
 */
export function eagerKernel(prim: Primitive, inputs: readonly HostArray[], params: unknown, outAvals: ShapedArray[]): EagerWasmKernel | null {
  if (!prim.elementwise && !prim.name.startsWith("reduce_")) return null;
  const size = outAvals.length === 1 ? outAvals[0].size : 0;
  let points = size;
  for (const x of inputs) if (x.data.length > points) points = x.data.length;
  if (points < EAGER_WASM_MIN_POINTS || !wasmKernelsEnabled()) return null;
  const key = keyOf(prim, inputs, params, outAvals[0]);
  let k = cache.get(key);
  if (k === undefined) {
    k = lower(prim, inputs, params, outAvals);
    if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value as string);
    cache.set(key, k);
  }
  if (!k || kernelPoints(k.kernel) < EAGER_WASM_MIN_POINTS) return null;
  const wasm = wasmKernel(k.kernel);
  return wasm ? { ...k, wasm } : null;
}

/**
 * Runs an eager primitive as a wasm kernel when it is an elementwise op or a reduction that wasm
 * renders exactly and the arrays are big enough; null otherwise (the caller runs its JS loop).
 */
export function eagerWasm(prim: Primitive, inputs: readonly HostArray[], params: unknown, outAvals: ShapedArray[]): Storage[] | null {
  const k = eagerKernel(prim, inputs, params, outAvals);
  if (!k) return null;
  const out = runWasmKernel(k.kernel, k.order.map((i) => inputs[i].data), true);
  if (out) eagerWasmStats.runs++;
  return out;
}
