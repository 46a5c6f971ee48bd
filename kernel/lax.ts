// The `lax` namespace: the wrappers of kernel/api/lax.ts plus JAX's structured control flow,
// with JAX's signatures (camelCase) and pytrees for operands, carries and scanned values:
//
//   lax.cond(pred, trueFun, falseFun, ...operands)
//   lax.switch(index, branches, ...operands)          (index clamped to the branches, as JAX)
//   lax.whileLoop(condFun, bodyFun, initVal)
//   lax.foriLoop(lower, upper, bodyFun, initVal, { unroll })
//   lax.scan(f, init, xs, { length, reverse, unroll }) -> [carry, ys]
//   lax.map(f, xs, { batchSize })
//
// Each stages its functions into closed jaxprs on the avals of the operands and binds a
// higher-order primitive (cond, while, scan: kernel/transforms/cond.ts and loops.ts), so they
// compose with jit, vmap, jvp and grad. What the functions close over (concrete arrays or
// tracers of enclosing transformations) becomes explicit leading operands of the equation, as
// in JAX. fori_loop with static bounds (JS numbers or concrete arrays) lowers to a scan, which
// grad supports; with traced bounds it lowers to a while loop, which is forward-differentiable
// only (JAX's behaviour and error). With JIT disabled (`disableJit`), cond/switch/whileLoop/scan
// run as plain JS control flow on concrete values, as JAX's do under `jax.disable_jit()`.

export * from "./api/lax";

import { ShapedArray } from "./core/aval";
import { config } from "./core/config";
import { DType, int32 } from "./core/dtype";
import { ArgumentError, ConcretizationError, DTypeError, ShapeError, ValueError } from "./core/errors";
import { NDArray } from "./core/ndarray";
import { checkOptions, describeValue } from "./core/shape";
import { PyTreeDef, treeFlatten, treeUnflatten } from "./core/tree";
import { bind1 } from "./core/trace";
import { ClosedJaxpr } from "./ir/jaxpr";
import * as E from "./primitives/elementwise";
import * as o from "./primitives/ops";
import { asArray, weakScalar } from "./api/convert";
import { flattenToArrays } from "./transforms/args";
import { bindCond } from "./transforms/cond";
import { concreteOf, indexAxis0, stack, typeMatch } from "./transforms/control-flow";
import { bindScan, bindWhile } from "./transforms/loops";
import { traceToJaxpr } from "./transforms/stage";
import { vmap } from "./transforms/vmap";

type Fn = (...args: any[]) => any;

const shapeText = (s: readonly number[]): string => `(${s.join(", ")}${s.length === 1 ? "," : ""})`;

function checkFn(op: string, name: string, f: unknown): void {
  if (typeof f !== "function") throw new ArgumentError(`${op}: ${name} must be callable, got ${describeValue(f)}`);
}

/** Stages `f` (pytree arguments of `inTree`, flat avals) into a jaxpr; records its output structure. */
function stage(op: string, f: (...leaves: NDArray[]) => unknown, avals: readonly ShapedArray[]): { jaxpr: ClosedJaxpr; outTree: PyTreeDef } {
  let outTree: PyTreeDef | null = null;
  const jaxpr = traceToJaxpr((...xs) => {
    const [leaves, def] = flattenToArrays(f(...xs), op);
    outTree = def;
    return leaves;
  }, [...avals]);
  return { jaxpr, outTree: outTree! };
}

/** A scalar predicate or index as an array (JS booleans are bool, JS integers int32). */
function scalarArg(op: string, x: unknown, what: string): NDArray {
  const a = x instanceof NDArray ? x : typeof x === "number" || typeof x === "boolean" ? asArray(x, null, op) : null;
  if (!a) throw new ArgumentError(`${op}: ${what} must be an array or a JS scalar, got ${describeValue(x)}`);
  if (a.ndim !== 0) throw new ShapeError(`${op}: ${what} must be a scalar, got an array of shape ${shapeText(a.shape)}.`);
  return a;
}

// ---------------------------------------------------------------------------------------------
// cond / switch

