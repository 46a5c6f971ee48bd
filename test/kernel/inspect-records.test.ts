// The inspector panels' records (kernel/server/inspect-records.ts): a structured jaxpr, rendered
// back to JAX's one-line text by an independent renderer here, must equal what the printer
// prints (names, literals, parameters, nested jaxprs of cond/scan/while/jit/custom_jvp);
// equations carry the lines of this file that made them; gradient statistics equal a float64
// recomputation from the arrays' values; kernel records list their sources in the language
// that runs (checked by parsing the JS and by the WebAssembly listing's form) and the
// compile-cache flag.

import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NDArray } from "../../kernel/core/ndarray";
import { customJvp, jit, lax, np, grad, valueAndGrad, vmap } from "../../kernel/index";
import { printJaxpr } from "../../kernel/ir/printer";
import { clearProgramCache } from "../../kernel/lower/jit-runner";
import { inspectCompiled } from "../../kernel/lower/inspect";
import { makeJaxpr } from "../../kernel/transforms/stage";
import {
  clearInspectRecords, gradLeafPaths, gradientRecords, irRecords, jaxprInfo, kernelRecords, leafStats, parameterNames, setInspectRecording,
} from "../../kernel/server/inspect-records";
import { AtomInfo, JaxprInfo, VarInfo } from "../../kernel/protocol";
import { treeFlatten } from "../../kernel/core/tree";
import { rng } from "./helpers/rng";

beforeAll(() => {
  setInspectRecording(true);
  clearInspectRecords();
});
afterAll(() => setInspectRecording(false));

const f32 = (xs: number | number[] | number[][]) => np.array(xs, { dtype: "float32" });
/** The line of this file that carries the comment `// @tag`. */
const lineOf = (tag: string) => readFileSync(__filename, "utf8").split("\n").findIndex((l) => l.includes(`// @${tag}`)) + 1;

// ---- an independent renderer of the structured form, in JAX's one-line layout ---------------

const binder = (v: VarInfo) => `${v.name}:${v.aval.text}`;
const atom = (a: AtomInfo) => (a.kind === "literal" ? `${a.text}:${a.aval.text}` : a.name);
function render(j: JaxprInfo): string {
  const eqns = j.eqns.map((e) => {
    const params = e.params.map((p) =>
      p.kind === "value" ? `${p.name}=${p.text}` : p.tuple ? `${p.name}=(${p.jaxprs.map(render).join(" ")})` : `${p.name}=${render(p.jaxprs[0])}`,
    );
    const rhs = `${e.primitive}${params.length ? `[${params.join(" ")}]` : ""}${e.inputs.length ? " " + e.inputs.map(atom).join(" ") : ""}`;
    return e.outVars.length ? `${e.outVars.map(binder).join(" ")} = ${rhs}` : rhs;
  });
  const outs = j.outvars.map(atom);
  const consts = j.constvars.map(binder).join(" ");
  return `{ lambda ${consts ? consts + "; " : "; "}${j.invars.map(binder).join(" ")}. let${eqns.length ? " " + eqns.join("; ") : ""} in (${outs.join(", ")}${outs.length === 1 ? "," : ""}) }`;
}

const softplus = customJvp(function softplus(x: NDArray) {
  return np.log(np.exp(x).add(1));
});
softplus.defjvp(([x]: NDArray[], [t]: NDArray[]) => [softplus(x), t.div(np.exp(x.neg()).add(1))]);

function nested(x: NDArray, n: NDArray) {
  const inner = jit(function inner(v: NDArray) {
    return np.sin(v).mul(2); // @inner-sin
  });
  const c = lax.cond(x.sum().gt(0), (v: NDArray) => inner(v), (v: NDArray) => v.sub(1), x); // @cond
  const [s, ys] = lax.scan((acc: NDArray, v: NDArray) => [acc.add(v), acc.mul(v)], f32(0), c);
  const w = lax.whileLoop((k: NDArray) => k.lt(n), (k: NDArray) => k.add(1), np.array(0));
  return [softplus(s.add(ys.sum())), w];
}

