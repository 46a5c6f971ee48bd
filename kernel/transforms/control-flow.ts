// Control flow as higher-order primitives (JAX's lax.cond / switch / while_loop / fori_loop /
// scan): the primitives carry closed jaxprs and have all the rules a primitive has. The
// primitives themselves are in cond.ts (cond_p) and loops.ts (while_p, scan_p); the pytree API
// (`lax.cond`, `lax.scan`...) is in kernel/lax.ts. This file holds what they share: the
// transformations applied to a whole jaxpr (JAX's jvp_jaxpr, batch_jaxpr, partial_eval_jaxpr_nounits,
// and transposition of a linear jaxpr), and small jaxpr surgery.
//
// Conventions (the same as JAX's):
// - The jaxprs in a control-flow primitive's parameters have no consts: anything a branch or a
//   body closes over (a concrete array, or a tracer of an enclosing transformation) is an
//   explicit leading operand of the equation (`hoistConsts`, `joinConsts`), so every
//   transformation sees it. Scalar constants stay inline as literals.
// - Rules build their new jaxprs by tracing (traceToJaxpr) a function that evaluates the old
//   jaxpr under the transformation, so nested control flow is handled by the same rules.

import { ShapedArray } from "../core/aval";
import { PrimalError } from "../core/errors";
import { NDArray } from "../core/ndarray";
import { Primitive } from "../core/primitive";
import { Tracer, fullRaise, traceDepth, withNewMain } from "../core/trace";
import { evalClosedJaxpr } from "../ir/eval-jaxpr";
import { Atom, ClosedJaxpr, DropVar, Jaxpr, JaxprEqn, Var } from "../ir/jaxpr";
import { captureLinearSource } from "../ir/source";
import { concatenate, convert, moveBatchAxis, reshape, sliceAxis, zerosLike } from "../primitives/ops";
import { JVPTrace, JVPTracer } from "./jvp";
import { PartialEvalTrace, PartialEvalTracer, partialEvalFlat } from "./partial-eval";
import { traceToJaxpr } from "./stage";
import { evalJaxprTransposed } from "./transpose";
import { BatchTrace, BatchTracer, ruleAxisName } from "./vmap";

// ---------------------------------------------------------------------------------------------
// Lists and avals

/** Splits `xs` into consecutive pieces of the given sizes (the rest goes in a last piece). */
export function splitList<T>(xs: readonly T[], sizes: readonly number[]): T[][] {
  const out: T[][] = [];
  let k = 0;
  for (const n of sizes) (out.push(xs.slice(k, k + n)), (k += n));
  out.push(xs.slice(k));
  return out;
}

export const or = (a: readonly boolean[], b: readonly boolean[]): boolean[] => a.map((x, i) => x || b[i]);
export const sameMask = (a: readonly boolean[], b: readonly boolean[]): boolean => a.every((x, i) => x === b[i]);

/** Same shape and dtype (weak types may differ, as JAX's `typematch`). */
export function typeMatch(a: ShapedArray, b: ShapedArray): boolean {
  return a.dtype === b.dtype && a.ndim === b.ndim && a.shape.every((d, i) => d === b.shape[i]);
}

/** The join of avals that type-match: weak only when all are weak. */
export function joinAvals(avals: readonly ShapedArray[]): ShapedArray {
  return avals.every((a) => a.weakType) ? avals[0] : avals[0].update({ weakType: false });
}

/** Casts x to exactly `aval`'s dtype and weak type (a no-op when it has them). */
export function matchAval(x: NDArray, aval: ShapedArray): NDArray {
  return x.dtype === aval.dtype && x.weakType === aval.weakType ? x : convert(x, aval.dtype, aval.weakType);
}

/** x[i] along the leading axis. */
export function indexAxis0(x: NDArray, i: number): NDArray {
  return reshape(sliceAxis(x, 0, i, i + 1), x.shape.slice(1));
}

/** Stacks equal-shaped arrays along a new leading axis (`aval` is one element's, for length 0). */
export function stack(xs: readonly NDArray[], aval: ShapedArray): NDArray {
  if (xs.length === 0) return zerosLike(aval.update({ shape: [0, ...aval.shape] }));
  return concatenate(
    xs.map((x) => reshape(matchAval(x, aval), [1, ...aval.shape])),
    0,
  );
}