/** Stages every branch on the operands and binds cond_p with `index` (int32, in range). */
function condBranches(op: string, index: NDArray, branches: readonly Fn[], operands: unknown[], names: (i: number) => string): any {
  const [leaves, inTree] = flattenToArrays(operands, op);
  const avals = leaves.map((l) => l.aval);
  const call = (f: Fn) => (...xs: NDArray[]) => f(...(treeUnflatten(inTree, xs) as unknown[]));
  let staged = branches.map((f) => stage(op, call(f), avals));
  const t0 = staged[0].outTree;
  staged.forEach((s, i) => {
    if (!s.outTree.equals(t0)) throw new ShapeError(`${op}: ${names(0)} and ${names(i)} output must have same type structure, got ${t0} and ${s.outTree}.`);
    const a0 = staged[0].jaxpr.outAvals, ai = s.jaxpr.outAvals;
    if (ai.some((a, k) => !typeMatch(a, a0[k])))
      throw new DTypeError(`${op}: ${names(0)} and ${names(i)} output must have identical types, got (${a0.map((a) => a.str()).join(", ")}) and (${ai.map((a) => a.str()).join(", ")}).`);
  });
  // Outputs that are weakly typed in some branches only are made strong in all (JAX's promotion).
  const strong = staged[0].jaxpr.outAvals.map((_, k) => staged.some((s) => !s.jaxpr.outAvals[k].weakType));
  staged = staged.map((s, i) =>
    s.jaxpr.outAvals.some((a, k) => a.weakType && strong[k])
      ? stage(op, (...xs) => treeUnflatten(t0, flattenToArrays(call(branches[i])(...xs), op)[0].map((x, k) => (strong[k] ? o.convert(x, x.dtype, false) : x))), avals)
      : s,
  );
  return treeUnflatten(t0, bindCond(index, staged.map((s) => s.jaxpr), leaves));
}

/**
 * jax.lax.cond: `cond(pred, trueFun, falseFun, ...operands)` applies one of the functions to the
 * operands; both are staged, and the choice happens at run time. `pred` is a boolean (or
 * integer, compared with 0) scalar.
 */
export function cond(pred: unknown, trueFun: Fn, falseFun: Fn, ...operands: unknown[]): any {
  const op = "cond";
  checkFn(op, "true_fun", trueFun);
  checkFn(op, "false_fun", falseFun);
  let p = scalarArg(op, pred, "Pred");
  if (!p.dtype.isBool) {
    if (!p.dtype.isInt) throw new DTypeError(`${op}: Pred type must be either boolean or number, got ${p.dtype.name}.`);
    p = o.ne(p, 0);
  }
  if (config.disableJit) {
    const c = concreteOf(p);
    if (c) return c.item() ? trueFun(...operands) : falseFun(...operands);
  }
  return condBranches(op, o.convert(p, int32), [falseFun, trueFun], operands, (i) => (i === 0 ? "false_fun" : "true_fun"));
}

/**
 * jax.lax.switch: `switch(index, branches, ...operands)` applies `branches[index]`; the index is
 * clamped to [0, branches.length - 1], as in JAX.
 */
function switchFn(index: unknown, branches: readonly Fn[], ...operands: unknown[]): any {
  const op = "switch";
  if (!Array.isArray(branches)) throw new ArgumentError(`${op}: branches must be a list of functions, got ${describeValue(branches)}`);
  if (branches.length === 0) throw new ValueError(`${op}: Empty branch sequence`);
  branches.forEach((b, i) => checkFn(op, `branches[${i}]`, b));
  const idx = scalarArg(op, index, "Branch index");
  if (!idx.dtype.isInt) throw new DTypeError(`${op}: Index type must be an integer, got ${idx.dtype.name}.`);
  if (branches.length === 1) return branches[0](...operands);
  if (config.disableJit) {
    const c = concreteOf(idx);
    if (c) return branches[Math.min(Math.max(Number(c.item()), 0), branches.length - 1)](...operands);
  }
  const i32 = o.convert(idx, int32);
  const clamped = bind1(E.clamp, [o.scalar(0, int32), i32, o.scalar(branches.length - 1, int32)]);
  return condBranches(op, clamped, branches, operands, (i) => `branch ${i}`);
}
export { switchFn as switch };

// ---------------------------------------------------------------------------------------------
// Carry types (while_loop and scan)

/**
 * Stages a loop body `carry -> newCarry` (and extras), checking the carry keeps its structure
 * and types. Weakly typed initial carries whose dtype changes are promoted and the body
 * retraced, as JAX's _promote_weak_typed_inputs does.
 */
