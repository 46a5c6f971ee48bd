// Loops as higher-order primitives, after JAX:
//
// while_p: `while[body_jaxpr body_nconsts cond_jaxpr cond_nconsts] *cond_consts *body_consts *init`.
// - impl: loops on the host, evaluating the cond and body jaxprs.
// - jvp: the tangents ride along in the carry (body jvp'd; the cond ignores them), the nonzero
//   carry tangents found by a fixpoint (JAX's _while_loop_jvp).
// - batch: a fixpoint finds the batched carries; an unbatched predicate keeps one loop; a batched
//   predicate runs until every element is done, each step keeping finished elements with
//   select_n (JAX's _while_loop_batching_rule).
// - partial evaluation: known carries that the predicate depends on alone run in a known loop;
//   the unknown outputs come from the whole loop, recomputed (JAX's _while_partial_eval). There
//   is no transpose: reverse mode raises JAX's error, as JAX does.
//
// scan_p: `scan[jaxpr length reverse unroll num_consts num_carry] *consts *init *xs` returning
// [*final_carry, *stacked_ys]; printed with JAX 0.11's parameters (ft_in, ft_out, jaxpr, length,
// reverse, unroll).
// - impl: loops on the host, slicing xs and stacking ys.
// - jvp: a scan of the jvp'd body, tangent carries found by a fixpoint (JAX's _scan_jvp).
// - batch: a scan of the batched body (xs batched along axis 1, the body sees axis 0).
// - partial evaluation (grad): the body is split into known and unknown parts with a fixpoint
//   on the unknown carries. A known scan computes the known outputs and stores the residuals of
//   each iteration as extra stacked ys; an unknown (linear) scan takes them as xs. Residuals
//   that are known consts (loop-invariant) or known xs are passed to the unknown scan directly
//   instead of being stacked. (JAX also hoists residuals computed from consts alone out of the
//   loop; this does not: such residuals are stacked.)
// - transpose: a scan in the opposite direction of the transposed body, carrying the
//   cotangents of the carries and accumulating those of the linear consts (JAX's _scan_transpose).

import { ShapedArray } from "../core/aval";
import { bool } from "../core/dtype";
import { DTypeError, PrimalError, ShapeError, ValueError } from "../core/errors";
import { NDArray } from "../core/ndarray";
import { definePrimitive, Primitive, UndefinedPrimal } from "../core/primitive";
import { bind, bind1 } from "../core/trace";
import { evalClosedJaxpr } from "../ir/eval-jaxpr";
import { ClosedJaxpr } from "../ir/jaxpr";
import { addAny, selectN } from "../primitives/elementwise";
import { broadcastInDim, moveAxis, moveBatchAxis, zerosLike } from "../primitives/ops";
import { reduceOr } from "../primitives/reduce";
import {
  appendInvars, batchJaxpr, emitUnknown, hoistConsts, indexAxis0, joinAvals, jvpJaxpr, matchAval, or, partialEvalJaxpr, permuteJaxpr,
  sameMask, selectOutputs, splitList, stack, transposeJaxpr, typeMatch, withLeading,
} from "./control-flow";
import { runJitted } from "./jit";
import { PartialEvalTracer } from "./partial-eval";
import { traceToJaxpr } from "./stage";

const range = (a: number, b: number): number[] => Array.from({ length: Math.max(0, b - a) }, (_, i) => a + i);
const count = (m: readonly boolean[]): number => m.filter((x) => x).length;
const pick = <T>(xs: readonly T[], mask: readonly boolean[], want = true): T[] => xs.filter((_, i) => mask[i] === want);
const strs = (avals: readonly ShapedArray[]): string => `(${avals.map((a) => a.str()).join(", ")})`;

export const WHILE_REVERSE_ERROR =
  "Reverse-mode differentiation does not work for lax.while_loop or lax.fori_loop with dynamic start/stop values. Try using lax.scan, or using fori_loop with static start/stop.";

// ---------------------------------------------------------------------------------------------
// while

export interface WhileParams {
  cond_jaxpr: ClosedJaxpr;
  cond_nconsts: number;
  body_jaxpr: ClosedJaxpr;
  body_nconsts: number;
}