/** The concrete value of x when there is one (a concrete array, or a tracer that knows it). */
export function concreteOf(x: NDArray): NDArray | null {
  return x instanceof Tracer ? x.toConcrete() : x;
}

/** An aval with a leading axis of `n`. */
export const withLeading = (a: ShapedArray, n: number): ShapedArray => a.update({ shape: [n, ...a.shape] });

// ---------------------------------------------------------------------------------------------
// Jaxpr surgery

/** Renames variables (and replaces some by literals) in a jaxpr's equations and outputs. */
function substitute(j: Jaxpr, map: Map<Var, Atom>): Jaxpr {
  if (map.size === 0) return j;
  const sub = (a: Atom): Atom => (a instanceof Var ? (map.get(a) ?? a) : a);
  const eqns = j.eqns.map((e) => new JaxprEqn(e.primitive, e.inputs.map(sub), e.params, e.outVars, e.sourceRef));
  return new Jaxpr(j.constvars, j.invars, eqns, j.outvars.map(sub));
}

/** Its consts become leading inputs: returns the const-free jaxpr and the values to pass. */
export function hoistConsts(cj: ClosedJaxpr): [ClosedJaxpr, NDArray[]] {
  if (cj.consts.length === 0 && cj.jaxpr.constvars.length === 0) return [cj, []];
  const j = cj.jaxpr;
  return [new ClosedJaxpr(new Jaxpr([], [...j.constvars, ...j.invars], j.eqns, j.outvars), []), [...cj.consts]];
}

/**
 * Gives several jaxprs (cond's branches) the same leading inputs: the union of their consts,
 * deduplicated by identity. Each jaxpr ignores the consts of the others.
 */
export function joinConsts(cjs: readonly ClosedJaxpr[]): [ClosedJaxpr[], NDArray[]] {
  const all: NDArray[] = [];
  const pos = new Map<NDArray, number>();
  for (const cj of cjs) for (const c of cj.consts) if (!pos.has(c)) (pos.set(c, all.length), all.push(c));
  if (all.length === 0) return [[...cjs], []];
  const out = cjs.map((cj) => {
    const j = cj.jaxpr;
    const vars: Var[] = all.map((c) => new Var(c.aval));
    const seen = new Set<number>();
    const renames = new Map<Var, Atom>();
    cj.consts.forEach((c, i) => {
      const p = pos.get(c)!;
      if (seen.has(p)) renames.set(j.constvars[i], vars[p]);
      else (seen.add(p), (vars[p] = j.constvars[i]));
    });
    const s = substitute(j, renames);
    return new ClosedJaxpr(new Jaxpr([], [...vars, ...j.invars], s.eqns, s.outvars), []);
  });
  return [out, all];
}

/** Reorders a (const-free) jaxpr's inputs and outputs: new input k is old input inOrder[k]. */
export function permuteJaxpr(cj: ClosedJaxpr, inOrder: readonly number[], outOrder: readonly number[]): ClosedJaxpr {
  const j = cj.jaxpr;
  return new ClosedJaxpr(new Jaxpr(j.constvars, inOrder.map((i) => j.invars[i]), j.eqns, outOrder.map((i) => j.outvars[i])), cj.consts);
}

/** Adds unused inputs of the given avals after the existing ones. */
export function appendInvars(cj: ClosedJaxpr, avals: readonly ShapedArray[]): ClosedJaxpr {
  const j = cj.jaxpr;
  return new ClosedJaxpr(new Jaxpr(j.constvars, [...j.invars, ...avals.map((a) => new Var(a))], j.eqns, j.outvars), cj.consts);
}

/** Keeps only the outputs `keep` (indices), removing the equations nothing needs any more. */
export function selectOutputs(cj: ClosedJaxpr, keep: readonly number[]): ClosedJaxpr {
  const j = cj.jaxpr;
  return new ClosedJaxpr(dce(new Jaxpr(j.constvars, j.invars, j.eqns, keep.map((i) => j.outvars[i]))), cj.consts);
}

