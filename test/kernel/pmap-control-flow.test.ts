// Collectives inside cond, scan and while in a pmap body (PRIMAL_CPU_DEVICES=4, set before the
// kernel loads), against host float64 references of JAX's semantics: a cond whose shards agree
// runs that branch; shards that pick different branches each get their own branch's result,
// every branch's collectives seeing every shard; a scan with a psum per iteration (forward and
// reverse, stacked ys); a while loop whose shards stop at different iterations (the finished
// ones keep their carry, the body's collective still sees them); the gradient through a scan
// holding a psum; an inner pmap using the outer axis; a customJvp function holding a psum.

import { describe, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.PRIMAL_CPU_DEVICES = "4";
});

import { NDArray, customJvp, grad, jvp, lax, np, pmap } from "../../kernel/index";
import { at, build, expectClose, randArrays, vals } from "./helpers/host-arrays";

const D = 4;
const randArray = randArrays(2024);
const pm = (f: (...a: any[]) => any, opts: Record<string, unknown> = {}) => pmap(f, { axisName: "i", ...opts });
const shards = [0, 1, 2, 3];

describe("cond in a pmap body", () => {
  const [x, xs] = randArray([D, 3]);
  const col = (k: number) => shards.map((i) => xs[i * 3 + k]);
  const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);

  it("every shard picks the same branch: that branch's collective", () => {
    // The predicate is itself a psum, so it is the same on every shard.
    const f = (v: NDArray) => lax.cond(lax.psum(v.sum(), "i").gt(-1000), (u: NDArray) => lax.psum(u, "i").mul(2), (u: NDArray) => u, v);
    expectClose(pm(f)(x), build([D, 3], ([, k]) => 2 * sum(col(k))));
  });

  it("shards that pick different branches each get their branch, whose collectives see every shard", () => {
    const f = (v: NDArray) =>
      lax.cond(
        lax.axisIndex("i").lt(2),
        (u: NDArray) => lax.psum(u, "i"),
        (u: NDArray) => lax.pmax(u, "i").add(lax.axisIndex("i")),
        v,
      );
    expectClose(pm(f)(x), build([D, 3], ([i, k]) => (i < 2 ? sum(col(k)) : Math.max(...col(k)) + i)));
  });

  it("lax.switch with three branches and a clamped index", () => {
    const f = (v: NDArray) =>
      lax.switch(
        lax.axisIndex("i").sub(1),
        [(u: NDArray) => lax.pmin(u, "i"), (u: NDArray) => lax.pmean(u, "i"), (u: NDArray) => u.mul(10)],
        v,
      );
    // Shard i takes branch i - 1: shard 0's -1 clamps to branch 0.
    expectClose(pm(f)(x), build([D, 3], ([i, k]) => [Math.min(...col(k)), Math.min(...col(k)), sum(col(k)) / D, 10 * xs[i * 3 + k]][i]));
  });
});

describe("scan in a pmap body", () => {
  const T = 5;
  const [x, xs] = randArray([D, T, 2]);
  const S = (t: number, k: number) => shards.reduce((s, i) => s + at(xs, [D, T, 2], [i, t, k]), 0);

  for (const reverse of [false, true]) {
    it(`a psum per iteration, carry and stacked ys${reverse ? " (reverse)" : ""}`, () => {
      const f = (v: NDArray) =>
        lax.scan(
          (c: NDArray, xt: NDArray) => {
            const s = lax.psum(xt, "i");
            const c2 = c.mul(0.5).add(s);
            return [c2, c2.mul(xt)];
          },
          np.zeros([2]),
          v,
          { reverse },
        );
      const [carry, ys] = pm(f)(x) as NDArray[];
      expect(ys.shape).toEqual([D, T, 2]);
      const wantC: number[] = [];
      const wantY: number[] = new Array(D * T * 2);
      for (let i = 0; i < D; i++)
        for (let k = 0; k < 2; k++) {
          let c = 0;
          for (let s = 0; s < T; s++) {
            const t = reverse ? T - 1 - s : s;
            c = 0.5 * c + S(t, k);
            wantY[(i * T + t) * 2 + k] = c * at(xs, [D, T, 2], [i, t, k]);
          }
          wantC[i * 2 + k] = c;
        }
      expectClose(carry, wantC, 1e-5);
      expectClose(ys, wantY, 1e-5);
    });
  }

  it("grad through a scan holding a psum: d/dx[i,t] of sum_i sum_t psum(x_t)^2 = 2 D S_t", () => {
    const loss = (v: NDArray) =>
      np.sum(
        pm((u: NDArray) => lax.scan((c: NDArray, xt: NDArray) => [c.add(lax.psum(xt, "i").pow(2).sum()), null], np.array(0), u)[0])(v) as NDArray,
      );
    const g = grad(loss)(x) as NDArray;
    expectClose(g, build([D, T, 2], ([, t, k]) => 2 * D * S(t, k)), 1e-4);
    // jvp along a direction, against the same derivative.
    const [dx, dxs] = randArray([D, T, 2]);
    const [, tan] = jvp(loss, [x], [dx]) as NDArray[];
    const want = dxs.reduce((acc, d, n) => {
      const [t, k] = [Math.floor(n / 2) % T, n % 2];
      return acc + d * 2 * D * S(t, k);
    }, 0);
    expectClose(tan, [want], 1e-4);
  });
});