function stageCarryLoop(
  op: string,
  init: NDArray[],
  carryTree: PyTreeDef,
  trace: (init: NDArray[]) => { jaxpr: ClosedJaxpr; carryOutTree: PyTreeDef; carryOut: ShapedArray[] },
): { jaxpr: ClosedJaxpr; init: NDArray[] } {
  let r = trace(init);
  const check = () => {
    if (!r.carryOutTree.equals(carryTree))
      throw new ShapeError(`${op} body function carry input and carry output must have the same pytree structure, but they differ: the input carry is ${carryTree} and the output carry is ${r.carryOutTree}`);
  };
  check();
  const promote = init.map((x, i) => x.weakType && x.dtype !== r.carryOut[i].dtype && x.ndim === r.carryOut[i].ndim);
  if (promote.some((p) => p)) {
    init = init.map((x, i) => (promote[i] ? o.convert(x, r.carryOut[i].dtype, false) : x));
    r = trace(init);
    check();
  }
  init.forEach((x, i) => {
    const a = r.carryOut[i];
    if (!typeMatch(x.aval, a)) {
      const why = x.dtype !== a.dtype ? "the dtypes do not match" : "the shapes do not match";
      throw new DTypeError(`${op} body function carry input and carry output must have equal types, but they differ: the input carry component ${i} has type ${x.aval.str()} but the corresponding output carry component has type ${a.str()}, so ${why}`);
    }
  });
  return { jaxpr: r.jaxpr, init };
}

// ---------------------------------------------------------------------------------------------
// while_loop / fori_loop

/** jax.lax.while_loop: `while (condFun(val)) val = bodyFun(val)`, staged; returns the final val. */
export function whileLoop(condFun: Fn, bodyFun: Fn, initVal: unknown): any {
  const op = "while_loop";
  checkFn(op, "cond_fun", condFun);
  checkFn(op, "body_fun", bodyFun);
  const [leaves, tree] = flattenToArrays(initVal, op);
  if (config.disableJit) {
    // As JAX: a JS loop while everything is concrete; a traced predicate falls back to staging.
    try {
      let val: unknown = treeUnflatten(tree, leaves);
      for (;;) {
        const c = scalarArg(op, condFun(val), "cond_fun's result");
        if (!c._concrete(op).item()) return val;
        val = bodyFun(val);
      }
    } catch (e) {
      if (!(e instanceof ConcretizationError)) throw e;
    }
  }
  const carry = (xs: NDArray[]) => treeUnflatten(tree, xs);
  const cond = (init: NDArray[]) => {
    const { jaxpr, outTree } = stage(op, (...xs) => condFun(carry(xs)), init.map((x) => x.aval));
    const outs = jaxpr.outAvals;
    if (outTree.numLeaves !== 1 || outs.length !== 1 || !outs[0].dtype.isBool || outs[0].ndim !== 0)
      throw new DTypeError(`${op}: cond_fun must return a boolean scalar, but got output type(s) [${outs.map((a) => a.toString()).join(", ")}].`);
    return jaxpr;
  };
  const { jaxpr: body, init } = stageCarryLoop(op, leaves, tree, (init) => {
    const { jaxpr, outTree } = stage(op, (...xs) => bodyFun(carry(xs)), init.map((x) => x.aval));
    return { jaxpr, carryOutTree: outTree, carryOut: jaxpr.outAvals };
  });
  return treeUnflatten(tree, bindWhile(cond(init), [], body, [], init));
}

/** A loop bound known now (a JS integer or a concrete integer array), or null when traced. */
function staticBound(op: string, x: unknown, name: string): number | null {
  if (typeof x === "number") {
    if (!Number.isInteger(x)) throw new DTypeError(`${op}: ${name} must be an integer, got ${x}`);
    return x;
  }
  if (!(x instanceof NDArray)) throw new ArgumentError(`${op}: ${name} must be an integer or an integer array, got ${describeValue(x)}`);
  if (x.ndim !== 0 || !x.dtype.isInt) throw new DTypeError(`${op}: ${name} must be an integer scalar, got ${x.aval.str()}`);
  const c = concreteOf(x);
  return c ? Number(c.item()) : null;
}