/** Binds while_p; consts of the two jaxprs become leading operands. */
export function bindWhile(cond: ClosedJaxpr, condConsts: readonly NDArray[], body: ClosedJaxpr, bodyConsts: readonly NDArray[], init: readonly NDArray[]): NDArray[] {
  const [cj, cc] = hoistConsts(cond);
  const [bj, bc] = hoistConsts(body);
  return bind(whileP, [...cc, ...condConsts, ...bc, ...bodyConsts, ...init], {
    cond_jaxpr: cj, cond_nconsts: cc.length + condConsts.length, body_jaxpr: bj, body_nconsts: bc.length + bodyConsts.length,
  });
}

export const whileP: Primitive<WhileParams> = definePrimitive<WhileParams>({
  name: "while",
  abstractEval(avals, p) {
    const [cc, bc, init] = splitList(avals, [p.cond_nconsts, p.body_nconsts]);
    const ci = p.cond_jaxpr.inAvals;
    const bi = p.body_jaxpr.inAvals;
    const bo = p.body_jaxpr.outAvals;
    if (ci.length !== cc.length + init.length || [...cc, ...init].some((a, i) => !typeMatch(a, ci[i])))
      throw new ShapeError(`while_loop: cond_jaxpr inputs must match the cond consts and the carry, got ${strs(ci)} for ${strs([...cc, ...init])}`);
    if (bi.length !== bc.length + init.length || [...bc, ...init].some((a, i) => !typeMatch(a, bi[i])))
      throw new ShapeError(`while_loop: body_jaxpr inputs must match the body consts and the carry, got ${strs(bi)} for ${strs([...bc, ...init])}`);
    const co = p.cond_jaxpr.outAvals;
    if (co.length !== 1 || co[0].dtype !== bool || co[0].ndim !== 0) throw new DTypeError(`while_loop: cond_fun must return a boolean scalar, but got output type(s) ${strs(co)}`);
    if (bo.length !== init.length || bo.some((a, i) => !typeMatch(a, init[i])))
      throw new ShapeError(`while_loop: body_fun output and input must have identical types, got ${strs(bo)} and ${strs(init)}`);
    return bo.map((a, i) => joinAvals([a, init[i]]));
  },
  cpu: () => {
    throw new PrimalError("while_loop: runs through its impl, not a CPU kernel, got a direct kernel call");
  },
  impl(args, p) {
    const [cc, bc, init] = splitList(args, [p.cond_nconsts, p.body_nconsts]);
    const outAvals = whileP.abstractEval(args.map((a) => a.aval), p);
    let carry = init;
    for (;;) {
      const [pred] = runJitted(p.cond_jaxpr, [...cc, ...carry]);
      if (!pred._concrete("while_loop").item()) break;
      carry = runJitted(p.body_jaxpr, [...bc, ...carry]);
    }
    return carry.map((c, i) => matchAval(c, outAvals[i]));
  },
  jvp(primals, tangents, p) {
    const [cc, bc, init] = splitList(primals, [p.cond_nconsts, p.body_nconsts]);
    const [, bcT, initT] = splitList(tangents, [p.cond_nconsts, p.body_nconsts]);
    const bcNz = bcT.map((t) => t !== null);
    let carryNz = initT.map((t) => t !== null);
    for (;;) {
      const next = or(carryNz, jvpJaxpr(p.body_jaxpr, [...bcNz, ...carryNz], carryNz).outNz);
      if (sameMask(next, carryNz)) break;
      carryNz = next;
    }
    if (!carryNz.some((z) => z)) return [bind(whileP, primals, p), init.map(() => null)];
    const { jaxpr } = jvpJaxpr(p.body_jaxpr, [...bcNz, ...carryNz], carryNz);
    const nb = bc.length, nc = init.length, nbz = count(bcNz), ncz = count(carryNz);
    // [bc, carry, bcT, carryT] -> [bc, bcT, carry, carryT]
    const body = permuteJaxpr(jaxpr, [...range(0, nb), ...range(nb + nc, nb + nc + nbz), ...range(nb, nb + nc), ...range(nb + nc + nbz, nb + nc + nbz + ncz)], range(0, nc + ncz));
    const cond = appendInvars(p.cond_jaxpr, pick(init, carryNz).map((x) => x.aval));
    const initTv = init.flatMap((x, i) => (carryNz[i] ? [initT[i] ?? zerosLike(x)] : []));
    const outs = bindWhile(cond, cc, body, [...bc, ...bcT.filter((t): t is NDArray => t !== null)], [...init, ...initTv]);
    let k = nc;
    return [outs.slice(0, nc), carryNz.map((z) => (z ? outs[k++] : null))];
  },
  batch(args, dims, p, size) {
    const [cc, bc, init] = splitList(args, [p.cond_nconsts, p.body_nconsts]);
    const [ccD, bcD, initD] = splitList(dims, [p.cond_nconsts, p.body_nconsts]);
    const ccB = ccD.map((d) => d !== null);
    const bcB = bcD.map((d) => d !== null);
    let carryB = initD.map((d) => d !== null);
    let predB = false;
    for (;;) {
      predB = batchJaxpr(p.cond_jaxpr, size, [...ccB, ...carryB], [false]).outBatched[0];
      if (predB) {
        carryB = carryB.map(() => true);
        break;
      }
      const next = or(carryB, batchJaxpr(p.body_jaxpr, size, [...bcB, ...carryB], carryB).outBatched);
      if (sameMask(next, carryB)) break;
      carryB = next;
    }
    const front = (x: NDArray, d: number | null) => (d === null ? x : moveAxis(x, d, 0));
    const ccX = cc.map((x, i) => front(x, ccD[i]));
    const bcX = bc.map((x, i) => front(x, bcD[i]));
    const initX = init.map((x, i) => (carryB[i] ? moveBatchAxis(x, initD[i], 0, size) : x));
    const condB = batchJaxpr(p.cond_jaxpr, size, [...ccB, ...carryB], [predB]).jaxpr;
    const bodyB = batchJaxpr(p.body_jaxpr, size, [...bcB, ...carryB], carryB).jaxpr;
    if (!predB) return [bindWhile(condB, ccX, bodyB, bcX, initX), carryB.map((b) => (b ? 0 : null))];
    // A batched predicate: loop while any element is running; finished elements keep their carry.
    const nc = ccX.length, nb = bcX.length;
    const carryAvals = initX.map((x) => x.aval);
    const cond = traceToJaxpr(
      (...xs) => {
        const [pred] = evalClosedJaxpr(condB, xs);
        return [bind1(reduceOr, [pred], { axes: [0], out_sharding: null })];
      },
      [...ccX.map((x) => x.aval), ...carryAvals],
    );
    const body = traceToJaxpr(
      (...xs) => {
        const [c, b, carry] = splitList(xs, [nc, nb]);
        const [pred] = evalClosedJaxpr(condB, [...c, ...carry]);
        const next = evalClosedJaxpr(bodyB, [...b, ...carry]);
        return next.map((n, i) => bind1(selectN, [broadcastInDim(pred, n.shape, [0]), matchAval(carry[i], n.aval), n]));
      },
      [...ccX.map((x) => x.aval), ...bcX.map((x) => x.aval), ...carryAvals],
    );
    const outs = bindWhile(cond, ccX, body, [...ccX, ...bcX], initX);
    return [outs, outs.map(() => 0)];
  },
  inlineForPartialEval: (args, p) => whilePartialEval(args as PartialEvalTracer[], p),
  transpose() {
    throw new ValueError(WHILE_REVERSE_ERROR);
  },
  printParams: (p) => ({ body_jaxpr: p.body_jaxpr, body_nconsts: p.body_nconsts, cond_jaxpr: p.cond_jaxpr, cond_nconsts: p.cond_nconsts }),
});

