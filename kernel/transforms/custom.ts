// Custom derivatives: JAX's custom_jvp and custom_vjp, as higher-order primitives in the style
// of jit (kernel/transforms/jit.ts).
//
// `customJvp(f)` with `.defjvp(rule)`: calling it traces f into a jaxpr (`call_jaxpr`) and binds
// `custom_jvp_call` with the rule as a callable parameter. Every transformation goes through
// the primitive record:
//   - impl (no transformation left): evaluates call_jaxpr, i.e. runs f;
//   - jvp (JVPTrace.processPrimitive): calls the custom rule instead of differentiating f;
//   - batch (vmap): vmaps call_jaxpr into a new jaxpr and wraps the rule in a vmap, then binds
//     custom_jvp_call again one level down (JAX batches both the function and the rule);
//   - staging (jit, makeJaxpr): the default, one equation printed as JAX 0.11 prints it;
//   - reverse mode: grad/vjp are partial evaluation of the jvp (kernel/transforms/transpose.ts),
//     so the rule is linearized: its primal part runs at once and its tangent part (which must
//     be linear in the tangents, as in JAX) is recorded and transposed.
//
// `customVjp(f)` with `.defvjp(fwd, bwd)`: binds `custom_vjp_call`, whose jvp rule runs fwd on
// the primals and binds `custom_lin` on the residuals and the tangents. custom_lin is JAX's
// primitive of the same name: it cannot be evaluated (forward mode through a custom_vjp function
// is an error, with JAX's message), but under partial evaluation with unknown tangents it is
// recorded in the linear jaxpr, and its transpose rule calls bwd with the residuals.
//
// Values that f closes over are hoisted out of call_jaxpr into leading inputs of the equation
// (`num_consts`), so that tracers of enclosing transformations reach the right level. The rules
// get only the explicit arguments; differentiating with respect to a closed-over value is an
// error (JAX's). When no transformation is active at all, calling the function just runs f (as
// JAX's impl does), without tracing.
//
// Not supported (documented gaps): symbolic zeros (`symbolicZeros: true`; the rules always get
// instantiated zero tangents/cotangents, JAX's default), and rules that close over a value
// batched by an enclosing vmap when the batched call is differentiated outside that vmap (the
// rule is re-vmapped at a new level there, where JAX re-enters the same batch trace).

import { ShapedArray } from "../core/aval";
import { ArgumentError, PrimalError, ShapeError } from "../core/errors";
import { NDArray } from "../core/ndarray";
import { Primitive, UndefinedPrimal, definePrimitive } from "../core/primitive";
import { describeValue, isPlainObject } from "../core/shape";
import { Tracer, bind, traceDepth } from "../core/trace";
import { PyTreeDef, treeFlatten, treeUnflatten } from "../core/tree";
import { evalClosedJaxpr } from "../ir/eval-jaxpr";
import { ClosedJaxpr, Jaxpr } from "../ir/jaxpr";
import { withOwnSources } from "../ir/source";
import { add, convert, moveAxis, reduceSum, zerosLike } from "../primitives/ops";
import { flattenToArrays, leafToArray } from "./args";
import { traceToJaxpr } from "./stage";
import { vmapFlat } from "./vmap";

type Fn = (...args: any[]) => any;

// ---------------------------------------------------------------------------------------------
// Shared helpers

/** Options of customJvp/customVjp: JAX's `nondiff_argnums`. */
export interface CustomDerivativeOptions {
  /** Positions of arguments that are not differentiated (functions, static values). */
  nondiffArgnums?: number | readonly number[];
}

function checkNondiffOption(op: string, opts: CustomDerivativeOptions): number[] {
  if (!isPlainObject(opts)) throw new ArgumentError(`${op}: options must be a plain object { nondiffArgnums }, got ${describeValue(opts)}`);
  for (const k of Object.keys(opts)) if (k !== "nondiffArgnums") throw new ArgumentError(`${op}: unknown option, got ${JSON.stringify(k)} (known: nondiffArgnums)`);
  const n = opts.nondiffArgnums;
  const list = n === undefined || n === null ? [] : typeof n === "number" ? [n] : Array.isArray(n) ? [...n] : null;
  if (!list || list.some((i) => !Number.isInteger(i))) throw new ArgumentError(`${op}: nondiffArgnums must be an integer or a list of integers, got ${describeValue(n)}`);
  return list;
}

