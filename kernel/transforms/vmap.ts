// Vectorising map (JAX's vmap): BatchTracers carry a value and the axis along which it is
// batched (null = the same for every element of the batch). Each primitive's `batch` rule
// maps batched inputs to batched outputs, so no loop ever runs.

import { ShapedArray } from "../core/aval";
import { PrimalError, ShapeError } from "../core/errors";
import { NDArray } from "../core/ndarray";
import { Primitive } from "../core/primitive";
import { MainTrace, Trace, Tracer, bind, fullRaise, withNewMain } from "../core/trace";
import { withSharedSource } from "../ir/source";
import { moveBatchAxis } from "../primitives/ops";
import { MissingRuleError } from "./jvp";
import { treeFlatten, treeUnflatten } from "../core/tree";
import { flatFun, flattenToArrays } from "./args";

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

/**
 * The axis whose batching rule is running: the BatchTraces a higher-order primitive's rule opens
 * for that same axis (jit, cond, loop and custom-rule bodies) take its name, so collectives in
 * those bodies still find their axis.
 */
let ruleAxis: BatchData | null = null;

/** Inside a batching rule for an axis of `size`: that axis' name (for the rule's own inner vmaps). */
export function ruleAxisName(size: number): string | null {
  return ruleAxis && ruleAxis.axisSize === size ? ruleAxis.axisName : null;
}

export class BatchTrace extends Trace {
  get axisSize(): number {
    return (this.main.globalData as BatchData).axisSize;
  }
  get axisName(): string | null {
    return (this.main.globalData as BatchData).axisName;
  }
  pure(x: NDArray): NDArray {
    return new BatchTracer(this, x, null);
  }
  processPrimitive(prim: Primitive, tracers: NDArray[], params: unknown): NDArray[] {
    const ts = tracers as BatchTracer[];
    const vals = ts.map((t) => t.val);
    const dims = ts.map((t) => t.batchDim);
    // A collective over this axis reduces (or indexes) it even when no operand is batched.
    const name = this.axisName;
    const collective = name !== null && prim.axisNames !== undefined && prim.axisNames(params).includes(name);
    if (!collective && dims.every((d) => d === null)) return bind(prim, vals, params).map((v) => new BatchTracer(this, v, null));
    if (!prim.batch) throw new MissingRuleError(`vmap: batching rule for '${prim.name}' not implemented`);
    const prev = ruleAxis;
    ruleAxis = this.main.globalData as BatchData;
    try {
      // The equations a rule stages are all for the caller's line: one source capture serves them.
      const [outs, outDims] = withSharedSource(() => prim.batch!(vals, dims, params, this.axisSize, name));
      return outs.map((v, i) => new BatchTracer(this, v, outDims[i] ?? null));
    } finally {
      ruleAxis = prev;
    }
  }
}

/**
 * vmap of a function on flat lists: `inDims[i]` is the batch axis of argument i (or null);
 * outputs get their batch axis at `outDims[j]` (null: the output must not be batched).
 * `axisName` undefined: the axis of the batching rule calling this (ruleAxisName), if any.
 */