function whilePartialEval(ts: PartialEvalTracer[], p: WhileParams): NDArray[] {
  const trace = ts[0]._trace;
  const [cc, bc, init] = splitList(ts, [p.cond_nconsts, p.body_nconsts]);
  const uk = (t: PartialEvalTracer) => !t.known;
  const ccUk = cc.map(uk), bcUk = bc.map(uk);
  let carryUk = init.map(uk);
  for (;;) {
    const next = or(carryUk, partialEvalJaxpr(p.body_jaxpr, [...bcUk, ...carryUk], carryUk).outUk);
    if (sameMask(next, carryUk)) break;
    carryUk = next;
  }
  const peCond = partialEvalJaxpr(p.cond_jaxpr, [...ccUk, ...carryUk], [false]);
  if (peCond.outUk[0] || carryUk.every((u) => u)) return emitUnknown(whileP, trace, ts, p);
  // The known carries do not depend on unknown ones: a loop of the known part computes them.
  const peBody = partialEvalJaxpr(p.body_jaxpr, [...bcUk, ...carryUk], carryUk);
  const known = (xs: PartialEvalTracer[], mask: boolean[]) => pick(xs, mask, false).map((t) => t.known!);
  const kouts = bindWhile(selectOutputs(peCond.known, [0]), known(cc, ccUk), selectOutputs(peBody.known, range(0, peBody.numKnownOuts)), known(bc, bcUk), known(init, carryUk));
  // The unknown carries: the whole loop, recomputing the known part (as JAX does).
  const uouts = emitUnknown(whileP, trace, ts, p);
  let k = 0;
  return carryUk.map((u, i) => (u ? uouts[i] : kouts[k++]));
}

