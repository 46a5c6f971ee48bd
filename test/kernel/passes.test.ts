// The compiler's jaxpr passes (kernel/ir/passes.ts): for a set of programs staged with
// makeJaxpr (grads, vmaps, jit in jit, random numbers, an MLP training step), each pass and the
// full `optimize` pipeline are checked for (a) structure: printed jaxprs and counts of
// equations, (b) semantics: the optimised jaxpr computes bit-identical outputs on random inputs
// (specials included: -0, inf, NaN), (c) effects: debug.print survives every pass, and (d)
// purity: the input ClosedJaxpr (its equations, variables, params and consts) is unchanged.

import { afterEach, describe, expect, it } from "vitest";
import { NDArray, ShapedArray, debug, grad, jit, lax, makeJaxpr, np, random, valueAndGrad, vmap } from "../../kernel/index";
import { ClosedJaxpr, DropVar, Jaxpr, JaxprEqn, Literal, Var } from "../../kernel/ir/jaxpr";
import { evalClosedJaxpr } from "../../kernel/ir/eval-jaxpr";
import { DType, bool, float32, int32, uint32 } from "../../kernel/core/dtype";
import { fromStorage } from "../../kernel/core/ndarray";
import { getPrimitive } from "../../kernel/core/primitive";
import { numberToBF16, numberToF16 } from "../../kernel/core/float16";
import { setOutputSink } from "../../kernel/core/output-sink";
import { effectfulPrimitives } from "../../kernel/transforms/debug";
import {
  PassContext, PassName, checkJaxpr, countEquations, eliminateCommonSubexpressions, eliminateDeadCode, foldConstants, inlineJitCalls, optimize, runPass,
  simplifyAlgebra,
} from "../../kernel/ir/passes";
import { rng } from "./helpers/rng";

// ---------------------------------------------------------------------------------------------
// Helpers

const SPECIALS = [-0, 0, Infinity, -Infinity, NaN, 1, -1];

/** A random array of an aval; with `specials`, about a fifth of the float elements are -0, inf, NaN... */
function randomArray(aval: ShapedArray, r: () => number, specials: boolean): NDArray {
  const d = aval.dtype;
  const data = new d.storage(aval.size);
  for (let i = 0; i < data.length; i++) {
    const x = specials && r() < 0.2 ? SPECIALS[Math.floor(r() * SPECIALS.length)] : (r() * 4 - 2);
    if (d.isBool) data[i] = r() < 0.5 ? 1 : 0;
    else if (d.name === "uint32") data[i] = Math.floor(r() * 2 ** 32);
    else if (d.isInt) data[i] = Math.floor(r() * 200 - 100);
    else if (d.name === "float16") data[i] = numberToF16(x);
    else if (d.name === "bfloat16") data[i] = numberToBF16(x);
    else data[i] = x;
  }
  return fromStorage(data, aval);
}

/** The bytes of an array's storage (bit-exact comparison: -0 is not 0). */
const bytesOf = (x: NDArray): number[] => {
  const s = x._buf("test").readSync();
  return Array.from(new Uint8Array(s.buffer, s.byteOffset, s.byteLength));
};

/** Evaluates a jaxpr, returning its outputs and what it printed (debug.print/callback effects). */
function evalWithPrints(cj: ClosedJaxpr, args: NDArray[]): [NDArray[], string[]] {
  const lines: string[] = [];
  const prev = setOutputSink((_k, text) => lines.push(text));
  try {
    return [evalClosedJaxpr(cj, args), lines];
  } finally {
    setOutputSink(prev);
  }
}

/**
 * Runs both jaxprs on the same random inputs (plain, then with special values): the outputs must
 * be bit-identical, with the same avals, and the effects (printed lines) the same, in order.
 */
function expectSameResults(before: ClosedJaxpr, after: ClosedJaxpr, trials = 3): void {
  expect(after.inAvals.map((a) => a.key())).toEqual(before.inAvals.map((a) => a.key()));
  expect(after.outAvals.map((a) => a.key())).toEqual(before.outAvals.map((a) => a.key()));
  for (let t = 0; t < trials; t++) {
    const r = rng(1234 + t);
    const args = before.inAvals.map((a) => randomArray(a, r, t > 0));
    const [want, wantPrints] = evalWithPrints(before, args);
    const [got, gotPrints] = evalWithPrints(after, args);
    expect(gotPrints).toEqual(wantPrints);
    expect(got.length).toBe(want.length);
    got.forEach((g, i) => {
      expect(g.aval.key()).toBe(want[i].aval.key());
      expect(bytesOf(g)).toEqual(bytesOf(want[i]));
    });
  }
}

/**
 * Everything a ClosedJaxpr is made of, recursively, in order: every object (jaxprs, equations,
 * the arrays of variables and their elements, params and their values, consts) by identity, and
 * the consts' bytes, so that `expectUnchanged` catches any mutation.
 */
function fingerprint(cj: ClosedJaxpr): unknown[] {
  const out: unknown[] = [];
  const seen = new Set<object>();
  const list = (xs: readonly unknown[]) => out.push(xs, xs.length, ...xs);
  const jaxpr = (j: Jaxpr) => {
    out.push(j);
    [j.constvars, j.invars, j.eqns, j.outvars].forEach(list);
    for (const e of j.eqns) {
      out.push(e, e.primitive, e.params, e.sourceRef);
      list(e.inputs);
      list(e.outVars);
      out.push(Object.keys(e.params).join());
      Object.values(e.params).forEach(param);
    }
  };
  const param = (v: unknown) => {
    out.push(v);
    if (v instanceof ClosedJaxpr) closed(v);
    else if (v instanceof Jaxpr) jaxpr(v);
    else if (Array.isArray(v)) (list(v), v.forEach(param));
  };
  const closed = (c: ClosedJaxpr) => {
    if (seen.has(c)) return;
    seen.add(c);
    out.push(c);
    list(c.consts);
    c.consts.forEach((x) => out.push(bytesOf(x).join()));
    jaxpr(c.jaxpr);
  };
  closed(cj);
  return out;
}

