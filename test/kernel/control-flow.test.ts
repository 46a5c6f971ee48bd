// Control flow (lax.cond, switch, whileLoop, foriLoop, scan, map): values against plain JS
// loops, derivatives against finite differences, vmap against a loop over the batch, jit
// against eager, and the printed jaxprs against real JAX 0.11 (test/reference/jax-jaxprs.json).

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConcretizationError, ValueError, disableJit, grad, hessian, jit, jvp, lax, linearize, makeJaxpr, np, vjp, vmap } from "../../kernel/index";
import type { NDArray } from "../../kernel/index";

const reference = JSON.parse(readFileSync(join(__dirname, "../reference/jax-jaxprs.json"), "utf8")) as { cases: { id: string; jaxpr: string }[] };
const jaxJaxpr = (id: string): string => reference.cases.find((c) => c.id === id)!.jaxpr;

const f32 = (x: number | number[] | number[][]) => np.array(x, { dtype: np.float32 });
const val = (x: unknown): number => Number((x as NDArray).item());
const vals = (x: unknown): number[] => Array.from((x as NDArray).dataSync() as ArrayLike<number>, Number);

/** Central finite difference of a scalar function of one scalar, in float64 arithmetic on the inputs. */
function fd(f: (x: number) => number, x: number, h = 1e-2): number {
  return (f(x + h) - f(x - h)) / (2 * h);
}
function close(a: number, b: number, rtol = 1e-2, atol = 1e-3): void {
  expect(Math.abs(a - b), `${a} vs ${b}`).toBeLessThanOrEqual(atol + rtol * Math.abs(b));
}
function allClose(a: number[], b: number[], rtol = 1e-5, atol = 1e-5): void {
  expect(a.length).toBe(b.length);
  a.forEach((x, i) => close(x, b[i], rtol, atol));
}

describe("printed jaxprs match JAX 0.11", () => {
  it("cond", () => {
    const f = (p: unknown, x: unknown) => lax.cond(p, (v: NDArray) => v.add(1.0), (v: NDArray) => v.sub(1.0), x);
    expect(String(makeJaxpr(f)(true, 1.0))).toBe(jaxJaxpr("cond"));
  });
  it("while", () => {
    const f = (x: unknown) => lax.whileLoop((c: NDArray) => c.lt(10.0), (c: NDArray) => c.mul(2.0), x);
    expect(String(makeJaxpr(f)(1.0))).toBe(jaxJaxpr("while"));
  });
  it("fori with static bounds lowers to scan", () => {
    const f = (x: unknown) => lax.foriLoop(0, 3, (i: NDArray, c: NDArray) => c.add(i), x);
    expect(String(makeJaxpr(f)(1.0))).toBe(jaxJaxpr("fori"));
  });
  it("scan", () => {
    const f = (xs: unknown) => lax.scan((c: NDArray, x: NDArray) => [c.add(x), c.mul(x)], 0.0, xs);
    expect(String(makeJaxpr(f)(np.zeros([4], { dtype: np.float32 })))).toBe(jaxJaxpr("scan"));
  });
  it("fori with traced bounds lowers to while", () => {
    const f = (x: unknown, n: unknown) => lax.foriLoop(0, n, (i: NDArray, c: NDArray) => c.add(i), x);
    const text = String(makeJaxpr(f)(1.0, np.array(3)));
    expect(text).toContain("while[");
    expect(text).toContain("lt ");
  });
  it("switch clamps its index", () => {
    const text = String(makeJaxpr((i: unknown, x: unknown) => lax.switch(i, [(v: NDArray) => v.add(1), (v: NDArray) => v.mul(2), (v: NDArray) => v.neg()], x))(np.array(1), 1.0));
    expect(text).toContain("clamp 0:i32[]");
    expect(text).toContain("cond[");
  });
});

