// The compiler's passes on jaxprs (issue 4, "The compiler (backend-independent)"): dead-code
// elimination, common-subexpression elimination and inlining of nested `jit`s here, constant
// folding and exact algebraic simplification in kernel/ir/passes-local.ts, and `optimize`, which
// runs them to a fixed point and records what each did (for the compiled program's inspection
// record). `checkJaxpr` verifies a jaxpr's well-formedness (for tests and the compiler).
//
// Every pass is a pure function ClosedJaxpr -> ClosedJaxpr: it never mutates its input, it
// returns the input object itself when it changes nothing, and it preserves the input and output
// avals exactly. All of them are exact: the optimised program computes bit-identical results.
// Effects (debug_print, debug_callback, and whatever `opts.effectful` adds) are never removed,
// merged, folded or reordered. Nested jaxprs: DCE, CSE, folding and simplification work inside
// the bodies of nested `jit` equations (DCE also drops a body's unused outputs and inputs);
// cond/while/scan and custom-derivative bodies are left as they are (see passes-local.ts).
//
// Not wired into jit yet: the lowering calls `optimize` on the jaxpr it compiles.

import { ShapedArray } from "../core/aval";
import { PrimalError } from "../core/errors";
import { NDArray } from "../core/ndarray";
import { Atom, ClosedJaxpr, DropVar, Jaxpr, JaxprEqn, Literal, Var } from "./jaxpr";
import {
  PassContext, PassName, PassOptions, PassResult, PassStats, countEquations, isConcrete, isJitEqn, mapJitBody, passStats, runFold, runSimplify, Rewrite,
} from "./passes-local";
import { idOf, numKey } from "./keys";

export * from "./passes-local";

// ---------------------------------------------------------------------------------------------
// Dead-code elimination

interface DceCounts {
  removedEqns: number;
  removedConstvars: number;
  prunedJitOutputs: number;
  prunedJitInputs: number;
}

/**
 * DCE of one jaxpr. `usedOuts` says which outputs are needed (null: all, and the interface is
 * kept); with a mask, unneeded outputs and then unused inputs are pruned (for jit bodies).
 * Returns the new jaxpr and which inputs it still reads.
 */
function dceJaxpr(cj: ClosedJaxpr, usedOuts: boolean[] | null, ctx: PassContext, memo: Map<ClosedJaxpr, Map<string, [ClosedJaxpr, boolean[]]>>, c: DceCounts): [ClosedJaxpr, boolean[]] {
  const j = cj.jaxpr;
  const outvars = usedOuts ? j.outvars.filter((_, i) => usedOuts[i]) : j.outvars;
  let changed = outvars.length !== j.outvars.length;
  const live = new Set<Var>();
  const use = (a: Atom) => a instanceof Var && live.add(a);
  outvars.forEach(use);
  const kept: JaxprEqn[] = [];
  for (let k = j.eqns.length - 1; k >= 0; k--) {
    const e = j.eqns[k];
    const needed = e.outVars.map((v) => !(v instanceof DropVar) && live.has(v));
    const effectful = ctx.isEffectful(e);
    if (!effectful && !needed.some((x) => x)) {
      changed = true;
      c.removedEqns++;
      continue;
    }
    let eqn = e;
    if (isJitEqn(e)) {
      // The body keeps only the outputs used here (all of them for an effect-only call).
      const body = e.params.jaxpr as ClosedJaxpr;
      const key = needed.map((x) => (x ? 1 : 0)).join("");
      let byMask = memo.get(body);
      if (!byMask) memo.set(body, (byMask = new Map()));
      let hit = byMask.get(key);
      if (!hit) byMask.set(key, (hit = dceJaxpr(body, needed, ctx, memo, c)));
      const [nb, usedIns] = hit;
      if (nb !== body) {
        const outVars = e.outVars.filter((_, i) => needed[i]);
        const inputs = e.inputs.filter((_, i) => usedIns[i]);
        c.prunedJitOutputs += e.outVars.length - outVars.length;
        c.prunedJitInputs += e.inputs.length - inputs.length;
        eqn = new JaxprEqn(e.primitive, inputs, { ...e.params, jaxpr: nb }, outVars, e.sourceRef);
        changed = true;
      }
    }
    eqn.inputs.forEach(use);
    kept.push(eqn);
  }
  kept.reverse();
  const constvars: Var[] = [];
  const consts: NDArray[] = [];
  j.constvars.forEach((v, i) => {
    if (live.has(v)) {
      constvars.push(v);
      consts.push(cj.consts[i]);
    } else c.removedConstvars++;
  });
  changed ||= constvars.length !== j.constvars.length;
  let invars = j.invars;
  let usedIns = invars.map(() => true);
  if (usedOuts) {
    usedIns = invars.map((v) => live.has(v));
    invars = invars.filter((_, i) => usedIns[i]);
    changed ||= invars.length !== j.invars.length;
  }
  if (!changed) return [cj, usedIns];
  return [new ClosedJaxpr(new Jaxpr(constvars, invars, kept, outvars), consts), usedIns];
}