function expectUnchanged(cj: ClosedJaxpr, before: unknown[], text: string): void {
  const now = fingerprint(cj);
  expect(now.length).toBe(before.length);
  now.forEach((x, i) => expect(x).toBe(before[i]));
  expect(cj.toString()).toBe(text);
}

/** Equations of one primitive, nested jaxprs included. */
function countPrim(cj: ClosedJaxpr | Jaxpr, name: string): number {
  const j = cj instanceof ClosedJaxpr ? cj.jaxpr : cj;
  let n = 0;
  for (const e of j.eqns) {
    if (e.primitive.name === name) n++;
    for (const v of Object.values(e.params)) {
      if (v instanceof ClosedJaxpr || v instanceof Jaxpr) n += countPrim(v, name);
      if (Array.isArray(v)) for (const x of v) if (x instanceof ClosedJaxpr) n += countPrim(x, name);
    }
  }
  return n;
}

const PASS_NAMES: PassName[] = ["inline", "simplify", "fold", "cse", "dce"];

let printed: string[] = [];
let restoreSink: ReturnType<typeof setOutputSink> | null = null;
/** Collects debug.print output (instead of writing it to stdout). */
function capturePrints(): string[] {
  printed = [];
  restoreSink = setOutputSink((_k, text) => printed.push(text));
  return printed;
}
afterEach(() => {
  if (restoreSink) setOutputSink(restoreSink);
  restoreSink = null;
});

// ---------------------------------------------------------------------------------------------
// The programs

const mlpLoss = (p: Record<string, NDArray>, x: NDArray, y: NDArray) => {
  const h = np.tanh(np.matmul(x, p.w1).add(p.b1));
  const o = np.matmul(h, p.w2).add(p.b2);
  return np.mean(o.sub(y).pow(2));
};
const mlpStep = (p: Record<string, NDArray>, x: NDArray, y: NDArray) => {
  const [l, g] = valueAndGrad(mlpLoss)(p, x, y) as [NDArray, Record<string, NDArray>];
  const upd: Record<string, NDArray> = {};
  for (const k of Object.keys(p)) upd[k] = p[k].sub(g[k].mul(0.1));
  return [l, upd];
};
const mlpParams = () => ({ w1: np.ones([8, 6]).mul(0.1), b1: np.zeros([6]), w2: np.ones([6, 3]).mul(0.2), b2: np.zeros([3]) });

const innerJit = jit((x: NDArray) => x.mul(3).add(1));
const outerJit = jit((x: NDArray, y: NDArray) => {
  debug.print("x={}", x);
  return innerJit(x).add(innerJit(y)).add(innerJit(x));
});

interface Program {
  name: string;
  build: () => ClosedJaxpr;
}

const programs: Program[] = [
  { name: "grad of sin/cos", build: () => makeJaxpr(grad((x: NDArray) => np.sin(x).mul(2).add(np.cos(x)).sum()))(np.ones([3])) },
  { name: "grad of a product with constants", build: () => makeJaxpr(grad((x: NDArray, y: NDArray) => x.mul(y).mul(np.arange(4).astype("float32")).sum(), { argnums: [0, 1] }))(np.ones([4]), np.ones([4])) },
  { name: "vmap with repeated work", build: () => makeJaxpr(vmap((x: NDArray) => np.exp(x).add(np.exp(x)).mul(1).sum()))(np.ones([3, 4])) },
  { name: "vmap of grad", build: () => makeJaxpr(vmap(grad((x: NDArray) => np.tanh(x).mul(x).sum())))(np.ones([2, 5])) },
  { name: "jit in jit with debug.print", build: () => makeJaxpr((x: NDArray, y: NDArray) => outerJit(x, y).mul(1))(np.ones([3]), np.ones([3])) },
  { name: "grad of jit in jit", build: () => makeJaxpr(grad((x: NDArray) => innerJit(innerJit(x)).sum()))(np.ones([3])) },
  { name: "jitted MLP step", build: () => makeJaxpr(jit(mlpStep))(mlpParams(), np.ones([4, 8]), np.ones([4, 3])) },
  { name: "MLP step (not jitted)", build: () => makeJaxpr(mlpStep)(mlpParams(), np.ones([4, 8]), np.ones([4, 3])) },
  { name: "random numbers", build: () => makeJaxpr((k: NDArray) => random.uniform(k, [3]).add(random.uniform(k, [3])).add(random.normal(k, [3])))(random.keyData(random.key(0))) },
  { name: "integers and bools", build: () => makeJaxpr((x: NDArray, b: NDArray) => np.where(b, x.mul(1).add(0), x.sub(0).mul(2)).add(lax.neg(lax.neg(x))))(np.arange(6), np.ones([6]).gt(0)) },
  { name: "cond and scan", build: () => makeJaxpr((x: NDArray) => lax.cond(x.sum().gt(0), (a: NDArray) => a.mul(2), (a: NDArray) => a.mul(1).add(3), x).add(lax.scan((c: NDArray, t: NDArray) => [c.add(t), c.mul(t)], x.sum(), x)[1]))(np.ones([4])) },
];

// ---------------------------------------------------------------------------------------------
// Every program through every pass and through optimize