export function vmapFlat(fn: (...xs: NDArray[]) => NDArray[], args: NDArray[], inDims: (number | null)[], outDims: (number | null)[] | number | ((j: number) => number | null), axisSize: number, axisName?: string | null): NDArray[] {
  const data: BatchData = { axisSize, axisName: axisName === undefined ? ruleAxisName(axisSize) : axisName };
  return withNewMain(BatchTrace, data, (main: MainTrace) => {
    const trace = new BatchTrace(main);
    const ins = args.map((a, i) => new BatchTracer(trace, a, inDims[i]));
    // Only vmaps opened directly by a rule inherit its axis, not those nested in the body.
    const prev = ruleAxis;
    ruleAxis = null;
    let raw: NDArray[];
    try {
      raw = fn(...ins);
    } finally {
      ruleAxis = prev;
    }
    const outs = raw.map((o) => fullRaise(trace, o) as BatchTracer);
    return outs.map((o, j) => {
      const od = typeof outDims === "number" ? outDims : typeof outDims === "function" ? outDims(j) : (outDims[j] ?? null);
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

export interface VmapOptions {
  /** Per argument: an axis, null (not mapped), or a pytree prefix of axes. Default 0. */
  inAxes?: unknown;
  /** Per output: an axis or null, or a pytree prefix. Default 0. */
  outAxes?: unknown;
  /** The batch size, needed when no argument is mapped. */
  axisSize?: number;
  /** A name for collectives (psum...) inside the mapped function. */
  axisName?: string | null;
}

/** jax.vmap: maps f over an axis of its arguments, vectorised (no loop). */
export function vmap(f: (...args: any[]) => unknown, opts: VmapOptions = {}): (...args: unknown[]) => any {
  return (...args: unknown[]) => {
    const [leaves, inTree] = flattenToArrays(args, "vmap");
    // inAxes: a single value for all arguments, or one per argument (a prefix of the args tree).
    const inAxes = opts.inAxes === undefined ? 0 : opts.inAxes;
    const perArg = Array.isArray(inAxes) ? inAxes : args.map(() => inAxes);
    if (Array.isArray(inAxes) && inAxes.length !== args.length)
      throw new ShapeError(`vmap in_axes must be an int, None, or a tuple of entries corresponding to the positional arguments passed to the function, but got len(in_axes)=${inAxes.length}, len(args)=${args.length}`);
    const axes = flattenAxes(perArg, args);
    const dims = leaves.map((l, i) => {
      const a = axes[i];
      if (a === null || a === undefined) return null;
      if (!Number.isInteger(a) || a < -l.ndim || a >= l.ndim)
        throw new ShapeError(`vmap was requested to map its argument along axis ${a}, which implies that its rank should be at least ${a < 0 ? -a : a + 1}, but is only ${l.ndim} (its shape is [${l.shape.join(", ")}])`);
      return a < 0 ? a + l.ndim : a;
    });
    const sizes = new Set(leaves.map((l, i) => (dims[i] === null ? -1 : l.shape[dims[i]!])).filter((s) => s >= 0));
    if (opts.axisSize !== undefined) sizes.add(opts.axisSize);
    if (sizes.size === 0) throw new ShapeError("vmap must have at least one non-None value in in_axes, or axisSize must be given");
    if (sizes.size > 1) throw new ShapeError(`vmap got inconsistent sizes for the array axes to be mapped: ${[...sizes].join(", ")}`);
    const size = [...sizes][0];
    const { fn, store } = flatFun(f, inTree, "vmap");
    const outAxesOpt = opts.outAxes === undefined ? 0 : opts.outAxes;
    let outDims: (number | null)[] | number = typeof outAxesOpt === "number" ? outAxesOpt : [];
    const wrapped = (...xs: NDArray[]): NDArray[] => {
      const outs = fn(...xs);
      if (typeof outAxesOpt !== "number") {
        const outArgs = treeUnflatten(store.outTree!, outs);
        outDims = outAxesOpt === null ? outs.map(() => null) : (flattenAxes(Array.isArray(outAxesOpt) ? outAxesOpt : [outAxesOpt], Array.isArray(outAxesOpt) ? (outArgs as unknown[]) : [outArgs]) as (number | null)[]);
      }
      return outs;
    };
    // The output structure (and so the per-leaf out axes) is known once f has been traced.
    const outs = vmapFlat(wrapped, leaves, dims, (j) => (typeof outDims === "number" ? outDims : (outDims[j] ?? null)), size, opts.axisName ?? null);
    return treeUnflatten(store.outTree!, outs);
  };
}

/** Expands per-argument axis specs (numbers, null, or pytree prefixes) to one entry per leaf. */
function flattenAxes(specs: unknown[], args: unknown[]): (number | null)[] {
  const out: (number | null)[] = [];
  specs.forEach((spec, i) => {
    const [argLeaves] = treeFlatten(args[i]);
    if (spec === null || typeof spec === "number") for (let k = 0; k < argLeaves.length; k++) out.push(spec as number | null);
    else {
      // A pytree prefix of the argument: each of its leaves (an axis or null) covers a subtree.
      const [specLeaves, specDef] = treeFlatten(spec, (x) => x === null);
      const subtrees = specDef.flattenUpTo(args[i], "vmap");
      subtrees.forEach((sub, k) => {
        const n = treeFlatten(sub)[0].length;
        for (let j = 0; j < n; j++) out.push(specLeaves[k] as number | null);
      });
    }
  });
  return out;
}