/** Dead-code elimination: drops equations whose results are all unused (equations without results are kept). */
export function dce(j: Jaxpr): Jaxpr {
  const live = new Set<Var>();
  for (const a of j.outvars) if (a instanceof Var) live.add(a);
  const kept: JaxprEqn[] = [];
  for (let k = j.eqns.length - 1; k >= 0; k--) {
    const e = j.eqns[k];
    if (e.outVars.length > 0 && !e.outVars.some((v) => live.has(v))) continue;
    kept.push(e);
    for (const a of e.inputs) if (a instanceof Var) live.add(a);
  }
  kept.reverse();
  if (kept.length === j.eqns.length) return j;
  // Results of kept equations that nothing reads print `_`, as JAX's DropVar.
  const eqns = kept.map((e) =>
    e.outVars.some((v) => !live.has(v) && !(v instanceof DropVar))
      ? new JaxprEqn(e.primitive, e.inputs, e.params, e.outVars.map((v) => (live.has(v) ? v : new DropVar(v.aval))), e.sourceRef)
      : e,
  );
  return new Jaxpr(j.constvars, j.invars, eqns, j.outvars);
}

// ---------------------------------------------------------------------------------------------
// Transformations of whole jaxprs

// The transformed jaxprs are cached per (jaxpr, masks): a jitted program's equations keep their
// parameter objects, so differentiating or batching it again reuses them. A result that holds
// a tracer (a value of some enclosing transformation) is never cached.
const caches = new WeakMap<ClosedJaxpr, Map<string, unknown>>();
function cached<T>(cj: ClosedJaxpr, key: string, make: () => T, consts: (r: T) => readonly NDArray[]): T {
  let m = caches.get(cj);
  if (!m) caches.set(cj, (m = new Map()));
  const hit = m.get(key);
  if (hit !== undefined) return hit as T;
  const r = make();
  if (!consts(r).some((c) => c instanceof Tracer)) m.set(key, r);
  return r;
}
const maskKey = (...ms: (readonly boolean[])[]): string => ms.map((m) => m.map((b) => (b ? 1 : 0)).join("")).join("|");

/**
 * JAX's jvp_jaxpr: the jvp of `cj` as a jaxpr over [primals..., tangents of the inputs marked
 * `nonzeros`...] returning [outputs..., tangents of the outputs marked in `outNz`...]. An
 * output's tangent is present when it is not a symbolic zero or `instantiate[i]` asks for it.
 */
export function jvpJaxpr(cj: ClosedJaxpr, nonzeros: readonly boolean[], instantiate: readonly boolean[]): { jaxpr: ClosedJaxpr; outNz: boolean[] } {
  return cached(cj, `jvp ${maskKey(nonzeros, instantiate)}`, () => jvpJaxprUncached(cj, nonzeros, instantiate), (r) => r.jaxpr.consts);
}
function jvpJaxprUncached(cj: ClosedJaxpr, nonzeros: readonly boolean[], instantiate: readonly boolean[]): { jaxpr: ClosedJaxpr; outNz: boolean[] } {
  const avals = cj.inAvals;
  const n = avals.length;
  let outNz: boolean[] = [];
  const jaxpr = traceToJaxpr(
    (...xs) =>
      withNewMain(JVPTrace, null, (main) => {
        const trace = new JVPTrace(main);
        let k = n;
        const ins = xs.slice(0, n).map((p, i) => new JVPTracer(trace, p, nonzeros[i] ? xs[k++] : null));
        const outs = evalClosedJaxpr(cj, ins).map((o) => fullRaise(trace, o) as JVPTracer);
        const tans = outs.map((o, i) => o.tangent ?? (instantiate[i] ? zerosLike(o.primal.aval) : null));
        outNz = tans.map((t) => t !== null);
        return [...outs.map((o) => o.primal), ...tans.filter((t): t is NDArray => t !== null)];
      }),
    [...avals, ...avals.filter((_, i) => nonzeros[i])],
  );
  return { jaxpr, outNz };
}

/**
 * JAX's batch_jaxpr: `cj` vmapped over inputs marked `inBatched` (batch axis 0, of `size`),
 * returning outputs batched along axis 0 where `outBatched` (an unbatched output is broadcast
 * when `instantiate[i]`).
 */
