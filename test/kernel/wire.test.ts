// The wire format of closed jaxprs (kernel/ir/wire.ts): programs built with the public API are
// encoded, passed through the real structuredClone (what postMessage does) and decoded. The
// decoded program must print the same text, be the same program structurally (a walk here
// compares every variable binding, literal, parameter, nested jaxpr, constant and source line
// with the original's), and evaluate to bit-identical results on the same random inputs.
// Values that cannot travel (functions, devices, tracers, unknown classes, a primitive shadowing
// a registered name) must raise a WireError that names the primitive and the parameter.

import { describe, expect, it } from "vitest";
import { NotAvailableError, debug, customJvp, customVjp, grad, jit, lax, makeJaxpr, np, pmap, random, vmap, devices } from "../../kernel/index";
import { ShapedArray } from "../../kernel/core/aval";
import { DType, DTYPES, Storage, float32, int32 } from "../../kernel/core/dtype";
import { NDArray, fromStorage } from "../../kernel/core/ndarray";
import { Primitive, getPrimitive } from "../../kernel/core/primitive";
import { Tracer, bind } from "../../kernel/core/trace";
import { evalClosedJaxpr } from "../../kernel/ir/eval-jaxpr";
import { ClosedJaxpr, DropVar, Jaxpr, JaxprEqn, Literal, Var } from "../../kernel/ir/jaxpr";
import { WireClosedJaxpr, WireError, decodeClosedJaxpr, encodeClosedJaxpr } from "../../kernel/ir/wire";
import { jitP } from "../../kernel/transforms/jit";
import { rng } from "./helpers/rng";

type Fn = (...args: any[]) => unknown;
const f32 = (shape: number[]) => new ShapedArray(shape, float32);
const i32 = (shape: number[]) => new ShapedArray(shape, int32);
const aval = (dtype: string, shape: number[]) => new ShapedArray(shape, DTYPES[dtype as keyof typeof DTYPES]);

/** Random bits of every dtype (floats as normal-ish finite values, ints small, bool 0/1). */
function randomArray(a: ShapedArray, r: () => number): NDArray {
  const d = a.dtype;
  const data: Storage = new d.storage(a.size);
  for (let i = 0; i < a.size; i++) {
    if (d.name === "float32") data[i] = (r() - 0.5) * 4;
    else if (d.name === "float16") data[i] = 0x3000 + Math.floor(r() * 0x1000) + (r() < 0.5 ? 0x8000 : 0); // |x| in [0.125, 0.5)
    else if (d.name === "bfloat16") data[i] = 0x3e00 + Math.floor(r() * 0x100);
    else if (d.isBool) data[i] = r() < 0.5 ? 1 : 0;
    else if (d.name === "uint32") data[i] = Math.floor(r() * 2 ** 32);
    else data[i] = Math.floor(r() * 4);
  }
  return fromStorage(data, a);
}

const bytes = (x: NDArray) => {
  const s = x._buf("test").readSync();
  return Array.from(new Uint8Array(s.buffer, s.byteOffset, s.byteLength));
};