/** DCE with statistics. */
export function runDce(cj: ClosedJaxpr, opts: PassOptions = {}): PassResult {
  const c: DceCounts = { removedEqns: 0, removedConstvars: 0, prunedJitOutputs: 0, prunedJitInputs: 0 };
  const [out] = dceJaxpr(cj, null, new PassContext(opts), new Map(), c);
  return { jaxpr: out, stats: { pass: "dce", changes: c.removedEqns + c.removedConstvars + c.prunedJitOutputs + c.prunedJitInputs, counts: { ...c } } };
}

/**
 * Dead-code elimination: removes equations none of whose outputs is used (transitively by the
 * jaxpr's outputs or by a kept effect) and that have no effect, and unused constvars. Inside a
 * nested jit, the body loses the outputs its call does not use and then the inputs it no longer
 * reads (the call equation shrinks with it); a jit whose body has an effect is kept even if
 * none of its outputs is used. The jaxpr's own inputs and outputs never change. Equations of
 * cond/while/scan are kept or removed as a whole; their bodies are not changed.
 */
export function eliminateDeadCode(cj: ClosedJaxpr, opts: PassOptions = {}): ClosedJaxpr {
  return runDce(cj, opts).jaxpr;
}

// ---------------------------------------------------------------------------------------------
// Common-subexpression elimination



/**
 * A structural key of a parameter value: plain data (numbers, strings, booleans, null, arrays,
 * plain objects, dtypes, avals) by value; anything else (nested jaxprs, functions, arrays,
 * tree definitions, other class instances) by identity, which is conservative.
 */
export function paramKey(v: unknown): string {
  if (v === null) return "N";
  switch (typeof v) {
    case "undefined": return "U";
    case "number": return `n${numKey(v)}`;
    case "string": return `s${JSON.stringify(v)}`;
    case "boolean": return v ? "T" : "F";
    case "bigint": return `g${v}`;
    case "symbol": return `y${String(v)}`;
  }
  if (Array.isArray(v)) return `[${v.map(paramKey).join(",")}]`;
  const o = v as object;
  const proto = Object.getPrototypeOf(o);
  if (proto === Object.prototype || proto === null)
    return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${paramKey((o as Record<string, unknown>)[k])}`).join(",")}}`;
  const name = (o as { constructor?: { name?: string } }).constructor?.name;
  // DTypes are singletons and ShapedArrays are values.
  if (name === "DType") return `d${(o as { name: string }).name}`;
  if (name === "ShapedArray") return `a${(o as { key(): string }).key()}`;
  return `#${idOf(o)}`;
}

/** The bits of a concrete array's storage, as a key. */
function bitsKey(x: NDArray): string {
  const s = x._buf("cse").readSync();
  return Array.from(new Uint8Array(s.buffer, s.byteOffset, s.byteLength)).join(",");
}

/** An atom as a key: variables by identity, literals by value, dtype and weak type. */
function atomKey(a: Atom): string {
  if (a instanceof Var) return `v${idOf(a)}`;
  const v = typeof a.value === "boolean" ? Number(a.value) : a.value;
  return `l${numKey(v)}:${a.aval.key()}`;
}

