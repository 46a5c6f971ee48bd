// The compiler's forward, equation-local passes on jaxprs (issue 4), and what all passes share:
// the options, the statistics, effect detection, and the rewriting machinery (a forward walk
// that substitutes atoms and rebuilds only the equations that changed).
//
//   - constant folding (`foldConstants`)
//   - exact algebraic simplification (`simplifyAlgebra`)
//
// Dead-code elimination, common-subexpression elimination, inlining of nested jits and
// `optimize` (the fixed point of all five) are in kernel/ir/passes.ts, which re-exports
// everything here.
//
// Every pass is a pure function ClosedJaxpr -> ClosedJaxpr: the input is never mutated (new
// Jaxpr/JaxprEqn objects are built; Vars, which are immutable, are shared), a pass that changes
// nothing returns its input object itself, and the input and output avals are preserved exactly.
// Each pass also recurses into the bodies of nested `jit` equations (memoised per body, so two
// calls of one jitted function still share one body). The bodies of cond/while/scan and of the
// custom-derivative primitives are left alone: their jaxprs have interface conventions (hoisted
// consts counted in params, branch types matched across branches) that these passes would have
// to maintain, and the compiler lowers them as units anyway.

import { ShapedArray } from "../core/aval";
import { NDArray, fromStorage } from "../core/ndarray";
import { Primitive, getPrimitive } from "../core/primitive";
import { Tracer, evalPrimitive } from "../core/trace";
import { Atom, ClosedJaxpr, DropVar, Jaxpr, JaxprEqn, Literal, Var } from "./jaxpr";
import { fromLiteral, toLiteral } from "./literal";

// ---------------------------------------------------------------------------------------------
// Options and statistics

export type PassName = "inline" | "simplify" | "fold" | "cse" | "dce";

export interface PassOptions {
  /**
   * More primitives (or primitive names) with an effect. The defaults are the names of
   * kernel/transforms/debug.ts's `effectfulPrimitives` (debug_print, debug_callback: the ir layer
   * cannot import transforms); a compiler in a higher layer may pass that set itself. An
   * effectful equation, or one whose nested jaxprs contain one, is never removed, merged or folded.
   */
  effectful?: Iterable<Primitive | string>;
  /** The largest result (in elements, per output) that constant folding materialises; default 1024. */
  maxFoldSize?: number;
}

/** What one run of one pass did. */
export interface PassStats {
  pass: PassName;
  /** Number of changes; 0 means the pass returned its input object unchanged. */
  changes: number;
  /** The changes by kind, e.g. `{ removedEqns: 3, removedConstvars: 1 }` (nested jit bodies included). */
  counts: Record<string, number>;
}

export interface PassResult {
  jaxpr: ClosedJaxpr;
  stats: PassStats;
}

/** Names of primitives with effects when no options say otherwise (kernel/transforms/debug.ts). */
export const DEFAULT_EFFECTFUL: ReadonlySet<string> = new Set(["debug_print", "debug_callback"]);

/**
 * Primitives whose evaluation is not a plain kernel on concrete arrays: higher-order ones (their
 * parameters hold jaxprs) and those with an `impl`. Never folded, whatever their inputs.
 */
const CONTROL_FLOW: ReadonlySet<string> = new Set(["jit", "cond", "while", "scan", "custom_jvp_call", "custom_vjp_call", "custom_lin"]);

export const DEFAULT_MAX_FOLD_SIZE = 1024;

/** The per-run state the passes share: which equations have effects (memoised per jaxpr). */
export class PassContext {
  private readonly effectNames = new Set<string>(DEFAULT_EFFECTFUL);
  private readonly effectPrims = new Set<Primitive>();
  private readonly jaxprEffects = new WeakMap<Jaxpr, boolean>();
  readonly maxFoldSize: number;
  constructor(opts: PassOptions = {}) {
    for (const p of opts.effectful ?? []) typeof p === "string" ? this.effectNames.add(p) : this.effectPrims.add(p);
    this.maxFoldSize = opts.maxFoldSize ?? DEFAULT_MAX_FOLD_SIZE;
  }
  /** The primitive itself has an effect. */
  isEffectfulPrimitive(p: Primitive): boolean {
    return this.effectPrims.has(p) || this.effectNames.has(p.name);
  }
  /** The equation has an effect: its primitive, or an equation inside one of its nested jaxprs. */
  isEffectful(e: JaxprEqn): boolean {
    return this.isEffectfulPrimitive(e.primitive) || nestedJaxprs(e.params).some((j) => this.jaxprHasEffects(j));
  }
  jaxprHasEffects(j: Jaxpr): boolean {
    let r = this.jaxprEffects.get(j);
    if (r === undefined) {
      this.jaxprEffects.set(j, false); // (a jaxpr cannot contain itself; this only guards the recursion)
      r = j.eqns.some((e) => this.isEffectful(e));
      this.jaxprEffects.set(j, r);
    }
    return r;
  }
}