/** Walks two closed jaxprs side by side and fails on the first difference (variables up to renaming). */
function expectSameProgram(a: ClosedJaxpr, b: ClosedJaxpr): void {
  const pairs = new Map<unknown, unknown>();
  const same = (x: unknown, y: unknown, where: string): void => {
    if (typeof x !== "object" || x === null || typeof x === "function") {
      expect(Object.is(x, y), `${where}: ${String(x)} vs ${String(y)}`).toBe(true);
      return;
    }
    expect(typeof y, where).toBe("object");
    // Sharing is kept for all but plain lists and objects: an object seen before maps to the
    // same decoded object (variables, jaxprs, constants).
    const plain = Array.isArray(x) || Object.getPrototypeOf(x) === Object.prototype || Object.getPrototypeOf(x) === null;
    if (!plain && pairs.has(x)) {
      expect(pairs.get(x) === y, `${where}: sharing`).toBe(true);
      return;
    }
    pairs.set(x, y);
    if (x instanceof DType || x instanceof Primitive) return expect(y, where).toBe(x);
    if (x instanceof ShapedArray) return expect((y as ShapedArray).equals(x), where).toBe(true);
    if (x instanceof NDArray) {
      expect(y instanceof NDArray && !(y instanceof Tracer) && y !== x, where).toBe(true);
      expect((y as NDArray).aval.equals(x.aval), where).toBe(true);
      return expect(bytes(y as NDArray), where).toEqual(bytes(x));
    }
    if (x instanceof Literal) {
      expect(y instanceof Literal, where).toBe(true);
      expect(Object.is((y as Literal).value, x.value), `${where}: literal ${x.value}`).toBe(true);
      return expect((y as Literal).aval.equals(x.aval), where).toBe(true);
    }
    if (x instanceof Var) {
      expect(y instanceof Var && (y instanceof DropVar) === (x instanceof DropVar), where).toBe(true);
      return expect((y as Var).aval.equals(x.aval), where).toBe(true);
    }
    if (x instanceof ClosedJaxpr) {
      same(x.jaxpr, (y as ClosedJaxpr).jaxpr, `${where}.jaxpr`);
      return same(x.consts, (y as ClosedJaxpr).consts, `${where}.consts`);
    }
    if (x instanceof Jaxpr) {
      const j = y as Jaxpr;
      for (const k of ["constvars", "invars", "outvars"] as const) same(x[k], j[k], `${where}.${k}`);
      expect(j.eqns.length, where).toBe(x.eqns.length);
      x.eqns.forEach((e, i) => same(e, j.eqns[i], `${where}.eqns[${i}]`));
      return;
    }
    if (x instanceof JaxprEqn) {
      const e = y as JaxprEqn;
      expect(e.primitive, where).toBe(x.primitive);
      same(x.inputs, e.inputs, `${where}.inputs`);
      same(x.outVars, e.outVars, `${where}.outVars`);
      expect(e.source, `${where}.source`).toEqual(x.source);
      return same(x.params, e.params, `${where}.params(${x.primitive.name})`);
    }
    if (ArrayBuffer.isView(x)) return expect(Array.from(y as Uint8Array)).toEqual(Array.from(x as Uint8Array));
    expect(Array.isArray(y), where).toBe(Array.isArray(x));
    expect(Object.getPrototypeOf(y) === null, where).toBe(Object.getPrototypeOf(x) === null);
    expect(Object.keys(y as object), where).toEqual(Object.keys(x));
    for (const k of Object.keys(x)) same((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k], `${where}.${k}`);
  };
  same(a, b, "root");
}

/** Only plain data: what postMessage can carry without class instances reaching the other side. */
function expectPlainData(v: unknown, where = "wire"): void {
  if (v === null || typeof v !== "object") {
    expect(["number", "string", "boolean", "bigint", "undefined", "object"], where).toContain(typeof v);
    return;
  }
  if (ArrayBuffer.isView(v)) return;
  const proto = Object.getPrototypeOf(v);
  expect(proto === Object.prototype || proto === Array.prototype || proto === null, `${where} is a ${proto?.constructor?.name}`).toBe(true);
  for (const [k, x] of Object.entries(v)) expectPlainData(x, `${where}.${k}`);
}

/** encode -> structuredClone -> decode; checks text, structure and bit-identical evaluation. */
function roundTrip(cj: ClosedJaxpr, evaluate = true): ClosedJaxpr {
  const wire = encodeClosedJaxpr(cj);
  expectPlainData(wire);
  const back = decodeClosedJaxpr(structuredClone(wire));
  expect(String(back)).toBe(String(cj));
  expectSameProgram(cj, back);
  if (!evaluate) return back;
  const r = rng(1);
  const args = cj.inAvals.map((a) => randomArray(a, r));
  const want = evalClosedJaxpr(cj, args);
  const got = evalClosedJaxpr(back, args);
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => {
    expect(g.aval.equals(want[i].aval)).toBe(true);
    expect(bytes(g), `output ${i}`).toEqual(bytes(want[i]));
  });
  return back;
}

const trace = (f: Fn, ...avals: ShapedArray[]) => makeJaxpr(f)(...avals.map((a) => randomArray(a, rng(7))));

/** Runs f, which must throw a WireError (a NotAvailableError) whose message contains every part. */
function expectWireErrorOf(f: () => unknown, ...parts: string[]): void {
  let err: unknown = null;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(WireError);
  expect(err).toBeInstanceOf(NotAvailableError);
  for (const p of parts) expect((err as Error).message).toContain(p);
}

const mlp = (W1: NDArray, b1: NDArray, W2: NDArray, x: NDArray) => np.tanh(np.matmul(x, W1).add(b1)).matmul(W2).sum();