/** The call's arguments split into differentiable ones and the others (kept in place). */
interface SplitArgs {
  /** The differentiable arguments, in order. */
  diff: unknown[];
  /** The non-differentiable arguments, in order (rules get them first, as in JAX). */
  nondiff: unknown[];
  /** Rebuilds the full argument list from (possibly transformed) differentiable arguments. */
  full: (diff: readonly unknown[]) => unknown[];
}

function splitArgs(op: string, kind: "custom_jvp" | "custom_vjp", args: unknown[], nondiffArgnums: readonly number[]): SplitArgs {
  const n = args.length;
  const nd = new Set<number>();
  for (const a of nondiffArgnums) {
    if (a < -n || a >= n) throw new ArgumentError(`${op}: nondiffArgnums ${a} is out of range for a call with ${n} arguments`);
    nd.add(a < 0 ? a + n : a);
  }
  const positions = [...nd].sort((a, b) => a - b);
  for (const i of positions) {
    const [leaves] = treeFlatten(args[i]);
    if (leaves.some((l) => l instanceof Tracer))
      throw new PrimalError(
        `${op}: Found a JAX Tracer object passed as an argument to a ${kind} function in a position indicated by nondiff_argnums as non-differentiable. ` +
          `Tracers cannot be passed as non-differentiable arguments to ${kind} functions; instead, nondiffArgnums should only be used for arguments that can't be or contain JAX tracers, e.g. function-valued arguments. ` +
          `In particular, array-valued arguments should typically not be indicated as nondiffArgnums (argument ${i}).`,
      );
  }
  const diff = args.filter((_, i) => !nd.has(i));
  const nondiff = positions.map((i) => args[i]);
  const full = (d: readonly unknown[]): unknown[] => {
    const out: unknown[] = [];
    let k = 0;
    for (let i = 0; i < n; i++) out.push(nd.has(i) ? args[i] : d[k++]);
    return out;
  };
  return { diff, nondiff, full };
}

/** f traced on the avals of its differentiable leaves, its closed-over values hoisted into leading inputs. */
interface TracedCall {
  leaves: NDArray[];
  inTree: PyTreeDef;
  outTree: PyTreeDef;
  /** Takes [...consts, ...leaves]; has no constvars of its own. */
  jaxpr: ClosedJaxpr;
  consts: NDArray[];
}

function traceCall(op: string, f: Fn, split: SplitArgs): TracedCall {
  const [leaves, inTree] = flattenToArrays(split.diff, op);
  let outTree: PyTreeDef | null = null;
  const cj = traceToJaxpr(
    (...xs) => {
      const d = treeUnflatten(inTree, xs) as unknown[];
      const [outs, def] = flattenToArrays(f(...split.full(d)), op);
      outTree = def;
      return outs;
    },
    leaves.map((l) => l.aval),
    { dropUnused: false },
  );
  const { jaxpr, consts } = hoistConsts(cj);
  return { leaves, inTree, outTree: outTree!, jaxpr, consts };
}

/** Turns a closed jaxpr's constvars into leading invars (JAX's convert_constvars_jaxpr). */
function hoistConsts(cj: ClosedJaxpr): { jaxpr: ClosedJaxpr; consts: NDArray[] } {
  const j = cj.jaxpr;
  if (j.constvars.length === 0) return { jaxpr: cj, consts: [] };
  return { jaxpr: new ClosedJaxpr(new Jaxpr([], [...j.constvars, ...j.invars], j.eqns, j.outvars), []), consts: cj.consts };
}

/** vmap of a jaxpr taking `xs` (batched at 0 or not at all): a new jaxpr, hoisted, with outputs batched at 0. */
function batchJaxpr(cj: ClosedJaxpr, xs: NDArray[], inDims: (number | null)[], size: number): { jaxpr: ClosedJaxpr; consts: NDArray[] } {
  const bj = traceToJaxpr((...ys) => vmapFlat((...zs) => evalClosedJaxpr(cj, zs), ys, inDims, 0, size), xs.map((x) => x.aval), { dropUnused: false });
  return hoistConsts(bj);
}

function closedOverError(kind: "custom_jvp" | "custom_vjp"): PrimalError {
  const rule = kind === "custom_jvp" ? "custom JVP rule" : "custom VJP rule";
  const adapt = kind === "custom_jvp" ? "the custom_jvp rule" : "the custom_vjp fwd and bwd rules";
  return new PrimalError(
    `${kind}: Detected differentiation of a ${kind} function with respect to a closed-over value. ` +
      `That isn't supported because the ${rule} only specifies how to differentiate the ${kind} function with respect to explicit input parameters. ` +
      `Try passing the closed-over value into the ${kind} function as an argument, and adapting ${adapt}.`,
  );
}