describe("values against JS loops", () => {
  it("cond picks a branch, with pytree operands and outputs", () => {
    const f = (p: unknown, x: NDArray, y: NDArray) =>
      lax.cond(p, ({ a, b }: { a: NDArray; b: NDArray }) => [a.add(b), a], ({ a, b }: { a: NDArray; b: NDArray }) => [a.sub(b), b], { a: x, b: y });
    const [s, t] = f(true, f32([1, 2]), f32([10, 20]));
    expect(vals(s)).toEqual([11, 22]);
    expect(vals(t)).toEqual([1, 2]);
    const [u, w] = f(np.array(false), f32([1, 2]), f32([10, 20]));
    expect(vals(u)).toEqual([-9, -18]);
    expect(vals(w)).toEqual([10, 20]);
    // An integer predicate is compared with 0.
    expect(val(lax.cond(np.array(3), () => f32(1), () => f32(2)))).toBe(1);
  });
  it("switch runs branches[index], clamping out-of-range indices", () => {
    const branches = [(x: NDArray) => x.add(1), (x: NDArray) => x.mul(10), (x: NDArray) => x.neg()];
    const want = [4, 30, -3];
    for (const i of [-5, 0, 1, 2, 7]) expect(val(lax.switch(np.array(i), branches, f32(3)))).toBe(want[Math.min(Math.max(i, 0), 2)]);
    expect(val(jit((i: NDArray, x: NDArray) => lax.switch(i, branches, x))(np.array(9), f32(3)))).toBe(-3);
  });
  it("whileLoop", () => {
    // Collatz steps of 27, with a pytree carry.
    const [n, steps] = lax.whileLoop(
      ([x]: NDArray[]) => x.ne(1),
      ([x, k]: NDArray[]) => [lax.cond(x.mod(2).eq(0), (v: NDArray) => v.floorDiv(2), (v: NDArray) => v.mul(3).add(1), x), k.add(1)],
      [np.array(27), np.array(0)],
    );
    let x = 27, k = 0;
    while (x !== 1) (x = x % 2 === 0 ? x / 2 : 3 * x + 1), k++;
    expect([val(n), val(steps)]).toEqual([1, k]);
  });
  it("foriLoop, static and traced bounds", () => {
    let acc = 0.5;
    for (let i = 2; i < 9; i++) acc = acc * 0.9 + i;
    const body = (i: NDArray, c: NDArray) => c.mul(0.9).add(i);
    close(val(lax.foriLoop(2, 9, body, 0.5)), acc, 1e-6);
    close(val(jit((lo: NDArray, hi: NDArray) => lax.foriLoop(lo, hi, body, f32(0.5)))(np.array(2), np.array(9))), acc, 1e-6);
    expect(val(lax.foriLoop(5, 2, body, 0.5))).toBe(0.5);
  });
  it("scan: carry and stacked ys, reverse, length without xs, pytrees", () => {
    const xs = [1, 2, 3, 4, 5];
    const [c, ys] = lax.scan((c: NDArray, x: NDArray) => [c.add(x), c.mul(x)], 0.0, f32(xs));
    let cc = 0;
    const want: number[] = [];
    for (const x of xs) (want.push(cc * x), (cc += x));
    expect(val(c)).toBe(cc);
    expect(vals(ys)).toEqual(want);
    // reverse: the carry runs from the end; ys[i] still belongs to xs[i].
    const [rc, rys] = lax.scan((c: NDArray, x: NDArray) => [c.mul(2).add(x), c], 0.0, f32(xs), { reverse: true });
    let r = 0;
    const rwant = new Array<number>(xs.length);
    for (let i = xs.length - 1; i >= 0; i--) (rwant[i] = r), (r = 2 * r + xs[i]);
    expect(val(rc)).toBe(r);
    expect(vals(rys)).toEqual(rwant);
    // No xs: length gives the trip count; y may be null.
    const [fib, none] = lax.scan(([a, b]: NDArray[]) => [[b, a.add(b)], null], [np.array(0), np.array(1)], null, { length: 10 });
    expect(val(fib[0])).toBe(55);
    expect(none).toBe(null);
    // Pytree xs and ys.
    const [, out] = lax.scan((c: NDArray, x: { u: NDArray; v: NDArray }) => [c, { s: x.u.add(x.v), d: x.u.sub(x.v) }], f32(0), { u: f32([1, 2]), v: f32([[3], [4]]).reshape([2]) });
    expect(vals(out.s)).toEqual([4, 6]);
    expect(vals(out.d)).toEqual([-2, -2]);
  });
  it("map", () => {
    const xs = f32([[1, 2], [3, 4], [5, 6], [7, 8], [9, 10]]);
    const f = (r: NDArray) => np.sum(r.mul(r));
    expect(vals(lax.map(f, xs))).toEqual([5, 25, 61, 113, 181]);
    expect(vals(lax.map(f, xs, { batchSize: 2 }))).toEqual([5, 25, 61, 113, 181]);
  });
  it("closed-over arrays become operands", () => {
    const w = f32([1, 2, 3]);
    const text = String(makeJaxpr((x: NDArray) => lax.cond(x.sum().gt(0), (v: NDArray) => v.mul(w), (v: NDArray) => v.sub(w), x))(f32([1, 1, 1])));
    expect(text).toMatch(/cond\[[\s\S]*\] \w+ \w+ \w+\n/);
    expect(vals(lax.scan((c: NDArray, x: NDArray) => [c.add(x.mul(w)), null], f32([0, 0, 0]), f32([1, 2]))[0])).toEqual([3, 6, 9]);
  });
  it("errors: JAX's messages", () => {
    expect(() => lax.cond(f32([1, 2]).gt(0), (x: NDArray) => x, (x: NDArray) => x, f32(1))).toThrow(/Pred must be a scalar/);
    expect(() => lax.cond(true, (x: NDArray) => x, (x: NDArray) => [x, x], f32(1))).toThrow(/output must have same type structure/);
    expect(() => lax.cond(true, (x: NDArray) => x, (x: NDArray) => x.astype(np.int32), f32(1))).toThrow(/identical types/);
    expect(() => lax.whileLoop((x: NDArray) => x, (x: NDArray) => x, f32(1))).toThrow(/cond_fun must return a boolean scalar/);
    expect(() => lax.scan((c: NDArray, x: NDArray) => [c.astype(np.int32), x], f32(0), f32([1, 2]))).toThrow(/carry output must have equal types/);
    expect(() => lax.scan((c: NDArray) => [c, c], f32(0), null)).toThrow(/scan got no values to scan over and `length` not provided/);
    expect(() => lax.scan((c: NDArray) => [c, c], f32(0), f32([1, 2]), { length: 3 })).toThrow(/disagrees with leading axis sizes/);
    expect(() => lax.switch(0, [], f32(1))).toThrow(/Empty branch sequence/);
  });
});

