// Constant folding through splats (kernel/ir/passes-local.ts): a broadcast of a literal, and
// views and elementwise arithmetic of such broadcasts, fold to a broadcast of one literal
// without materialising any array on the way (the scalar is computed on 0-d operands by the
// primitive's own kernel). The folded programs are checked against the original run eagerly,
// bit for bit, and the literals against values computed here (Math.fround for float32).

import { describe, expect, it } from "vitest";
import { NDArray, lax, makeJaxpr, np } from "../../kernel/index";
import { ClosedJaxpr, Jaxpr, Literal } from "../../kernel/ir/jaxpr";
import { evalClosedJaxpr } from "../../kernel/ir/eval-jaxpr";
import { optimize, runFold } from "../../kernel/ir/passes";

const bytesOf = (x: NDArray) => {
  const s = x._buf("test").readSync();
  return Array.from(new Uint8Array(s.buffer, s.byteOffset, s.byteLength));
};

/** Runs both programs on `args` and requires the same avals and bytes for every output. */
function expectSame(before: ClosedJaxpr, after: ClosedJaxpr, args: NDArray[]): void {
  const want = evalClosedJaxpr(before, args);
  const got = evalClosedJaxpr(after, args);
  expect(got.map((g) => g.aval.key())).toEqual(want.map((w) => w.aval.key()));
  got.forEach((g, i) => expect(bytesOf(g)).toEqual(bytesOf(want[i])));
}

/** The literals the folded program broadcasts, in order. */
const splatLiterals = (j: Jaxpr) =>
  j.eqns.filter((e) => e.primitive.name === "broadcast_in_dim" && e.inputs[0] instanceof Literal).map((e) => (e.inputs[0] as Literal).value);

/** A broadcast of a literal, staged (a 0-d constant is written inline). */
const full = (v: number, shape: number[], dtype: "float32" | "int32" = "float32") => lax.broadcastInDim(np.asarray(v, { dtype }), shape, []);

describe("folding through splats", () => {
  it("views and elementwise arithmetic of broadcast literals fold to one broadcast literal, without constants", () => {
    const f = (x: NDArray) => {
      const a = full(1.5, [2, 3]);
      const b = np.exp(a.T.mul(2)).add(1); // [3, 2]
      const c = np.where(b.gt(10), b, np.negative(b)); // exp(3) + 1 > 10
      return x.add(c.reshape([6]));
    };
    const x = np.arange(6).astype("float32");
    const cj = makeJaxpr(f)(x) as ClosedJaxpr;
    const r = runFold(cj);
    expect(r.jaxpr.consts).toHaveLength(0);
    const want = Math.fround(Math.fround(Math.exp(3)) + 1);
    const lits = splatLiterals(r.jaxpr.jaxpr);
    expect(lits[lits.length - 1]).toBeCloseTo(want, 4);
    expect(r.stats.counts.constvars).toBe(0);
    expectSame(cj, r.jaxpr, [x]);
    const opt = optimize(cj).jaxpr;
    expect(opt.consts).toHaveLength(0);
    expectSame(cj, opt, [x]);
  });

  it("keeps dtypes, weak types and special values: bool, int32, float16, NaN, -0", () => {
    const f = (x: NDArray) => {
      const nan = full(NaN, [4]);
      const negz = full(-0, [4]);
      const i = full(7, [4], "int32");
      const h = full(65504, [4]).astype("float16").mul(2); // overflows to inf in float16
      const isNan = np.isnan(nan); // bool splat
      return [x.add(negz), np.where(isNan, x, nan), i.mul(3).add(x.astype("int32")), h.astype("float32").add(x), x.mul(2)];
    };
    const x = np.array([1, -2, 0, 3.5]).astype("float32");
    const cj = makeJaxpr(f)(x) as ClosedJaxpr;
    const r = runFold(cj);
    expect(r.jaxpr.consts).toHaveLength(0);
    expectSame(cj, r.jaxpr, [x]);
    expectSame(cj, optimize(cj).jaxpr, [x]);
    const lits = splatLiterals(r.jaxpr.jaxpr);
    expect(lits.some((v) => typeof v === "number" && Number.isNaN(v))).toBe(true);
    expect(lits.some((v) => Object.is(v, -0))).toBe(true);
    expect(lits).toContain(21);
    expect(lits).toContain(Infinity);
  });

  it("materialises a splat where an equation that is not elementwise or a view reads it", () => {
    const f = (x: NDArray) => x.add(full(0.25, [8]).sum()).add(np.cumsum(full(2, [3])).sum());
    const x = np.array([1, 2]).astype("float32");
    const cj = makeJaxpr(f)(x) as ClosedJaxpr;
    const opt = optimize(cj).jaxpr;
    expect(opt.jaxpr.eqns.map((e) => e.primitive.name)).toEqual(["add", "add"]);
    expect(opt.jaxpr.eqns.map((e) => (e.inputs[1] as Literal).value)).toEqual([2, 12]);
    expectSame(cj, opt, [x]);
  });
});