describe.each(programs)("$name", ({ build }) => {
  it.each(PASS_NAMES)("pass %s: well formed, exact, pure, idempotent at its fixed point", (name) => {
    const cj = build();
    const before = fingerprint(cj);
    const text = cj.toString();
    let cur = cj;
    // A pass may enable more of itself (e.g. DCE of a chain); run it until it stops changing.
    for (let i = 0; i < 10; i++) {
      const r = runPass(name, cur);
      checkJaxpr(r.jaxpr);
      if (r.stats.changes === 0) {
        expect(r.jaxpr).toBe(cur); // an unchanged jaxpr comes back as the same object
        break;
      }
      expect(r.jaxpr).not.toBe(cur);
      cur = r.jaxpr;
    }
    expectSameResults(cj, cur);
    expectUnchanged(cj, before, text);
    // Effects are neither removed nor duplicated (expectSameResults compared the printed lines too).
    expect(countPrim(cur, "debug_print")).toBe(countPrim(cj, "debug_print"));
  });

  it("optimize: converges, shrinks, is exact and pure, and a second run changes nothing", () => {
    const cj = build();
    const before = fingerprint(cj);
    const text = cj.toString();
    const { jaxpr, record } = optimize(cj);
    checkJaxpr(jaxpr);
    expect(record.converged).toBe(true);
    expect(record.eqnsBefore).toBe(countEquations(cj));
    expect(record.eqnsAfter).toBe(countEquations(jaxpr));
    expect(record.eqnsAfter).toBeLessThanOrEqual(record.eqnsBefore);
    expect(countPrim(jaxpr, "jit")).toBe(0);
    expect(countPrim(jaxpr, "debug_print")).toBe(countPrim(cj, "debug_print"));
    expectSameResults(cj, jaxpr);
    expectUnchanged(cj, before, text);
    const again = optimize(jaxpr);
    expect(again.jaxpr).toBe(jaxpr);
    expect(again.record.runs).toEqual([]);
    expect(again.record.rounds).toBe(1);
  });
});

// ---------------------------------------------------------------------------------------------
// Structure of particular programs

