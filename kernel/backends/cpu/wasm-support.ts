// What the WebAssembly code generator (codegen-wasm.ts) can render, decided before any code is
// made: which kernels compute exactly what their JS computes (`wasmSupport`, with the reason
// when not), which can be split over threads, the memory the modules import, and the shape of
// a generated module. Pure: kernel IR in, answers out.

import { Kernel, kernelTypeError } from "../../lower/kernel-ir";
import { aluSupported, wasmDType } from "./wasm-lanes";

/** A generated kernel module. */
export interface WasmKernelModule {
  bytes: Uint8Array;
  /** Bytes of scratch the caller passes after the buffers (0: no scratch parameter). */
  scratchBytes: number;
  /** Whether some loop runs four points per step. */
  vectorized: boolean;
  /** Whether a vectorised loop moves lanes one by one (gathers/scatters of strided views). */
  gathered: boolean;
  /** The largest stride of those, in bytes (0: none). */
  gatherBytes: number;
  /** Whether the kernel takes (lo, hi) of its outermost loop as its last parameters. */
  split: boolean;
  /** WAT-like listing of the function, with a header saying how the kernel was rendered (formatted on first read). */
  readonly text: string;
}

/** How the shared memory is declared in the module (must match the runtime's memory). */
export interface WasmMemoryShape {
  minPages: number;
  maxPages: number;
}

export interface WasmCodegenOptions {
  memory?: WasmMemoryShape;
  /** false: scalar loops only (tests, measurements). */
  simd?: boolean;
  /** Vectors per step in vectorised reductions (independent accumulators). */
  reduceUnroll?: number;
  /** Vectors per step in vectorised elementwise loops. */
  unroll?: number;
  /**
   * Adds two parameters (lo, hi) after the others: the kernel computes only iterations lo..hi-1
   * of its outermost loop, so threads can share it (see `wasmSplittable`).
   */
  split?: boolean;
}

/**
 * Whether a kernel can be split over threads along its outermost axis: each iteration of that
 * axis writes its own outputs (elementwise kernels, and reductions whose outermost axis is kept
 * and folded axes innermost).
 */
export function wasmSplittable(k: Kernel): boolean {
  if (k.shape.length === 0 || k.reduced[0]) return false;
  const firstReduced = k.reduced.indexOf(true);
  return firstReduced < 0 || !k.ops.some((o) => o.op === "reduce") || k.reduced.every((r, d) => r === d >= firstReduced);
}

/** The memory the kernels import by default: shared, up to 2 GiB (addresses stay positive i32). */
export const DEFAULT_MEMORY: WasmMemoryShape = { minPages: 1, maxPages: 32767 };

const MAX_BYTES = 2 ** 31 - 65536;

/** Whether a kernel can run as wasm with the same results as its JS: null if so, else the reason. */
export function wasmSupport(k: Kernel): string | null {
  for (const b of k.bufs) {
    if (!wasmDType(b.dtype)) return `buffer of ${b.dtype.name}`;
    if (b.size * b.dtype.itemsize > MAX_BYTES) return `buffer of ${b.size} elements`;
  }
  const bad = kernelTypeError(k);
  if (bad) return bad;
  for (const o of k.ops) {
    if (o.op === "const" && !wasmDType(o.dtype)) return `constant of ${o.dtype.name}`;
    if (o.op === "alu") {
      const why = aluSupported(o.prim, o.inDtypes, o.dtype);
      if (why) return why;
    }
    if (o.op === "reduce") {
      if (!wasmDType(o.dtype)) return `reduce_${o.kind} of ${o.dtype.name}`;
      if (o.kind === "prod" && o.dtype.isInt && o.dtype.bits !== 32) return `reduce_prod of ${o.dtype.name} (JS multiplies in float64)`;
    }
  }
  return null;
}