const sameType = (a: ShapedArray, b: ShapedArray): boolean => a.dtype === b.dtype && a.ndim === b.ndim && a.shape.every((d, i) => d === b.shape[i]);

function nameOf(f: Fn, dflt: string): string {
  return (typeof f === "function" && f.name) || dflt;
}

function named<T extends Fn>(fn: T, name: string): T {
  Object.defineProperty(fn, "name", { value: name });
  return fn;
}

/** Moves every batched argument's batch axis to 0. */
function batchAtZero(args: NDArray[], dims: (number | null)[]): [NDArray[], (number | null)[]] {
  return [args.map((a, i) => (dims[i] === null || dims[i] === 0 ? a : moveAxis(a, dims[i]!, 0))), dims.map((d) => (d === null ? null : 0))];
}

// ---------------------------------------------------------------------------------------------
// custom_jvp

/** A custom jvp rule on flat lists: primal and tangent leaves of the differentiable arguments in. */
export type FlatJvpRule = (primals: NDArray[], tangents: NDArray[]) => [NDArray[], NDArray[]];

export interface CustomJvpParams {
  /** f's name (printed `name=`). */
  name: string;
  /** f, traced; takes [...consts, ...args]. */
  call_jaxpr: ClosedJaxpr;
  /** The rule (named after the user's rule; printed `jvp=`). Takes only the explicit arguments. */
  jvp: FlatJvpRule;
  /** The number of leading inputs that are values f closes over. */
  num_consts: number;
  symbolic_zeros: boolean;
}

export const customJvpCallP: Primitive<CustomJvpParams> = definePrimitive<CustomJvpParams>({
  name: "custom_jvp_call",
  abstractEval: (_avals, p) => p.call_jaxpr.outAvals.map((a) => a),
  cpu: () => {
    throw new PrimalError("custom_jvp_call: runs through its impl, not a CPU kernel, got a direct kernel call");
  },
  impl: (args, p) => evalClosedJaxpr(p.call_jaxpr, args),
  jvp: (primals, tangents, p) => {
    const nc = p.num_consts;
    if (tangents.slice(0, nc).some((t) => t !== null)) throw closedOverError("custom_jvp");
    const xs = primals.slice(nc);
    // symbolic_zeros=False: the rule sees instantiated zeros, as in JAX.
    const ts = tangents.slice(nc).map((t, i) => t ?? zerosLike(xs[i]));
    const [outs, touts] = p.jvp(xs, ts);
    return [outs, touts.map((t, i) => (outs[i].dtype.isFloat ? t : null))];
  },
  // JAX batches both the function and the rule.
  batch: (args, dims, p, size) => {
    const [xs, inDims] = batchAtZero(args, dims);
    const { jaxpr, consts } = batchJaxpr(p.call_jaxpr, xs, inDims, size);
    const argDims = inDims.slice(p.num_consts);
    const rule = p.jvp;
    const n = argDims.length;
    const batchedRule: FlatJvpRule = named((ps, ts) => {
      let m = 0;
      const outs = vmapFlat(
        (...zs) => {
          const [o, t] = rule(zs.slice(0, n), zs.slice(n));
          m = o.length;
          return [...o, ...t];
        },
        [...ps, ...ts],
        [...argDims, ...argDims],
        0,
        size,
      );
      return [outs.slice(0, m), outs.slice(m)];
    }, rule.name);
    const outs = bind(customJvpCallP, [...consts, ...xs], { ...p, call_jaxpr: jaxpr, jvp: batchedRule, num_consts: consts.length + p.num_consts });
    return [outs, outs.map(() => 0)];
  },
  printParams: (p) => ({ name: p.name, call_jaxpr: p.call_jaxpr, jvp: nameOf(p.jvp, "jvp"), symbolic_zeros: p.symbolic_zeros }),
});