describe("jit", () => {
  it("jit of each agrees with eager", () => {
    const c = (x: NDArray) => lax.cond(x.sum().gt(0), (v: NDArray) => np.sin(v), (v: NDArray) => np.cos(v), x);
    const w = (x: NDArray) => lax.whileLoop((v: NDArray) => v.sum().lt(100), (v: NDArray) => v.mul(1.5).add(1), x);
    const s = (x: NDArray) => lax.scan((c: NDArray, xi: NDArray) => [c.mul(0.5).add(xi), np.tanh(c)], f32(0), x);
    const fl = (x: NDArray) => lax.foriLoop(0, 4, (i: NDArray, v: NDArray) => v.mul(v).mul(0.3).add(i), x);
    const m = (x: NDArray) => lax.map((r: NDArray) => r.mul(2), x);
    for (const x of [f32([1, -2, 3]), f32([-1, -2, 0.5])]) {
      allClose(vals(jit(c)(x)), vals(c(x)));
      allClose(vals(jit(w)(x)), vals(w(x)));
      const [jc, jys] = jit(s)(x);
      const [ec, eys] = s(x);
      allClose([...vals(jc), ...vals(jys)], [...vals(ec), ...vals(eys)]);
      allClose(vals(jit(fl)(x)), vals(fl(x)));
      allClose(vals(jit(m)(x)), vals(m(x)));
    }
  });
  it("a JS `if` on a traced value inside jit throws a ConcretizationError naming the operation", () => {
    const f = jit((x: NDArray) => (x.gt(0).item() ? x : x.neg()));
    expect(() => f(f32(1))).toThrow(ConcretizationError);
    expect(() => f(f32(1))).toThrow(/^item: Abstract tracer value encountered/);
    // lax.cond is the staged way to write it.
    expect(val(jit((x: NDArray) => lax.cond(x.gt(0), (v: NDArray) => v, (v: NDArray) => v.neg(), x))(f32(-2)))).toBe(2);
  });
  it("with JIT disabled, control flow runs as JS on concrete values", () => {
    disableJit(() => {
      const seen: boolean[] = [];
      lax.cond(true, (x: NDArray) => (seen.push(typeof x.item() === "number"), x), (x: NDArray) => x, f32(1));
      expect(seen).toEqual([true]);
      const [c, ys] = lax.scan((c: NDArray, x: NDArray) => [c.add(x), c], f32(0), f32([1, 2, 3]));
      expect(val(c)).toBe(6);
      expect(vals(ys)).toEqual([0, 1, 3]);
      expect(val(lax.whileLoop((v: NDArray) => v.lt(10), (v: NDArray) => v.mul(3), f32(1)))).toBe(27);
      // Under vmap the JS loop runs on tracers (scan), or falls back to staging (a traced predicate).
      expect(vmap((x: NDArray) => lax.scan((c: NDArray, xi: NDArray) => [c.add(xi), c], 0.0, x)[1])(np.ones([2, 3])).tolist()).toEqual([[0, 1, 2], [0, 1, 2]]);
      expect(vals(vmap((x: NDArray) => lax.whileLoop((c: NDArray) => c.lt(5), (c: NDArray) => c.add(1), x))(f32([1, 7])))).toEqual([5, 7]);
    });
  });
});