describe("IR records", () => {
  it("give every equation, nested jaxprs included, named as the printed text", () => {
    const cj = makeJaxpr(nested)(f32([1, -2, 3]), np.array(4));
    const info = jaxprInfo(cj);
    const flat = printJaxpr(cj, 1e9);
    expect(flat).not.toContain("\n");
    expect(render(info)).toBe(flat);
    const prims = info.eqns.map((e) => e.primitive);
    expect(prims).toEqual(expect.arrayContaining(["cond", "scan", "while", "custom_jvp_call"]));
    const cond = info.eqns.find((e) => e.primitive === "cond")!;
    const branches = cond.params.find((p) => p.kind === "jaxprs")!;
    expect(branches.kind === "jaxprs" && branches.tuple && branches.jaxprs.length).toBe(2);
    // A grad of it (transposed scan/while bodies, jvp'd custom rule) prints the same way.
    const g = makeJaxpr(grad((x: NDArray) => (nested(x, np.array(3))[0] as NDArray)))(f32([1, 2, 3]));
    expect(render(jaxprInfo(g))).toBe(printJaxpr(g, 1e9));
  });

  it("cut at the equation cap keep the printed names and say so", () => {
    const cj = makeJaxpr(nested)(f32([1, -2, 3]), np.array(4));
    const info = jaxprInfo(cj, 3);
    expect(info.truncated).toBe(true);
    const full = jaxprInfo(cj);
    expect(info.outvars).toEqual(full.outvars);
    expect(info.eqnCount).toBe(full.eqnCount);
  });

  it("record jitted functions newest first, with their text, source lines and optimised jaxpr", () => {
    clearInspectRecords();
    const f = jit(function step(x: NDArray) {
      const y = np.tanh(x.mul(3)); // @step-tanh
      return y.add(x).sum(); // @step-sum
    });
    f(f32([1, 2, 3])); // @step-call
    const g = jit(function other(x: NDArray) {
      return x.mul(x);
    });
    g(f32([1]));
    const { records } = irRecords();
    expect(records.map((r) => r.name)).toEqual(["other", "step"]);
    const r = records[1];
    expect(r.kind).toBe("jit");
    expect(r.text).toBe(printJaxpr(f.lower(f32([1, 2, 3]))));
    expect(render(r.jaxpr)).toBe(printJaxpr(f.lower(f32([1, 2, 3])), 1e9));
    expect(r.source).toMatchObject({ line: lineOf("step-call") });
    const at = (p: string) => r.jaxpr.eqns.filter((e) => e.primitive === p).map((e) => e.source?.line);
    expect(at("mul")).toEqual([lineOf("step-tanh")]);
    expect(at("tanh")).toEqual([lineOf("step-tanh")]);
    expect(at("add")).toEqual([lineOf("step-sum")]);
    expect(at("reduce_sum")).toEqual([lineOf("step-sum")]);
    expect(r.optimized).toBeDefined();
    expect(render(r.optimized!.jaxpr)).toBe(printJaxpr(kernelRecordsFor(r.optimized!.compiledId), 1e9));
    // JSON-safe: what goes over the wire is what the panel gets.
    expect(JSON.parse(JSON.stringify(records))).toEqual(records);
  });

  it("nested equations point at the lines inside the nested functions", () => {
    clearInspectRecords();
    jit(nested)(f32([1, -2, 3]), np.array(4));
    const r = irRecords().records[0];
    const cond = r.jaxpr.eqns.find((e) => e.primitive === "cond")!;
    expect(cond.source?.line).toBe(lineOf("cond"));
    const branches = cond.params.find((p) => p.name === "branches")!;
    if (branches.kind !== "jaxprs") throw new Error("branches are not jaxprs");
    const call = branches.jaxprs[1].eqns.find((e) => e.primitive === "jit")!;
    const body = call.params.find((p) => p.name === "jaxpr")!;
    if (body.kind !== "jaxprs") throw new Error("jit body is not a jaxpr");
    expect(body.jaxprs[0].eqns.map((e) => e.source?.line)).toEqual([lineOf("inner-sin"), lineOf("inner-sin")]);
  });
});

/** The optimised jaxpr of a compiled record, by id. */
const kernelRecordsFor = (id: number) => inspectCompiled().find((c) => c.id === id)!.after;

// ---- gradient records ----------------------------------------------------------------------

