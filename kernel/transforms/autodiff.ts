// The public differentiation API with pytrees in and out: jvp, linearize, vjp, grad,
// valueAndGrad, jacfwd, jacrev, hessian. Built on jvpFlat / linearizeFlat / vjpFlat, with
// JAX's errors for integer inputs and non-scalar outputs.

import { ShapedArray } from "../core/aval";
import { DTypeError, PrimalError } from "../core/errors";
import { NDArray } from "../core/ndarray";
import { PyTreeDef, treeFlatten, treeUnflatten } from "../core/tree";
import { add, convert, eq, iota, onesLike, reshape, sliceAxis } from "../primitives/ops";
import { flatFun, flattenToArrays, normalizeArgnums } from "./args";
import { jvpFlat } from "./jvp";
import { evalJaxprTransposed, linearizeFlat, vjpFlat } from "./transpose";
import { vmapFlat } from "./vmap";
import { recordTrace, traceListening } from "../ir/trace-log";
import { Tracer } from "../core/trace";
import { traceToJaxpr } from "./stage";
import { tapValues } from "./taps";
import { int32 } from "../core/dtype";
import { ClosedJaxpr } from "../ir/jaxpr";

type Fn = (...args: any[]) => any;

/** jax.jvp: `jvp(f, primals, tangents)` -> [primalsOut, tangentsOut], as pytrees. */
export function jvp(f: Fn, primals: readonly unknown[], tangents: readonly unknown[]): [any, any] {
  if (!Array.isArray(primals) || !Array.isArray(tangents)) throw new PrimalError("jvp: primals and tangents must be lists (JAX's tuples) of arguments, got something else");
  const [ps, inTree] = flattenToArrays(primals, "jvp");
  const [ts, tTree] = flattenToArrays(tangents, "jvp");
  if (!inTree.equals(tTree)) throw new PrimalError(`jvp: primal and tangent arguments must have the same tree structure, got ${inTree} and ${tTree}`);
  ps.forEach((p, i) => {
    const t = ts[i];
    if (t.ndim !== p.ndim || t.shape.some((d, k) => d !== p.shape[k]))
      throw new PrimalError(`jvp: primal and tangent arguments must have equal shapes, got ${p.aval.str()} and ${t.aval.str()}`);
  });
  const { fn, store } = flatFun((...args: unknown[]) => f(...args), inTree, "jvp");
  const [outs, touts] = jvpFlat(fn, ps, ts.map((t, i) => (t.dtype === ps[i].dtype ? t : convert(t, ps[i].dtype))));
  return [treeUnflatten(store.outTree!, outs), treeUnflatten(store.outTree!, touts)];
}

/** jax.linearize: [f(primals), fLin] where fLin(...tangents) is the (jitted-once) linear map. */
export function linearize(f: Fn, ...primals: unknown[]): [any, (...tangents: unknown[]) => any] {
  const [ps, inTree] = flattenToArrays(primals, "linearize");
  const { fn, store } = flatFun(f, inTree, "linearize");
  const { outs, linear } = linearizeFlat(fn, ps);
  const outTree = store.outTree!;
  const fLin = (...tangents: unknown[]) => {
    const [ts, tTree] = flattenToArrays(tangents, "linearize");
    if (!tTree.equals(inTree)) throw new PrimalError(`linearize: tangents must have the primals' structure ${inTree}, got ${tTree}`);
    return treeUnflatten(outTree, linear(ts));
  };
  return [treeUnflatten(outTree, outs), fLin];
}

/** jax.vjp: [f(primals), vjpFn] where vjpFn(cotangent) returns one cotangent per primal (a list). */
export function vjp(f: Fn, ...primals: unknown[]): [any, (ct: unknown) => any[]] {
  const [ps, inTree] = flattenToArrays(primals, "vjp");
  const { fn, store } = flatFun(f, inTree, "vjp");
  const { outs, pullback } = vjpFlat(fn, ps);
  const outTree = store.outTree!;
  const vjpFn = (ct: unknown): any[] => {
    const [cts, ctTree] = flattenToArrays(ct, "vjp");
    if (!ctTree.equals(outTree)) throw new PrimalError(`vjp: the cotangent must have the output's structure ${outTree}, got ${ctTree}`);
    cts.forEach((c, i) => {
      if (c.ndim !== outs[i].ndim || c.shape.some((d, k) => d !== outs[i].shape[k]))
        throw new PrimalError(`vjp: cotangent shapes must match the outputs, got ${c.aval.str()} for an output ${outs[i].aval.str()}`);
    });
    return treeUnflatten(inTree, pullback(cts)) as any[];
  };
  return [treeUnflatten(outTree, outs), vjpFn];
}