/**
 * jax.lax.fori_loop: `for (i = lower; i < upper; i++) val = bodyFun(i, val)`. Static bounds lower
 * to a scan (reverse-differentiable), traced ones to a while loop (forward only), as in JAX.
 */
export function foriLoop(lower: unknown, upper: unknown, bodyFun: Fn, initVal: unknown, opts: { unroll?: number | boolean } = {}): any {
  const op = "fori_loop";
  checkFn(op, "body_fun", bodyFun);
  checkOptions(op, opts, { unroll: "any" });
  const lo = staticBound(op, lower, "lower");
  const hi = staticBound(op, upper, "upper");
  const arrays = [lower, upper].filter((x): x is NDArray => x instanceof NDArray);
  const dtype: DType = arrays.length ? arrays[0].dtype : int32;
  // A JS bound is a weakly typed scalar (a literal in the jaxpr, as JAX's Python ints).
  const bound = (x: unknown): NDArray => (x instanceof NDArray ? (x.dtype === dtype ? x : o.convert(x, dtype, x.weakType)) : weakScalar(x as number, dtype));
  if (lo !== null && hi !== null) {
    if (config.disableJit && hi <= lo) return initVal;
    const [[, result]] = scan(
      ([i, x]: [NDArray, unknown]) => [[o.add(i, 1), bodyFun(i, x)], null],
      [bound(lower), initVal],
      null,
      { length: Math.max(hi - lo, 0), unroll: opts.unroll ?? 1 },
    );
    return result;
  }
  const [, , result] = whileLoop(
    ([i, u]: NDArray[]) => o.lt(i, u),
    ([i, u, x]: [NDArray, NDArray, unknown]) => [o.add(i, 1), u, bodyFun(i, x)],
    [bound(lower), bound(upper), initVal],
  );
  return result;
}

// ---------------------------------------------------------------------------------------------
// scan / map

export interface ScanOptions {
  /** The number of iterations (required when there are no xs). */
  length?: number;
  /** Scan from the end (ys are still stored at the index of their xs). */
  reverse?: boolean;
  /** Accepted and recorded (JAX's loop unrolling); true = the whole length. */
  unroll?: number | boolean;
}

/**
 * jax.lax.scan: `scan(f, init, xs, { length, reverse, unroll })` with `f(carry, x) -> [carry, y]`
 * returns `[finalCarry, ys]`, ys stacked along a new leading axis. xs may be null (then give
 * `length`); f may return null for y.
 */