/** float64 reference statistics, written plainly. */
function reference(xs: number[]) {
  const finite = xs.filter((x) => Number.isFinite(x));
  const notNan = xs.filter((x) => !Number.isNaN(x));
  const hasNan = notNan.length < xs.length;
  const lo = Math.min(...finite), hi = Math.max(...finite);
  const counts = new Array(20).fill(0);
  for (const x of finite) {
    let b = Math.floor(((x - lo) / (hi - lo)) * 20);
    if (b === 20) b = 19;
    counts[b]++;
  }
  return {
    l2: hasNan ? "NaN" : Math.hypot(...xs),
    min: Math.min(...notNan),
    max: Math.max(...notNan),
    mean: hasNan ? "NaN" : xs.reduce((a, b) => a + b, 0) / xs.length,
    zeroFraction: xs.filter((x) => x === 0).length / xs.length,
    nanCount: xs.length - notNan.length,
    infCount: notNan.length - finite.length,
    counts,
  };
}

describe("gradient records", () => {
  it("leafStats equals a float64 recomputation, NaN, infinities and zeros included", () => {
    const r = rng(7);
    const xs = Array.from({ length: 1000 }, () => Math.fround(r() * 4 - 1));
    xs[3] = 0;
    xs[10] = 0;
    const s = leafStats(new Float32Array(xs));
    const want = reference(xs);
    expect(s.l2 as number).toBeCloseTo(want.l2 as number, 12);
    expect(s.mean as number).toBeCloseTo(want.mean as number, 14);
    expect([s.min, s.max, s.zeroFraction, s.nanCount, s.infCount]).toEqual([want.min, want.max, want.zeroFraction, 0, 0]);
    expect(s.histogram.counts).toEqual(want.counts);
    expect(s.histogram.counts.reduce((a, b) => a + b, 0)).toBe(1000);
    expect(s.histogram.edges.length).toBe(21);
    const bad = [...xs.slice(0, 50), NaN, Infinity, -Infinity, NaN];
    const sb = leafStats(Float64Array.from(bad));
    const wb = reference(bad);
    expect([sb.l2, sb.mean, sb.min, sb.max, sb.nanCount, sb.infCount]).toEqual(["NaN", "NaN", "-Infinity", "Infinity", 2, 2]);
    expect([wb.min, wb.max]).toEqual([-Infinity, Infinity]);
    expect(sb.histogram.counts).toEqual(wb.counts);
    expect(leafStats(new Float32Array([2, 2])).histogram.edges[0]).toBe(1.5);
  });

  it("paths use the function's parameter names", () => {
    expect(parameterNames((params: unknown, x: unknown) => [params, x])).toEqual(["params", "x"]);
    expect(parameterNames(function loss(w1: unknown, { a }: { a: unknown }) { return [w1, a]; })).toEqual(["w1", null]);
    expect(parameterNames((w: unknown) => w)).toEqual(["w"]);
    const [, def] = treeFlatten([[{ w: 1, b: 2 }, 3], { "odd key": 4 }]);
    expect(gradLeafPaths((params: unknown, _x: unknown, opt: unknown) => [params, opt], def, [0, 2])).toEqual(["params[0].b", "params[0].w", "params[1]", 'opt["odd key"]']);
    expect(gradLeafPaths(({ a }: { a: unknown }) => a, treeFlatten([5])[1], [0])).toEqual(["args[0]"]);
  });

  it("record each call's loss and per-leaf statistics, and a history across calls", () => {
    clearInspectRecords();
    const loss = (params: { w1: NDArray; b1: NDArray }, x: NDArray) => np.tanh(x.mul(params.w1)).add(params.b1).sum();
    const vg = valueAndGrad(loss);
    const x = f32([0.5, -1, 0, 2]);
    const wants: number[][] = [];
    for (let i = 0; i < 5; i++) {
      const params = { w1: f32([0.1 * i, -0.2, 0.3, 1]), b1: f32([0, 0, 0, 0]) };
      const [v, g] = vg(params, x);
      wants.push(Array.from(g.w1.dataSync() as Float32Array));
      const rec = gradientRecords().records[0];
      expect(rec.last.value).toBe((v as NDArray).item());
    }
    const { records } = gradientRecords();
    expect(records).toHaveLength(1);
    const r = records[0];
    expect([r.kind, r.name, r.calls, r.history.length]).toEqual(["valueAndGrad", "loss", 5, 5]);
    expect(r.last.traced).toBe(false);
    expect(r.last.leaves.map((l) => [l.path, l.shape, l.dtype])).toEqual([["params.b1", [4], "float32"], ["params.w1", [4], "float32"]]);
    const w1 = r.last.leaves[1].stats!;
    const want = reference(wants[4]);
    expect(w1.l2 as number).toBeCloseTo(want.l2 as number, 12);
    expect([w1.min, w1.max, w1.zeroFraction]).toEqual([want.min, want.max, want.zeroFraction]);
    expect(w1.histogram.counts).toEqual(want.counts);
    // d/db sum(...) = 1 everywhere.
    expect(r.last.leaves[0].stats).toMatchObject({ l2: 2, min: 1, max: 1, mean: 1, zeroFraction: 0 });
    expect(r.history.map((h) => h.norms[1] as number).map((n, i) => n - Math.hypot(...wants[i])).every((d) => Math.abs(d) < 1e-12)).toBe(true);
    expect(r.last.globalNorm as number).toBeCloseTo(Math.hypot(2, want.l2 as number), 12);
    expect(r.irRecordId).toBe(irRecords().records.find((t) => t.kind === "grad")!.id);
  });

  it("inside vmap, record shapes and paths and say the values are missing", () => {
    clearInspectRecords();
    const step = vmap((w: NDArray, x: NDArray) => grad((ww: NDArray) => ww.mul(x).sum())(w));
    step(f32([[1, 2]]), f32([[3, 4]]));
    const r = gradientRecords().records[0];
    expect(r.kind).toBe("grad");
    expect(r.last.traced).toBe(true);
    expect(r.last.origin).toBe("traced");
    expect(r.last.value).toBeUndefined();
    expect(r.last.globalNorm).toBeUndefined();
    expect(r.last.leaves).toEqual([{ path: "ww", shape: [2], dtype: "float32", missing: "traced" }]);
  });

  it("record nothing while recording is off", () => {
    clearInspectRecords();
    setInspectRecording(false);
    grad((w: NDArray) => w.sum())(f32([1]));
    jit((w: NDArray) => w.mul(2))(f32([1]));
    expect(gradientRecords().records).toHaveLength(0);
    expect(irRecords().records).toHaveLength(0);
    setInspectRecording(true);
  });
});