const corpus: [string, Fn, ShapedArray[]][] = [
  ["elementwise chain", (x: NDArray, y: NDArray) => np.tanh(x.mul(y).add(1)).sub(np.exp(x.neg())).div(2).pow(2), [f32([3, 4]), f32([3, 4])]],
  ["matmul and dot_general", (a: NDArray, b: NDArray, c: NDArray) => [np.matmul(a, b), lax.dotGeneral(c, c, [[[2], [1]], [[0], [0]]])], [f32([3, 5]), f32([5, 2]), f32([2, 3, 3])]],
  ["reductions", (x: NDArray) => [x.sum(0), x.max(1), np.mean(x), np.argmax(x, 1), np.min(x, { axis: 0, keepdims: true })], [f32([4, 6])]],
  ["broadcast, reshape, transpose", (x: NDArray, v: NDArray) => x.reshape([4, 3]).T.add(v.reshape([3, 1])).reshape([-1]).get("2:9:3"), [f32([3, 4]), f32([3])]],
  ["gather and scatter", (x: NDArray, i: NDArray) => [np.take(x, i, { axis: 0 }), x.at(i).add(1), x.at(np.array([0, 2])).set(np.array(-0, { dtype: "float32" })), x.get(i, 1)], [f32([5, 3]), i32([4])]],
  ["cond and switch", (p: NDArray, k: NDArray, x: NDArray) => [lax.cond(p, (v: NDArray) => v.mul(2), (v: NDArray) => np.sin(v), x), lax.switch(k, [(v: NDArray) => v, (v: NDArray) => v.add(1), (v: NDArray) => np.exp(v)], x)], [aval("bool", []), i32([]), f32([3])]],
  ["scan", (c: NDArray, xs: NDArray) => lax.scan((cc: NDArray, x: NDArray) => [cc.mul(0.5).add(x), cc.mul(x)], c, xs, { reverse: true }), [f32([2]), f32([5, 2])]],
  ["while and fori loops", (x: NDArray, n: NDArray) => [lax.whileLoop(([i]: NDArray[]) => i.lt(5), ([i, v]: NDArray[]) => [i.add(1), v.mul(1.5)], [n.mul(0), x]), lax.foriLoop(0, 4, (i: NDArray, v: NDArray) => v.add(i), x)], [f32([3]), i32([])]],
  ["random.normal with a key", (k: NDArray) => [random.normal(k, [4, 2]), random.uniform(random.split(k).get(1), [3])], [aval("uint32", [2])]],
  ["sort, argsort, multi-operand sort", (x: NDArray, y: NDArray) => [np.sort(x), np.argsort(x, { axis: 0 }), ...(lax.sort([x, y], { numKeys: 1 }) as NDArray[])], [f32([4, 3]), f32([4, 3])]],
  ["cumsum and cumprod", (x: NDArray) => [np.cumsum(x, 1), np.cumprod(x)], [f32([3, 4])]],
  ["grad of an MLP", grad(mlp, { argnums: [0, 1, 2] }), [f32([4, 8]), f32([8]), f32([8, 2]), f32([5, 4])]],
  ["vmap of an MLP", vmap(mlp, { inAxes: [null, null, null, 0] }), [f32([4, 8]), f32([8]), f32([8, 2]), f32([6, 5, 4])]],
  ["literals of several dtypes", (b: NDArray, i: NDArray, h: NDArray, x: NDArray) => [np.logicalAnd(b, true), i.mul(3).add(-7), h.mul(2.5).add(np.array(0.1, { dtype: "float16" })), x.add(-0), np.where(x.gt(0), x, -Infinity), np.maximum(x, NaN)], [aval("bool", [3]), i32([3]), aval("float16", [3]), f32([3])]],
  ["bfloat16 and convert_element_type", (x: NDArray) => x.astype("bfloat16").mul(3).astype("int8").astype(np.uint16), [f32([4])]],
];