function cseJaxpr(cj: ClosedJaxpr, ctx: PassContext, memo: Map<ClosedJaxpr, ClosedJaxpr>, counts: Record<string, number>): ClosedJaxpr {
  const r = new Rewrite(cj);
  // Constvars bound to the same array, or to small concrete arrays with the same aval and the
  // same bits (folding makes those), are one constant.
  const byArray = new Map<NDArray, Var>();
  const byValue = new Map<string, Var>();
  const constvars: Var[] = [];
  const consts: NDArray[] = [];
  cj.jaxpr.constvars.forEach((v, i) => {
    const x = cj.consts[i];
    const vk = isConcrete(x) && x.size <= ctx.maxFoldSize ? `${v.aval.key()}|${bitsKey(x)}` : null;
    const first = byArray.get(x) ?? (vk === null ? undefined : byValue.get(vk));
    if (first && first.aval.equals(v.aval)) {
      r.replace(v, first);
      counts.mergedConstvars++;
    } else {
      byArray.set(x, v);
      if (vk !== null) byValue.set(vk, v);
      constvars.push(v);
      consts.push(x);
    }
  });
  r.constvars.splice(0, r.constvars.length, ...constvars);
  r.consts.splice(0, r.consts.length, ...consts);
  const seen = new Map<string, number>();
  for (const e of cj.jaxpr.eqns) {
    const inputs = r.inputs(e);
    const params = mapJitBody(e, memo, (b) => cseJaxpr(b, ctx, memo, counts));
    if (e.outVars.length === 0 || ctx.isEffectful(e)) {
      r.keep(e, inputs, params);
      continue;
    }
    const key = `${idOf(e.primitive)}|${inputs.map(atomKey).join(" ")}|${paramKey(params)}`;
    const at = seen.get(key);
    if (at === undefined) {
      seen.set(key, r.eqns.length);
      r.keep(e, inputs, params);
      continue;
    }
    // Same primitive, inputs and parameters: the earlier equation's outputs stand for these.
    const canon = r.eqns[at];
    let outVars = canon.outVars;
    e.outVars.forEach((v, i) => {
      if (v instanceof DropVar) return;
      if (canon.outVars[i] instanceof DropVar) {
        // The earlier equation dropped this output: it now defines `v` instead.
        if (outVars === canon.outVars) outVars = [...canon.outVars];
        outVars[i] = v;
      } else r.replace(v, canon.outVars[i]);
    });
    if (outVars !== canon.outVars) r.eqns[at] = new JaxprEqn(canon.primitive, canon.inputs, canon.params, outVars, canon.sourceRef);
    r.drop();
    counts.mergedEqns++;
  }
  return r.finish();
}

/** CSE with statistics: merges equations with the same primitive, inputs and (structurally) equal params. */
export function runCse(cj: ClosedJaxpr, opts: PassOptions = {}): PassResult {
  const counts = { mergedEqns: 0, mergedConstvars: 0 };
  const out = cseJaxpr(cj, new PassContext(opts), new Map(), counts);
  return { jaxpr: out, stats: passStats("cse", counts) };
}

/**
 * Common-subexpression elimination: an equation with the same primitive, the same input atoms
 * and structurally equal parameters (nested jaxprs compared by identity) as an earlier one is
 * removed and its outputs replaced by the earlier one's. Effectful equations (and those whose
 * nested jaxprs have effects) are never merged. Constvars bound to the same array, or to concrete
 * arrays of at most `maxFoldSize` elements with the same aval and bits, are merged.
 * Every Primal primitive other than the effectful ones is a pure function of its inputs (random
 * numbers come from explicit keys: threefry2x32 with equal keys gives equal bits), so all of them
 * are candidates; a primitive with hidden state would have to be listed in `opts.effectful`.
 */
export function eliminateCommonSubexpressions(cj: ClosedJaxpr, opts: PassOptions = {}): ClosedJaxpr {
  return runCse(cj, opts).jaxpr;
}

// ---------------------------------------------------------------------------------------------
// Inlining of nested jits

/** Whether a jit equation can be inlined: its inputs and outputs have the body's avals exactly. */
function inlinable(e: JaxprEqn): boolean {
  if (!isJitEqn(e)) return false;
  const b = (e.params.jaxpr as ClosedJaxpr).jaxpr;
  return (
    b.invars.length === e.inputs.length &&
    b.outvars.length === e.outVars.length &&
    b.invars.every((v, i) => v.aval.equals(e.inputs[i].aval)) &&
    b.outvars.every((a, i) => a.aval.equals(e.outVars[i].aval))
  );
}

/**
 * Inlining of nested `jit` equations: each is replaced by its body's equations, with the body's
 * variables renamed (fresh Vars for each inlined copy, so a body called twice is two copies),
 * its inputs bound to the call's input atoms, its constvars added to the outer constvars (an
 * array already among them is shared) and the call's outputs replaced by the body's output
 * atoms. Jits inside inlined bodies are inlined too (all levels in one run). Jits inside
 * cond/while/scan bodies are left alone.
 */
export function inlineJitCalls(cj: ClosedJaxpr): ClosedJaxpr {
  return runInline(cj).jaxpr;
}