/** The jaxprs in an equation's parameters (a ClosedJaxpr or Jaxpr, or an array of them). */
export function nestedJaxprs(params: Record<string, unknown>): Jaxpr[] {
  const out: Jaxpr[] = [];
  const visit = (v: unknown) => {
    if (v instanceof ClosedJaxpr) out.push(v.jaxpr);
    else if (v instanceof Jaxpr) out.push(v);
    else if (Array.isArray(v)) v.forEach(visit);
  };
  for (const k in params) visit(params[k]);
  return out;
}

/** A `jit` equation (the primitive carrying its body as `params.jaxpr`). */
export function isJitEqn(e: JaxprEqn): boolean {
  return e.primitive.name === "jit" && e.params.jaxpr instanceof ClosedJaxpr;
}

/** Equations in a jaxpr, counting those inside nested jaxprs too. */
export function countEquations(j: Jaxpr | ClosedJaxpr): number {
  const jj = j instanceof ClosedJaxpr ? j.jaxpr : j;
  let n = 0;
  for (const e of jj.eqns) n += 1 + nestedJaxprs(e.params).reduce((s, x) => s + countEquations(x), 0);
  return n;
}

/** The value of a constant known at compile time: a concrete array (not a tracer, not disposed). */
export function isConcrete(x: NDArray): boolean {
  return !(x instanceof Tracer) && !x._disposed && x._buffer !== null;
}

// ---------------------------------------------------------------------------------------------
// Rewriting

/**
 * A forward rewrite of one jaxpr: equations are visited in order with their inputs substituted;
 * each is kept (rebuilt only if its inputs changed), replaced or dropped. Constvars may be added.
 */
export class Rewrite {
  readonly subst = new Map<Var, Atom>();
  readonly eqns: JaxprEqn[] = [];
  readonly constvars: Var[];
  readonly consts: NDArray[];
  /** Set when anything differs from the input (so `finish` can return the input itself). */
  changed = false;
  constructor(readonly cj: ClosedJaxpr) {
    this.constvars = [...cj.jaxpr.constvars];
    this.consts = [...cj.consts];
  }
  read(a: Atom): Atom {
    return a instanceof Var ? this.subst.get(a) ?? a : a;
  }
  /** Uses of `v` from here on read `a` (already substituted). */
  replace(v: Var, a: Atom): void {
    if (!(v instanceof DropVar)) this.subst.set(v, a);
    this.changed = true;
  }
  /** The equation's inputs, substituted. */
  inputs(e: JaxprEqn): Atom[] {
    return e.inputs.map((a) => this.read(a));
  }
  /** Appends `e` with `inputs` (and optionally new params), rebuilding it only if something differs. */
  keep(e: JaxprEqn, inputs: Atom[], params: Record<string, unknown> = e.params): JaxprEqn {
    const same = params === e.params && inputs.every((a, i) => a === e.inputs[i]);
    const out = same ? e : new JaxprEqn(e.primitive, inputs, params, e.outVars, e.sourceRef);
    if (!same) this.changed = true;
    this.eqns.push(out);
    return out;
  }
  /** Drops the equation (its outputs must have been replaced). */
  drop(): void {
    this.changed = true;
  }
  addConst(v: Var, x: NDArray): void {
    this.constvars.push(v);
    this.consts.push(x);
    this.changed = true;
  }
  finish(): ClosedJaxpr {
    const j = this.cj.jaxpr;
    const outvars = j.outvars.map((a) => this.read(a));
    if (!this.changed && outvars.every((a, i) => a === j.outvars[i])) return this.cj;
    return new ClosedJaxpr(new Jaxpr(this.constvars, j.invars, this.eqns, outvars), this.consts);
  }
}

/**
 * Applies an interface-preserving pass to the body of a jit equation (memoised in `memo`, so
 * equal bodies stay one object); returns the new params, or the same object if nothing changed.
 */