// ---------------------------------------------------------------------------------------------
// scan

export interface ScanParams {
  /** [consts..., carry..., x...] -> [carry..., y...]; no consts. */
  jaxpr: ClosedJaxpr;
  length: number;
  reverse: boolean;
  unroll: number;
  num_consts: number;
  num_carry: number;
}

export interface ScanOpts {
  length: number;
  reverse: boolean;
  unroll: number;
}

/** Binds scan_p; consts of the body become leading consts. */
export function bindScan(body: ClosedJaxpr, consts: readonly NDArray[], init: readonly NDArray[], xs: readonly NDArray[], o: ScanOpts): NDArray[] {
  const [bj, hc] = hoistConsts(body);
  return bind(scanP, [...hc, ...consts, ...init, ...xs], {
    jaxpr: bj, length: o.length, reverse: o.reverse, unroll: o.unroll, num_consts: hc.length + consts.length, num_carry: init.length,
  });
}

const scanOpts = (p: ScanParams, reverse = p.reverse): ScanOpts => ({ length: p.length, reverse, unroll: p.unroll });

export const scanP: Primitive<ScanParams> = definePrimitive<ScanParams>({
  name: "scan",
  abstractEval(avals, p) {
    const [consts, init, xs] = splitList(avals, [p.num_consts, p.num_carry]);
    const ji = p.jaxpr.inAvals;
    const jo = p.jaxpr.outAvals;
    if (ji.length !== avals.length) throw new ShapeError(`scan: the body takes ${ji.length} inputs, got ${avals.length} operands`);
    for (const x of xs)
      if (x.ndim === 0 || x.shape[0] !== p.length) throw new ShapeError(`scan: xs must have a leading axis of length ${p.length}, got ${x.str()}`);
    const per = [...consts, ...init, ...xs.map((x) => x.update({ shape: x.shape.slice(1) }))];
    if (per.some((a, i) => !typeMatch(a, ji[i]))) throw new ShapeError(`scan: body inputs must match the operands, got ${strs(ji)} for ${strs(per)}`);
    if (jo.length < init.length || init.some((a, i) => !typeMatch(a, jo[i])))
      throw new ShapeError(`scan: the body function carry input and carry output must have equal types, got ${strs(init)} and ${strs(jo.slice(0, init.length))}`);
    return [...jo.slice(0, init.length), ...jo.slice(init.length).map((a) => withLeading(a, p.length))];
  },
  cpu: () => {
    throw new PrimalError("scan: runs through its impl, not a CPU kernel, got a direct kernel call");
  },
  impl(args, p) {
    const [consts, init, xs] = splitList(args, [p.num_consts, p.num_carry]);
    const outAvals = scanP.abstractEval(args.map((a) => a.aval), p);
    const yAvals = p.jaxpr.outAvals.slice(p.num_carry);
    const ys: NDArray[][] = yAvals.map(() => new Array<NDArray>(p.length));
    let carry = init;
    for (let s = 0; s < p.length; s++) {
      const i = p.reverse ? p.length - 1 - s : s;
      const outs = runJitted(p.jaxpr, [...consts, ...carry, ...xs.map((x) => indexAxis0(x, i))]);
      carry = outs.slice(0, p.num_carry);
      outs.slice(p.num_carry).forEach((y, k) => (ys[k][i] = y));
    }
    return [...carry.map((c, i) => matchAval(c, outAvals[i])), ...ys.map((l, k) => stack(l, yAvals[k]))];
  },
  jvp(primals, tangents, p) {
    const nc = p.num_consts, ncar = p.num_carry;
    const [consts, init, xs] = splitList(primals, [nc, ncar]);
    const [cT, iT, xT] = splitList(tangents, [nc, ncar]);
    const cNz = cT.map((t) => t !== null), xNz = xT.map((t) => t !== null);
    const nys = p.jaxpr.outAvals.length - ncar;
    const inst = (c: boolean[]) => [...c, ...new Array<boolean>(nys).fill(false)];
    let carryNz = iT.map((t) => t !== null);
    for (;;) {
      const next = or(carryNz, jvpJaxpr(p.jaxpr, [...cNz, ...carryNz, ...xNz], inst(carryNz)).outNz.slice(0, ncar));
      if (sameMask(next, carryNz)) break;
      carryNz = next;
    }
    const { jaxpr, outNz } = jvpJaxpr(p.jaxpr, [...cNz, ...carryNz, ...xNz], inst(carryNz));
    const yNz = outNz.slice(ncar);
    const nx = xs.length, ncz = count(cNz), nrz = count(carryNz), nxz = count(xNz), nyz = count(yNz);
    const n = nc + ncar + nx;
    // inputs [c, carry, x, cT, carryT, xT] -> [c, cT, carry, carryT, x, xT]; outputs [carry, y, carryT, yT] -> [carry, carryT, y, yT]
    const inOrder = [
      ...range(0, nc), ...range(n, n + ncz), ...range(nc, nc + ncar), ...range(n + ncz, n + ncz + nrz), ...range(nc + ncar, n), ...range(n + ncz + nrz, n + ncz + nrz + nxz),
    ];
    const m = ncar + nys;
    const outOrder = [...range(0, ncar), ...range(m, m + nrz), ...range(ncar, m), ...range(m + nrz, m + nrz + nyz)];
    const body = permuteJaxpr(jaxpr, inOrder, outOrder);
    const nzs = (ts: (NDArray | null)[]) => ts.filter((t): t is NDArray => t !== null);
    const initTv = init.flatMap((x, i) => (carryNz[i] ? [iT[i] ?? zerosLike(x)] : []));
    const outs = bindScan(body, [...consts, ...nzs(cT)], [...init, ...initTv], [...xs, ...nzs(xT)], scanOpts(p));
    const [carryOut, carryTOut, ysOut, ysTOut] = splitList(outs, [ncar, nrz, nys]);
    let a = 0, b = 0;
    return [
      [...carryOut, ...ysOut],
      [...carryNz.map((z) => (z ? carryTOut[a++] : null)), ...yNz.map((z) => (z ? ysTOut[b++] : null))],
    ];
  },
  batch(args, dims, p, size) {
    const nc = p.num_consts, ncar = p.num_carry;
    const [consts, init, xs] = splitList(args, [nc, ncar]);
    const [cD, iD, xD] = splitList(dims, [nc, ncar]);
    const cB = cD.map((d) => d !== null), xB = xD.map((d) => d !== null);
    const nys = p.jaxpr.outAvals.length - ncar;
    const inst = (c: boolean[]) => [...c, ...new Array<boolean>(nys).fill(false)];
    let carryB = iD.map((d) => d !== null);
    for (;;) {
      const next = or(carryB, batchJaxpr(p.jaxpr, size, [...cB, ...carryB, ...xB], inst(carryB)).outBatched.slice(0, ncar));
      if (sameMask(next, carryB)) break;
      carryB = next;
    }
    const { jaxpr, outBatched } = batchJaxpr(p.jaxpr, size, [...cB, ...carryB, ...xB], inst(carryB));
    const constsX = consts.map((x, i) => (cD[i] === null ? x : moveAxis(x, cD[i]!, 0)));
    const initX = init.map((x, i) => (carryB[i] ? moveBatchAxis(x, iD[i], 0, size) : x));
    // The scanned axis stays first; the batch axis goes second (the body sees it first).
    const xsX = xs.map((x, i) => (xD[i] === null ? x : moveAxis(x, xD[i]!, 1)));
    const outs = bindScan(jaxpr, constsX, initX, xsX, scanOpts(p));
    return [outs, [...carryB.map((b) => (b ? 0 : null)), ...outBatched.slice(ncar).map((b) => (b ? 1 : null))]];
  },
  inlineForPartialEval: (args, p) => scanPartialEval(args as PartialEvalTracer[], p),
  transpose(cts, args, p) {
    const nc = p.num_consts, ncar = p.num_carry;
    const isU = (a: NDArray | UndefinedPrimal): a is UndefinedPrimal => a instanceof UndefinedPrimal;
    const [consts, init, xs] = splitList(args, [nc, ncar]);
    const cLin = consts.map(isU), xLin = xs.map(isU);
    const resC = consts.filter((a): a is NDArray => !isU(a));
    const resX = xs.filter((a): a is NDArray => !isU(a));
    const ji = p.jaxpr.inAvals, jo = p.jaxpr.outAvals;
    const ctCarry = cts.slice(0, ncar).map((c, i) => c ?? zerosLike(jo[i]));
    const ctYs = cts.slice(ncar).map((c, i) => c ?? zerosLike(withLeading(jo[ncar + i], p.length)));
    // The body's transpose: [resC, resX_i, ct carry, ct y_i] -> [ct linear consts, ct carry, ct linear x_i].
    const bodyT = transposeJaxpr(p.jaxpr, [...cLin, ...init.map(() => true), ...xLin]);
    const linCAvals = pick(ji.slice(0, nc), cLin);
    const nrc = resC.length, nlc = linCAvals.length, nrx = resX.length;
    const tBody = traceToJaxpr(
      (...zs) => {
        const [rc, acc, ctc, rx, cty] = splitList(zs, [nrc, nlc, ncar, nrx]);
        const [dc, dcarry, dx] = splitList(evalClosedJaxpr(bodyT, [...rc, ...rx, ...ctc, ...cty]), [nlc, ncar]);
        return [...acc.map((x, i) => bind1(addAny, [x, matchAval(dc[i], x.aval)])), ...dcarry.map((d, i) => matchAval(d, ctc[i].aval)), ...dx];
      },
      [...resC.map((x) => x.aval), ...linCAvals, ...ctCarry.map((c) => c.aval), ...pick(ji.slice(nc + ncar), xLin, false), ...jo.slice(ncar)],
    );
    const outs = bindScan(tBody, resC, [...linCAvals.map((a) => zerosLike(a)), ...ctCarry], [...resX, ...ctYs], scanOpts(p, !p.reverse));
    const [ctC, ctInit, ctX] = splitList(outs, [nlc, ncar]);
    let a = 0, b = 0;
    return [...cLin.map((l) => (l ? ctC[a++] : null)), ...init.map((x, i) => (isU(x) ? ctInit[i] : null)), ...xLin.map((l) => (l ? ctX[b++] : null))];
  },
  printParams(p) {
    // JAX 0.11 prints the flat structure of (consts, carry, xs) and (carry, ys).
    const nx = p.jaxpr.inAvals.length - p.num_consts - p.num_carry;
    const ny = p.jaxpr.outAvals.length - p.num_carry;
    const nones = (n: number) => new Array<null>(n).fill(null);
    return {
      ft_in: [nones(p.num_consts), nones(p.num_carry), nones(nx)],
      ft_out: [nones(p.num_carry), new Array<string>(ny).fill("RightsOnly(Right(None))")],
      jaxpr: p.jaxpr,
      length: p.length,
      reverse: p.reverse,
      unroll: p.unroll,
    };
  },
});