describe("while in a pmap body", () => {
  it("shards stop at different iterations; the finished ones keep their carry and still count in the body's psum", () => {
    // c += psum(1) (= 4) while c < limit_i: limits 4, 8, 12, 17 -> 1, 2, 3 and 5 iterations.
    const limits = np.array([4, 8, 12, 17], { dtype: "int32" });
    const f = (lim: NDArray) => lax.whileLoop((c: NDArray) => c.lt(lim), (c: NDArray) => c.add(lax.psum(np.array(1, { dtype: "int32" }), "i")), np.array(0, { dtype: "int32" }));
    expect(vals(pm(f)(limits))).toEqual([4, 8, 12, 20]);
  });

  it("foriLoop with a pmean of the carry", () => {
    const [x, xs] = randArray([D, 2]);
    const f = (v: NDArray) => lax.foriLoop(0, 3, (_: NDArray, c: NDArray) => lax.pmean(c, "i").add(c).mul(0.5), v);
    let ref = xs;
    for (let s = 0; s < 3; s++) {
      const mean = [0, 1].map((k) => shards.reduce((a, i) => a + ref[i * 2 + k], 0) / D);
      ref = ref.map((v, n) => 0.5 * (mean[n % 2] + v));
    }
    expectClose(pm(f)(x), ref, 1e-5);
  });
});

describe("an inner pmap using the outer pmap's axis", () => {
  it("psum over the outer axis, over the inner axis and axisIndex of both, against the host", () => {
    const [x, xs] = randArray([2, 2, 3]);
    const X = (i: number, j: number, k: number) => at(xs, [2, 2, 3], [i, j, k]);
    const inner = (v: NDArray) =>
      lax
        .psum(v, "i")
        .add(lax.psum(v, "j").mul(10))
        .add(lax.axisIndex("i").mul(100))
        .add(lax.axisIndex("j").mul(1000));
    const out = pmap(pmap(inner, { axisName: "j" }), { axisName: "i" })(x);
    expect(out.shape).toEqual([2, 2, 3]);
    expectClose(out, build([2, 2, 3], ([i, j, k]) => X(0, j, k) + X(1, j, k) + 10 * (X(i, 0, k) + X(i, 1, k)) + 100 * i + 1000 * j), 1e-5);
  });

  it("inner in_axes 1, an unmapped inner output, and grad through both", () => {
    const [x, xs] = randArray([2, 3, 2]);
    const X = (i: number, k: number, j: number) => at(xs, [2, 3, 2], [i, k, j]);
    const f = pmap(pmap((v: NDArray) => [lax.pmean(v, "i").mul(v), lax.psum(v.sum(), ["i", "j"])], { axisName: "j", inAxes: 1, outAxes: [1, null] }), { axisName: "i" });
    const [a, b] = f(x) as NDArray[];
    expect(a.shape).toEqual([2, 3, 2]);
    expectClose(a, build([2, 3, 2], ([i, k, j]) => ((X(0, k, j) + X(1, k, j)) / 2) * X(i, k, j)), 1e-5);
    const total = xs.reduce((s, v) => s + v, 0);
    expectClose(b, [total, total], 1e-4);
    // d/dx[i,k,j] of sum over everything of pmean_i(x) * x = (sum_i' x[i',k,j]) / 2 + (sum_i' x[i',k,j]) / 2.
    const g = grad((y: NDArray) => np.sum((f(y) as NDArray[])[0]))(x) as NDArray;
    expectClose(g, build([2, 3, 2], ([, k, j]) => X(0, k, j) + X(1, k, j)), 1e-4);
  });
});

describe("customJvp and customVjp functions in a pmap body", () => {
  it("a customJvp function holding a psum runs its function; its rule gives the gradient", () => {
    const [x, xs] = randArray([D, 3]);
    const col = (k: number) => shards.reduce((a, i) => a + xs[i * 3 + k], 0);
    // g(u) = psum(u)^2 with a rule that says d g = 2 psum(u) psum(du) * 3 (deliberately 3x the true one).
    const g = customJvp((u: NDArray) => lax.psum(u, "i").pow(2));
    g.defjvp(([u]: NDArray[], [du]: NDArray[]) => {
      const s = lax.psum(u, "i");
      return [s.pow(2), s.mul(lax.psum(du, "i")).mul(6)];
    });
    expectClose(pm((v: NDArray) => g(v))(x), build([D, 3], ([, k]) => col(k) ** 2), 1e-5);
    // d/dx[i,k] of sum over shards of g = D * 3 * 2 * S_k (the rule, not the function, is differentiated).
    const dg = grad((y: NDArray) => np.sum(pm((v: NDArray) => g(v))(y) as NDArray))(x) as NDArray;
    expectClose(dg, build([D, 3], ([, k]) => D * 6 * col(k)), 1e-4);
  });
});