describe("forward mode", () => {
  it("jvp of whileLoop against finite differences", () => {
    const g = (x: number) => {
      let c = x, k = 0;
      while (c < 10) (c = c * c + 0.5 * c), k++;
      return c;
    };
    const f = (x: NDArray) => lax.whileLoop((c: NDArray) => c.lt(10), (c: NDArray) => c.mul(c).add(c.mul(0.5)), x);
    for (const x0 of [1.3, 2.2]) {
      const [y, t] = jvp(f, [f32(x0)], [f32(1)]);
      close(val(y), g(x0), 1e-5);
      close(val(t), fd(g, x0, 1e-4), 1e-2);
    }
    // A tangent flowing in through a closed-over value (a body const).
    const h = (a: NDArray) => lax.whileLoop(([c]: NDArray[]) => c.lt(5), ([c, s]: NDArray[]) => [c.add(1), s.mul(a)], [f32(0), f32(1)])[1];
    const [y, t] = jvp(h, [f32(1.1)], [f32(1)]);
    close(val(y), 1.1 ** 5, 1e-5);
    close(val(t), 5 * 1.1 ** 4, 1e-4);
  });
  it("jvp and linearize of scan and cond", () => {
    const f = (x: NDArray) => lax.scan((c: NDArray, xi: NDArray) => [np.sin(c.mul(xi)), c], x, f32([0.5, 1.5, -1]))[0];
    const g = (x: number) => [0.5, 1.5, -1].reduce((c, xi) => Math.sin(c * xi), x);
    const [, t] = jvp(f, [f32(0.8)], [f32(1)]);
    close(val(t), fd(g, 0.8, 1e-4));
    const [, lin] = linearize(f, f32(0.8));
    close(val(lin(f32(2))), 2 * fd(g, 0.8, 1e-4));
    const c = (x: NDArray) => lax.cond(x.lt(1), (v: NDArray) => v.mul(v).mul(v), (v: NDArray) => np.exp(v), x);
    close(val(jvp(c, [f32(0.5)], [f32(1)])[1]), 0.75, 1e-5);
    close(val(jvp(c, [f32(2)], [f32(1)])[1]), Math.exp(2), 1e-5);
  });
});