function scanPartialEval(ts: PartialEvalTracer[], p: ScanParams): NDArray[] {
  const trace = ts[0]._trace;
  const nc = p.num_consts, ncar = p.num_carry;
  const [consts, init, xs] = splitList(ts, [nc, ncar]);
  const uk = (t: PartialEvalTracer) => !t.known;
  const cUk = consts.map(uk), xUk = xs.map(uk);
  const nys = p.jaxpr.outAvals.length - ncar;
  const inst = (c: boolean[]) => [...c, ...new Array<boolean>(nys).fill(false)];
  let carryUk = init.map(uk);
  for (;;) {
    const next = or(carryUk, partialEvalJaxpr(p.jaxpr, [...cUk, ...carryUk, ...xUk], inst(carryUk)).outUk.slice(0, ncar));
    if (sameMask(next, carryUk)) break;
    carryUk = next;
  }
  const pe = partialEvalJaxpr(p.jaxpr, [...cUk, ...carryUk, ...xUk], inst(carryUk));
  const yUk = pe.outUk.slice(ncar);
  const known = (xs: PartialEvalTracer[], mask: boolean[]) => pick(xs, mask, false).map((t) => t.known!);
  const kc = known(consts, cUk), ki = known(init, carryUk), kx = known(xs, xUk);
  const knownIns = [...kc, ...ki, ...kx];
  // Residuals: loop-invariant ones (known consts, constants) become consts of the unknown scan,
  // known xs are passed as its xs, the others are stacked by the known scan.
  type Res = { kind: "const" | "xs"; value: NDArray } | { kind: "stack" };
  const res: Res[] = pe.resSources.map((s): Res => {
    if (s.kind === "const") return { kind: "const", value: s.value };
    if (s.kind === "in" && s.index < kc.length) return { kind: "const", value: knownIns[s.index] };
    if (s.kind === "in" && s.index >= kc.length + ki.length) return { kind: "xs", value: knownIns[s.index] };
    return { kind: "stack" };
  });
  const stacked = range(0, res.length).filter((r) => res[r].kind === "stack");
  const knownBody = selectOutputs(pe.known, [...range(0, pe.numKnownOuts), ...stacked.map((r) => pe.numKnownOuts + r)]);
  const kouts = bindScan(knownBody, kc, ki, kx, scanOpts(p));
  const nKcar = ki.length;
  const nKys = pe.numKnownOuts - nKcar;
  const [kCarry, kYs, kRes] = splitList(kouts, [nKcar, nKys]);
  const assemble = (uouts: NDArray[]): NDArray[] => {
    let a = 0, b = 0, c = 0, d = 0;
    const nUcar = count(carryUk);
    return [...carryUk.map((u) => (u ? uouts[a++] : kCarry[b++])), ...yUk.map((u) => (u ? uouts[nUcar + c++] : kYs[d++]))];
  };
  if (!pe.outUk.some((u) => u)) return assemble([]);
  // The unknown scan: consts [res consts, unknown consts], carry [unknown carries], xs [stacked res, res xs, unknown xs].
  const nres = res.length, nUc = count(cUk), nUcar = count(carryUk), nUx = count(xUk);
  const resC = range(0, nres).filter((r) => res[r].kind === "const");
  const resX = range(0, nres).filter((r) => res[r].kind === "xs");
  const inOrder = [...resC, ...range(nres, nres + nUc), ...range(nres + nUc, nres + nUc + nUcar), ...stacked, ...resX, ...range(nres + nUc + nUcar, nres + nUc + nUcar + nUx)];
  const ubody = permuteJaxpr(pe.unknown, inOrder, range(0, pe.unknown.outAvals.length));
  const val = (r: number) => (res[r] as { value: NDArray }).value;
  const operands = [...resC.map(val), ...pick(consts, cUk), ...pick(init, carryUk), ...kRes, ...resX.map(val), ...pick(xs, xUk)];
  const uouts = emitUnknown(scanP, trace, operands, {
    jaxpr: ubody, length: p.length, reverse: p.reverse, unroll: p.unroll, num_consts: resC.length + nUc, num_carry: nUcar,
  } satisfies ScanParams);
  return assemble(uouts);
}