/** Inlining with statistics. */
export function runInline(cj: ClosedJaxpr): PassResult {
  const j = cj.jaxpr;
  const counts = { inlinedCalls: 0, inlinedEqns: 0 };
  if (!j.eqns.some(inlinable)) return { jaxpr: cj, stats: { pass: "inline", changes: 0, counts } };
  const constvars = [...j.constvars];
  const consts = [...cj.consts];
  const constOf = new Map<NDArray, Var>();
  consts.forEach((x, i) => constOf.has(x) || constOf.set(x, constvars[i]));
  const eqns: JaxprEqn[] = [];
  /** Emits `src`'s equations with `env` mapping its variables (those not in env stay as they are). */
  const emit = (src: JaxprEqn[], env: Map<Var, Atom>, rename: boolean) => {
    const read = (a: Atom): Atom => (a instanceof Var ? env.get(a) ?? a : a);
    for (const e of src) {
      const inputs = e.inputs.map(read);
      if (!inlinable(e)) {
        let outVars = e.outVars;
        if (rename) {
          outVars = e.outVars.map((v) => (v instanceof DropVar ? new DropVar(v.aval) : new Var(v.aval)));
          e.outVars.forEach((v, i) => env.set(v, outVars[i]));
        }
        const same = !rename && inputs.every((a, i) => a === e.inputs[i]);
        eqns.push(same ? e : new JaxprEqn(e.primitive, inputs, e.params, outVars, e.sourceRef));
        if (rename) counts.inlinedEqns++;
        continue;
      }
      counts.inlinedCalls++;
      const body = e.params.jaxpr as ClosedJaxpr;
      const inner = new Map<Var, Atom>();
      body.jaxpr.invars.forEach((v, i) => inner.set(v, inputs[i]));
      body.jaxpr.constvars.forEach((v, i) => {
        const x = body.consts[i];
        let cv = constOf.get(x);
        if (!cv || !cv.aval.equals(v.aval)) {
          cv = new Var(v.aval);
          constvars.push(cv);
          consts.push(x);
          constOf.set(x, cv);
        }
        inner.set(v, cv);
      });
      emit(body.jaxpr.eqns, inner, true);
      body.jaxpr.outvars.forEach((a, i) => {
        const v = e.outVars[i];
        if (!(v instanceof DropVar)) env.set(v, a instanceof Var ? inner.get(a) ?? a : a);
      });
    }
  };
  const env = new Map<Var, Atom>();
  emit(j.eqns, env, false);
  const outvars = j.outvars.map((a) => (a instanceof Var ? env.get(a) ?? a : a));
  return { jaxpr: new ClosedJaxpr(new Jaxpr(constvars, j.invars, eqns, outvars), consts), stats: { pass: "inline", changes: counts.inlinedCalls, counts } };
}

// ---------------------------------------------------------------------------------------------
// The pipeline

export interface OptimizeOptions extends PassOptions {
  /** The passes to run, in this order, each round; default all: inline, simplify, fold, cse, dce. */
  passes?: readonly PassName[];
  /** The most rounds before giving up on a fixed point; default 20. */
  maxRounds?: number;
}

/** What `optimize` did: the inspection record's "passes" part. */
export interface OptimizeRecord {
  /** Rounds run (the last one changed nothing when `converged`). */
  rounds: number;
  converged: boolean;
  /** Every pass run that changed something, in order, with its round. */
  runs: (PassStats & { round: number })[];
  /** Per pass, the counts summed over all rounds. */
  totals: Partial<Record<PassName, Record<string, number>>>;
  /** Equations (nested ones included) before and after. */
  eqnsBefore: number;
  eqnsAfter: number;
}

export interface OptimizeResult {
  jaxpr: ClosedJaxpr;
  record: OptimizeRecord;
}

export const DEFAULT_PASSES: readonly PassName[] = ["inline", "simplify", "fold", "cse", "dce"];

const PASSES: Record<PassName, (cj: ClosedJaxpr, opts: PassOptions) => PassResult> = {
  inline: (cj) => runInline(cj),
  simplify: runSimplify,
  fold: runFold,
  cse: runCse,
  dce: runDce,
};

/** Runs one pass by name, with its statistics. */
export function runPass(name: PassName, cj: ClosedJaxpr, opts: PassOptions = {}): PassResult {
  const f = PASSES[name];
  if (!f) throw new PrimalError(`optimize: unknown pass, got ${JSON.stringify(name)} (passes: ${DEFAULT_PASSES.join(", ")})`);
  const r = f(cj, opts);
  checkInterface(name, cj, r.jaxpr);
  return r;
}