export function scan(f: Fn, init: unknown, xs: unknown = null, opts: ScanOptions = {}): [any, any] {
  const op = "scan";
  checkFn(op, "f", f);
  checkOptions(op, opts, { length: "count", reverse: "boolean", unroll: "any" });
  const reverse = opts.reverse ?? false;
  const [initLeaves, carryTree] = flattenToArrays(init, op);
  const [xsLeaves, xsTree] = flattenToArrays(xs, op);
  for (const x of xsLeaves) if (x.ndim === 0) throw new ShapeError(`scan got value with no leading axis to scan over: ${x.aval.str()}.`);
  const lengths = [...new Set(xsLeaves.map((x) => x.shape[0]))];
  let length: number;
  if (opts.length !== undefined && opts.length !== null) {
    length = opts.length;
    if (lengths.some((n) => n !== length)) throw new ShapeError(`scan got \`length\` argument of ${length} which disagrees with leading axis sizes [${xsLeaves.map((x) => x.shape[0]).join(", ")}].`);
  } else if (lengths.length > 1) throw new ShapeError(`scan got values with different leading axis sizes: ${xsLeaves.map((x) => x.shape[0]).join(", ")}.`);
  else if (lengths.length === 0) throw new ValueError("scan got no values to scan over and `length` not provided.");
  else length = lengths[0];
  const u = opts.unroll ?? 1;
  if (typeof u !== "boolean" && !(Number.isInteger(u) && u >= 1)) throw new ValueError(`scan: \`unroll\` must be a \`bool\` or a positive \`int\`, got ${describeValue(u)}`);
  const unroll = u === true ? Math.max(length, 1) : u === false ? 1 : u;

  if (config.disableJit) {
    if (length === 0) throw new ValueError("zero-length scan is not supported in disable_jit() mode because the output type is unknown.");
    let carry: unknown = treeUnflatten(carryTree, initLeaves);
    const ys: unknown[] = new Array(length);
    for (let s = 0; s < length; s++) {
      const i = reverse ? length - 1 - s : s;
      const out = f(carry, treeUnflatten(xsTree, xsLeaves.map((x) => indexAxis0(x, i))));
      if (!Array.isArray(out) || out.length !== 2) throw new ArgumentError(`scan body output must be a pair, got ${describeValue(out)}.`);
      [carry, ys[i]] = out;
    }
    const flat = ys.map((y) => flattenToArrays(y, op));
    const yTree = flat[0][1];
    const stacked = flat[0][0].map((y0, k) => stack(flat.map(([l]) => l[k]), y0.aval));
    return [carry, treeUnflatten(yTree, stacked)];
  }

  const xAvals = xsLeaves.map((x) => x.aval.update({ shape: x.shape.slice(1) }));
  let yTree: PyTreeDef | null = null;
  const { jaxpr, init: carryInit } = stageCarryLoop(op, initLeaves, carryTree, (init) => {
    let carryOutTree: PyTreeDef | null = null;
    let nCarry = 0;
    const jaxpr = traceToJaxpr(
      (...zs) => {
        const out = f(treeUnflatten(carryTree, zs.slice(0, init.length)), treeUnflatten(xsTree, zs.slice(init.length)));
        if (!Array.isArray(out) || out.length !== 2) throw new ArgumentError(`scan body output must be a pair, got ${describeValue(out)}.`);
        const [cl, cd] = flattenToArrays(out[0], op);
        const [yl, yd] = flattenToArrays(out[1], op);
        carryOutTree = cd;
        yTree = yd;
        nCarry = cl.length;
        return [...cl, ...yl];
      },
      [...init.map((x) => x.aval), ...xAvals],
    );
    return { jaxpr, carryOutTree: carryOutTree!, carryOut: jaxpr.outAvals.slice(0, nCarry) };
  });
  const outs = bindScan(jaxpr, [], carryInit, xsLeaves, { length, reverse, unroll });
  const n = carryInit.length;
  return [treeUnflatten(carryTree, outs.slice(0, n)), treeUnflatten(yTree!, outs.slice(n))];
}

/**
 * jax.lax.map: applies f to each slice of xs along its leading axis, sequentially (a scan).
 * With `batchSize`, slices are processed in vmapped batches of that size (the remainder last).
 */
export function map(f: Fn, xs: unknown, opts: { batchSize?: number } = {}): any {
  const op = "map";
  checkFn(op, "f", f);
  checkOptions(op, opts, { batchSize: "count" });
  const bs = opts.batchSize;
  if (bs === undefined || bs === null) return scan((c: null, x: unknown) => [c, f(x)], null, xs)[1];
  if (bs < 1) throw new ValueError(`map: batchSize must be positive, got ${bs}`);
  const [leaves, tree] = flattenToArrays(xs, op);
  if (leaves.length === 0) throw new ValueError("map: xs must have at least one array to map over");
  const n = leaves[0].shape[0];
  const nb = Math.floor(n / bs);
  const g = vmap(f);
  const pieces: NDArray[][] = [];
  const ysTrees: PyTreeDef[] = [];
  if (nb > 0) {
    const main = leaves.map((x) => o.reshape(o.sliceAxis(x, 0, 0, nb * bs), [nb, bs, ...x.shape.slice(1)]));
    const ys = scan((c: null, x: unknown) => [c, g(x)], null, treeUnflatten(tree, main))[1];
    const [yl, yt] = treeFlatten(ys);
    pieces.push((yl as NDArray[]).map((y) => o.reshape(y, [nb * bs, ...y.shape.slice(2)])));
    ysTrees.push(yt);
  }
  if (nb * bs < n) {
    const [yl, yt] = treeFlatten(g(treeUnflatten(tree, leaves.map((x) => o.sliceAxis(x, 0, nb * bs, n)))));
    pieces.push(yl as NDArray[]);
    ysTrees.push(yt);
  }
  const ys = pieces[0].map((_, k) => o.concatenate(pieces.map((p) => p[k]), 0));
  return treeUnflatten(ysTrees[0], ys);
}