describe("structure", () => {
  it("grad of sin/cos: CSE merges the recomputed sin/cos, folding evaluates the seeds, DCE drops the unused sum", () => {
    const cj = programs[0].build();
    expect(countPrim(cj, "sin")).toBe(2);
    expect(countPrim(cj, "cos")).toBe(2);
    const cse = eliminateCommonSubexpressions(cj);
    expect(countPrim(cse, "sin")).toBe(1);
    expect(countPrim(cse, "cos")).toBe(1);
    expect(cse.jaxpr.eqns.length).toBe(cj.jaxpr.eqns.length - 2);
    const dce = eliminateDeadCode(cj);
    expect(countPrim(dce, "reduce_sum")).toBe(0);
    const { jaxpr, record } = optimize(cj);
    expect(record.totals.cse).toEqual({ mergedEqns: 2, mergedConstvars: 0 });
    // The seeds fold to splats, kept as broadcasts of literals (read with stride 0 when lowered):
    // -1 (the neg of the broadcast ones) and 2 (ones times 2).
    expect(record.totals.fold?.foldedEqns).toBe(2);
    expect(record.totals.fold?.splats).toBe(2);
    expect(jaxpr.consts).toEqual([]);
    expect(jaxpr.toString()).toMatchInlineSnapshot(`
      "{ lambda ; a:f32[3]. let
          b:f32[3] = sin a
          c:f32[3] = cos a
          d:f32[3] = broadcast_in_dim[
            broadcast_dimensions=()
            shape=(3,)
            sharding=None
          ] -1.0:f32[]
          e:f32[3] = mul d b
          f:f32[3] = broadcast_in_dim[
            broadcast_dimensions=()
            shape=(3,)
            sharding=None
          ] 2.0:f32[]
          g:f32[3] = mul f c
          h:f32[3] = add_any e g
        in (h,) }"
    `);
  });

  it("grad of sin/cos, pass by pass: the printed jaxpr after each", () => {
    let cur = programs[0].build();
    const stages: string[] = [];
    for (const name of ["simplify", "fold", "cse", "dce"] as PassName[]) {
      cur = runPass(name, cur).jaxpr;
      stages.push(`after ${name}:\n${cur}`);
    }
    expect(stages.join("\n")).toMatchInlineSnapshot(`
      "after simplify:
      { lambda ; a:f32[3]. let
          b:f32[3] = sin a
          c:f32[3] = cos a
          d:f32[3] = mul b 2.0:f32[]
          e:f32[3] = cos a
          f:f32[3] = sin a
          g:f32[3] = add d e
          _:f32[] = reduce_sum[axes=(0,) out_sharding=None] g
          h:f32[3] = broadcast_in_dim[
            broadcast_dimensions=()
            shape=(3,)
            sharding=None
          ] 1.0:f32[]
          i:f32[3] = neg h
          j:f32[3] = mul i f
          k:f32[3] = mul h 2.0:f32[]
          l:f32[3] = mul k c
          m:f32[3] = add_any j l
        in (m,) }
      after fold:
      { lambda ; a:f32[3]. let
          b:f32[3] = sin a
          c:f32[3] = cos a
          d:f32[3] = mul b 2.0:f32[]
          e:f32[3] = cos a
          f:f32[3] = sin a
          g:f32[3] = add d e
          _:f32[] = reduce_sum[axes=(0,) out_sharding=None] g
          h:f32[3] = broadcast_in_dim[
            broadcast_dimensions=()
            shape=(3,)
            sharding=None
          ] 1.0:f32[]
          i:f32[3] = broadcast_in_dim[
            broadcast_dimensions=()
            shape=(3,)
            sharding=None
          ] -1.0:f32[]
          j:f32[3] = mul i f
          k:f32[3] = broadcast_in_dim[
            broadcast_dimensions=()
            shape=(3,)
            sharding=None
          ] 2.0:f32[]
          l:f32[3] = mul k c
          m:f32[3] = add_any j l
        in (m,) }
      after cse:
      { lambda ; a:f32[3]. let
          b:f32[3] = sin a
          c:f32[3] = cos a
          d:f32[3] = mul b 2.0:f32[]
          e:f32[3] = add d c
          _:f32[] = reduce_sum[axes=(0,) out_sharding=None] e
          f:f32[3] = broadcast_in_dim[
            broadcast_dimensions=()
            shape=(3,)
            sharding=None
          ] 1.0:f32[]
          g:f32[3] = broadcast_in_dim[
            broadcast_dimensions=()
            shape=(3,)
            sharding=None
          ] -1.0:f32[]
          h:f32[3] = mul g b
          i:f32[3] = broadcast_in_dim[
            broadcast_dimensions=()
            shape=(3,)
            sharding=None
          ] 2.0:f32[]
          j:f32[3] = mul i c
          k:f32[3] = add_any h j
        in (k,) }
      after dce:
      { lambda ; a:f32[3]. let
          b:f32[3] = sin a
          c:f32[3] = cos a
          d:f32[3] = broadcast_in_dim[
            broadcast_dimensions=()
            shape=(3,)
            sharding=None
          ] -1.0:f32[]
          e:f32[3] = mul d b
          f:f32[3] = broadcast_in_dim[
            broadcast_dimensions=()
            shape=(3,)
            sharding=None
          ] 2.0:f32[]
          g:f32[3] = mul f c
          h:f32[3] = add_any e g
        in (h,) }"
    `);
  });

  it("jit in jit: inlining flattens every level, renaming the body called twice, and keeps the print", () => {
    const cj = programs[4].build();
    expect(cj.jaxpr.eqns.length).toBe(2);
    expect(countPrim(cj, "jit")).toBe(4);
    const flat = inlineJitCalls(cj);
    checkJaxpr(flat);
    expect(countPrim(flat, "jit")).toBe(0);
    expect(countPrim(flat, "debug_print")).toBe(1);
    expect(flat.jaxpr.eqns.map((e) => e.primitive.name)).toEqual(["debug_print", "mul", "add", "mul", "add", "add", "mul", "add", "add", "mul"]);
    const { jaxpr, record } = optimize(cj);
    expect(record.totals.inline).toEqual({ inlinedCalls: 4, inlinedEqns: 9 });
    expect(record.totals.cse).toEqual({ mergedEqns: 2, mergedConstvars: 0 }); // innerJit(x) twice
    expect(record.totals.simplify).toEqual({ mul_one: 1 });
    expect(jaxpr.toString()).toMatchInlineSnapshot(`
      "{ lambda ; a:f32[3] b:f32[3]. let
          debug_print[
            fmt=x={}
            has_placeholders=True
            in_tree=PyTreeDef([[*], {}])
            ordered=False
            partitioned=False
            static_args=()
          ] a
          c:f32[3] = mul a 3.0:f32[]
          d:f32[3] = add c 1.0:f32[]
          e:f32[3] = mul b 3.0:f32[]
          f:f32[3] = add e 1.0:f32[]
          g:f32[3] = add d f
          h:f32[3] = add g d
        in (h,) }"
    `);
    // The print runs once per evaluation, before and after optimisation.
    const prints = capturePrints();
    const x = np.array([1, 2, 3]).astype("float32");
    evalClosedJaxpr(cj, [x, x]);
    evalClosedJaxpr(jaxpr, [x, x]);
    expect(prints).toEqual(["x=[1. 2. 3.]", "x=[1. 2. 3.]"]);
  });

  it("the jitted MLP step: one flat program, smaller, with the scalar seed folded", () => {
    const cj = programs[6].build();
    expect(cj.jaxpr.eqns.length).toBe(1);
    const { jaxpr, record } = optimize(cj);
    expect(countPrim(jaxpr, "jit")).toBe(0);
    expect(countPrim(jaxpr, "dot_general")).toBe(countPrim(cj, "dot_general"));
    expect(record.totals.inline?.inlinedCalls).toBe(1);
    expect(record.totals.fold?.foldedEqns).toBeGreaterThanOrEqual(1); // 1/n (its broadcast stays: a splat)
    expect(jaxpr.jaxpr.eqns.length).toBeLessThan(countEquations(cj) - 1);
    expect(record.eqnsAfter).toBe(jaxpr.jaxpr.eqns.length);
  });

  it("random numbers: two samplers with one key share their threefry2x32 (pure, so CSE-able)", () => {
    const cj = programs[8].build();
    expect(countPrim(cj, "threefry2x32")).toBe(3);
    const { jaxpr } = optimize(cj);
    // uniform and uniform are merged; normal draws the same bits too, so it shares them.
    expect(countPrim(jaxpr, "threefry2x32")).toBe(1);
    expectSameResults(cj, jaxpr);
  });

  it("cond and scan are kept whole, with their bodies untouched", () => {
    const cj = programs[10].build();
    const { jaxpr } = optimize(cj);
    const cond = jaxpr.jaxpr.eqns.find((e) => e.primitive.name === "cond")!;
    const orig = cj.jaxpr.eqns.find((e) => e.primitive.name === "cond")!;
    expect(cond.params.branches).toBe(orig.params.branches); // the `mul 1` inside a branch stays
    const scan = jaxpr.jaxpr.eqns.find((e) => e.primitive.name === "scan")!;
    expect(scan.params.jaxpr).toBe(cj.jaxpr.eqns.find((e) => e.primitive.name === "scan")!.params.jaxpr);
  });
});

// ---------------------------------------------------------------------------------------------
// Dead-code elimination

