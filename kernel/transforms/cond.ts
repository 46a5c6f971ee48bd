// cond_p: JAX's conditional, `cond[branches=(...)] index *operands`, with an int32 index
// (lax.cond converts its boolean predicate; lax.switch clamps its index) and one closed jaxpr
// per branch, all of the same signature. Rules:
// - impl: evaluates the chosen branch.
// - jvp: the jvp of every branch with the same tangent mask, the union of the branches'
//   nonzero output tangents instantiated in all of them (JAX's _cond_jvp).
// - batch: an unbatched index batches every branch; a batched index evaluates every branch on
//   the whole batch and picks per element with select_n (JAX's _cond_batching_rule).
// - partial evaluation (for linearize/grad): every branch is split with the same known/unknown
//   inputs; a known cond computes the known outputs and the residuals (each branch outputs its
//   own residuals and zeros for the others'); an unknown cond of the unknown parts takes the
//   residuals (JAX's _cond_partial_eval). Residuals that are known operands or constants are
//   passed to the unknown cond directly instead of going through the known one.
// - transpose: a cond of the transposed branches, selected by the same index.

import { int32 } from "../core/dtype";
import { DTypeError, PrimalError, ShapeError } from "../core/errors";
import { NDArray } from "../core/ndarray";
import { definePrimitive, Primitive, UndefinedPrimal } from "../core/primitive";
import { bind } from "../core/trace";
import { evalClosedJaxpr } from "../ir/eval-jaxpr";
import { ClosedJaxpr, Jaxpr, Var } from "../ir/jaxpr";
import { broadcastInDim, moveAxis, moveBatchAxis, zerosLike } from "../primitives/ops";
import { selectN } from "../primitives/elementwise";
import {
  ResidualSource, batchJaxpr, emitUnknown, joinAvals, joinConsts, jvpJaxpr, matchAval, or, partialEvalJaxpr, transposeJaxpr, typeMatch,
} from "./control-flow";
import { runJitted } from "./jit";
import { PartialEvalTracer } from "./partial-eval";
import { traceToJaxpr } from "./stage";

export interface CondParams {
  /** One jaxpr per branch (no consts), each mapping the operands to the outputs. */
  branches: ClosedJaxpr[];
}

/** Binds cond_p; the branches' consts become leading operands (shared by identity). */
export function bindCond(index: NDArray, branches: readonly ClosedJaxpr[], ops: readonly NDArray[]): NDArray[] {
  const [bs, consts] = joinConsts(branches);
  return bind(condP, [index, ...consts, ...ops], { branches: bs });
}

/** The index as a JS number, clamped to the branches as lax.switch does. */
function concreteIndex(index: NDArray, n: number): number {
  const i = Number(index._concrete("cond").item());
  return Math.min(Math.max(Math.trunc(i), 0), n - 1);
}

export const condP: Primitive<CondParams> = definePrimitive<CondParams>({
  name: "cond",
  abstractEval([index, ...ops], p) {
    if (p.branches.length === 0) throw new PrimalError("cond: at least one branch is required, got 0");
    if (index.ndim !== 0 || index.dtype !== int32) throw new DTypeError(`cond: the branch index must be an int32 scalar, got ${index.str()}`);
    for (const b of p.branches) {
      if (b.inAvals.length !== ops.length || b.inAvals.some((a, i) => !typeMatch(a, ops[i])))
        throw new ShapeError(`cond: branch inputs must match the operands, got (${b.inAvals.map((a) => a.str()).join(", ")}) for operands (${ops.map((a) => a.str()).join(", ")})`);
      const o0 = p.branches[0].outAvals;
      if (b.outAvals.length !== o0.length || b.outAvals.some((a, i) => !typeMatch(a, o0[i])))
        throw new ShapeError(`cond: branches must have identical output types, got (${o0.map((a) => a.str()).join(", ")}) and (${b.outAvals.map((a) => a.str()).join(", ")})`);
    }
    return p.branches[0].outAvals.map((_, i) => joinAvals(p.branches.map((b) => b.outAvals[i])));
  },
  cpu: () => {
    throw new PrimalError("cond: runs through its impl, not a CPU kernel, got a direct kernel call");
  },
  impl([index, ...ops], p) {
    const outs = runJitted(p.branches[concreteIndex(index, p.branches.length)], ops);
    const avals = condP.abstractEval([index.aval, ...ops.map((o) => o.aval)], p);
    return outs.map((o, i) => matchAval(o, avals[i]));
  },
  jvp([index, ...ops], [, ...tans], p) {
    const nz = tans.map((t) => t !== null);
    const none = p.branches[0].outAvals.map(() => false);
    let outNz = none;
    for (const b of p.branches) outNz = or(outNz, jvpJaxpr(b, nz, none).outNz);
    const jbs = p.branches.map((b) => jvpJaxpr(b, nz, outNz).jaxpr);
    const outs = bindCond(
      index,
      jbs,
      [...ops, ...tans.filter((t): t is NDArray => t !== null)],
    );
    const n = none.length;
    let k = n;
    return [outs.slice(0, n), outNz.map((z) => (z ? outs[k++] : null))];
  },
  batch([index, ...ops], [indexDim, ...dims], p, size) {
    if (indexDim === null) {
      const xs = ops.map((x, i) => (dims[i] === null ? x : moveAxis(x, dims[i]!, 0)));
      const inB = dims.map((d) => d !== null);
      const none = p.branches[0].outAvals.map(() => false);
      let outB = none;
      for (const b of p.branches) outB = or(outB, batchJaxpr(b, size, inB, none).outBatched);
      const bbs = p.branches.map((b) => batchJaxpr(b, size, inB, outB).jaxpr);
      const outs = bindCond(index, bbs, xs);
      return [outs, outB.map((b) => (b ? 0 : null))];
    }
    // A batched index: every branch runs on the whole batch, select_n picks per element.
    const idx = moveAxis(index, indexDim, 0);
    const xs = ops.map((x, i) => moveBatchAxis(x, dims[i], 0, size));
    const all = ops.map(() => true);
    const branchOuts = p.branches.map((b) => {
      const { jaxpr } = batchJaxpr(b, size, all, b.outAvals.map(() => true));
      return evalClosedJaxpr(jaxpr, xs);
    });
    const outs = branchOuts[0].map((o0, j) => bind(selectN, [broadcastInDim(idx, o0.shape, [0]), ...branchOuts.map((bo) => bo[j])])[0]);
    return [outs, outs.map(() => 0)];
  },
  inlineForPartialEval: (args, p) => condPartialEval(args as PartialEvalTracer[], p),
  transpose(cts, [index, ...ops], p) {
    if (index instanceof UndefinedPrimal) throw new PrimalError("cond: transpose with respect to the branch index (not linear), got an unknown index");
    const linear = ops.map((o) => o instanceof UndefinedPrimal);
    const nonlinear = ops.filter((o): o is NDArray => !(o instanceof UndefinedPrimal));
    const outAvals = p.branches[0].outAvals;
    const ctVals = cts.map((c, i) => c ?? zerosLike(outAvals[i]));
    const tbs = p.branches.map((b) => transposeJaxpr(b, linear));
    const res = bindCond(index, tbs, [...nonlinear, ...ctVals]);
    let k = 0;
    return [null, ...linear.map((l) => (l ? res[k++] : null))];
  },
  printParams: (p) => ({ branches: p.branches }),
});