/** The user's rule as a FlatJvpRule, with JAX's checks on what it returns. */
function flatJvpRule(rule: Fn, fname: string, split: SplitArgs, inTree: PyTreeDef, outTree: PyTreeDef, outAvals: ShapedArray[]): FlatJvpRule {
  const rname = nameOf(rule, "jvp");
  const op = "custom_jvp";
  return named((primals: NDArray[], tangents: NDArray[]): [NDArray[], NDArray[]] => {
    const ps = treeUnflatten(inTree, primals) as unknown[];
    const ts = treeUnflatten(inTree, tangents) as unknown[];
    const r = withOwnSources(() => rule(...split.nondiff, ps, ts));
    if (!Array.isArray(r) || r.length !== 2)
      throw new PrimalError(`${op}: Custom JVP rule ${rname} for function ${fname} must produce a pair (list of length two) representing primal and tangent outputs, but got ${describeValue(r)}.`);
    const [pOut, pDef] = flattenToArrays(r[0], op);
    const [tOut, tDef] = flattenToArrays(r[1], op);
    if (!pDef.equals(tDef))
      throw new PrimalError(`${op}: Custom JVP rule ${rname} for function ${fname} must produce primal and tangent outputs with equal container (pytree) structures, but got ${pDef} and ${tDef} respectively.`);
    if (!pDef.equals(outTree))
      throw new PrimalError(`${op}: Custom JVP rule ${rname} for function ${fname} must produce a primal output with the same container (pytree) structure as the output of ${fname}, expected ${outTree}, got ${pDef}.`);
    pOut.forEach((p, i) => {
      if (!sameType(p.aval, outAvals[i]))
        throw new PrimalError(
          `${op}: Custom JVP rule ${rname} for function ${fname} must produce primal outputs with shapes/dtypes equal to those of ${fname}'s output, expected ${outAvals[i].str()}, got ${p.aval.str()} (output ${i}).`,
        );
    });
    const touts = tOut.map((t, i) => {
      const p = pOut[i];
      if (!p.dtype.isFloat) return t;
      // A weakly typed tangent (a JS number) takes the primal's dtype; otherwise dtypes must match.
      const tt = t.dtype !== p.dtype && t.weakType && t.dtype.isFloat ? convert(t, p.dtype) : t;
      if (!sameType(tt.aval, p.aval))
        throw new PrimalError(
          `${op}: Custom JVP rule ${rname} for function ${fname} must produce primal and tangent outputs with corresponding shapes and dtypes. Expected ${p.aval.str()} (tangent type of ${p.aval.str()}) but got ${t.aval.str()} (output ${i}).`,
        );
      return tt;
    });
    return [pOut, touts];
  }, rname);
}

/** A function with a custom JVP rule (JAX's jax.custom_jvp). */
export interface CustomJvpFunction<F extends Fn> {
  (...args: Parameters<F>): ReturnType<F>;
  /**
   * Sets the rule: `rule(...nondiffArgs, primals, tangents)` returns `[primalOut, tangentOut]`,
   * where primals and tangents are lists with one entry per (differentiable) argument. The
   * tangent output must be linear in the tangents (reverse mode transposes it). Returns the rule.
   */
  defjvp<R extends Fn>(rule: R, opts?: { symbolicZeros?: boolean }): R;
  /** One rule per argument: `jvp_i(tangent_i, primalOut, ...primals)`, or null for no dependence; the contributions are summed. */
  defjvps(...jvps: (Fn | null)[]): void;
  /** The undecorated function. */
  readonly fun: F;
  /** The rule given to defjvp (null before). */
  readonly jvp: Fn | null;
  readonly nondiffArgnums: readonly number[];
}

/**
 * jax.custom_jvp: `const f = customJvp((x) => ...); f.defjvp(([x], [t]) => [y, dy])`. With
 * `{ nondiffArgnums }`, those arguments are passed to the rule first and are never traced.
 */