export function mapJitBody(e: JaxprEqn, memo: Map<ClosedJaxpr, ClosedJaxpr>, f: (body: ClosedJaxpr) => ClosedJaxpr): Record<string, unknown> {
  if (!isJitEqn(e)) return e.params;
  const body = e.params.jaxpr as ClosedJaxpr;
  let nb = memo.get(body);
  if (nb === undefined) memo.set(body, (nb = f(body)));
  return nb === body ? e.params : { ...e.params, jaxpr: nb };
}

/** A pass's statistics; `changes` defaults to the sum of the counts. */
export const passStats = (pass: PassName, counts: Record<string, number>, changes = Object.values(counts).reduce((a, b) => a + b, 0)): PassStats => ({ pass, changes, counts });

// ---------------------------------------------------------------------------------------------
// Constant folding

/** Whether an equation may be evaluated at compile time (given known inputs). */
function foldable(e: JaxprEqn, ctx: PassContext): boolean {
  const p = e.primitive;
  return !CONTROL_FLOW.has(p.name) && !p.impl && !ctx.isEffectfulPrimitive(p) && nestedJaxprs(e.params).length === 0 && e.outVars.length > 0;
}

/**
 * A known value that is one scalar everywhere: a broadcast of a literal, kept symbolic so that
 * folding through splats (broadcasts, reshapes, elementwise arithmetic on them) needs no arrays.
 * `array` materialises it (the value the primitive's kernel gives), only where an equation that
 * is not elementwise or a view reads it.
 */
interface Splat {
  literal: Literal;
  aval: ShapedArray;
  array: () => NDArray;
}
type Known = NDArray | Splat;

const isSplatValue = (k: Known): k is Splat => !(k instanceof NDArray);

/** Equations that map a splat to a splat of the same scalar (their output is the input's elements, rearranged). */
const SPLAT_VIEWS: ReadonlySet<string> = new Set(["broadcast_in_dim", "reshape", "transpose", "squeeze", "rev", "slice"]);

/** A splat of `literal` with aval `aval`, materialised by `make` when first needed. */
function splatOf(literal: Literal, aval: ShapedArray, make: () => NDArray): Splat {
  let x: NDArray | null = null;
  return { literal, aval, array: () => (x ??= make()) };
}

/**
 * The literal standing for every element of a splat output of aval `out`: the scalar stored in
 * out's dtype and read back (as materialising the splat and reading an element would give),
 * with out's dtype and weak type.
 */
function splatLiteral(value: number | boolean, out: ShapedArray): Literal {
  return toLiteral(fromLiteral(new Literal(value, new ShapedArray([], out.dtype, out.weakType))));
}