export interface GradOptions {
  argnums?: number | readonly number[];
  hasAux?: boolean;
  allowInt?: boolean;
}

function checkInputDtypes(op: string, leaves: NDArray[], allowInt: boolean): void {
  if (allowInt) return;
  for (const x of leaves)
    if (!x.dtype.isFloat)
      throw new DTypeError(`${op} requires real- or complex-valued inputs (input dtype that is a sub-dtype of np.inexact), but got ${x.dtype.name}. If you want to use Boolean- or integer-valued inputs, use vjp or set allow_int to True.`);
}

function checkScalarOutput(op: string, out: NDArray): void {
  if (out.size !== 1 || out.ndim !== 0) {
    let hint = " To get the gradient, reduce the output to a scalar with output.sum(), or use jax.jacobian to differentiate a function with a non-scalar output.";
    if (out.size === 1) hint += ` For an output of size 1, use output.reshape([])${out.ndim === 1 ? " or output.get(0)" : ""}.`;
    throw new DTypeError(`Gradient only defined for scalar-output functions. Output had shape: (${out.shape.join(", ")}${out.ndim === 1 ? "," : ""}).${hint}`);
  }
  if (!out.dtype.isFloat)
    throw new DTypeError(`${op} requires real-valued outputs (output dtype that is a sub-dtype of np.floating), but got ${out.dtype.name}. For differentiation of functions with integer outputs, use jax.vjp directly.`);
}

/** What a grad/valueAndGrad call announces to the inspectors (kernel/server/inspect-records.ts). */
export interface GradCall {
  kind: "grad" | "valueAndGrad";
  /** The differentiated function (the same object across the calls of a training loop). */
  fn: Fn;
  /** The call's arguments, and the positions of those differentiated. */
  args: readonly unknown[];
  argnums: readonly number[];
  /** The structure of the differentiated arguments (as a list, one entry per argnum). */
  inTree: PyTreeDef;
  /** The function's value (the loss) and the gradient leaves, in `inTree`'s leaf order: tracers under jit or vmap. */
  value: NDArray;
  grads: NDArray[];
  /** The linear program of the call (also in the trace log). */
  jaxpr: ClosedJaxpr;
  /** Whether `fn` returns [output, aux]. */
  hasAux: boolean;
  /**
   * Where the values come from: "eager" (computed by this call), "jit" (returned by a compiled
   * program that this call was traced into: the values of one of its calls), or "traced" (still
   * abstract: inside vmap, another grad, or a jit whose outputs are not concrete).
   */
  origin: "eager" | "jit" | "traced";
}

const gradListeners = new Set<(c: GradCall) => void>();

/** Subscribes to grad/valueAndGrad calls (the gradients panel); returns the unsubscribe function. */
export function onGradCall(fn: (c: GradCall) => void): () => void {
  gradListeners.add(fn);
  return () => gradListeners.delete(fn);
}

/**
 * The differentiated function staged as `makeJaxpr(f)(...args)` would: every array of the
 * arguments is an input. Nothing of the call's values is captured, so this works after the
 * call, also for a call traced inside jit (whose values were tracers of a finished trace).
 */
function stageForward(f: Fn, args: readonly unknown[]): ClosedJaxpr {
  const [argLeaves, argTree] = treeFlatten([...args]);
  const pos = argLeaves.flatMap((l, i) => (l instanceof NDArray ? [i] : []));
  return traceToJaxpr(
    (...xs) => {
      const full = [...argLeaves];
      pos.forEach((p, k) => (full[p] = xs[k]));
      return flattenToArrays(f(...(treeUnflatten(argTree, full) as unknown[])), "grad")[0];
    },
    pos.map((p) => (argLeaves[p] as NDArray).aval),
  );
}

/**
 * The backward program: the linear program transposed, with its residuals (the linear
 * program's constants) as inputs before the output cotangents, as the backward pass of a
 * compiled step receives them.
 */