describe("reverse mode", () => {
  it("grad of cond against finite differences (both branches, closed-over values)", () => {
    const k = f32(1.7);
    const f = (x: NDArray) => lax.cond(x.gt(0), (v: NDArray) => np.sin(v).mul(k), (v: NDArray) => v.mul(v).mul(v), x);
    const g = (x: number) => (x > 0 ? Math.sin(x) * 1.7 : x * x * x);
    for (const x0 of [0.7, -0.9]) close(val(grad(f)(f32(x0))), fd(g, x0, 1e-3));
    // With respect to the closed-over value.
    const fk = (kk: NDArray) => lax.cond(true, (v: NDArray) => np.sin(v).mul(kk), (v: NDArray) => v, f32(0.7));
    close(val(grad(fk)(f32(2))), Math.sin(0.7), 1e-5);
    // An output that one branch leaves constant.
    const h = (x: NDArray, y: NDArray) => lax.cond(x.gt(y), ([a, b]: NDArray[]) => a.mul(b), () => f32(3), [x, y]);
    const [gx, gy] = grad(h, { argnums: [0, 1] })(f32(2), f32(0.5));
    expect([val(gx), val(gy)]).toEqual([0.5, 2]);
    const [hx, hy] = grad(h, { argnums: [0, 1] })(f32(0.1), f32(0.5));
    expect([val(hx), val(hy)]).toEqual([0, 0]);
  });
  it("grad of switch with three branches", () => {
    const f = (i: NDArray, x: NDArray) => lax.switch(i, [(v: NDArray) => np.sin(v), (v: NDArray) => v.mul(v), (v: NDArray) => np.exp(v.mul(2))], x);
    const d = [Math.cos(0.3), 0.6, 2 * Math.exp(0.6)];
    for (let i = 0; i < 3; i++) close(val(grad(f, { argnums: 1 })(np.array(i), f32(0.3))), d[i], 1e-5);
    // vmap of it, with a batched (and clamped) index.
    allClose(vals(vmap(grad(f, { argnums: 1 }))(np.array([0, 1, 2, 9]), f32([0.3, 0.3, 0.3, 0.3]))), [...d, d[2]]);
  });
  it("grad of scan against finite differences (carry, xs, consts, reverse)", () => {
    const xs = [0.3, -1.2, 0.8, 2.0];
    const w0 = 0.9;
    const run = (c0: number, w: number, xsv: number[], reverse = false) => {
      let c = c0, total = 0;
      const order = reverse ? [...xsv].reverse() : xsv;
      for (const x of order) (c = Math.tanh(w * c + x)), (total += c * x);
      return c + total;
    };
    const f = (c0: NDArray, w: NDArray, xsa: NDArray, reverse = false) => {
      const [c, ys] = lax.scan((c: NDArray, x: NDArray) => {
        const n = np.tanh(w.mul(c).add(x));
        return [n, n.mul(x)];
      }, c0, xsa, { reverse });
      return c.add(np.sum(ys));
    };
    for (const reverse of [false, true]) {
      const [gc, gw, gx] = grad((a: NDArray, b: NDArray, c: NDArray) => f(a, b, c, reverse), { argnums: [0, 1, 2] })(f32(0.4), f32(w0), f32(xs));
      close(val(gc), fd((v) => run(v, w0, xs, reverse), 0.4, 1e-3));
      close(val(gw), fd((v) => run(0.4, v, xs, reverse), w0, 1e-3));
      vals(gx).forEach((g, i) => close(g, fd((v) => run(0.4, w0, xs.map((x, k) => (k === i ? v : x)), reverse), xs[i], 1e-3)));
    }
  });
  it("grad of foriLoop with static bounds against finite differences", () => {
    const f = (x: NDArray) => lax.foriLoop(0, 5, (i: NDArray, c: NDArray) => np.sin(c).mul(c).add(i.astype(np.float32).mul(0.1)), x);
    const g = (x: number) => {
      let c = x;
      for (let i = 0; i < 5; i++) c = Math.sin(c) * c + 0.1 * i;
      return c;
    };
    for (const x0 of [0.5, 1.3]) close(val(grad(f)(f32(x0))), fd(g, x0, 1e-3));
  });
  it("grad of whileLoop raises JAX's error", () => {
    const f = (x: NDArray) => lax.whileLoop((c: NDArray) => c.lt(10), (c: NDArray) => c.mul(2), x);
    expect(() => grad(f)(f32(1))).toThrow(ValueError);
    expect(() => grad(f)(f32(1))).toThrow(
      "Reverse-mode differentiation does not work for lax.while_loop or lax.fori_loop with dynamic start/stop values. Try using lax.scan, or using fori_loop with static start/stop.",
    );
    const dyn = jit((x: NDArray, n: NDArray) => grad((y: NDArray) => lax.foriLoop(0, n, (_i: NDArray, c: NDArray) => c.mul(c), y))(x));
    expect(() => dyn(f32(1), np.array(2))).toThrow(/Reverse-mode differentiation does not work/);
  });
  it("vjp of a scan with vector carry and nonzero ys cotangents", () => {
    const A = [[0.5, -0.2], [0.1, 0.9]];
    const f = (h0: NDArray) => lax.scan((h: NDArray, x: NDArray) => {
      const n = np.tanh(np.dot(f32(A), h).add(x));
      return [n, np.sum(n)];
    }, h0, f32([[0.1, 0.2], [0.3, -0.4], [0.5, 0.6]]));
    const [, pull] = vjp(f, f32([0.2, -0.1]));
    const [g] = pull([f32([1, -1]), f32([0.5, 1, 2])]);
    const ref = (h0: number[]) => {
      let h = h0;
      let total = 0;
      const ysCt = [0.5, 1, 2];
      [[0.1, 0.2], [0.3, -0.4], [0.5, 0.6]].forEach((x, t) => {
        h = [0, 1].map((r) => Math.tanh(A[r][0] * h[0] + A[r][1] * h[1] + x[r]));
        total += ysCt[t] * (h[0] + h[1]);
      });
      return total + h[0] - h[1];
    };
    vals(g).forEach((gi, i) => close(gi, fd((v) => ref([0.2, -0.1].map((h, k) => (k === i ? v : h))), [0.2, -0.1][i], 1e-3)));
  });
  it("composes: jit(grad), grad(jit), hessian, grad inside scan inside cond", () => {
    const f = (x: NDArray) => lax.scan((c: NDArray, xi: NDArray) => [c.mul(np.sin(c.add(xi))), null], x, f32([0.1, 0.2, 0.3]))[0];
    const g = (x: number) => [0.1, 0.2, 0.3].reduce((c, xi) => c * Math.sin(c + xi), x);
    const d = fd(g, 0.9, 1e-3);
    close(val(jit(grad(f))(f32(0.9))), d);
    close(val(grad(jit(f))(f32(0.9))), d);
    close(val(hessian(f)(f32(0.9))), (fd(g, 0.9 + 1e-2, 1e-3) - fd(g, 0.9 - 1e-2, 1e-3)) / 2e-2, 3e-2, 1e-2);
    const c = (x: NDArray) => lax.cond(x.gt(0), (v: NDArray) => f(v), (v: NDArray) => v.mul(3), x);
    close(val(grad(c)(f32(0.9))), d);
    close(val(hessian((x: NDArray) => lax.cond(x.gt(0), (v: NDArray) => v.mul(v).mul(v), (v: NDArray) => v, x))(f32(2))), 12, 1e-5);
    // grad of a function whose scan body contains a cond.
    const s = (x: NDArray) => lax.scan((c: NDArray, xi: NDArray) => [lax.cond(xi.gt(0), (v: NDArray) => v.mul(xi), (v: NDArray) => np.sin(v), c), null], x, f32([2, -1, 3]))[0];
    close(val(grad(s)(f32(0.5))), 6 * Math.cos(1), 1e-5);
  });
});