function foldJaxpr(cj: ClosedJaxpr, ctx: PassContext, memo: Map<ClosedJaxpr, ClosedJaxpr>, counts: Record<string, number>): ClosedJaxpr {
  const r = new Rewrite(cj);
  const known = new Map<Var, Known>();
  cj.jaxpr.constvars.forEach((v, i) => isConcrete(cj.consts[i]) && known.set(v, cj.consts[i]));
  const knownOf = (a: Atom): Known | Literal | undefined => (a instanceof Literal ? a : known.get(a));
  const materialise = (k: Known | Literal): NDArray => (k instanceof Literal ? fromLiteral(k) : isSplatValue(k) ? k.array() : k);
  /** The broadcast equation writing a splat of `lit` into `v` (the folded form of a splat). */
  const emitSplat = (lit: Literal, v: Var, e: JaxprEqn) =>
    r.eqns.push(new JaxprEqn(broadcastPrim(), [lit], { shape: [...v.aval.shape], broadcast_dimensions: [], sharding: null }, [v], e.sourceRef));
  for (const e of cj.jaxpr.eqns) {
    const inputs = r.inputs(e);
    const params = mapJitBody(e, memo, (b) => foldJaxpr(b, ctx, memo, counts));
    const small = e.outVars.every((v) => v.aval.size <= ctx.maxFoldSize);
    const args = small && foldable(e, ctx) ? inputs.map(knownOf) : [undefined];
    if (args.some((x) => x === undefined)) {
      r.keep(e, inputs, params);
      continue;
    }
    const ins = args as (Known | Literal)[];
    const out = e.outVars[0];
    if (isSplatBroadcast(e, inputs)) {
      // Kept as it is (its folded form would be itself), but its value feeds later folds.
      r.keep(e, inputs, params);
      const lit = inputs[0] as Literal;
      if (out.aval.size > 0) known.set(out, splatOf(splatLiteral(lit.value, out.aval), out.aval, () => evalPrimitive(e.primitive, [fromLiteral(lit)], e.params)[0]));
      else
        try {
          known.set(out, evalPrimitive(e.primitive, ins.map(materialise), e.params)[0]);
        } catch {
          // left to fail (or not) at run time
        }
      continue;
    }
    // Splats in, a splat out: a view of a splat, or elementwise arithmetic on splats and
    // literals, is one scalar everywhere (computed on 0-d operands: the same per-element
    // function). It is written as the broadcast of that literal, which is what evaluating it on
    // materialised arrays and finding a splat would give, without making the arrays.
    const splats = ins.some((k) => !(k instanceof Literal) && isSplatValue(k)) && ins.every((k) => k instanceof Literal || isSplatValue(k));
    if (splats && e.outVars.length === 1 && !(out instanceof DropVar) && out.aval.size > 0 && out.aval.ndim > 0) {
      const scalars = ins.map((k) => (k instanceof Literal ? k : (k as Splat).literal));
      let lit: Literal | null = null;
      if (SPLAT_VIEWS.has(e.primitive.name)) lit = splatLiteral(scalars[0].value, out.aval);
      else if (e.primitive.elementwise) {
        try {
          const [x] = evalPrimitive(e.primitive, scalars.map(fromLiteral), e.params);
          if (x.dtype === out.aval.dtype && x.weakType === out.aval.weakType) lit = splatLiteral(toLiteral(x).value, out.aval);
        } catch {
          // not folded symbolically: the general path below decides
        }
      }
      if (lit !== null) {
        const l = lit;
        emitSplat(l, out, e);
        known.set(out, splatOf(l, out.aval, () => evalPrimitive(broadcastPrim(), [fromLiteral(l)], { shape: [...out.aval.shape], broadcast_dimensions: [], sharding: null })[0]));
        counts.splats++;
        r.drop();
        counts.foldedEqns++;
        continue;
      }
    }
    let outs: NDArray[];
    try {
      // evalPrimitive runs the primitive's kernel on concrete arrays whatever trace is active,
      // so folding never stages equations, even if a compiler calls it while tracing.
      outs = evalPrimitive(e.primitive, ins.map(materialise), e.params);
    } catch {
      r.keep(e, inputs, params); // left to fail (or not) at run time, as before
      continue;
    }
    if (outs.length !== e.outVars.length || outs.some((x, i) => !x.aval.equals(e.outVars[i].aval))) {
      r.keep(e, inputs, params);
      continue;
    }
    outs.forEach((x, i) => {
      const v = e.outVars[i];
      if (v instanceof DropVar) return;
      if (x.ndim === 0) {
        r.replace(v, toLiteral(x));
        counts.literals++;
      } else if (x.size > 0 && isSplat(x)) {
        // One value everywhere: a broadcast of a literal, which the lowering reads with stride 0
        // (no memory), rather than a constant array every kernel would load.
        const lit = toLiteral(firstElement(x));
        emitSplat(lit, v, e);
        known.set(v, x);
        counts.splats++;
      } else {
        // The output variable itself becomes a constvar.
        r.addConst(v, x);
        known.set(v, x);
        counts.constvars++;
      }
    });
    r.drop();
    counts.foldedEqns++;
  }
  return r.finish();
}

const broadcastPrim = (): Primitive => getPrimitive("broadcast_in_dim")!;

/** A broadcast of a scalar literal: already the folded form of a splat (folding it again would loop). */
function isSplatBroadcast(e: JaxprEqn, inputs: Atom[]): boolean {
  return e.primitive.name === "broadcast_in_dim" && inputs.length === 1 && inputs[0] instanceof Literal;
}

/** Every element has the same bits. */
function isSplat(x: NDArray): boolean {
  const d = x.dataSync() as ArrayLike<number>;
  const first = d[0];
  for (let i = 1; i < d.length; i++) if (!Object.is(d[i], first) && !(d[i] !== d[i] && first !== first)) return false;
  return true;
}

/** The first element of `x` as a 0-d array of its dtype and weak type (x[0, ..., 0], read directly). */
function firstElement(x: NDArray): NDArray {
  const s = x._buf("fold").readSync();
  const one = new (s.constructor as new (n: number) => typeof s)(1);
  one[0] = s[0];
  return fromStorage(one, new ShapedArray([], x.dtype, x.weakType));
}