describe("dead-code elimination", () => {
  it("keeps debug.print inside jit although nothing uses the call's outputs", () => {
    const f = jit((x: NDArray) => {
      debug.print("value {}", x);
      return [x.mul(2), np.sin(x)];
    });
    const cj = makeJaxpr((x: NDArray) => {
      f(x);
      return x.add(1);
    })(np.ones([2]));
    const r = optimize(cj, { passes: ["dce"] });
    expect(countPrim(r.jaxpr, "jit")).toBe(1);
    const call = r.jaxpr.jaxpr.eqns.find((e) => e.primitive.name === "jit")!;
    expect(call.outVars.length).toBe(0);
    const body = call.params.jaxpr as ClosedJaxpr;
    expect(body.jaxpr.eqns.map((e) => e.primitive.name)).toEqual(["debug_print"]);
    expect(r.record.totals.dce).toEqual({ removedEqns: 2, removedConstvars: 0, prunedJitOutputs: 2, prunedJitInputs: 0 });
    const prints = capturePrints();
    evalClosedJaxpr(r.jaxpr, [np.array([1, 2]).astype("float32")]);
    expect(prints).toEqual(["value [1. 2.]"]);
    // Inlined, the print is kept at top level the same way.
    const all = optimize(cj).jaxpr;
    expect(all.jaxpr.eqns.map((e) => e.primitive.name)).toEqual(["debug_print", "add"]);
  });

  it("a jit whose body has no effect and whose outputs are unused is removed; debug.callback is kept", () => {
    const f = jit((x: NDArray) => np.exp(x));
    const seen: number[] = [];
    const cj = makeJaxpr((x: NDArray) => {
      f(x);
      debug.callback((v: NDArray) => seen.push(v.size), x);
      return x;
    })(np.ones([2]));
    const out = eliminateDeadCode(cj);
    expect(out.jaxpr.eqns.map((e) => e.primitive.name)).toEqual(["debug_callback"]);
    evalClosedJaxpr(out, [np.ones([2])]);
    expect(seen).toEqual([2]);
  });

  it("prunes a jit body's unused outputs and then its unused inputs", () => {
    const f = jit((x: NDArray, y: NDArray) => [np.sin(x), np.cos(y), x.mul(y)]);
    const cj = makeJaxpr((x: NDArray, y: NDArray) => (f(x, y) as NDArray[])[0])(np.ones([3]), np.ones([3]));
    const out = eliminateDeadCode(cj);
    const call = out.jaxpr.eqns[0];
    expect(call.inputs.length).toBe(1);
    expect(call.outVars.length).toBe(1);
    expect(out.toString()).toMatchInlineSnapshot(`
      "{ lambda ; a:f32[3] b:f32[3]. let
          c:f32[3] = jit[
            name=<lambda>
            jaxpr={ lambda ; a:f32[3]. let c:f32[3] = sin a in (c,) }
          ] a
        in (c,) }"
    `);
    expectSameResults(cj, out);
  });

  it("removes unused constvars and keeps the program's own inputs", () => {
    const big = np.arange(10).astype("float32");
    const cj = makeJaxpr((x: NDArray, _unused: NDArray) => {
      big.mul(x.sum()); // dead, reads a constvar
      return x.add(1);
    })(np.ones([3]), np.ones([2]));
    expect(cj.jaxpr.constvars.length).toBe(1);
    const r = runPass("dce", cj);
    expect(r.jaxpr.jaxpr.constvars.length).toBe(0);
    expect(r.jaxpr.jaxpr.invars.length).toBe(2);
    expect(r.stats.counts.removedConstvars).toBe(1);
  });

  it("treats primitives listed in opts.effectful as effects", () => {
    const cj = makeJaxpr((x: NDArray) => {
      np.sin(x);
      return x.add(1);
    })(np.ones([2]));
    expect(countPrim(eliminateDeadCode(cj), "sin")).toBe(0);
    expect(countPrim(eliminateDeadCode(cj, { effectful: ["sin"] }), "sin")).toBe(1);
    expect(countPrim(eliminateDeadCode(cj, { effectful: [getPrimitive("sin")!] }), "sin")).toBe(1);
  });

  it("knows kernel/transforms/debug.ts's effectful primitives by default", () => {
    const ctx = new PassContext();
    for (const p of effectfulPrimitives) expect(ctx.isEffectfulPrimitive(p)).toBe(true);
    expect(ctx.isEffectfulPrimitive(getPrimitive("threefry2x32")!)).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
// Common-subexpression elimination

describe("common-subexpression elimination", () => {
  it("merges equal params structurally but not different ones", () => {
    const cj = makeJaxpr((x: NDArray) => [x.sum(0), x.sum(0), x.sum(1), lax.transpose(x, [1, 0]), lax.transpose(x, [1, 0])])(np.ones([2, 3]));
    const out = eliminateCommonSubexpressions(cj);
    expect(countPrim(out, "reduce_sum")).toBe(2);
    expect(countPrim(out, "transpose")).toBe(1);
    expect(out.jaxpr.outvars[0]).toBe(out.jaxpr.outvars[1]);
    expectSameResults(cj, out);
  });

  it("distinguishes literals by value, sign of zero and dtype", () => {
    const cj = makeJaxpr((x: NDArray) => [x.add(0), x.add(-0), x.add(0), x.mul(2), x.mul(2)])(np.ones([2]));
    const out = eliminateCommonSubexpressions(cj);
    expect(countPrim(out, "add")).toBe(2);
    expect(countPrim(out, "mul")).toBe(1);
    expectSameResults(cj, out);
  });

  it("merges calls of one jitted function, unless its body has an effect", () => {
    const pure = jit((x: NDArray) => np.exp(x));
    const loud = jit((x: NDArray) => {
      debug.print("{}", x);
      return np.exp(x);
    });
    const a = makeJaxpr((x: NDArray) => pure(x).add(pure(x)))(np.ones([2]));
    expect(countPrim(eliminateCommonSubexpressions(a), "jit")).toBe(1);
    const b = makeJaxpr((x: NDArray) => loud(x).add(loud(x)))(np.ones([2]));
    expect(countPrim(eliminateCommonSubexpressions(b), "jit")).toBe(2);
    expect(countPrim(eliminateCommonSubexpressions(b), "debug_print")).toBe(2);
  });

  it("never merges effects, even with equal inputs and params", () => {
    const cj = makeJaxpr((x: NDArray) => {
      debug.print("{}", x);
      debug.print("{}", x);
      return x;
    })(np.ones([2]));
    const { jaxpr } = optimize(cj);
    expect(countPrim(jaxpr, "debug_print")).toBe(2);
  });

  it("merges constvars bound to the same array, and a later use of a dropped output revives it", () => {
    const c = np.arange(3).astype("float32");
    const x = new Var(new ShapedArray([3], float32));
    const k1 = new Var(c.aval);
    const k2 = new Var(c.aval);
    const sin = getPrimitive("sin")!;
    const add = getPrimitive("add")!;
    const s1 = new DropVar(x.aval);
    const s2 = new Var(x.aval);
    const out = new Var(x.aval);
    const cj = new ClosedJaxpr(
      new Jaxpr([k1, k2], [x], [new JaxprEqn(sin, [k1], {}, [s1]), new JaxprEqn(sin, [k2], {}, [s2]), new JaxprEqn(add, [s2, x], {}, [out])], [out]),
      [c, c],
    );
    checkJaxpr(cj);
    const r = runPass("cse", cj);
    checkJaxpr(r.jaxpr);
    expect(r.stats.counts).toEqual({ mergedEqns: 1, mergedConstvars: 1 });
    expect(r.jaxpr.toString()).toMatchInlineSnapshot(`"{ lambda a:f32[3]; b:f32[3]. let c:f32[3] = sin a; d:f32[3] = add c b in (d,) }"`);
    expectSameResults(cj, r.jaxpr);
  });
});

// ---------------------------------------------------------------------------------------------
// Constant folding

describe("constant folding", () => {
  it("evaluates small constant subexpressions: scalars become literals, arrays constvars", () => {
    const c = np.arange(4).astype("float32");
    const cj = makeJaxpr((x: NDArray) => x.add(c.mul(2).add(1)).add(np.sqrt(np.array(2).astype("float32"))))(np.ones([4]));
    const r = runPass("fold", cj);
    expect(r.stats.counts).toEqual({ foldedEqns: 4, literals: 2, splats: 0, constvars: 2 }); // mul, add; convert_element_type, sqrt
    const { jaxpr } = optimize(cj);
    expect(jaxpr.toString()).toMatchInlineSnapshot(`
      "{ lambda a:f32[4]; b:f32[4]. let
          c:f32[4] = add b a
          d:f32[4] = add c 1.4142135381698608:f32[]
        in (d,) }"
    `);
    expect(Array.from(jaxpr.consts[0].dataSync())).toEqual([1, 3, 5, 7]);
    expectSameResults(cj, jaxpr);
  });

  it("leaves results over maxFoldSize elements alone", () => {
    const big = np.ones([2000]);
    const cj = makeJaxpr((x: NDArray) => x.add(big.mul(2)))(np.ones([2000]));
    expect(countPrim(foldConstants(cj), "mul")).toBe(1);
    expect(countPrim(foldConstants(cj, { maxFoldSize: 4096 }), "mul")).toBe(0);
    // A big constant reduced to a small result is folded.
    const cj2 = makeJaxpr((x: NDArray) => x.add(big.sum()))(np.ones([3]));
    expect(countPrim(foldConstants(cj2), "reduce_sum")).toBe(0);
  });

  it("never folds effects or control flow, even on constant operands", () => {
    const c = np.arange(3).astype("float32");
    const f = jit((a: NDArray) => a.mul(2));
    const cj = makeJaxpr((x: NDArray) => {
      debug.print("{}", c);
      const y = lax.cond(np.array(true), (a: NDArray) => a.mul(2), (a: NDArray) => a.mul(3), c);
      return x.add(y).add(f(c));
    })(np.ones([3]));
    const out = foldConstants(cj);
    expect(countPrim(out, "debug_print")).toBe(1);
    expect(countPrim(out, "cond")).toBe(1);
    expect(countPrim(out, "jit")).toBe(1);
    const opt = optimize(cj).jaxpr;
    expect(countPrim(opt, "debug_print")).toBe(1);
    expect(countPrim(opt, "cond")).toBe(1);
    expect(evalWithPrints(opt, [np.ones([3])])[1]).toEqual(["[0. 1. 2.]"]);
    expectSameResults(cj, opt, 1);
  });

  it("folds inside a nested jit body and with constants of its own", () => {
    const k = np.array([1, 2]).astype("float32");
    const f = jit((x: NDArray) => x.mul(k.add(1)));
    const cj = makeJaxpr((x: NDArray) => f(x))(np.ones([2]));
    const out = foldConstants(cj);
    const body = out.jaxpr.eqns[0].params.jaxpr as ClosedJaxpr;
    expect(countPrim(body, "add")).toBe(0);
    expect(Array.from(body.consts.at(-1)!.dataSync())).toEqual([2, 3]);
    expectSameResults(cj, out);
  });

  it("folds threefry2x32 on a constant key (pure)", () => {
    const key = random.key(3);
    const cj = makeJaxpr((x: NDArray) => x.add(random.uniform(key, [4])))(np.ones([4]));
    const { jaxpr } = optimize(cj);
    expect(countPrim(jaxpr, "threefry2x32")).toBe(0);
    expect(jaxpr.jaxpr.eqns.map((e) => e.primitive.name)).toEqual(["add"]);
    expectSameResults(cj, jaxpr);
  });
});

// ---------------------------------------------------------------------------------------------
// Algebraic simplification

const f32 = (shape: number[] = [3], weak = false) => new ShapedArray(shape, float32, weak);
const lit = (v: number | boolean, dtype: DType = float32, weak = true) => new Literal(v, new ShapedArray([], dtype, weak));

/** A one-equation jaxpr `prim[params] inputs`, with the given inputs (Vars become invars). */
function oneEqn(prim: string, inputs: (Var | Literal)[], params: Record<string, unknown> = {}): ClosedJaxpr {
  const p = getPrimitive(prim)!;
  const [aval] = p.abstractEval(inputs.map((a) => a.aval), params);
  const out = new Var(aval);
  const invars = [...new Set(inputs.filter((a): a is Var => a instanceof Var))];
  return new ClosedJaxpr(new Jaxpr([], invars, [new JaxprEqn(p, inputs, params, [out])], [out]), []);
}

describe("algebraic simplification", () => {
  const simplified = (cj: ClosedJaxpr): boolean => {
    checkJaxpr(cj);
    const out = simplifyAlgebra(cj);
    checkJaxpr(out);
    expectSameResults(cj, out);
    return out.jaxpr.eqns.length < cj.jaxpr.eqns.length;
  };

  it("x*1, 1*x, x/1, x + (-0.0), x - 0.0: removed (floats, ints, bools)", () => {
    const x = new Var(f32());
    expect(simplified(oneEqn("mul", [x, lit(1)]))).toBe(true);
    expect(simplified(oneEqn("mul", [lit(1), x]))).toBe(true);
    expect(simplified(oneEqn("div", [x, lit(1)]))).toBe(true);
    expect(simplified(oneEqn("add", [x, lit(-0)]))).toBe(true);
    expect(simplified(oneEqn("add", [lit(-0), x]))).toBe(true);
    expect(simplified(oneEqn("add_any", [x, lit(-0)]))).toBe(true);
    expect(simplified(oneEqn("sub", [x, lit(0)]))).toBe(true);
    const i = new Var(new ShapedArray([3], int32));
    expect(simplified(oneEqn("add", [i, lit(0, int32)]))).toBe(true);
    expect(simplified(oneEqn("mul", [i, lit(1, int32)]))).toBe(true);
    expect(simplified(oneEqn("div", [i, lit(1, int32)]))).toBe(true);
    const u = new Var(new ShapedArray([3], uint32));
    expect(simplified(oneEqn("mul", [u, lit(1, uint32)]))).toBe(true);
    const b = new Var(new ShapedArray([3], bool));
    expect(simplified(oneEqn("mul", [b, lit(true, bool)]))).toBe(true);
    expect(simplified(oneEqn("add", [b, lit(false, bool)]))).toBe(true);
  });

  it("not exact, so kept: x + 0.0 (-0.0 + 0.0 is +0.0), x - (-0.0), x * 0, x * 2, x + 1", () => {
    const x = new Var(f32());
    expect(simplified(oneEqn("add", [x, lit(0)]))).toBe(false);
    expect(simplified(oneEqn("add", [lit(0), x]))).toBe(false);
    expect(simplified(oneEqn("sub", [x, lit(-0)]))).toBe(false);
    expect(simplified(oneEqn("mul", [x, lit(0)]))).toBe(false);
    expect(simplified(oneEqn("mul", [x, lit(2)]))).toBe(false);
    expect(simplified(oneEqn("sub", [lit(0), x]))).toBe(false);
    expect(simplified(oneEqn("div", [lit(1), x]))).toBe(false);
    // -0.0 + 0.0 really is +0.0: the bit-exact check above would catch a wrong rewrite.
    const z = fromStorage(new Float32Array([-0]), f32([1]));
    expect(Object.is(evalClosedJaxpr(oneEqn("add", [new Var(f32([1])), lit(0)]), [z])[0].dataSync()[0], 0)).toBe(true);
  });

  it("only when the result's aval is x's: weak type and broadcasting", () => {
    // A weak x times a strong 1 gives a strong result: not x.
    const w = new Var(f32([3], true));
    expect(simplified(oneEqn("mul", [w, lit(1, float32, false)]))).toBe(false);
    expect(simplified(oneEqn("mul", [w, lit(1, float32, true)]))).toBe(true);
    // A scalar x times an array of ones broadcasts: not x.
    const s = new Var(f32([]));
    const ones = new Var(f32([3]));
    const cj = new ClosedJaxpr(oneEqn("mul", [s, ones]).jaxpr, []);
    const withConst = new ClosedJaxpr(new Jaxpr([ones], [s], cj.jaxpr.eqns, cj.jaxpr.outvars), [np.ones([3])]);
    expect(simplified(withConst)).toBe(false);
    // The same array of ones with x of its shape: x.
    const x = new Var(f32([3]));
    const e = oneEqn("mul", [x, ones]);
    expect(simplified(new ClosedJaxpr(new Jaxpr([ones], [x], e.jaxpr.eqns, e.jaxpr.outvars), [np.ones([3])]))).toBe(true);
  });

  it("identity movement and conversions", () => {
    const x = new Var(f32([2, 3]));
    expect(simplified(oneEqn("convert_element_type", [x], { new_dtype: float32, weak_type: false }))).toBe(true);
    expect(simplified(oneEqn("convert_element_type", [x], { new_dtype: float32, weak_type: true }))).toBe(false);
    expect(simplified(oneEqn("convert_element_type", [x], { new_dtype: int32, weak_type: false }))).toBe(false);
    expect(simplified(oneEqn("reshape", [x], { new_sizes: [2, 3], dimensions: null }))).toBe(true);
    expect(simplified(oneEqn("reshape", [x], { new_sizes: [3, 2], dimensions: null }))).toBe(false);
    expect(simplified(oneEqn("transpose", [x], { permutation: [0, 1] }))).toBe(true);
    expect(simplified(oneEqn("transpose", [x], { permutation: [1, 0] }))).toBe(false);
    expect(simplified(oneEqn("broadcast_in_dim", [x], { shape: [2, 3], broadcast_dimensions: [0, 1], sharding: null }))).toBe(true);
    expect(simplified(oneEqn("broadcast_in_dim", [x], { shape: [4, 2, 3], broadcast_dimensions: [1, 2], sharding: null }))).toBe(false);
    const y = new Var(f32([2, 1]));
    expect(simplified(oneEqn("broadcast_in_dim", [y], { shape: [2, 3], broadcast_dimensions: [0, 1], sharding: null }))).toBe(false);
    expect(simplified(oneEqn("squeeze", [x], { dimensions: [] }))).toBe(true);
    expect(simplified(oneEqn("rev", [x], { dimensions: [] }))).toBe(true);
    expect(simplified(oneEqn("rev", [x], { dimensions: [0] }))).toBe(false);
  });

  it("double neg (floats and wrapping ints), but not a single one", () => {
    const cj = makeJaxpr((x: NDArray, i: NDArray) => [lax.neg(lax.neg(x)), lax.neg(lax.neg(i)), lax.neg(x)])(np.ones([3]), np.arange(3));
    const out = simplifyAlgebra(cj);
    expect(out.jaxpr.outvars[0]).toBe(out.jaxpr.invars[0]);
    expect(out.jaxpr.outvars[1]).toBe(out.jaxpr.invars[1]);
    const { jaxpr } = optimize(cj);
    expect(countPrim(jaxpr, "neg")).toBe(1);
    expectSameResults(cj, jaxpr);
    const min = fromStorage(new Int32Array([-(2 ** 31), 5, -7]), new ShapedArray([3], int32));
    expect(Array.from(evalClosedJaxpr(jaxpr, [np.ones([3]), min])[1].dataSync())).toEqual([-(2 ** 31), 5, -7]);
  });

  it("select_n with a constant predicate picks the case the kernel would", () => {
    const a = new Var(f32());
    const b = new Var(f32());
    const c = new Var(f32());
    const pick = (w: Literal, ...cases: Var[]) => {
      const cj = oneEqn("select_n", [w, ...cases]);
      expect(simplified(cj)).toBe(true);
      return cases.indexOf(simplifyAlgebra(cj).jaxpr.outvars[0] as Var);
    };
    expect(pick(lit(true, bool, false), a, b)).toBe(1);
    expect(pick(lit(false, bool, false), a, b)).toBe(0);
    expect(pick(lit(2, int32, false), a, b, c)).toBe(2);
    expect(pick(lit(7, int32, false), a, b, c)).toBe(2); // clamped
    expect(pick(lit(-1, int32, false), a, b, c)).toBe(0); // clamped
    expect(pick(lit(-1, int32, false), a, b)).toBe(1); // two cases: nonzero picks the second
    // Equal cases need no predicate.
    const w = new Var(new ShapedArray([3], bool));
    expect(simplified(oneEqn("select_n", [w, a, a]))).toBe(true);
    expect(simplified(oneEqn("select_n", [w, a, b]))).toBe(false);
    // A weak chosen case with a strong other case: the result is strong, so it is kept.
    const weak = new Var(f32([3], true));
    expect(simplified(oneEqn("select_n", [lit(true, bool, false), a, weak]))).toBe(false);
    // Through the API: where(true, x, y).
    const cj = makeJaxpr((x: NDArray, y: NDArray) => lax.select(np.array(true), x, y))(np.ones([3]), np.ones([3]));
    expect(simplifyAlgebra(cj).jaxpr.eqns.length).toBe(0);
  });

  it("records what each rule did", () => {
    const r = runPass("simplify", programs[9].build());
    expect(r.stats.counts).toMatchObject({ mul_one: 1, add_zero: 1, sub_zero: 1, neg_neg: 1 });
  });
});

// ---------------------------------------------------------------------------------------------
// optimize's record and options

describe("optimize", () => {
  it("records every run by round, and totals per pass", () => {
    const cj = programs[4].build();
    const { record } = optimize(cj);
    expect(record.runs.map((r) => [r.round, r.pass])).toEqual([
      [1, "inline"],
      [1, "simplify"],
      [1, "cse"],
    ]);
    expect(record.rounds).toBe(2);
    for (const r of record.runs) expect(r.changes).toBeGreaterThan(0);
  });

  it("runs only the passes asked for, in order", () => {
    const cj = programs[4].build();
    const r = optimize(cj, { passes: ["dce"] });
    expect(r.jaxpr).toBe(cj); // nothing dead at the top level, nothing dead in the bodies
    expect(countPrim(optimize(cj, { passes: ["simplify"] }).jaxpr, "jit")).toBe(4);
    expect(() => optimize(cj, { passes: ["nope" as PassName] })).toThrow(/unknown pass/);
  });

  it("stops after maxRounds without converging when asked to", () => {
    const cj = programs[0].build();
    const r = optimize(cj, { maxRounds: 1 });
    expect(r.record.rounds).toBe(1);
    expect(r.record.converged).toBe(false);
  });

  it("the purity check itself notices a mutated equation list, params or const", () => {
    const k = np.arange(3).astype("float32");
    const make = () => makeJaxpr((x: NDArray) => x.add(k).sum(0))(np.ones([3]));
    const a = make();
    const fa = fingerprint(a);
    (a.jaxpr.eqns as JaxprEqn[]).pop();
    expect(() => expectUnchanged(a, fa, "")).toThrow();
    const b = make();
    const fb = fingerprint(b);
    (b.jaxpr.eqns.at(-1)!.params.axes as number[])[0] = 7;
    expect(() => expectUnchanged(b, fb, b.toString())).toThrow();
    const c = make();
    const fc = fingerprint(c);
    c.consts[0]._buf("test").readSync()[0] = 42; // the CPU backend's storage itself
    expect(() => expectUnchanged(c, fc, c.toString())).toThrow();
  });

  it("checkJaxpr finds use-before-definition and wrong avals", () => {
    const x = new Var(f32());
    const y = new Var(f32());
    const sin = getPrimitive("sin")!;
    expect(() => checkJaxpr(new ClosedJaxpr(new Jaxpr([], [x], [new JaxprEqn(sin, [y], {}, [x])], [x]), []))).toThrow(/before it is defined/);
    const z = new Var(f32([2]));
    expect(() => checkJaxpr(new ClosedJaxpr(new Jaxpr([], [x], [new JaxprEqn(sin, [x], {}, [z])], [z]), []))).toThrow(/shape rule/);
  });
});
