// Transposition of linear jaxprs and reverse mode (Autodidax part 3): vjp linearizes with
// partial evaluation of the jvp (known primals, unknown tangents), then evaluates the linear
// jaxpr backwards, each primitive's `transpose` rule turning output cotangents into input
// cotangents. grad is vjp with a cotangent of one.

import { ShapedArray } from "../core/aval";
import { PrimalError } from "../core/errors";
import { NDArray } from "../core/ndarray";
import { UndefinedPrimal } from "../core/primitive";
import { Atom, ClosedJaxpr, DropVar, Literal, Var } from "../ir/jaxpr";
import { fromLiteral } from "../ir/literal";
import { withSharedSource } from "../ir/source";
import { evalClosedJaxpr } from "../ir/eval-jaxpr";
import { zerosLike } from "../primitives/ops";
import { addAny } from "../primitives/binary";
import { bind1 } from "../core/trace";
import { jvpFlat, MissingRuleError } from "./jvp";
import { partialEvalFlat } from "./partial-eval";

/**
 * Evaluates the transpose of a linear jaxpr: `args` are the constants' values followed by
 * UndefinedPrimal for each linear input; returns the cotangents of the linear inputs.
 */
export function evalJaxprTransposed(cj: ClosedJaxpr, linearAvals: ShapedArray[], cts: (NDArray | null)[]): NDArray[] {
  // Every equation staged by the backward pass is made for the same user call (the pullback's
  // caller): one source capture serves them all (custom_vjp's bwd captures its own).
  return withSharedSource(() => transposeJaxpr(cj, linearAvals, cts));
}

function transposeJaxpr(cj: ClosedJaxpr, linearAvals: ShapedArray[], cts: (NDArray | null)[]): NDArray[] {
  const j = cj.jaxpr;
  const primal = new Map<Var, NDArray>();
  j.constvars.forEach((v, i) => primal.set(v, cj.consts[i]));
  const ctEnv = new Map<Var, NDArray>();
  const readPrimal = (a: Atom): NDArray | UndefinedPrimal => {
    if (a instanceof Literal) return fromLiteral(a);
    const v = primal.get(a);
    return v ?? new UndefinedPrimal(a.aval);
  };
  const writeCt = (a: Atom, ct: NDArray | null): void => {
    if (!(a instanceof Var) || a instanceof DropVar || ct === null) return;
    const prev = ctEnv.get(a);
    ctEnv.set(a, prev ? bind1(addAny, [prev, ct]) : ct);
  };
  j.outvars.forEach((o, i) => writeCt(o, cts[i]));
  for (let k = j.eqns.length - 1; k >= 0; k--) {
    const e = j.eqns[k];
    const outCts = e.outVars.map((v) => {
      const c = ctEnv.get(v) ?? null;
      ctEnv.delete(v);
      return c;
    });
    if (outCts.every((c) => c === null)) continue;
    const rule = e.primitive.transpose;
    if (!rule) throw new MissingRuleError(`vjp: transpose rule for '${e.primitive.name}' not implemented`);
    const inCts = rule(outCts, e.inputs.map(readPrimal), e.params);
    e.inputs.forEach((a, i) => writeCt(a, inCts[i] ?? null));
  }
  return j.invars.map((v, i) => ctEnv.get(v) ?? zerosLike(linearAvals[i]));
}

/** Partial evaluation of the jvp with known primals and unknown tangents (JAX's linearize). */
function linearizeJvp(fn: (...xs: NDArray[]) => NDArray[], primals: NDArray[], op: string) {
  const n = primals.length;
  const avals = primals.map((p) => p.aval);
  const r = partialEvalFlat(
    (...xs) => {
      const [outs, tans] = jvpFlat(fn, xs.slice(0, n), xs.slice(n));
      return [...outs, ...tans];
    },
    [...primals, ...primals.map(() => null)],
    [...avals, ...avals],
  );
  const m = r.knownOuts.length / 2;
  const outs = r.knownOuts.slice(0, m);
  if (outs.some((o) => o === null)) throw new PrimalError(`${op}: a primal output depends on a tangent (a jvp rule is not linear in its tangents)`);
  // Tangent outputs that came out known do not depend on the input tangents (they are zeros).
  const knownTangents = r.knownOuts.slice(m);
  return { avals, outs: outs as NDArray[], knownTangents, jaxpr: r.jaxpr };
}

/** Linearization on flat lists: the primal outputs and the linear map from input to output tangents. */
export function linearizeFlat(fn: (...xs: NDArray[]) => NDArray[], primals: NDArray[]): { outs: NDArray[]; linear: (tangents: NDArray[]) => NDArray[]; jaxpr: ClosedJaxpr } {
  const { outs, knownTangents, jaxpr } = linearizeJvp(fn, primals, "linearize");
  const linear = (tangents: NDArray[]): NDArray[] => {
    const unknown = evalClosedJaxpr(jaxpr, tangents);
    let k = 0;
    return knownTangents.map((t) => t ?? unknown[k++]);
  };
  return { outs, linear, jaxpr };
}

/** vjp on flat lists: the primal outputs and the map from output cotangents to input cotangents. */
export function vjpFlat(fn: (...xs: NDArray[]) => NDArray[], primals: NDArray[]): { outs: NDArray[]; pullback: (cts: (NDArray | null)[]) => NDArray[]; jaxpr: ClosedJaxpr } {
  const { avals, outs, knownTangents, jaxpr } = linearizeJvp(fn, primals, "vjp");
  const pullback = (cts: (NDArray | null)[]): NDArray[] => {
    if (cts.length !== outs.length) throw new PrimalError(`vjp: expected ${outs.length} cotangents, got ${cts.length}`);
    // Outputs whose tangent is known (zero) pass no cotangent back.
    return evalJaxprTransposed(jaxpr, avals, cts.filter((_, i) => knownTangents[i] === null));
  };
  return { outs, pullback, jaxpr };
}