describe("nesting", () => {
  it("grad of a scan inside a scan, and of a while's forward derivative inside vmap", () => {
    const f = (x: NDArray) =>
      lax.scan((c: NDArray, row: NDArray) => [lax.scan((d: NDArray, v: NDArray) => [np.sin(d.mul(v)).add(d), null], c, row)[0], c], x, f32([[0.5, 1], [1.5, -0.5]]))[0];
    const g = (x: number) => [[0.5, 1], [1.5, -0.5]].reduce((c, row) => row.reduce((d, v) => Math.sin(d * v) + d, c), x);
    for (const x0 of [0.3, -1.1]) close(val(grad(f)(f32(x0))), fd(g, x0, 1e-3));
    const w = (x: NDArray) => lax.whileLoop((c: NDArray) => c.lt(4), (c: NDArray) => c.mul(c).add(1), x);
    const t = vmap((x: NDArray) => jvp(w, [x], [f32(1)])[1])(f32([0.5, 1.5]));
    const ref = (x: number) => {
      let c = x, d = 1;
      while (c < 4) (d = 2 * c * d), (c = c * c + 1);
      return d;
    };
    allClose(vals(t), [ref(0.5), ref(1.5)]);
  });
  it("linearize of a whileLoop works (forward mode), recomputing the loop", () => {
    const w = (x: NDArray) => lax.whileLoop((c: NDArray) => c.lt(4), (c: NDArray) => c.mul(c).add(1), x);
    const [y, lin] = linearize(w, f32(1.5));
    close(val(y), 1.5 * 1.5 + 1 === 3.25 ? 3.25 * 3.25 + 1 : NaN, 1e-6);
    close(val(lin(f32(2))), 2 * (2 * 3.25) * (2 * 1.5), 1e-6);
  });
  it("scan's unroll is recorded; true means the whole length", () => {
    expect(String(makeJaxpr((xs: NDArray) => lax.scan((c: NDArray, x: NDArray) => [c.add(x), null], f32(0), xs, { unroll: true }))(f32([1, 2, 3])))).toContain("unroll=3");
  });
});