/** Constant folding with statistics. */
export function runFold(cj: ClosedJaxpr, opts: PassOptions = {}): PassResult {
  const counts = { foldedEqns: 0, literals: 0, splats: 0, constvars: 0 };
  const out = foldJaxpr(cj, new PassContext(opts), new Map(), counts);
  return { jaxpr: out, stats: passStats("fold", counts, counts.foldedEqns) };
}

/**
 * Constant folding: an equation whose inputs are all literals or constvars with concrete values,
 * and whose outputs have at most `maxFoldSize` elements each, is evaluated now with its own
 * primitive's kernel (so the result is bit-identical to running it): a 0-d result becomes a
 * Literal, a result with one value everywhere (a splat) a broadcast of a literal, others
 * constvars. Splats are folded through views and elementwise primitives without being
 * materialised (the scalar is computed on 0-d operands). Effectful primitives,
 * higher-order/control-flow primitives (jit, cond, while, scan, custom_*) and primitives with
 * an `impl` are never folded.
 */
export function foldConstants(cj: ClosedJaxpr, opts: PassOptions = {}): ClosedJaxpr {
  return runFold(cj, opts).jaxpr;
}

// ---------------------------------------------------------------------------------------------
// Exact algebraic simplification

const KNOWN_SCAN_LIMIT = 1 << 16;

/** The single value of every element of a literal or concrete constvar, if they are all equal. */
function uniformValue(a: Atom, known: Map<Var, NDArray>, cache: Map<Var, number | null>): number | null {
  if (a instanceof Literal) return typeof a.value === "boolean" ? Number(a.value) : a.value;
  let r = cache.get(a);
  if (r !== undefined) return r;
  r = null;
  const x = known.get(a);
  if (x && x.size > 0 && x.size <= KNOWN_SCAN_LIMIT) {
    const d = x.dataSync();
    const v0 = d[0];
    r = v0;
    for (let i = 1; i < d.length; i++)
      if (!Object.is(d[i], v0)) {
        r = null;
        break;
      }
  }
  cache.set(a, r);
  return r;
}

const sameAtom = (a: Atom, b: Atom): boolean =>
  a === b || (a instanceof Literal && b instanceof Literal && Object.is(a.value, b.value) && a.aval.equals(b.aval));

const isIdentityPerm = (p: readonly number[], n: number): boolean => p.length === n && p.every((d, i) => d === i);

/**
 * The atom an equation's single output equals, exactly, or null. `val` gives the uniform value of
 * a constant atom; `producer` the (rewritten) equation defining a variable. The caller checks
 * that the atom's aval equals the output's (dtype, shape and weak type).
 */
function simplifyRule(e: JaxprEqn, x: Atom[], val: (a: Atom) => number | null, producer: (a: Atom) => JaxprEqn | undefined): [string, Atom] | null {
  const p = e.params;
  const dt = e.outVars[0].aval.dtype;
  const is = (a: Atom, v: number) => Object.is(val(a), v);
  switch (e.primitive.name) {
    case "mul": // x * 1 = x (also -0, inf and NaN; ints and bools too)
      if (is(x[1], 1)) return ["mul_one", x[0]];
      if (is(x[0], 1)) return ["mul_one", x[1]];
      return null;
    case "add":
    case "add_any": {
      // x + (-0.0) = x for every float x, including -0.0 (x + 0.0 is not: -0.0 + 0.0 = +0.0);
      // x + 0 = x for ints, x | false = x for bools.
      const zero = dt.isFloat ? -0 : 0;
      if (is(x[1], zero)) return ["add_zero", x[0]];
      if (is(x[0], zero)) return ["add_zero", x[1]];
      return null;
    }
    case "sub": // x - (+0.0) = x + (-0.0) = x; x - 0 = x for ints
      return is(x[1], 0) ? ["sub_zero", x[0]] : null;
    case "div": // x / 1 = x (floats; ints truncate x / 1 = x)
      return is(x[1], 1) ? ["div_one", x[0]] : null;
    case "convert_element_type": // to its own dtype and weak type (checked by the aval test)
      return ["convert_same", x[0]];
    case "reshape":
      return p.dimensions == null ? ["reshape_same", x[0]] : null;
    case "transpose":
      return isIdentityPerm(p.permutation as number[], e.outVars[0].aval.ndim) ? ["transpose_identity", x[0]] : null;
    case "broadcast_in_dim":
      return isIdentityPerm(p.broadcast_dimensions as number[], e.outVars[0].aval.ndim) ? ["broadcast_same", x[0]] : null;
    case "squeeze":
      return (p.dimensions as number[]).length === 0 ? ["squeeze_none", x[0]] : null;
    case "rev":
      return (p.dimensions as number[]).length === 0 ? ["rev_none", x[0]] : null;
    case "neg": {
      // -(-x) = x (also for ints: the wrap-around of the most negative value undoes itself)
      const q = producer(x[0]);
      return q && q.primitive.name === "neg" ? ["neg_neg", q.inputs[0]] : null;
    }
    case "select_n": {
      const [w, ...cases] = x;
      if (cases.every((c) => sameAtom(c, cases[0]))) return ["select_same", cases[0]];
      const v = val(w);
      if (v === null) return null;
      // The case the CPU kernel picks: `w ? c1 : c0` for a bool or two cases, else clamped.
      const i = e.inputs[0].aval.dtype.isBool || cases.length === 2 ? (v ? 1 : 0) : Math.min(Math.max(v, 0), cases.length - 1);
      return ["select_literal", cases[i]];
    }
  }
  return null;
}