export function customJvp<F extends Fn>(f: F, opts: CustomDerivativeOptions = {}): CustomJvpFunction<F> {
  const op = "custom_jvp";
  if (typeof f !== "function") throw new ArgumentError(`customJvp: expected a function, got ${describeValue(f)}`);
  const nondiffArgnums = checkNondiffOption("customJvp", opts);
  const fname = nameOf(f, "<lambda>");
  let rule: Fn | null = null;

  const wrapped = function (...args: unknown[]) {
    if (!rule) throw new PrimalError(`${op}: No JVP defined for custom_jvp function ${fname} using defjvp.`);
    const split = splitArgs(op, "custom_jvp", args, nondiffArgnums);
    // No transformation anywhere: just run f (JAX's impl does the same).
    if (traceDepth() === 0) return f(...args);
    const t = traceCall(op, f, split);
    const jvp = flatJvpRule(rule, fname, split, t.inTree, t.outTree, t.jaxpr.outAvals);
    const outs = bind(customJvpCallP, [...t.consts, ...t.leaves], { name: fname, call_jaxpr: t.jaxpr, jvp, num_consts: t.consts.length, symbolic_zeros: false });
    return treeUnflatten(t.outTree, outs);
  } as unknown as CustomJvpFunction<F>;

  const self = wrapped;
  Object.defineProperty(wrapped, "name", { value: fname });
  Object.defineProperty(wrapped, "fun", { value: f });
  Object.defineProperty(wrapped, "jvp", { get: () => rule });
  Object.defineProperty(wrapped, "nondiffArgnums", { value: Object.freeze([...nondiffArgnums]) });
  wrapped.defjvp = <R extends Fn>(r: R, o: { symbolicZeros?: boolean } = {}): R => {
    if (typeof r !== "function") throw new ArgumentError(`customJvp.defjvp: the rule must be a function, got ${describeValue(r)}`);
    if (!isPlainObject(o) || Object.keys(o).some((k) => k !== "symbolicZeros")) throw new ArgumentError(`customJvp.defjvp: options must be { symbolicZeros }, got ${describeValue(o)}`);
    if (o.symbolicZeros) throw new PrimalError("customJvp.defjvp: symbolicZeros: true is not supported; rules receive instantiated zero tangents (JAX's default)");
    rule = r;
    return r;
  };
  wrapped.defjvps = (...jvps: (Fn | null)[]): void => {
    if (nondiffArgnums.length) throw new PrimalError("customJvp.defjvps: Can't use defjvps with nondiffArgnums.");
    const summed = (primals: unknown[], tangents: unknown[]): [unknown, unknown] => {
      if (jvps.length !== primals.length) throw new ArgumentError(`customJvp.defjvps: got ${jvps.length} rules for a call with ${primals.length} arguments`);
      const primalOut = self(...(primals as Parameters<F>));
      const [outLeaves, outDef] = treeFlatten(primalOut);
      let sum: (NDArray | null)[] = outLeaves.map(() => null);
      jvps.forEach((j, i) => {
        if (!j) return;
        const [ts, tDef] = flattenToArrays(j(tangents[i], primalOut, ...primals), op);
        if (!tDef.equals(outDef)) throw new PrimalError(`${op}: the defjvps rule for argument ${i} must produce a tangent with the output's structure ${outDef}, got ${tDef}`);
        sum = sum.map((s, k) => (s === null ? ts[k] : add(s, ts[k])));
      });
      const tangentOut = treeUnflatten(outDef, sum.map((s, k) => s ?? zerosLike(leafToArray(outLeaves[k], op))));
      return [primalOut, tangentOut];
    };
    // JAX's defjvps defines its rule as `def jvp(primals, tangents)`; it prints `jvp=jvp`.
    wrapped.defjvp(named(summed, "jvp"));
  };
  return wrapped;
}

// ---------------------------------------------------------------------------------------------
// custom_vjp

/** bwd on flat lists: residual leaves and output cotangents in, one cotangent (or null = zero) per input leaf out. */
export type FlatBwd = (res: NDArray[], cts: NDArray[]) => (NDArray | null)[];
/** fwd on flat lists: the outputs, the residual leaves, and the matching bwd. */
export type FlatFwd = (primals: NDArray[]) => { outs: NDArray[]; res: NDArray[]; bwd: FlatBwd };

export interface CustomVjpParams {
  name: string;
  /** f, traced; takes [...consts, ...args]. */
  call_jaxpr: ClosedJaxpr;
  /** The user's fwd on flat lists (printed `fwd_jaxpr_thunk=` with the user's fwd name). */
  fwd: FlatFwd;
  /** The user's bwd (printed). */
  bwd: Fn;
  num_consts: number;
  symbolic_zeros: boolean;
}

export interface CustomLinParams {
  num_res: number;
  bwd: FlatBwd;
  /** Which of the primal inputs have a (nonzero) tangent among custom_lin's inputs. */
  mask: boolean[];
  out_avals: ShapedArray[];
  symbolic_zeros: boolean;
}

function forwardModeError(): PrimalError {
  return new PrimalError("can't apply forward-mode autodiff (jvp) to a custom_vjp function.");
}

/**
 * JAX's custom_lin: the tangent map of a custom_vjp function, known only through its transpose
 * (bwd). Its inputs are the residuals and the nonzero input tangents.
 */
