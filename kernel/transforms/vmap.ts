// Vectorising map (JAX's vmap): BatchTracers carry a value and the axis along which it is
// batched (null = the same for every element of the batch). Each primitive's `batch` rule
// maps batched inputs to batched outputs, so no loop ever runs.

import { ShapedArray } from "../core/aval";
import { PrimalError, ShapeError } from "../core/errors";
import { NDArray } from "../core/ndarray";
import { Primitive } from "../core/primitive";
import { MainTrace, Trace, Tracer, bind, fullRaise, withNewMain } from "../core/trace";
import { broadcastInDim, moveAxis } from "../primitives/ops";
import { MissingRuleError } from "./jvp";

/** A value under vmap: the batched value and the position of its batch axis (or null). */
export class BatchTracer extends Tracer {
  constructor(
    readonly _trace: BatchTrace,
    readonly val: NDArray,
    readonly batchDim: number | null,
  ) {
    super();
  }
  /** The aval of one element of the batch. */
  override get aval(): ShapedArray {
    if (this.batchDim === null) return this.val.aval;
    const shape = this.val.shape.filter((_, i) => i !== this.batchDim);
    return this.val.aval.update({ shape });
  }
  override toString(): string {
    return `Traced<${this.aval.toString()}>with<BatchTrace(axis_size=${this._trace.axisSize})>`;
  }
}

/** What a vmap level knows: the batch size and its optional axis name (for collectives). */
export interface BatchData {
  axisSize: number;
  axisName: string | null;
}

export class BatchTrace extends Trace {
  get axisSize(): number {
    return (this.main.globalData as BatchData).axisSize;
  }
  pure(x: NDArray): NDArray {
    return new BatchTracer(this, x, null);
  }
  processPrimitive(prim: Primitive, tracers: NDArray[], params: unknown): NDArray[] {
    const ts = tracers as BatchTracer[];
    const vals = ts.map((t) => t.val);
    const dims = ts.map((t) => t.batchDim);
    if (dims.every((d) => d === null)) return bind(prim, vals, params).map((v) => new BatchTracer(this, v, null));
    if (!prim.batch) throw new MissingRuleError(`vmap: batching rule for '${prim.name}' not implemented`);
    const [outs, outDims] = prim.batch(vals, dims, params, this.axisSize);
    return outs.map((v, i) => new BatchTracer(this, v, outDims[i] ?? null));
  }
}

/** Moves the batch axis of x to `to`, materialising it (broadcast) when x is not batched. */
export function moveBatchAxis(x: NDArray, from: number | null, to: number, axisSize: number): NDArray {
  if (from === null) {
    const shape = [...x.shape];
    shape.splice(to, 0, axisSize);
    return broadcastInDim(x, shape, x.shape.map((_, i) => (i < to ? i : i + 1)));
  }
  return moveAxis(x, from, to);
}

/**
 * vmap of a function on flat lists: `inDims[i]` is the batch axis of argument i (or null);
 * outputs get their batch axis at `outDims[j]` (null: the output must not be batched).
 */
export function vmapFlat(fn: (...xs: NDArray[]) => NDArray[], args: NDArray[], inDims: (number | null)[], outDims: (number | null)[], axisSize: number, axisName: string | null = null): NDArray[] {
  return withNewMain(BatchTrace, { axisSize, axisName } satisfies BatchData, (main: MainTrace) => {
    const trace = new BatchTrace(main);
    const ins = args.map((a, i) => new BatchTracer(trace, a, inDims[i]));
    const outs = fn(...ins).map((o) => fullRaise(trace, o) as BatchTracer);
    return outs.map((o, j) => {
      const od = outDims[j] ?? null;
      if (od === null) {
        if (o.batchDim !== null) throw new ShapeError(`vmap: an output has outAxes null but is batched along axis ${o.batchDim}, got ${o.val.aval.str()}`);
        return o.val;
      }
      const rank = o.aval.ndim + 1;
      if (od < -rank || od >= rank) throw new PrimalError(`vmap: outAxes ${od} is out of bounds for an output of rank ${rank}`);
      return moveBatchAxis(o.val, o.batchDim, od < 0 ? od + rank : od, axisSize);
    });
  });
}