describe("wire format round trips", () => {
  for (const [name, f, avals] of corpus)
    it(name, () => {
      roundTrip(trace(f, ...avals));
    });

  it("a closure over a constant array keeps the values, copied compactly", () => {
    const w = np.arange(12, { dtype: "float32" }).reshape([3, 4]).mul(0.25);
    const big = np.ones([4000]);
    const cj = trace((x: NDArray) => np.matmul(x, w).sum().add(big.get("1:3").sum()), f32([2, 3]));
    expect(cj.consts.length).toBeGreaterThan(0);
    const wire = encodeClosedJaxpr(cj);
    for (const a of wire.arrays) {
      expect(a.data.byteLength).toBe(a.data.buffer.byteLength);
      expect(a.data.buffer).not.toBe(w._buf("t").readSync().buffer);
    }
    roundTrip(cj);
  });

  it("nested jit (called twice: one shared body) with consts in the nested body", () => {
    const c = np.array([1, 2, 3], { dtype: "float32" });
    const inner = jit((v: NDArray) => np.sin(v).mul(c));
    const cj = trace(jit((x: NDArray) => inner(inner(x).add(1))), f32([3]));
    const back = roundTrip(cj);
    // Outer jit -> its body -> two jit equations sharing one ClosedJaxpr, decoded as one too.
    const body = back.jaxpr.eqns[0].params.jaxpr as ClosedJaxpr;
    const jits = body.jaxpr.eqns.filter((e) => e.primitive === jitP);
    expect(jits.length).toBe(2);
    expect(jits[0].params.jaxpr).toBe(jits[1].params.jaxpr);
  });

  it("pmap over one device: the body's collectives travel, given devices do not", () => {
    const f = (x: NDArray) => lax.psum(np.sin(x), "i").add(lax.axisIndex("i"));
    roundTrip(trace(pmap(f, { axisName: "i" }), f32([1, 3])));
    expectWireErrorOf(() => encodeClosedJaxpr(trace(pmap(f, { axisName: "i", devices: [devices()[0]] }), f32([1, 3]))), 'parameter "devices[0]" of primitive xla_pmap');
  });

  it("runs in bind(jitP) as the original does", () => {
    const cj = trace(mlp, f32([4, 8]), f32([8]), f32([8, 2]), f32([5, 4]));
    const back = decodeClosedJaxpr(structuredClone(encodeClosedJaxpr(cj)));
    const r = rng(3);
    const args = cj.inAvals.map((a) => randomArray(a, r));
    const want = bind(jitP, args, { jaxpr: cj, name: "mlp" });
    const got = bind(jitP, args, { jaxpr: back, name: "mlp" });
    expect(bytes(got[0])).toEqual(bytes(want[0]));
  });

  it("keeps source lines, DropVars and generic parameter values", () => {
    const cj = trace((x: NDArray) => lax.scan((c: NDArray, v: NDArray) => [c.add(v), null], x.get(0), x)[0], f32([3, 2]));
    // Some equation has a source line (this file's; in the jit-all run, the wrapper's that calls the API).
    expect(cj.jaxpr.eqns.some((e) => e.source !== null && e.source.line > 0)).toBe(true);
    roundTrip(cj);
    // A hand-built equation with every kind of plain parameter (the add rule ignores them).
    const add = getPrimitive("add")!;
    const [x, y, z] = [new Var(f32([2])), new Var(f32([2])), new Var(f32([2]))];
    const nullProto = Object.assign(Object.create(null), { a: 1 });
    const params = {
      nums: [NaN, Infinity, -Infinity, -0, 1e-45], big: 12345678901234567890n, s: "x", u: undefined, n: null, t: true,
      nested: { dtype: np.float16, aval: f32([1, 2]), lit: new Literal(-0, f32([])), prim: add }, nullProto,
      typed: new Float64Array([1.5, -0, NaN]).subarray(1), arr: np.array([1, 2], { dtype: "int16" }), jaxpr: cj.jaxpr,
    };
    const eqn = new JaxprEqn(add, [x, new Literal(2, f32([]))], params, [y], { file: "f.ts", line: 3, column: 9 });
    const eqn2 = new JaxprEqn(add, [y, x], {}, [new DropVar(f32([2]))], null);
    const eqn3 = new JaxprEqn(add, [y, y], {}, [z], null);
    const hand = new ClosedJaxpr(new Jaxpr([], [x], [eqn, eqn2, eqn3], [z, x]), []);
    // Not evaluated: add's kernels key their cache by the JSON of the parameters (no bigint).
    const back = roundTrip(hand, false);
    expect(back.jaxpr.eqns[0].params.typed).toBeInstanceOf(Float64Array);
    expect(back.jaxpr.eqns[0].params.big).toBe(12345678901234567890n);
  });
});

