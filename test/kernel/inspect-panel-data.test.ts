// What the inspector panels get beyond the basic records (kernel/server/inspect-*.ts):
//   - each equation's lines in the printed jaxpr (EqnInfo.textLines), checked against the text;
//   - grad records' forward program (equal to makeJaxpr's) and backward program, whose
//     evaluation on a unit cotangent must give the float64 gradient;
//   - gradients computed inside a jitted training step, returned by the compiled program as
//     tap outputs (transforms/taps.ts) and checked against a float64 recomputation, without
//     changing what the step returns or what `lower`/the IR record print;
//   - inspect/checkGrads on the recorded call: passes for a correct gradient and names the
//     leaf for a wrong one (a custom_jvp rule that lies).

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NDArray } from "../../kernel/core/ndarray";
import { customJvp, jit, lax, makeJaxpr, np, valueAndGrad, vmap } from "../../kernel/index";
import { EqnInfo, JaxprInfo } from "../../kernel/protocol";
import { evalClosedJaxpr } from "../../kernel/ir/eval-jaxpr";
import { printJaxpr } from "../../kernel/ir/printer";
import { keptTraces, checkGradsRecord, clearInspectRecords, gradientRecords, irRecords, setInspectRecording } from "../../kernel/server/inspect-records";
import { tapsWanted } from "../../kernel/transforms/taps";
import { rng } from "./helpers/rng";

beforeAll(() => {
  setInspectRecording(true);
  clearInspectRecords();
});
afterAll(() => setInspectRecording(false));

const f32 = (xs: number | number[] | number[][]) => np.array(xs, { dtype: "float32" });
const host = (x: NDArray) => Array.from(x.dataSync() as ArrayLike<number>, Number);

/** Every equation of a jaxpr, nested ones included, with their depth. */
function allEqns(j: JaxprInfo, depth = 0, out: { e: EqnInfo; depth: number }[] = []) {
  for (const e of j.eqns) {
    out.push({ e, depth });
    for (const p of e.params) if (p.kind === "jaxprs") for (const n of p.jaxprs) allEqns(n, depth + 1, out);
  }
  return out;
}

describe("equation lines in the printed text", () => {
  it("point at the lines that print each equation, nested ones inside their parent", () => {
    clearInspectRecords();
    const inner = jit((a: NDArray) => np.sin(a).mul(2));
    const f = jit((x: NDArray, p: NDArray) =>
      lax.cond(p, (v: NDArray) => inner(v).add(1), (v: NDArray) => np.cos(v).sub(np.exp(v)).mul(3), x).sum());
    f(f32([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.1, 1.2]), np.array(true));
    const rec = irRecords().records.find((r) => r.name === f.name && r.kind === "jit")!;
    const lines = rec.text.split("\n");
    const eqns = allEqns(rec.jaxpr);
    expect(eqns.length).toBeGreaterThan(6);
    expect(eqns.some((q) => q.depth >= 2)).toBe(true);
    const owner = new Map<number, EqnInfo>();
    for (const { e } of eqns) {
      expect(e.textLines, `${e.primitive} has its lines`).toBeDefined();
      const [a, b] = e.textLines!;
      expect(a).toBeLessThanOrEqual(b);
      // The first line names the primitive and, when it has outputs, binds the first of them.
      expect(lines[a]).toContain(e.primitive);
      if (e.outVars.length) expect(lines[a]).toContain(`${e.outVars[0].name}:${e.outVars[0].aval.text}`);
      for (let l = a; l <= b; l++) owner.set(l, e);
    }
    // Nested equations lie within the lines of the equation that holds them.
    const walk = (j: JaxprInfo) => {
      for (const e of j.eqns)
        for (const p of e.params)
          if (p.kind === "jaxprs")
            for (const n of p.jaxprs) {
              for (const c of n.eqns) {
                expect(c.textLines![0]).toBeGreaterThanOrEqual(e.textLines![0]);
                expect(c.textLines![1]).toBeLessThanOrEqual(e.textLines![1]);
              }
              walk(n);
            }
    };
    walk(rec.jaxpr);
    // Every line between `let` and the final `in` belongs to an equation.
    const first = lines.findIndex((l) => l.includes(". let"));
    const last = lines.length - 1;
    for (let l = first + 1; l < last; l++) expect(owner.has(l), `line ${l}: ${lines[l]}`).toBe(true);
  });
});