/** One residual of one branch, as an operand of the unknown cond. */
interface Slot {
  branch: number;
  res: number;
  source: ResidualSource;
}

function condPartialEval(ts: PartialEvalTracer[], p: CondParams): NDArray[] {
  const trace = ts[0]._trace;
  const [indexT, ...ops] = ts;
  // An unknown index: the whole cond is unknown.
  if (!indexT.known) return emitUnknown(condP, trace, ts, p);
  const index = indexT.known;
  const inUk = ops.map((t) => !t.known);
  const none = p.branches[0].outAvals.map(() => false);
  let outUk = none;
  for (const b of p.branches) outUk = or(outUk, partialEvalJaxpr(b, inUk, none).outUk);
  const pes = p.branches.map((b) => partialEvalJaxpr(b, inUk, outUk));
  const knownOps = ops.filter((t) => t.known).map((t) => t.known!);
  const slots: Slot[] = pes.flatMap((pe, branch) => pe.resSources.map((source, res) => ({ branch, res, source })));
  const outSlots = slots.filter((s) => s.source.kind === "out");
  const nKnown = outUk.filter((u) => !u).length;
  // The known cond: each branch's known outputs, then every computed residual (zeros for the other branches').
  const knownBranches = pes.map((pe, b) =>
    traceToJaxpr(
      (...kin) => {
        const r = evalClosedJaxpr(pe.known, kin);
        const res = r.slice(pe.numKnownOuts);
        return [...r.slice(0, pe.numKnownOuts), ...outSlots.map((s) => (s.branch === b ? res[s.res] : zerosLike(pes[s.branch].resAvals[s.res])))];
      },
      knownOps.map((o) => o.aval),
    ),
  );
  const kouts = bindCond(index, knownBranches, knownOps);
  const knownOuts = kouts.slice(0, nKnown);
  const resVals = kouts.slice(nKnown);
  if (nKnown === outUk.length) return knownOuts;
  // The unknown cond: [every residual slot..., unknown operands...] -> unknown outputs.
  const slotVals = slots.map((s) => (s.source.kind === "out" ? resVals[outSlots.indexOf(s)] : s.source.kind === "in" ? knownOps[s.source.index] : s.source.value));
  const unknownBranches = pes.map((pe, b) => {
    const j = pe.unknown.jaxpr;
    const nres = pe.resAvals.length;
    const slotVars = slots.map((s) => (s.branch === b ? j.invars[s.res] : new Var(pes[s.branch].resAvals[s.res])));
    return new ClosedJaxpr(new Jaxpr([], [...slotVars, ...j.invars.slice(nres)], j.eqns, j.outvars), []);
  });
  const uouts = emitUnknown(condP, trace, [index, ...slotVals, ...ops.filter((t) => !t.known)], { branches: unknownBranches });
  let ki = 0;
  let ui = 0;
  return outUk.map((u) => (u ? uouts[ui++] : knownOuts[ki++]));
}