export const customLinP: Primitive<CustomLinParams> = definePrimitive<CustomLinParams>({
  name: "custom_lin",
  abstractEval: (_avals, p) => p.out_avals.map((a) => a),
  cpu: () => {
    throw forwardModeError();
  },
  impl: () => {
    throw forwardModeError();
  },
  jvp: () => {
    throw forwardModeError();
  },
  batch: () => {
    throw forwardModeError();
  },
  transpose: (cts, args, p) => {
    const res = args.slice(0, p.num_res);
    if (res.some((r) => r instanceof UndefinedPrimal)) throw new PrimalError("custom_lin: the residuals must be known when transposing, got a linear residual");
    // symbolic_zeros=False: bwd sees instantiated zero cotangents, as in JAX.
    const outCts = cts.map((c, i) => c ?? zerosLike(p.out_avals[i]));
    const inCts = p.bwd(res as NDArray[], outCts);
    return [...res.map(() => null), ...inCts.filter((_, i) => p.mask[i])];
  },
  printParams: (p) => ({ bwd: nameOf(p.bwd, "bwd"), num_res: p.num_res, out_avals: p.out_avals.map((a) => a.toString()), symbolic_zeros: p.symbolic_zeros }),
});

export const customVjpCallP: Primitive<CustomVjpParams> = definePrimitive<CustomVjpParams>({
  name: "custom_vjp_call",
  abstractEval: (_avals, p) => p.call_jaxpr.outAvals.map((a) => a),
  cpu: () => {
    throw new PrimalError("custom_vjp_call: runs through its impl, not a CPU kernel, got a direct kernel call");
  },
  impl: (args, p) => evalClosedJaxpr(p.call_jaxpr, args),
  // Runs fwd now; the tangents go through custom_lin, which only reverse mode can use.
  jvp: (primals, tangents, p) => {
    const nc = p.num_consts;
    if (tangents.slice(0, nc).some((t) => t !== null)) throw closedOverError("custom_vjp");
    const xs = primals.slice(nc);
    const ts = tangents.slice(nc);
    const { outs, res, bwd } = p.fwd(xs);
    const mask = ts.map((t) => t !== null);
    const given = ts.filter((t): t is NDArray => t !== null);
    const touts = bind(customLinP, [...res, ...given], { num_res: res.length, bwd, mask, out_avals: outs.map((o) => o.aval), symbolic_zeros: false });
    return [outs, touts.map((t, i) => (outs[i].dtype.isFloat ? t : null))];
  },
  // JAX batches the function, fwd and bwd; cotangents of unbatched inputs are summed over the batch.
  batch: (args, dims, p, size) => {
    const [xs, inDims] = batchAtZero(args, dims);
    const { jaxpr, consts } = batchJaxpr(p.call_jaxpr, xs, inDims, size);
    const argDims = inDims.slice(p.num_consts);
    const fwd = p.fwd;
    const batchedFwd: FlatFwd = named((ps: NDArray[]) => {
      let nOut = 0;
      let innerBwd: FlatBwd | null = null;
      const flat = vmapFlat(
        (...zs) => {
          const r = fwd(zs);
          nOut = r.outs.length;
          innerBwd = r.bwd;
          return [...r.outs, ...r.res];
        },
        ps,
        argDims,
        0,
        size,
      );
      const perExampleBwd = innerBwd as unknown as FlatBwd;
      const bwd: FlatBwd = named((resB: NDArray[], ctsB: NDArray[]) => {
        const nr = resB.length;
        let nulls: boolean[] = [];
        const got = vmapFlat(
          (...zs) => {
            const cts = perExampleBwd(zs.slice(0, nr), zs.slice(nr));
            nulls = cts.map((c) => c === null);
            return cts.filter((c): c is NDArray => c !== null);
          },
          [...resB, ...ctsB],
          [...resB.map(() => 0), ...ctsB.map(() => 0)],
          0,
          size,
        );
        let k = 0;
        return nulls.map((isNull, i) => {
          if (isNull) return null;
          const c = got[k++];
          // An input that is the same for the whole batch gets the sum of the per-example cotangents.
          return argDims[i] === null ? reduceSum(c, [0]) : c;
        });
      }, perExampleBwd.name);
      return { outs: flat.slice(0, nOut), res: flat.slice(nOut), bwd };
    }, fwd.name);
    const outs = bind(customVjpCallP, [...consts, ...xs], { ...p, call_jaxpr: jaxpr, fwd: batchedFwd, num_consts: consts.length + p.num_consts });
    return [outs, outs.map(() => 0)];
  },
  printParams: (p) => ({ name: p.name, bwd: nameOf(p.bwd, "bwd"), call_jaxpr: p.call_jaxpr, fwd_jaxpr_thunk: nameOf(p.fwd, "fwd"), num_consts: p.num_consts, symbolic_zeros: p.symbolic_zeros }),
});