/** A pass must keep the avals of the inputs and outputs exactly. */
function checkInterface(pass: string, before: ClosedJaxpr, after: ClosedJaxpr): void {
  const same = (a: ShapedArray[], b: ShapedArray[]) => a.length === b.length && a.every((x, i) => x.equals(b[i]));
  if (!same(before.inAvals, after.inAvals) || !same(before.outAvals, after.outAvals))
    throw new PrimalError(
      `optimize: pass ${pass} changed the program's signature (a compiler bug), got (${after.inAvals.map((a) => a.str())}) -> (${after.outAvals.map((a) => a.str())}) for (${before.inAvals.map((a) => a.str())}) -> (${before.outAvals.map((a) => a.str())})`,
    );
}

/**
 * Runs the passes in rounds until a round changes nothing (or `maxRounds`), and returns the
 * optimised jaxpr with a record of what each pass did. The input is not modified.
 */
export function optimize(cj: ClosedJaxpr, opts: OptimizeOptions = {}): OptimizeResult {
  const order = opts.passes ?? DEFAULT_PASSES;
  const maxRounds = opts.maxRounds ?? 20;
  const record: OptimizeRecord = { rounds: 0, converged: false, runs: [], totals: {}, eqnsBefore: countEquations(cj), eqnsAfter: 0 };
  let cur = cj;
  while (record.rounds < maxRounds) {
    record.rounds++;
    let changed = false;
    for (const name of order) {
      const r = runPass(name, cur, opts);
      if (r.stats.changes === 0) continue;
      changed = true;
      cur = r.jaxpr;
      record.runs.push({ ...r.stats, round: record.rounds });
      const t = (record.totals[name] ??= {});
      for (const [k, n] of Object.entries(r.stats.counts)) t[k] = (t[k] ?? 0) + n;
    }
    if (!changed) {
      record.converged = true;
      break;
    }
  }
  record.eqnsAfter = countEquations(cur);
  return { jaxpr: cur, record };
}

// ---------------------------------------------------------------------------------------------
// Verification

/**
 * Checks that a closed jaxpr is well formed, throwing a PrimalError naming the first problem:
 * one const per constvar with its aval, every variable bound once and defined before it is
 * used, literals 0-d, every equation's output avals equal to its primitive's shape rule on its
 * input avals, and the same for every nested jaxpr.
 */
export function checkJaxpr(cj: ClosedJaxpr | Jaxpr): void {
  const j = cj instanceof ClosedJaxpr ? cj.jaxpr : cj;
  const cs = cj instanceof ClosedJaxpr ? cj.consts : undefined;
  const fail = (msg: string): never => {
    throw new PrimalError(`checkJaxpr: ${msg}`);
  };
  if (cs && cs.length !== j.constvars.length) fail(`${j.constvars.length} constvars but ${cs.length} consts`);
  cs?.forEach((x, i) => x.aval.equals(j.constvars[i].aval) || fail(`const ${i} is ${x.aval.str()}, its constvar ${j.constvars[i].aval.str()}`));
  const defined = new Set<Var>();
  const bindVar = (v: Var, where: string) => {
    if (v instanceof DropVar) return;
    if (defined.has(v)) fail(`a variable ${v.aval.str()} is bound twice (${where})`);
    defined.add(v);
  };
  const read = (a: Atom, where: string) => {
    if (a instanceof Literal) {
      if (a.aval.ndim !== 0) fail(`a literal must be 0-d, got ${a.aval.str()} (${where})`);
    } else if (a instanceof DropVar || !defined.has(a)) fail(`a variable ${a.aval.str()} is used before it is defined (${where})`);
  };
  j.constvars.forEach((v) => bindVar(v, "constvars"));
  j.invars.forEach((v) => bindVar(v, "invars"));
  j.eqns.forEach((e, k) => {
    const where = `equation ${k}, ${e.primitive.name}`;
    e.inputs.forEach((a) => read(a, where));
    const nested = (v: unknown): void => (v instanceof ClosedJaxpr || v instanceof Jaxpr ? checkJaxpr(v) : Array.isArray(v) ? v.forEach(nested) : undefined);
    Object.values(e.params).forEach(nested);
    const avals = e.primitive.abstractEval(e.inputs.map((a) => a.aval), e.params);
    if (avals.length !== e.outVars.length || avals.some((a, i) => !a.equals(e.outVars[i].aval)))
      fail(`${where}: outputs (${e.outVars.map((v) => v.aval.str())}) but the shape rule gives (${avals.map((a) => a.str())})`);
    e.outVars.forEach((v) => bindVar(v, where));
  });
  j.outvars.forEach((a) => read(a, "outvars"));
}