export function batchJaxpr(cj: ClosedJaxpr, size: number, inBatched: readonly boolean[], instantiate: readonly boolean[], name?: string): { jaxpr: ClosedJaxpr; outBatched: boolean[] } {
  // Inside a named vmap's rule the body is batched along that same axis (its collectives reduce
  // it); `name` names the batched axis explicitly (a pmap body run as a vmap over its axis).
  const axisName = name ?? ruleAxisName(size);
  return cached(cj, `batch ${size} ${axisName ?? ""} ${maskKey(inBatched, instantiate)}`, () => batchJaxprUncached(cj, size, axisName, inBatched, instantiate), (r) => r.jaxpr.consts);
}
function batchJaxprUncached(cj: ClosedJaxpr, size: number, axisName: string | null, inBatched: readonly boolean[], instantiate: readonly boolean[]): { jaxpr: ClosedJaxpr; outBatched: boolean[] } {
  let outBatched: boolean[] = [];
  const avals = cj.inAvals.map((a, i) => (inBatched[i] ? withLeading(a, size) : a));
  const jaxpr = traceToJaxpr(
    (...xs) =>
      withNewMain(BatchTrace, { axisSize: size, axisName }, (main) => {
        const trace = new BatchTrace(main);
        const ins = xs.map((x, i) => new BatchTracer(trace, x, inBatched[i] ? 0 : null));
        const outs = evalClosedJaxpr(cj, ins).map((o) => fullRaise(trace, o) as BatchTracer);
        outBatched = outs.map((o, i) => o.batchDim !== null || instantiate[i]);
        return outs.map((o, i) => (outBatched[i] ? moveBatchAxis(o.val, o.batchDim, 0, size) : o.val));
      }),
    avals,
  );
  return { jaxpr, outBatched };
}

/** Where a residual of partialEvalJaxpr comes from. */
export type ResidualSource =
  /** An output of the known jaxpr (computed). */
  | { kind: "out" }
  /** The known input with this index (among the known inputs): forward it instead of storing it. */
  | { kind: "in"; index: number }
  /** A constant (or a value of an enclosing transformation): the same in every iteration. */
  | { kind: "const"; value: NDArray };

export interface PartialEvalJaxprResult {
  /** Known inputs -> [known outputs..., residuals...] (the residuals of every source). */
  known: ClosedJaxpr;
  /** [residuals..., unknown inputs...] -> unknown outputs; no consts. */
  unknown: ClosedJaxpr;
  /** Which outputs are unknown. */
  outUk: boolean[];
  resAvals: ShapedArray[];
  resSources: ResidualSource[];
  /** Number of known outputs (the residuals follow them in `known`). */
  numKnownOuts: number;
}

/**
 * JAX's partial_eval_jaxpr_nounits: splits `cj` for inputs marked `inUk` unknown into a known
 * jaxpr (what can be computed from the known inputs, plus the residuals the rest needs) and an
 * unknown one (the rest, from the residuals and the unknown inputs). Outputs with
 * `instantiate[i]` are unknown even when they could be known. The known jaxpr is staged by
 * running the partial evaluator with staged known values, so the residuals are exactly the
 * known values the unknown equations use.
 */