// ---- kernel records ------------------------------------------------------------------------

describe("kernel records", () => {
  it("list each step's source in the language that runs on the CPU, with fused equation indices", () => {
    const f = jit(function chain(x: NDArray, w: NDArray) {
      return np.tanh(np.dot(x, w).mul(2).add(1)).sum(0);
    });
    f(np.ones([64, 32]), np.ones([32, 16]));
    const big = jit(function bigChain(x: NDArray) {
      return np.exp(x.mul(0.5)).add(1);
    });
    big(np.ones([1 << 17]));
    const { records } = kernelRecords({ limit: 2 });
    expect(records.map((r) => r.name)).toEqual(["bigChain", "chain"]);
    const langs = new Set<string>();
    for (const r of records) {
      expect(r.platform).toBe("cpu");
      expect(r.adapter).toBe("cpu");
      expect(r.steps.length).toBe(r.counts.kernels + r.counts.library + r.counts.aliases);
      for (const s of r.steps) {
        for (const i of s.eqns) expect(i).toBeLessThan(r.eqnCount);
        expect(s.eqnText).toHaveLength(s.eqns.length);
        if (s.kind !== "kernel") {
          expect([s.source, s.language]).toEqual([null, null]);
          continue;
        }
        langs.add(s.language!);
        if (s.language === "javascript") expect(() => new Function(s.source!)).not.toThrow();
        else {
          expect(s.language).toBe("wat");
          expect(() => new Function(s.source!)).toThrow(SyntaxError);
          expect(s.source).toMatch(/\(func \$kernel/);
        }
        expect(s.ir).toMatch(/^kernel /);
      }
    }
    // The big elementwise chain runs as WebAssembly on the CPU, the small epilogue as JS.
    expect(langs).toEqual(new Set(["javascript", "wat"]));
    const dot = records[1].steps.find((s) => s.kind === "library")!;
    expect(dot.eqnText[0]).toMatch(/dot_general/);
  });

  it("say whether the lowered program came from the compile cache", () => {
    clearProgramCache();
    const make = (name: string) => jit({ [name]: (x: NDArray) => np.sin(x).mul(3) }[name]);
    make("first")(f32([1, 2]));
    make("second")(f32([1, 2]));
    const [second, first] = kernelRecords({ limit: 2 }).records;
    expect([first.name, first.cacheHit]).toEqual(["first", null]);
    expect([second.name, second.cacheHit]).toEqual(["second", "traced"]);
  });
});