function stageBackward(linear: ClosedJaxpr, linearAvals: ShapedArray[]): ClosedJaxpr {
  const nRes = linear.consts.length;
  const ctAvals = linear.jaxpr.outvars.map((o) => o.aval);
  return traceToJaxpr(
    (...xs) => evalJaxprTransposed(new ClosedJaxpr(linear.jaxpr, xs.slice(0, nRes)), linearAvals, xs.slice(nRes)),
    [...linear.consts.map((c) => c.aval), ...ctAvals],
  );
}

/**
 * Tells the listeners about a call. Inside a top-level jit the values are tracers: they are
 * tapped (taps.ts), and the listeners hear of each call of the compiled program with the
 * values it computed; the differentiated inputs come along, so the call can be re-checked.
 */
function announceGradCall(c: GradCall): void {
  const [argLeaves, argTree] = treeFlatten(c.args);
  const tracedArgs = argLeaves.map((l, i) => (l instanceof Tracer ? i : -1)).filter((i) => i >= 0);
  if (c.value instanceof Tracer || c.grads.some((g) => g instanceof Tracer) || tracedArgs.length) {
    const vals = [c.value, ...c.grads, ...tracedArgs.map((i) => argLeaves[i] as NDArray)];
    const n = c.grads.length;
    const tapped = tapValues(vals, (got) => {
      const leaves = [...argLeaves];
      tracedArgs.forEach((i, k) => (leaves[i] = got[1 + n + k]));
      notify({ ...c, value: got[0], grads: got.slice(1, 1 + n), args: treeUnflatten(argTree, leaves) as unknown[], origin: "jit" });
    });
    if (tapped) return;
    c = { ...c, origin: "traced" };
  }
  notify(c);
}

function notify(c: GradCall): void {
  // A listener's failure must never fail the user's grad: the inspectors are a side view.
  for (const l of gradListeners) {
    try {
      l(c);
    } catch {
      /* the inspector loses this call */
    }
  }
}

/** jax.value_and_grad. */
export function valueAndGrad(f: Fn, opts: GradOptions = {}): (...args: any[]) => [any, any] {
  return differentiate(f, opts, "valueAndGrad");
}

function differentiate(f: Fn, opts: GradOptions, kind: GradCall["kind"]): (...args: any[]) => [any, any] {
  const op = "grad";
  return (...args: unknown[]) => {
    const { nums, single } = normalizeArgnums(op, opts.argnums, args.length);
    const diffArgs = nums.map((i) => args[i]);
    const [leaves, inTree] = flattenToArrays(diffArgs, op);
    checkInputDtypes(op, leaves, opts.allowInt ?? false);
    let auxTree: PyTreeDef | null = null;
    let nAux = 0;
    const fn = (...xs: NDArray[]): NDArray[] => {
      const sub = treeUnflatten(inTree, xs) as unknown[];
      const full = [...args];
      nums.forEach((a, k) => (full[a] = sub[k]));
      let out = f(...full);
      let auxLeaves: NDArray[] = [];
      if (opts.hasAux) {
        if (!Array.isArray(out) || out.length !== 2) throw new PrimalError("grad: with hasAux the function must return a pair [output, aux], got something else");
        let auxDef: PyTreeDef;
        [auxLeaves, auxDef] = flattenToArrays(out[1], op);
        auxTree = auxDef;
        nAux = auxLeaves.length;
        out = out[0];
      }
      const [outLeaves] = flattenToArrays(out, op);
      if (outLeaves.length !== 1) throw new DTypeError(`Gradient only defined for scalar-output functions. Output was a pytree with ${outLeaves.length} leaves.`);
      checkScalarOutput(op, outLeaves[0]);
      return [outLeaves[0], ...auxLeaves];
    };
    const { outs, pullback, jaxpr } = vjpFlat(fn, leaves);
    const value = outs[0];
    if (gradListeners.size || traceListening()) {
      // The forward and backward programs, staged only if an inspector asks for them.
      recordTrace("grad", f.name || "<lambda>", jaxpr, {
        forward: () => stageForward(f, args),
        backward: () => stageBackward(jaxpr, leaves.map((l) => l.aval)),
      });
    }
    const grads = pullback([onesLike(value), ...new Array(nAux).fill(null)]);
    if (gradListeners.size) announceGradCall({ kind, fn: f, args, argnums: nums, inTree, value, grads, jaxpr, hasAux: !!opts.hasAux, origin: "eager" });
    const gradTree = treeUnflatten(inTree, grads) as unknown[];
    const g = single ? gradTree[0] : gradTree;
    const v = opts.hasAux ? [value, treeUnflatten(auxTree!, outs.slice(1))] : value;
    return [v, g];
  };
}