export function partialEvalJaxpr(cj: ClosedJaxpr, inUk: readonly boolean[], instantiate: readonly boolean[]): PartialEvalJaxprResult {
  return cached(cj, `pe ${maskKey(inUk, instantiate)}`, () => partialEvalJaxprUncached(cj, inUk, instantiate), (r) => [
    ...r.known.consts,
    ...r.resSources.flatMap((s) => (s.kind === "const" ? [s.value] : [])),
  ]);
}
function partialEvalJaxprUncached(cj: ClosedJaxpr, inUk: readonly boolean[], instantiate: readonly boolean[]): PartialEvalJaxprResult {
  const avals = cj.inAvals;
  let outUk: boolean[] = [];
  let unknown: ClosedJaxpr | null = null;
  let resSources: ResidualSource[] = [];
  let numKnownOuts = 0;
  const known = traceToJaxpr(
    (...kin) => {
      const stagingLevel = traceDepth();
      let k = 0;
      const vals = avals.map((_, i) => (inUk[i] ? null : kin[k++]));
      const r = partialEvalFlat(
        (...xs) => {
          const outs = evalClosedJaxpr(cj, xs);
          const t0 = xs.find((x): x is PartialEvalTracer => x instanceof PartialEvalTracer);
          if (!t0) return outs;
          const trace = t0._trace;
          return outs.map((o, i) => {
            if (!instantiate[i]) return o;
            const t = fullRaise(trace, o) as PartialEvalTracer;
            return t.known ? trace.instantiate(t) : t;
          });
        },
        vals,
        [...avals],
      );
      outUk = r.knownOuts.map((o) => o === null);
      // The residuals are the unknown jaxpr's consts, deduplicated by identity.
      const j = r.jaxpr.jaxpr;
      const resVals: NDArray[] = [];
      const resVars: Var[] = [];
      const renames = new Map<Var, Atom>();
      r.jaxpr.consts.forEach((c, i) => {
        const p = resVals.indexOf(c);
        if (p >= 0) renames.set(j.constvars[i], resVars[p]);
        else (resVals.push(c), resVars.push(j.constvars[i]));
      });
      const s = substitute(j, renames);
      unknown = new ClosedJaxpr(new Jaxpr([], [...resVars, ...j.invars], s.eqns, s.outvars), []);
      resSources = resVals.map((v): ResidualSource => {
        const staged = v instanceof Tracer && v._trace.main.level === stagingLevel;
        if (!staged) return { kind: "const", value: v };
        const index = kin.indexOf(v);
        return index >= 0 ? { kind: "in", index } : { kind: "out" };
      });
      const knownOuts = r.knownOuts.filter((o): o is NDArray => o !== null);
      numKnownOuts = knownOuts.length;
      return [...knownOuts, ...resVals];
    },
    avals.filter((_, i) => !inUk[i]),
  );
  const u = unknown as ClosedJaxpr | null;
  if (!u) throw new PrimalError("partial_eval_jaxpr: the jaxpr was not traced");
  return { known, unknown: u, outUk, resAvals: u.jaxpr.invars.slice(0, resSources.length).map((v) => v.aval), resSources, numKnownOuts };
}

/**
 * Transposition of a jaxpr linear in the inputs marked `linear`: a jaxpr over [non-linear
 * inputs..., cotangents of every output...] returning the cotangents of the linear inputs
 * (zeros where none flows).
 */
export function transposeJaxpr(cj: ClosedJaxpr, linear: readonly boolean[]): ClosedJaxpr {
  return cached(cj, `transpose ${maskKey(linear)}`, () => transposeJaxprUncached(cj, linear), (r) => r.consts);
}
function transposeJaxprUncached(cj: ClosedJaxpr, linear: readonly boolean[]): ClosedJaxpr {
  const j = cj.jaxpr;
  const nlVars = j.invars.filter((_, i) => !linear[i]);
  const linVars = j.invars.filter((_, i) => linear[i]);
  const body = dce(j);
  return traceToJaxpr(
    (...xs) => {
      const nl = xs.slice(0, nlVars.length);
      const cts = xs.slice(nlVars.length);
      const inner = new ClosedJaxpr(new Jaxpr([...j.constvars, ...nlVars], linVars, body.eqns, body.outvars), [...cj.consts, ...nl]);
      return evalJaxprTransposed(inner, linVars.map((v) => v.aval), cts);
    },
    [...nlVars.map((v) => v.aval), ...j.outvars.map((o) => o.aval)],
  );
}

/**
 * In a partial-evaluation rule: records `prim(args)` as an equation of the unknown (staged)
 * part, known arguments becoming constants of it (what PartialEvalTrace does by default).
 */
export function emitUnknown(prim: Primitive, trace: PartialEvalTrace, args: readonly NDArray[], params: unknown): PartialEvalTracer[] {
  const ins = args.map((a) => trace.instantiate(fullRaise(trace, a) as PartialEvalTracer));
  const outAvals = prim.abstractEval(
    ins.map((t) => t.aval),
    params,
  );
  const outs = outAvals.map((a) => new PartialEvalTracer(trace, null, a, null));
  const recipe: NonNullable<PartialEvalTracer["recipe"]> = { kind: "eqn", prim, inputs: ins, params, outs, source: captureLinearSource() };
  for (const o of outs) o.recipe = recipe;
  return outs;
}