describe("grad records", () => {
  it("give the forward program as makeJaxpr prints it, and a backward program that computes the gradient", () => {
    clearInspectRecords();
    const r = rng(11);
    const W = Array.from({ length: 3 }, () => Array.from({ length: 2 }, () => (r() * 2 - 1)));
    const X = Array.from({ length: 4 }, () => Array.from({ length: 3 }, () => (r() * 2 - 1)));
    const x = f32(X);
    const loss = (w: NDArray, xb: NDArray) => np.square(np.tanh(xb.matmul(w))).sum();
    valueAndGrad(loss)(f32(W), x);
    const rec = irRecords().records.find((q) => q.kind === "grad")!;
    expect(rec.text).toBe(printJaxpr(makeJaxpr(loss)(f32(W), x)));
    expect(rec.backward!.text).toContain("lambda");
    expect(rec.linear!.text).toContain("lambda");
    // Evaluate the backward program on the unit cotangent: d/dW sum(tanh(XW)^2) = X^T (2 t (1 - t^2)).
    // Its inputs are the residuals (the linear program's constants), then the cotangent.
    const kept = keptTraces().find((t) => t.id === rec.id)!.record;
    const back = kept.backward!();
    const [g] = evalClosedJaxpr(back, [...kept.jaxpr.consts, np.array(1, { dtype: "float32" })]);
    const want: number[] = [];
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 2; j++) {
        let s = 0;
        for (let n = 0; n < 4; n++) {
          const t = Math.tanh(X[n][0] * W[0][j] + X[n][1] * W[1][j] + X[n][2] * W[2][j]);
          s += X[n][i] * 2 * t * (1 - t * t);
        }
        want.push(s);
      }
    host(g).forEach((v, k) => expect(v).toBeCloseTo(want[k], 5));
  });
});

describe("grad records traced inside jit", () => {
  it("stage their forward and backward programs after the trace is over", () => {
    clearInspectRecords();
    const loss = (w: NDArray, xb: NDArray) => np.square(xb.mul(w)).sum();
    const step = jit((w: NDArray, xb: NDArray) => valueAndGrad(loss)(w, xb)[1]);
    step(f32([1, 2]), f32([3, 4]));
    const rec = irRecords().records.find((q) => q.kind === "grad")!;
    expect(rec.text).toBe(printJaxpr(makeJaxpr(loss)(f32([1, 2]), f32([3, 4]))));
    expect(rec.backward!.text).not.toMatch(/could not be staged/);
    expect(rec.backward!.jaxpr.eqns.length).toBeGreaterThan(0);
  });
});