describe("vmap", () => {
  it("cond with a batched predicate is a select over both branches", () => {
    const f = (x: NDArray) => lax.cond(x.gt(0), (v: NDArray) => np.sin(v), (v: NDArray) => v.mul(v), x);
    const xs = [-1.5, 0.25, 2, -0.1];
    allClose(vals(vmap(f)(f32(xs))), xs.map((x) => (x > 0 ? Math.sin(x) : x * x)));
    expect(String(makeJaxpr(vmap(f))(f32(xs)))).toContain("select_n");
    // Batched switch index, unbatched operand.
    const s = vmap((i: NDArray) => lax.switch(i, [(v: NDArray) => v.add(1), (v: NDArray) => v.mul(10), (v: NDArray) => v.neg()], f32(3)));
    expect(vals(s(np.array([2, 0, 1, 5, -1])))).toEqual([-3, 4, 30, -3, 4]);
  });
  it("cond with an unbatched predicate stays a cond", () => {
    const f = (p: NDArray, x: NDArray) => lax.cond(p, (v: NDArray) => v.mul(2), (v: NDArray) => v.sub(1), x);
    const text = String(makeJaxpr(vmap(f, { inAxes: [null, 0] }))(np.array(true), f32([1, 2, 3])));
    expect(text).toContain("cond[");
    expect(text).not.toContain("select_n");
    expect(vals(vmap(f, { inAxes: [null, 0] })(np.array(true), f32([1, 2, 3])))).toEqual([2, 4, 6]);
  });
  it("whileLoop with a batched predicate runs until all are done", () => {
    const f = (x: NDArray) => lax.whileLoop(([c]: NDArray[]) => c.lt(10), ([c, k]: NDArray[]) => [c.mul(2).add(1), k.add(1)], [x, np.array(0)]);
    const xs = [0, 3, 9.5, 12, 1];
    const [cs, ks] = vmap(f)(f32(xs));
    const ref = xs.map((x) => {
      let c = x, k = 0;
      while (c < 10) (c = 2 * c + 1), k++;
      return [c, k];
    });
    expect(vals(cs)).toEqual(ref.map((r) => r[0]));
    expect(vals(ks)).toEqual(ref.map((r) => r[1]));
    // Batched bound, unbatched carry init.
    const g = vmap((n: NDArray) => lax.foriLoop(0, n, (_i: NDArray, c: NDArray) => c.mul(2), f32(1)));
    expect(vals(g(np.array([0, 3, 1])))).toEqual([1, 8, 2]);
  });
  it("scan: batched xs, carry and consts", () => {
    const f = (w: NDArray, xs: NDArray) => lax.scan((c: NDArray, x: NDArray) => [c.mul(w).add(x), c], f32(0), xs);
    const ws = [0.5, 2];
    const xss = [[1, 2, 3], [4, 5, 6]];
    const [cs, ys] = vmap(f)(f32(ws), f32(xss));
    const ref = ws.map((w, b) => {
      let c = 0;
      const y: number[] = [];
      for (const x of xss[b]) (y.push(c), (c = c * w + x));
      return { c, y };
    });
    allClose(vals(cs), ref.map((r) => r.c));
    allClose(vals(ys), ref.flatMap((r) => r.y));
    expect(ys.shape).toEqual([2, 3]);
    // xs batched along another axis; unbatched consts.
    const [c2] = vmap((xs: NDArray) => f(f32(0.5), xs), { inAxes: 1 })(f32([[1, 4], [2, 5], [3, 6]]));
    allClose(vals(c2), [ref[0].c, 0.25 * 4 + 0.5 * 5 + 6]);
  });
  it("vmap of grad and grad of vmap through scan and cond", () => {
    const f = (x: NDArray) => lax.scan((c: NDArray, xi: NDArray) => [lax.cond(c.gt(0), (v: NDArray) => np.sin(v).add(xi), (v: NDArray) => v.mul(xi), c), null], x, f32([0.5, -0.3]))[0];
    const g = (x: number) => [0.5, -0.3].reduce((c, xi) => (c > 0 ? Math.sin(c) + xi : c * xi), x);
    const xs = [0.9, -0.7, 0.1];
    vals(vmap(grad(f))(f32(xs))).forEach((d, i) => close(d, fd(g, xs[i], 1e-3)));
    vals(grad((v: NDArray) => np.sum(vmap(f)(v)))(f32(xs))).forEach((d, i) => close(d, fd(g, xs[i], 1e-3)));
  });
});