/** jax.grad: the gradient of a scalar function with respect to argument(s) `argnums`. */
export function grad(f: Fn, opts: GradOptions = {}): (...args: any[]) => any {
  const vg = differentiate(f, opts, "grad");
  return (...args: unknown[]) => {
    const [v, g] = vg(...args);
    return opts.hasAux ? [g, (v as unknown[])[1]] : g;
  };
}

export interface JacOptions {
  argnums?: number | readonly number[];
}

/** The standard basis over the flattened leaves: leaf i gets [n, ...shape_i], ones on its diagonal block. */
function basisFor(leaves: NDArray[], n: number): NDArray[] {
  let offset = 0;
  return leaves.map((l) => {
    const rows = iota(int32, [n, l.size], 0);
    const cols = iota(int32, [n, l.size], 1);
    const block = reshape(convert(eq(rows, add(cols, offset)), l.dtype), [n, ...l.shape]);
    offset += l.size;
    return block;
  });
}

/** Splits axis `axis` of x (of total size sum(sizes)) into pieces reshaped to `shapes`. */
function splitAxis(x: NDArray, axis: number, shapes: readonly (readonly number[])[]): NDArray[] {
  let start = 0;
  return shapes.map((s) => {
    const size = s.reduce((a, b) => a * b, 1);
    const piece = sliceAxis(x, axis, start, start + size);
    start += size;
    const before = x.shape.slice(0, axis);
    const after = x.shape.slice(axis + 1);
    return reshape(piece, [...before, ...s, ...after]);
  });
}

/**
 * Jacobians by forward mode (jacfwd: vmap of jvp over a basis of the inputs) or reverse mode
 * (jacrev: vmap of vjp over a basis of the outputs). For an output leaf of shape O and an
 * input leaf of shape I the block has shape [...O, ...I]; the result is the output's tree of
 * the input's trees (of the argnums tuple when argnums is a list).
 */
function jacobian(f: Fn, opts: JacOptions, mode: "fwd" | "rev"): (...args: any[]) => any {
  const op = mode === "fwd" ? "jacfwd" : "jacrev";
  return (...args: unknown[]) => {
    const { nums, single } = normalizeArgnums(op, opts.argnums, args.length);
    const [leaves, inTree] = flattenToArrays(nums.map((i) => args[i]), op);
    checkInputDtypes(op, leaves, false);
    const inner = (...xs: NDArray[]): unknown => {
      const sub = treeUnflatten(inTree, xs) as unknown[];
      const full = [...args];
      nums.forEach((a, k) => (full[a] = sub[k]));
      return f(...full);
    };
    const { fn, store } = flatFun(inner, treeFlatten(leaves)[1], op);
    let blocks: NDArray[][]; // [output leaf][input leaf]
    if (mode === "fwd") {
      const n = leaves.reduce((a, l) => a + l.size, 0);
      const outs = vmapFlat((...ts: NDArray[]) => jvpFlat(fn, leaves, ts)[1], basisFor(leaves, n), leaves.map(() => 0), -1, n);
      blocks = outs.map((o) => splitAxis(o, o.ndim - 1, leaves.map((l) => l.shape)));
    } else {
      const { outs, pullback } = vjpFlat(fn, leaves);
      const n = outs.reduce((a, o) => a + o.size, 0);
      const cts = vmapFlat((...cs: NDArray[]) => pullback(cs), basisFor(outs, n), outs.map(() => 0), 0, n);
      const perIn = cts.map((c) => splitAxis(c, 0, outs.map((o) => o.shape)));
      blocks = outs.map((_, j) => perIn.map((pieces) => pieces[j]));
    }
    const perOut = blocks.map((row) => {
      const t = treeUnflatten(inTree, row) as unknown[];
      return single ? t[0] : t;
    });
    return treeUnflatten(store.outTree!, perOut);
  };
}

export const jacfwd = (f: Fn, opts: JacOptions = {}) => jacobian(f, opts, "fwd");
export const jacrev = (f: Fn, opts: JacOptions = {}) => jacobian(f, opts, "rev");
/** jax.jacobian is jacrev. */
export const jacobianRev = jacrev;
/** jax.hessian = jacfwd(jacrev(f)). */
export const hessian = (f: Fn, opts: JacOptions = {}) => jacfwd(jacrev(f, opts), opts);