describe("gradients inside a jitted training step", () => {
  const r = rng(5);
  const X = Array.from({ length: 8 }, () => Array.from({ length: 3 }, () => (r() * 2 - 1)));
  const Y = X.map((row) => row[0] - 2 * row[1] + 0.5 * row[2] + 0.3);
  // d/dw mean((Xw + b - y)^2) = 2/n X^T res, d/db = 2/n sum(res), in float64.
  const reference = (w: number[], b: number) => {
    const res = X.map((row, n) => row[0] * w[0] + row[1] * w[1] + row[2] * w[2] + b - Y[n]);
    const loss = res.reduce((a, v) => a + v * v, 0) / X.length;
    const dw = [0, 1, 2].map((i) => (2 / X.length) * res.reduce((a, v, n) => a + v * X[n][i], 0));
    const db = (2 / X.length) * res.reduce((a, v) => a + v, 0);
    return { loss, dw, db };
  };

  it("are the values the compiled step computed, named by parameter path, each step", async () => {
    clearInspectRecords();
    expect(tapsWanted()).toBe(true);
    const loss = (params: { w: NDArray; b: NDArray }, x: NDArray, y: NDArray) => np.square(x.matmul(params.w).add(params.b).sub(y)).mean();
    const step = jit((params: { w: NDArray; b: NDArray }, x: NDArray, y: NDArray) => {
      const [l, g] = valueAndGrad(loss)(params, x, y);
      return [{ w: params.w.sub(g.w.mul(0.1)), b: params.b.sub(g.b.mul(0.1)) }, l] as const;
    });
    let current = { w: f32([0.5, -0.5, 0]), b: f32(0) };
    const x = f32(X), y = f32(Y);
    const seen: { w: number[]; b: number }[] = [];
    for (let s = 0; s < 3; s++) {
      seen.push({ w: host(current.w), b: host(current.b)[0] });
      const [next, l] = step(current, x, y);
      // The step returns what it returns: the tap outputs are not the user's.
      expect(Object.keys(next).sort()).toEqual(["b", "w"]);
      expect(l.shape).toEqual([]);
      current = next;
    }
    expect(step.traceCount).toBe(1);
    // On a GPU the statistics arrive when the device reads complete.
    const settled = () => gradientRecords().records.find((q) => q.name === "loss")!;
    for (let t = 0; t < 200 && !(settled().history.every((h) => h.value !== undefined) && settled().last.globalNorm !== undefined); t++)
      await new Promise((r) => setTimeout(r, 25));
    const rec = settled();
    expect(rec.calls).toBe(3);
    expect(rec.last.origin).toBe("jit");
    expect(rec.last.traced).toBe(false);
    expect(rec.last.leaves.map((q) => [q.path, q.shape])).toEqual([["params.b", []], ["params.w", [3]]]);
    const want = reference(seen[2].w, seen[2].b);
    expect(rec.last.value as number).toBeCloseTo(want.loss, 4);
    expect(rec.last.leaves[0].stats!.mean as number).toBeCloseTo(want.db, 4);
    expect(rec.last.leaves[1].stats!.l2 as number).toBeCloseTo(Math.hypot(...want.dw), 4);
    expect(rec.history.map((h) => h.value as number).map((v, i) => v - reference(seen[i].w, seen[i].b).loss).every((d) => Math.abs(d) < 1e-4)).toBe(true);
    // The IR record and `lower` show the step as makeJaxpr would: without the tap outputs.
    const ir = irRecords().records.find((q) => q.kind === "jit" && q.tapOutputs)!;
    expect(ir.tapOutputs).toBeGreaterThanOrEqual(3);
    expect(ir.text).toBe(printJaxpr(step.lower(current, x, y)));
    expect(step.lower(current, x, y).jaxpr.outvars).toHaveLength(3);
    expect(ir.text).toBe(printJaxpr(makeJaxpr(step)(current, x, y).jaxpr.eqns[0].params.jaxpr as never));
    // The check action re-checks the recorded call, with the inputs the compiled step received.
    const chk = checkGradsRecord({ recordId: rec.id });
    expect(chk.message).toBeUndefined();
    expect(chk.ok).toBe(true);
    expect(chk.leaves!.map((q) => q.path)).toEqual(["params.b", "params.w"]);
    for (const q of chk.leaves!) expect(q.autodiff as number).toBeCloseTo(q.numeric as number, 2);
  });

  it("inside vmap stay abstract: shapes only, and the check says why it cannot run", () => {
    clearInspectRecords();
    const per = (w: NDArray, xr: NDArray) => valueAndGrad((ww: NDArray) => ww.mul(xr).sum())(w)[1];
    jit(vmap(per, { inAxes: [null, 0] }))(f32([1, 2]), f32([[1, 2], [3, 4]]));
    const rec = gradientRecords().records[0];
    expect(rec.last.traced).toBe(true);
    const chk = checkGradsRecord({ recordId: rec.id });
    expect(chk.ok).toBe(false);
    expect(chk.message).toMatch(/traced/);
  });
});

describe("inspect/checkGrads", () => {
  it("fails for a gradient that disagrees with finite differences, naming the leaf", () => {
    clearInspectRecords();
    const fakeSin = customJvp((x: NDArray) => np.sin(x));
    fakeSin.defjvp(([x]: NDArray[], [t]: NDArray[]) => [np.sin(x), t.mul(2)]);
    const lossFake = (p: { a: NDArray; b: NDArray }) => fakeSin(p.a).sum().add(np.sin(p.b).sum());
    valueAndGrad(lossFake)({ a: f32([0.3, 0.7]), b: f32([0.1]) });
    const rec = gradientRecords().records[0];
    const chk = checkGradsRecord({ recordId: rec.id });
    expect(chk.ok).toBe(false);
    expect(chk.message).toMatch(/checkGrads/);
    const byPath = Object.fromEntries(chk.leaves!.map((q) => [q.path, q]));
    expect(byPath["p.a"].ok).toBe(false);
    expect(byPath["p.b"].ok).toBe(true);
  });

  it("answers for an unknown record", () => {
    expect(checkGradsRecord({ recordId: 123456 })).toMatchObject({ ok: false, message: expect.stringMatching(/no gradient record/) });
  });
});