describe("wire format errors", () => {
  const expectWireError = expectWireErrorOf;

  it("custom_jvp_call's jvp rule and custom_vjp_call's fwd are functions", () => {
    const f = customJvp((x: NDArray) => np.sin(x));
    f.defjvp(([x]: NDArray[], [t]: NDArray[]) => [np.sin(x), t.mul(2)]);
    expectWireError(() => encodeClosedJaxpr(trace(f, f32([3]))), 'parameter "jvp" of primitive custom_jvp_call', "function");
    expectWireError(() => encodeClosedJaxpr(trace((x: NDArray) => np.logaddexp(x, 1), f32([3]))), "custom_jvp_call");
    const g = customVjp((x: NDArray) => np.sin(x));
    g.defvjp((x: NDArray) => [np.sin(x), x], (x: NDArray, t: NDArray) => [t.mul(np.cos(x))]);
    expectWireError(() => encodeClosedJaxpr(trace(g, f32([3]))), "of primitive custom_vjp_call", "function");
  });

  it("debug.callback's callback (inside a nested jaxpr) and debug.print's in_tree", () => {
    const f = (x: NDArray) => lax.cond(x.sum().gt(0), (v: NDArray) => (debug.callback(() => undefined, v), v), (v: NDArray) => v, x);
    expectWireError(() => encodeClosedJaxpr(trace(f, f32([3]))), 'parameter "callback" of primitive debug_callback (in the jaxpr of parameter "branches[1]" of primitive cond)');
    // debug.print's argument structure is a PyTreeDef (a class the format does not send).
    expectWireError(() => encodeClosedJaxpr(trace((x: NDArray) => (debug.print("x={}", x), x), f32([3]))), 'parameter "in_tree" of primitive debug_print', "PyTreeDef");
  });

  it("devices, tracers, unknown classes and functions in hand-built parameters", () => {
    const [x, y] = [new Var(f32([2])), new Var(f32([2]))];
    const prim = getPrimitive("neg")!;
    const withParams = (p: Record<string, unknown>) => new ClosedJaxpr(new Jaxpr([], [x], [new JaxprEqn(prim, [x], p, [y])], [y]), []);
    expectWireError(() => encodeClosedJaxpr(withParams({ opts: { fn: [1, () => 1] } })), 'parameter "opts.fn[1]" of primitive neg', "function");
    expectWireError(() => encodeClosedJaxpr(withParams({ devices: [devices()[0]] })), 'parameter "devices[0]" of primitive neg');
    expectWireError(() => encodeClosedJaxpr(withParams({ when: new Date(0) })), 'parameter "when" of primitive neg', "Date");
    expectWireError(() => encodeClosedJaxpr(withParams({ s: Symbol("s") })), 'parameter "s"', "symbol");
    const cyc: unknown[] = [];
    cyc.push(cyc);
    expectWireError(() => encodeClosedJaxpr(withParams({ cyc })), 'parameter "cyc[0]"', "contains itself");
    // A tracer as a parameter: captured while tracing under grad.
    let leaked: NDArray | null = null;
    grad((v: NDArray) => ((leaked = v), v.sum()))(np.ones([2]));
    expectWireError(() => encodeClosedJaxpr(withParams({ t: leaked })), 'parameter "t" of primitive neg', "Tracer");
  });

  it("a primitive that is not the one registered under its name", () => {
    const fake = new Primitive({ name: "neg", abstractEval: (a) => a, cpu: () => [] });
    const [x, y] = [new Var(f32([2])), new Var(f32([2]))];
    const cj = new ClosedJaxpr(new Jaxpr([], [x], [new JaxprEqn(fake, [x], {}, [y])], [y]), []);
    expectWireError(() => encodeClosedJaxpr(cj), "equation of primitive neg", "not the one registered");
    const asParam = new ClosedJaxpr(new Jaxpr([], [x], [new JaxprEqn(getPrimitive("neg")!, [x], { p: fake }, [y])], [y]), []);
    expectWireError(() => encodeClosedJaxpr(asParam), 'parameter "p" of primitive neg');
  });

  it("a disposed constant", () => {
    const c = np.array([1, 2], { dtype: "float32" });
    const cj = trace((x: NDArray) => x.mul(c), f32([2]));
    c.dispose();
    expectWireError(() => encodeClosedJaxpr(cj), "a constant of the program", "disposed");
  });

  it("decoding refuses unknown primitives, dtypes and formats", () => {
    const cj = trace((x: NDArray) => np.sin(x), f32([2]));
    const w = structuredClone(encodeClosedJaxpr(cj));
    const bad = structuredClone(w);
    bad.jaxprs[0].eqns[0].prim = "no_such_primitive";
    expectWireError(() => decodeClosedJaxpr(bad), "no_such_primitive");
    const badDtype = structuredClone(w);
    (badDtype.avals[0] as { dtype: string }).dtype = "float64";
    expectWireError(() => decodeClosedJaxpr(badDtype), "unknown dtype name", "float64");
    expectWireError(() => decodeClosedJaxpr({ ...w, version: 99 }), "version");
    expectWireError(() => decodeClosedJaxpr({} as WireClosedJaxpr), "not an encoded closed jaxpr");
  });
});