/** Flattens one argument's cotangent (bwd output) to the argument's leaves; null (anywhere) is a zero subtree. */
function cotangentLeaves(op: string, def: PyTreeDef, ct: unknown, where: string): (NDArray | null)[] {
  if (ct === null || ct === undefined) return new Array(def.numLeaves).fill(null);
  if (def.isLeaf) return [leafToArray(ct, op)];
  try {
    return def.flattenUpTo(ct, op).map((l) => (l === null || l === undefined ? null : leafToArray(l, op)));
  } catch (e) {
    // null in place of a whole subtree: walk the structure with a template.
    const template = def.unflatten(Array.from({ length: def.numLeaves }, (_, i) => ({ __leaf: i })));
    const out: (NDArray | null)[] = [];
    const walk = (t: unknown, x: unknown): void => {
      if (x === null || x === undefined) {
        for (let i = treeFlatten(t)[0].length; i > 0; i--) out.push(null);
        return;
      }
      if (isPlainObject(t) && "__leaf" in t) {
        out.push(leafToArray(x, op));
        return;
      }
      if (Array.isArray(t) && Array.isArray(x) && t.length === x.length) return t.forEach((c, i) => walk(c, x[i]));
      if (isPlainObject(t) && isPlainObject(x)) {
        const kt = Object.keys(t).sort();
        const kx = Object.keys(x).sort();
        if (kt.length === kx.length && kt.every((k, i) => k === kx[i])) return kt.forEach((k) => walk(t[k], x[k]));
      }
      throw e instanceof PrimalError ? new PrimalError(`${e.message} (${where})`) : e;
    };
    walk(template, ct);
    return out;
  }
}

function flatFwdRule(fwd: Fn, bwd: Fn, fname: string, split: SplitArgs, inTree: PyTreeDef, outTree: PyTreeDef, outAvals: ShapedArray[]): FlatFwd {
  const op = "custom_vjp";
  const fwdName = nameOf(fwd, "fwd");
  const bwdName = nameOf(bwd, "bwd");
  const argDefs = inTree.children();
  return named((primals: NDArray[]) => {
    const inAvals = primals.map((p) => p.aval);
    const ps = treeUnflatten(inTree, primals) as unknown[];
    const r = withOwnSources(() => fwd(...split.full(ps)));
    if (!Array.isArray(r) || r.length !== 2)
      throw new PrimalError(
        `${op}: Custom VJP fwd rule ${fwdName} for function ${fname} must produce a pair (list of length two) where the first element represents the primal output (equal to the output of the custom_vjp-decorated function ${fname}) and the second element represents residuals (i.e. values stored from the forward pass for use on the backward pass), but got ${describeValue(r)}.`,
      );
    const [outs, oDef] = flattenToArrays(r[0], op);
    if (!oDef.equals(outTree))
      throw new PrimalError(`${op}: Custom VJP fwd rule ${fwdName} for function ${fname} must produce a primal output with the same container (pytree) structure as the output of ${fname}, expected ${outTree}, got ${oDef}.`);
    outs.forEach((o, i) => {
      if (!sameType(o.aval, outAvals[i]))
        throw new PrimalError(`${op}: Custom VJP fwd rule ${fwdName} for function ${fname} must produce primal outputs with shapes/dtypes equal to those of ${fname}'s output, expected ${outAvals[i].str()}, got ${o.aval.str()} (output ${i}).`);
    });
    const [res, resTree] = flattenToArrays(r[1], op);
    const flatBwd: FlatBwd = named((resLeaves: NDArray[], cts: NDArray[]) => {
      const got = withOwnSources(() => bwd(...split.nondiff, treeUnflatten(resTree, resLeaves), treeUnflatten(outTree, cts)));
      if (!Array.isArray(got) || got.length !== argDefs.length)
        throw new PrimalError(
          `${op}: Custom VJP bwd rule ${bwdName} for function ${fname} must produce a list (JAX's tuple) with one cotangent per argument of ${fname} (${argDefs.length}), using null for a zero cotangent, but got ${Array.isArray(got) ? `a list of length ${got.length}` : describeValue(got)}.`,
        );
      const leaves: (NDArray | null)[] = [];
      got.forEach((g, i) => leaves.push(...cotangentLeaves(op, argDefs[i], g, `cotangent of argument ${i}`)));
      return leaves.map((c, k) => {
        if (c === null) return null;
        const a = inAvals[k];
        const cc = c.dtype !== a.dtype && c.weakType && a.dtype.isFloat ? convert(c, a.dtype) : c;
        if (!sameType(cc.aval, a))
          throw new ShapeError(
            `${op}: Custom VJP bwd rule ${bwdName} for function ${fname} must produce an output with the same shape/dtypes as the args tuple of the primal function, but at input leaf ${k} the bwd rule produced an output of shape/dtype ${c.aval.str()} corresponding to an input of shape/dtype ${a.str()}.`,
          );
        return cc;
      });
    }, bwdName);
    return { outs, res, bwd: flatBwd };
  }, fwdName);
}

