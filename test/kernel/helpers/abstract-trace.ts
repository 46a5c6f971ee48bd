// A shape-only trace for tests: every primitive runs only its abstract eval, so a function
// that reads the values of a traced array (instead of going through `bind`) throws the
// concretization error. Used to check that the NumPy API traces before jit/vmap/grad exist.
// When the MainTrace's global data is an array, the names of the bound primitives are pushed to it.

import { expect } from "vitest";
import { ShapedArray } from "../../../kernel/core/aval";
import { DTYPES, DTypeName } from "../../../kernel/core/dtype";
import { NDArray } from "../../../kernel/core/ndarray";
import { Primitive } from "../../../kernel/core/primitive";
import { MainTrace, Trace, Tracer, withNewMain } from "../../../kernel/core/trace";

export class AbsTracer extends Tracer {
  constructor(
    override readonly _trace: Trace,
    private readonly av: ShapedArray,
  ) {
    super();
  }
  override get aval(): ShapedArray {
    return this.av;
  }
}

export class AbsTrace extends Trace {
  override pure(x: NDArray): NDArray {
    return new AbsTracer(this, x.aval);
  }
  override processPrimitive(prim: Primitive, tracers: NDArray[], params: unknown): NDArray[] {
    const log = this.main.globalData;
    if (Array.isArray(log)) log.push(prim.name);
    return prim.abstractEval(tracers.map((t) => t.aval), params).map((a) => new AbsTracer(this, a));
  }
}

/** Runs `fn` inside a shape-only trace; `mk` turns an aval or an array into a tracer. `prims` collects bound primitive names. */
export function traced<T>(fn: (mk: (x: NDArray | ShapedArray) => NDArray, main: MainTrace) => T, prims: string[] | null = null): T {
  return withNewMain(AbsTrace, prims, (main) => fn((x) => new AbsTracer(new AbsTrace(main), x instanceof ShapedArray ? x : x.aval), main));
}

/** Runs f on shape-only tracers of the given shapes (float32 unless a dtype is given); returns the output shapes. */
export function abstractShapes(f: (...xs: NDArray[]) => NDArray | NDArray[], ...ins: [number[], DTypeName?][]): number[][] {
  return traced((mk) => {
    const outs = [f(...ins.map(([s, d]) => mk(new ShapedArray(s, DTYPES[d ?? "float32"]))))].flat();
    for (const o of outs) expect(o).toBeInstanceOf(AbsTracer);
    return outs.map((o) => [...o.shape]);
  });
}