function simplifyJaxpr(cj: ClosedJaxpr, ctx: PassContext, memo: Map<ClosedJaxpr, ClosedJaxpr>, counts: Record<string, number>): ClosedJaxpr {
  const r = new Rewrite(cj);
  const known = new Map<Var, NDArray>();
  cj.jaxpr.constvars.forEach((v, i) => isConcrete(cj.consts[i]) && known.set(v, cj.consts[i]));
  const cache = new Map<Var, number | null>();
  const producers = new Map<Var, JaxprEqn>();
  const val = (a: Atom) => uniformValue(a, known, cache);
  const producer = (a: Atom) => (a instanceof Var ? producers.get(a) : undefined);
  for (const e of cj.jaxpr.eqns) {
    const inputs = r.inputs(e);
    const params = mapJitBody(e, memo, (b) => simplifyJaxpr(b, ctx, memo, counts));
    const hit = e.outVars.length === 1 && !ctx.isEffectful(e) ? simplifyRule(e, inputs, val, producer) : null;
    // Exact only if the replacement has the output's aval: dtype, shape and weak type.
    if (hit && hit[1].aval.equals(e.outVars[0].aval)) {
      r.replace(e.outVars[0], hit[1]);
      r.drop();
      counts[hit[0]] = (counts[hit[0]] ?? 0) + 1;
      continue;
    }
    const kept = r.keep(e, inputs, params);
    for (const v of kept.outVars) producers.set(v, kept);
  }
  return r.finish();
}

/** Algebraic simplification with statistics (counts by rule). */
export function runSimplify(cj: ClosedJaxpr, opts: PassOptions = {}): PassResult {
  const counts: Record<string, number> = {};
  const out = simplifyJaxpr(cj, new PassContext(opts), new Map(), counts);
  return { jaxpr: out, stats: passStats("simplify", counts) };
}

/**
 * Exact algebraic simplifications: each removes an equation whose output is bit-for-bit one of
 * its inputs, and only when that input's aval (dtype, shape, weak type) is the output's:
 *
 *   mul_one            x * 1, 1 * x  (1 a literal or a constant whose elements are all 1)
 *   add_zero           x + (-0.0), (-0.0) + x for floats (add and add_any); x + 0 for ints/bools.
 *                      Not x + 0.0 on floats: -0.0 + 0.0 is +0.0.
 *   sub_zero           x - (+0.0) for floats, x - 0 for ints
 *   div_one            x / 1
 *   convert_same       convert_element_type to the operand's own dtype and weak type
 *   reshape_same       reshape to the operand's shape
 *   transpose_identity transpose with the identity permutation
 *   broadcast_same     broadcast_in_dim to the operand's shape with identity dimensions
 *   squeeze_none       squeeze of no dimensions;  rev_none: rev of no dimensions
 *   neg_neg            neg (neg x)
 *   select_literal     select_n with a constant predicate (the case the CPU kernel would pick)
 *   select_same        select_n whose cases are all the same atom
 *
 * Not done, as they are not exact: x * 0 (NaN, inf, -0), x + 0.0 on floats, x - x. Nor is
 * stop_gradient removed: it is the identity when run, but not under differentiation.
 */
export function simplifyAlgebra(cj: ClosedJaxpr, opts: PassOptions = {}): ClosedJaxpr {
  return runSimplify(cj, opts).jaxpr;
}