/** A function with a custom VJP (JAX's jax.custom_vjp). */
export interface CustomVjpFunction<F extends Fn> {
  (...args: Parameters<F>): ReturnType<F>;
  /**
   * Sets the rules: `fwd(...args)` returns `[out, residuals]` (a pytree of arrays), and
   * `bwd(...nondiffArgs, residuals, outCotangent)` returns a list with one cotangent per
   * (differentiable) argument, null for zero.
   */
  defvjp(fwd: Fn, bwd: Fn, opts?: { symbolicZeros?: boolean }): void;
  readonly fun: F;
  readonly fwd: Fn | null;
  readonly bwd: Fn | null;
  readonly nondiffArgnums: readonly number[];
}

/** jax.custom_vjp: `const f = customVjp((x) => ...); f.defvjp(fwd, bwd)`. */
export function customVjp<F extends Fn>(f: F, opts: CustomDerivativeOptions = {}): CustomVjpFunction<F> {
  const op = "custom_vjp";
  if (typeof f !== "function") throw new ArgumentError(`customVjp: expected a function, got ${describeValue(f)}`);
  const nondiffArgnums = checkNondiffOption("customVjp", opts);
  const fname = nameOf(f, "<lambda>");
  let fwd: Fn | null = null;
  let bwd: Fn | null = null;

  const wrapped = function (...args: unknown[]) {
    if (!fwd || !bwd) throw new PrimalError(`${op}: No VJP defined for custom_vjp function ${fname} using defvjp.`);
    const split = splitArgs(op, "custom_vjp", args, nondiffArgnums);
    if (traceDepth() === 0) return f(...args);
    const t = traceCall(op, f, split);
    const flatFwd = flatFwdRule(fwd, bwd, fname, split, t.inTree, t.outTree, t.jaxpr.outAvals);
    const outs = bind(customVjpCallP, [...t.consts, ...t.leaves], { name: fname, call_jaxpr: t.jaxpr, fwd: flatFwd, bwd, num_consts: t.consts.length, symbolic_zeros: false });
    return treeUnflatten(t.outTree, outs);
  } as unknown as CustomVjpFunction<F>;

  Object.defineProperty(wrapped, "name", { value: fname });
  Object.defineProperty(wrapped, "fun", { value: f });
  Object.defineProperty(wrapped, "fwd", { get: () => fwd });
  Object.defineProperty(wrapped, "bwd", { get: () => bwd });
  Object.defineProperty(wrapped, "nondiffArgnums", { value: Object.freeze([...nondiffArgnums]) });
  wrapped.defvjp = (fw: Fn, bw: Fn, o: { symbolicZeros?: boolean } = {}): void => {
    if (typeof fw !== "function" || typeof bw !== "function")
      throw new ArgumentError(`customVjp.defvjp: fwd and bwd must be functions, got ${describeValue(fw)} and ${describeValue(bw)}`);
    if (!isPlainObject(o) || Object.keys(o).some((k) => k !== "symbolicZeros")) throw new ArgumentError(`customVjp.defvjp: options must be { symbolicZeros }, got ${describeValue(o)}`);
    if (o.symbolicZeros) throw new PrimalError("customVjp.defvjp: symbolicZeros: true is not supported; fwd and bwd receive instantiated zeros (JAX's default)");
    fwd = fw;
    bwd = bw;
  };
  return wrapped;
}
