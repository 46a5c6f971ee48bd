// Named-axis collectives inside vmap(f, { axisName }) (lax.psum, pmean, pmax, pmin, allGather,
// ppermute, psumScatter, axisIndex): every result against its definition recomputed on the host
// in float64 from the same (float32) inputs; unbatched operands; nested axis names; jit around and
// inside the vmap; the printed equations; derivatives against host formulas and finite
// differences (checkGrads); JAX's errors.

import { describe, expect, it } from "vitest";
import { NDArray, PrimalError, checkGrads, grad, jit, lax, makeJaxpr, np, vmap } from "../../kernel/index";
import { NameError, NotAvailableError } from "../../kernel/core/errors";
import { at, build, expectClose, randArrays, vals } from "./helpers/host-arrays";

type Fn = (...args: any[]) => any;
const randArray = randArrays(1234);
const vm = (f: Fn, axisName: string, opts: Record<string, unknown> = {}) => vmap(f, { axisName, ...opts });

const B = 4;
const F = 3;

describe("collectives under vmap, against their definitions", () => {
  const [x, xs] = randArray([B, F]);
  const colSum = (k: number) => Array.from({ length: B }, (_, i) => xs[i * F + k]).reduce((a, b) => a + b, 0);

  it("psum: the sum over the mapped axis, the same for every element", () => {
    expectClose(vm((v) => lax.psum(v, "i"), "i")(x), build([B, F], ([, k]) => colSum(k)));
    // Unbatched result: outAxes null is allowed, as in JAX.
    expectClose(vm((v) => lax.psum(v, "i"), "i", { outAxes: null })(x), build([F], ([k]) => colSum(k)));
  });

  it("psum of a pytree, of booleans (as int32) and over a positional axis too", () => {
    const out = vm((v) => lax.psum({ a: v, b: [v.mul(2)] }, "i"), "i")(x);
    expectClose(out.a, build([B, F], ([, k]) => colSum(k)));
    expectClose(out.b[0], build([B, F], ([, k]) => 2 * colSum(k)));
    const counts = vm((v) => lax.psum(v.gt(0), "i"), "i")(x);
    expect(counts.dtype.name).toBe("int32");
    expect(vals(counts)).toEqual(build([B, F], ([, k]) => Array.from({ length: B }, (_, i) => xs[i * F + k] > 0).filter(Boolean).length));
    const all = vm((v) => lax.psum(v, ["i", 0]), "i")(x);
    const total = xs.reduce((a, b) => a + b, 0);
    expectClose(all, Array(B).fill(total));
  });

  it("an operand that does not vary along the axis gives axis_size * x (constants, unbatched arguments)", () => {
    const [w, ws] = randArray([F]);
    expectClose(vm((v) => v.add(lax.psum(w, "i")), "i")(x), build([B, F], ([i, k]) => xs[i * F + k] + B * ws[k]));
    expectClose(vm((v) => lax.psum(3, "i").mul(v), "i")(x), xs.map((a) => 3 * B * a));
    // w is an argument of the vmap with inAxes null: a tracer that is not batched.
    expectClose(vmap((v: NDArray, u: NDArray) => lax.psum(u, "i").add(v), { inAxes: [0, null], axisName: "i" })(x, w), build([B, F], ([i, k]) => xs[i * F + k] + B * ws[k]));
    expectClose(vm((v) => lax.pmax(w, "i").add(v.mul(0)), "i")(x), build([B, F], ([, k]) => ws[k]));
  });

  it("pmean, pmax, pmin", () => {
    expectClose(vm((v) => lax.pmean(v, "i"), "i")(x), build([B, F], ([, k]) => colSum(k) / B));
    const col = (k: number) => Array.from({ length: B }, (_, i) => xs[i * F + k]);
    expectClose(vm((v) => lax.pmax(v, "i"), "i")(x), build([B, F], ([, k]) => Math.max(...col(k))));
    expectClose(vm((v) => lax.pmin(v, "i"), "i")(x), build([B, F], ([, k]) => Math.min(...col(k))));
    // pmean of integers is a float mean (JAX's true divide).
    const m = vm((v) => lax.pmean(v, "i"), "i")(np.arange(B));
    expect(m.dtype.name).toBe("float32");
    expectClose(m, Array(B).fill((B - 1) / 2));
  });

  it("axisIndex: 0..size-1 as int32", () => {
    const idx = vm(() => lax.axisIndex("i"), "i")(x);
    expect(idx.dtype.name).toBe("int32");
    expect(vals(idx)).toEqual([0, 1, 2, 3]);
    expect(vals(vmap(() => lax.axisIndex("i").mul(2), { axisName: "i", axisSize: 5 })())).toEqual([0, 2, 4, 6, 8]);
    let size = 0;
    vm((v) => ((size = lax.axisSize("i")), v), "i")(x);
    expect(size).toBe(B);
    expect(() => lax.axisSize("i")).toThrow(NameError);
  });

  it("allGather: stacked along a new axis, or concatenated (tiled), the same for every element", () => {
    expectClose(vm((v) => lax.allGather(v, "i"), "i")(x), build([B, B, F], ([, j, k]) => xs[j * F + k]));
    expectClose(vm((v) => lax.allGather(v, "i", { axis: 1 }), "i")(x), build([B, F, B], ([, k, j]) => xs[j * F + k]));
    expectClose(vm((v) => lax.allGather(v, "i", { tiled: true }), "i")(x), build([B, B * F], ([, m]) => xs[m]));
    // A batch axis other than 0 (inAxes 1) gathers the same values.
    expectClose(vm((v) => lax.allGather(v, "i", { axis: -1 }), "i", { inAxes: 1 })(x.T), build([B, F, B], ([, k, j]) => xs[j * F + k]));
    // A constant is gathered from every element: size copies.
    expectClose(vm((v) => lax.allGather(np.ones([2]), "i").add(v.sum()), "i")(x), build([B, B, 2], ([i]) => 1 + [0, 1, 2].reduce((s, k) => s + xs[i * F + k], 0)));
  });

  it("ppermute: element src's value goes to dst; elements without a source get zeros", () => {
    const ring: [number, number][] = [[0, 1], [1, 2], [2, 3], [3, 0]];
    expectClose(vm((v) => lax.ppermute(v, "i", ring), "i")(x), build([B, F], ([i, k]) => xs[((i + B - 1) % B) * F + k]));
    const partial: [number, number][] = [[2, 0], [0, 3]];
    const src = [2, -1, -1, 0];
    expectClose(vm((v) => lax.ppermute(v, "i", partial), "i")(x), build([B, F], ([i, k]) => (src[i] < 0 ? 0 : xs[src[i] * F + k])));
    // Unbatched operands: a full permutation changes nothing, a partial one zeroes some elements.
    const [w, ws] = randArray([F]);
    expectClose(vm((v) => lax.ppermute(w, "i", ring).add(v.mul(0)), "i")(x), build([B, F], ([, k]) => ws[k]));
    expectClose(vm((v) => lax.ppermute(w, "i", partial).add(v.mul(0)), "i")(x), build([B, F], ([i, k]) => (src[i] < 0 ? 0 : ws[k])));
  });

  it("psumScatter: psum then element i keeps slice i (or block i when tiled)", () => {
    const [y, ys] = randArray([B, B, 2]);
    const S = (j: number, k: number) => Array.from({ length: B }, (_, i) => at(ys, [B, B, 2], [i, j, k])).reduce((a, b) => a + b, 0);
    expectClose(vm((v) => lax.psumScatter(v, "i"), "i")(y), build([B, 2], ([i, k]) => S(i, k)));
    // scatterDimension 1 of a [2, B] operand.
    expectClose(vm((v) => lax.psumScatter(v.T, "i", { scatterDimension: 1 }), "i")(y), build([B, 2], ([i, k]) => S(i, k)));
    // tiled: a [2B] operand split into B blocks of 2.
    expectClose(vm((v) => lax.psumScatter(v.reshape([2 * B]), "i", { tiled: true }), "i")(y), build([B, 2], ([i, m]) => S(Math.floor((2 * i + m) / 2), (2 * i + m) % 2)));
    // An unbatched operand: psum = size * w, then scattered.
    const [w, ws] = randArray([B]);
    expectClose(vm((v) => lax.psumScatter(w, "i").add(v.sum().mul(0)), "i")(y), build([B], ([i]) => B * ws[i]));
  });
});

describe("nested axis names", () => {
  const [x, xs] = randArray([2, 3, F]); // outer 'i' of 2, inner 'j' of 3
  const shape = [2, 3, F];
  const nested = (f: Fn) => vmap((r: NDArray) => vmap(f, { axisName: "j" })(r), { axisName: "i" })(x);

  it("a collective over the outer name inside the inner vmap", () => {
    expectClose(nested((v) => lax.psum(v, "i")), build(shape, ([, j, k]) => at(xs, shape, [0, j, k]) + at(xs, shape, [1, j, k])));
    expectClose(nested((v) => lax.psum(v, "j")), build(shape, ([i, , k]) => [0, 1, 2].reduce((s, j) => s + at(xs, shape, [i, j, k]), 0)));
    const total = (k: number) => [0, 1].reduce((s, i) => s + [0, 1, 2].reduce((t, j) => t + at(xs, shape, [i, j, k]), 0), 0);
    expectClose(nested((v) => lax.psum(v, ["i", "j"])), build(shape, ([, , k]) => total(k)));
    expectClose(nested((v) => lax.pmax(v, "i")), build(shape, ([, j, k]) => Math.max(at(xs, shape, [0, j, k]), at(xs, shape, [1, j, k]))));
    expectClose(nested((v) => lax.allGather(v, "i")), build([2, 3, 2, F], ([, j, m, k]) => at(xs, shape, [m, j, k])));
    expectClose(nested((v) => lax.ppermute(v, "i", [[0, 1], [1, 0]])), build(shape, ([i, j, k]) => at(xs, shape, [1 - i, j, k])));
    expect(vals(nested(() => lax.axisIndex("i").mul(10).add(lax.axisIndex("j"))))).toEqual([0, 1, 2, 10, 11, 12]);
    expect(vals(nested(() => lax.axisIndex(["i", "j"])))).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it("psumScatter over the outer name of a value batched by the inner vmap", () => {
    const [y, ys] = randArray([3, 2, 5]); // inner 'j' maps axis 0; outer 'i' (size 2) does not map it
    const out = vmap(() => vmap((v: NDArray) => lax.psumScatter(v, "i"), { axisName: "j" })(y), { axisName: "i", axisSize: 2 })();
    // Unbatched along 'i': psum = 2 * v; element i keeps row i of each inner element's [2, 5].
    expectClose(out, build([2, 3, 5], ([i, j, k]) => 2 * at(ys, [3, 2, 5], [j, i, k])));
  });

  it("collectives over the outer name move around the inner batch axis wherever it is", () => {
    // Inner batch axis after the gathered/scattered axis (inAxes 2 of a [2, 5, 3]).
    const [y, ys] = randArray([2, 5, 3]);
    const scat = vmap(() => vmap((v: NDArray) => lax.psumScatter(v, "i"), { axisName: "j", inAxes: 2 })(y), { axisName: "i", axisSize: 2 })();
    expectClose(scat, build([2, 3, 5], ([i, j, k]) => 2 * at(ys, [2, 5, 3], [i, k, j])));
    const tiled = vmap(() => vmap((v: NDArray) => lax.psumScatter(v, "i", { tiled: true, scatterDimension: 1 }), { axisName: "j", inAxes: 2 })(y.get(":", "0:4")), { axisName: "i", axisSize: 2 })();
    expectClose(tiled, build([2, 3, 2, 2], ([i, j, r, k]) => 2 * at(ys, [2, 5, 3], [r, 2 * i + k, j])));
    // all_gather over the outer axis of values batched along axis 1 by the inner vmap.
    const [z, zs] = randArray([2, 3, 4]);
    const gathered = vmap((r: NDArray) => vmap((v: NDArray) => lax.allGather(v, "i", { axis: 0 }), { axisName: "j", inAxes: 1 })(r), { axisName: "i" })(z);
    expectClose(gathered, build([2, 4, 2, 3], ([, j, m, k]) => at(zs, [2, 3, 4], [m, k, j])));
    const gatheredTiled = vmap((r: NDArray) => vmap((v: NDArray) => lax.allGather(v, "i", { tiled: true }), { axisName: "j", inAxes: 1 })(r), { axisName: "i" })(z);
    expectClose(gatheredTiled, build([2, 4, 6], ([, j, m]) => at(zs, [2, 3, 4], [Math.floor(m / 3), m % 3, j])));
  });

  it("a value batched only by the inner vmap is constant along the outer axis", () => {
    const [y, ys] = randArray([3, F]);
    const out = vmap(() => vmap((v: NDArray) => lax.psum(v, "i"), { axisName: "j" })(y), { axisName: "i", axisSize: 2 })();
    expectClose(out, build([2, 3, F], ([, j, k]) => 2 * ys[j * F + k]));
  });

  it("an inner vmap with the same name shadows the outer one", () => {
    const out = vmap((r: NDArray) => vmap((v: NDArray) => lax.psum(v, "i"), { axisName: "i" })(r), { axisName: "i" })(x);
    expectClose(out, build(shape, ([i, , k]) => [0, 1, 2].reduce((s, j) => s + at(xs, shape, [i, j, k]), 0)));
  });
});

describe("with jit and control flow", () => {
  const [x, xs] = randArray([B, F]);
  const colSum = build([B, F], ([, k]) => Array.from({ length: B }, (_, i) => xs[i * F + k]).reduce((a, b) => a + b, 0));

  it("jit(vmap(...)): the collectives become reductions of the batched program", () => {
    const f = vm((v) => lax.psum(v, "i").add(lax.axisIndex("i")), "i");
    expectClose(jit(f)(x), build([B, F], ([i, k]) => colSum[i * F + k] + i));
    const text = makeJaxpr(f)(x).toString();
    expect(text).toContain("reduce_sum[axes=(0,) out_sharding=None] a");
    expect(text).not.toContain("psum");
  });

  it("vmap(jit(...)): the jitted body is batched along the named axis", () => {
    const g = jit((v: NDArray) => lax.psum(v, "i").add(lax.axisIndex("i")).add(lax.allGather(v, "i").sum(0)));
    expectClose(vm(g, "i")(x), build([B, F], ([i, k]) => 2 * colSum[i * F + k] + i));
  });

  it("staged inside the vmap, the equations print as JAX's", () => {
    let text = "";
    vm((v) => {
      text = makeJaxpr((u: NDArray) => [lax.psum(u, "i"), lax.ppermute(u, "i", [[0, 1], [1, 0]]), lax.axisIndex("i"), lax.pmax(u, "i")])(v).toString();
      return v;
    }, "i")(x);
    expect(text).toContain("b:f32[3] = psum[axes=('i',) axis_index_groups=None] a");
    expect(text).toContain("c:f32[3] = ppermute[axis_name=('i',) perm=((0, 1), (1, 0))] a");
    expect(text).toContain("d:i32[] = axis_index[axis_name=i]");
    expect(text).toContain("e:f32[3] = pmax[axes=('i',) axis_index_groups=None] a");
    vm((v) => {
      text = makeJaxpr((u: NDArray) => lax.allGather(u, "i"))(v).toString();
      return v;
    }, "i")(x);
    expect(text.replace(/\s+/g, " ")).toContain("b:f32[4,3] = all_gather[ all_gather_dimension=0 axis_index_groups=None axis_name=('i',) axis_size=4 tiled=False ] a");
  });

  it("lax.scan and lax.cond bodies inside the vmap reduce over its axis", () => {
    const scanned = vm((v) => lax.scan((c: NDArray, e: NDArray) => [c.add(lax.psum(e, "i")), c], np.zeros([], { dtype: "float32" }), v)[0], "i")(x);
    const total = xs.reduce((a, b) => a + b, 0);
    expectClose(scanned, Array(B).fill(total));
    const idx = vm((v) => lax.cond(v.sum().gt(-100), () => lax.axisIndex("i"), () => lax.axisIndex("i").mul(0)), "i")(x);
    expect(vals(idx)).toEqual([0, 1, 2, 3]);
  });
});

describe("differentiation", () => {
  const [x, xs] = randArray([B, F]);
  const [c, cs] = randArray([B, F]);
  const ring: [number, number][] = [[0, 1], [1, 2], [2, 3], [3, 0]];
  const dst = [1, 2, 3, 0];

  it("grad of a sum over elements, through each linear collective, against host formulas", () => {
    // L(X) = sum_i sum_k c_ik * coll(X)_ik, so dL/dX is the collective's transpose applied to c.
    const loss = (coll: (v: NDArray) => NDArray) => (X: NDArray) => vm((v, w) => coll(v).mul(w).sum(), "i")(X, c).sum();
    const cSum = build([B, F], ([, k]) => Array.from({ length: B }, (_, i) => cs[i * F + k]).reduce((a, b) => a + b, 0));
    expectClose(grad(loss((v) => lax.psum(v, "i")))(x), cSum);
    expectClose(grad(loss((v) => lax.pmean(v, "i")))(x), cSum.map((s) => s / B));
    expectClose(grad(loss((v) => lax.ppermute(v, "i", ring)))(x), build([B, F], ([i, k]) => cs[dst[i] * F + k]));
    // allGather(v)[j] is X_j: dL/dX_j = sum_i c_i (each element weighs the gathered row j by its own c).
    const lossG = (X: NDArray) => vm((v: NDArray, w: NDArray) => lax.allGather(v, "i").mul(w).sum(), "i")(X, c).sum();
    expectClose(grad(lossG)(x), cSum);
  });

  it("vmap(grad(...)) with collectives inside is the per-element gradient of the summed loss (JAX's psum transpose)", () => {
    const perExample = (coll: (v: NDArray) => NDArray) => vm(grad((v: NDArray, w: NDArray) => np.sin(coll(v)).mul(w).sum()), "i");
    const summed = (coll: (v: NDArray) => NDArray) => grad((X: NDArray) => vm((v: NDArray, w: NDArray) => np.sin(coll(v)).mul(w).sum(), "i")(X, c).sum());
    const psumS = build([F], ([k]) => Array.from({ length: B }, (_, i) => xs[i * F + k]).reduce((a, b) => a + b, 0));
    // d/dX_i sum_j sum_k c_jk sin(S_k) = cos(S_k) * sum_j c_jk.
    const want = build([B, F], ([, k]) => Math.cos(psumS[k]) * Array.from({ length: B }, (_, j) => cs[j * F + k]).reduce((a, b) => a + b, 0));
    expectClose(perExample((v) => lax.psum(v, "i"))(x, c), want, 1e-4);
    expectClose(summed((v) => lax.psum(v, "i"))(x), want, 1e-4);
    // ppermute: element i's value lands at dst(i): the gradient is c_dst(i) cos(x_i).
    const wantP = build([B, F], ([i, k]) => cs[dst[i] * F + k] * Math.cos(xs[i * F + k]));
    expectClose(perExample((v) => lax.ppermute(v, "i", ring))(x, c), wantP, 1e-4);
    expectClose(summed((v) => lax.ppermute(v, "i", ring))(x), wantP, 1e-4);
  });

  it("allGather and psumScatter transpose to each other", () => {
    const [y, ys] = randArray([B, B, F]);
    const [cy, cys] = randArray([B, F]);
    // L = sum_i <c_i, psumScatter(Y)_i> = sum_i sum_j <c_i, Y_j[i]>: dL/dY_j[i] = c_i.
    const viaScatter = vm(grad((v: NDArray, w: NDArray) => lax.psumScatter(v, "i").mul(w).sum()), "i")(y, cy);
    expectClose(viaScatter, build([B, B, F], ([, i, k]) => cys[i * F + k]));
    const summed = grad((Y: NDArray) => vm((v: NDArray, w: NDArray) => lax.psumScatter(v, "i").mul(w).sum(), "i")(Y, cy).sum())(y);
    expectClose(summed, build([B, B, F], ([, i, k]) => cys[i * F + k]));
    // L = sum_i <C_i, allGather(x)> = sum_i sum_j <C_i[j], x_j>: dL/dx_j = sum_i C_i[j] (tiled too).
    const viaGather = vm(grad((v: NDArray, w: NDArray) => lax.allGather(v, "i").mul(w).sum()), "i")(x, y);
    expectClose(viaGather, build([B, F], ([j, k]) => Array.from({ length: B }, (_, i) => at(ys, [B, B, F], [i, j, k])).reduce((a, b) => a + b, 0)));
    const tiled = vm(grad((v: NDArray, w: NDArray) => lax.allGather(v, "i", { tiled: true }).mul(w.reshape([B * F])).sum()), "i")(x, y);
    expectClose(tiled, build([B, F], ([j, k]) => Array.from({ length: B }, (_, i) => at(ys, [B, B, F], [i, j, k])).reduce((a, b) => a + b, 0)));
    void cys;
  });

  it("finite differences (checkGrads, forward and reverse) through every linear collective", () => {
    const [y] = randArray([B, B, 2]);
    const fs: [string, Fn, NDArray][] = [
      ["psum", (X: NDArray) => vm((v) => np.tanh(lax.psum(v, "i")).mul(v), "i")(X).sum(), x],
      ["pmean", (X: NDArray) => vm((v) => np.sin(lax.pmean(v.mul(v), "i")).add(v), "i")(X).sum(), x],
      ["ppermute", (X: NDArray) => vm((v) => lax.ppermute(np.sin(v), "i", [[0, 2], [2, 1], [1, 0]]).mul(v), "i")(X).sum(), x],
      ["allGather", (X: NDArray) => vm((v) => np.tanh(lax.allGather(v, "i", { axis: 1 })).sum(1).mul(v), "i")(X).sum(), x],
      ["psumScatter", (Y: NDArray) => vm((v) => np.sin(lax.psumScatter(v, "i", { scatterDimension: 0 })).mul(v.get(0)), "i")(Y).sum(), y],
    ];
    for (const [name, f, arg] of fs) {
      try {
        checkGrads(f, [arg], 1, { rtol: 2e-2, atol: 2e-2 });
      } catch (e) {
        throw new Error(`${name}: ${String(e)}`);
      }
    }
  });

  it("data-parallel: per-example gradients pmean'ed over the axis equal the gradient of the mean loss", () => {
    const N = 6;
    const [X, Xs] = randArray([N, F]);
    const [Y, Ys] = randArray([N]);
    const [W, Ws] = randArray([F]);
    const loss = (w: NDArray, xi: NDArray, yi: NDArray) => np.square(np.dot(xi, w).sub(yi));
    const step = vmap((xi: NDArray, yi: NDArray, w: NDArray) => lax.pmean(grad(loss)(w, xi, yi), "i"), { inAxes: [0, 0, null], outAxes: null, axisName: "i" });
    const got = step(X, Y, W);
    // Host: d/dw mean_n (x_n.w - y_n)^2 = (2/N) sum_n (x_n.w - y_n) x_n.
    const r = Array.from({ length: N }, (_, n) => [0, 1, 2].reduce((s, k) => s + Xs[n * F + k] * Ws[k], 0) - Ys[n]);
    const want = build([F], ([k]) => (2 / N) * r.reduce((s, rn, n) => s + rn * Xs[n * F + k], 0));
    expectClose(got, want, 1e-4);
    expectClose(grad((w: NDArray) => np.mean(np.square(np.dot(X, w).sub(Y))))(W), want, 1e-4);
    // The same under jit, and the loss pmean'ed inside grad (JAX: each element gets its own gradient).
    expectClose(jit(step)(X, Y, W), want, 1e-4);
    const inside = vmap((xi: NDArray, yi: NDArray, w: NDArray) => grad((u: NDArray) => lax.pmean(loss(u, xi, yi), "i"))(w), { inAxes: [0, 0, null], axisName: "i" })(X, Y, W);
    expectClose(inside, build([N, F], ([n, k]) => 2 * r[n] * Xs[n * F + k]), 1e-4);
  });

  it("pmax and pmin have no derivative, as in JAX; outside the grad (or through stopGradient) they are fine", () => {
    expect(() => vm(grad((v: NDArray) => lax.pmax(v, "i").sum()), "i")(x)).toThrow(/Differentiation rule for 'pmax' not implemented/);
    expect(() => vm(grad((v: NDArray) => lax.pmin(v, "i").sum()), "i")(x)).toThrow(/Differentiation rule for 'pmin' not implemented/);
    // grad(vmap(...)): the vmap turns pmax into a reduce_max first, which has a derivative (as in
    // JAX): the gradient goes to each column's maximum.
    const gmax = grad((X: NDArray) => vm((v) => lax.pmax(v, "i").mul(c.get(0)), "i")(X).sum())(x);
    const argmaxRow = (k: number) => Array.from({ length: B }, (_, i) => i).reduce((m, i) => (xs[i * F + k] > xs[m * F + k] ? i : m), 0);
    expectClose(gmax, build([B, F], ([i, k]) => (i === argmaxRow(k) ? B * cs[k] : 0)));
    // Log-sum-exp over the axis, stabilised by the (constant) maximum.
    const lse = (v: NDArray) => {
      const m = lax.pmax(lax.stopGradient(v), "i");
      return np.log(lax.psum(np.exp(v.sub(m)), "i")).add(m);
    };
    const g = vm(grad((v: NDArray) => lse(v).sum()), "i")(x);
    // d/dx_i of sum over elements of LSE = B * softmax_i (psum's transpose sums the B equal cotangents).
    const want = build([B, F], ([i, k]) => {
      const col = Array.from({ length: B }, (_, j) => xs[j * F + k]);
      return (B * Math.exp(xs[i * F + k])) / col.reduce((s, v) => s + Math.exp(v), 0);
    });
    expectClose(g, want, 1e-4);
  });
});

describe("errors", () => {
  const [x] = randArray([B, F]);

  it("an unbound axis name is JAX's NameError, naming the axis", () => {
    let err: unknown = null;
    try {
      lax.psum(x, "i");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NameError);
    expect(err).toBeInstanceOf(PrimalError);
    expect((err as NameError).axisName).toBe("i");
    expect(String(err)).toBe("NameError: unbound axis name: i");
    expect(() => lax.axisIndex("i")).toThrow(/^unbound axis name: i$/);
    expect(() => vm((v) => lax.pmax(v, "j"), "i")(x)).toThrow(/^unbound axis name: j\. The following axis names \(e\.g\. defined by pmap\) are available to collective operations: \['i'\]$/);
    expect(() => vm((v) => lax.allGather(v, "j"), "i")(x)).toThrow(NameError);
    // A vmap without an axisName binds no name.
    expect(() => vmap((v: NDArray) => lax.psum(v, "i"))(x)).toThrow(NameError);
    // Staged inside jit the check is the same.
    expect(() => jit((v: NDArray) => lax.ppermute(v, "k", [[0, 1]]))(x)).toThrow(/unbound axis name: k/);
  });

  it("bad arguments", () => {
    expect(() => vm((v) => lax.ppermute(v, "i", [[0, 1], [1, 1]]), "i")(x)).toThrow("ppermute sources and destinations must be unique, got ((0, 1), (1, 1)).");
    expect(() => vm((v) => lax.ppermute(v, "i", [[0, 4]]), "i")(x)).toThrow(/ppermute: perm indices must be in \[0, 4\)/);
    expect(() => vm((v) => lax.psumScatter(v, "i"), "i")(x)).toThrow("reduce_scatter operand scatter dimension size 3 must match shard count 4");
    expect(() => vm((v) => lax.psumScatter(v, "i", { tiled: true }), "i")(x)).toThrow("tiled reduce_scatter operand scatter dimension size 3 must be divisible by shard_count 4");
    expect(() => vm((v) => lax.allGather(v, "i", { axis: 2 }), "i")(x)).toThrow(/all_gather: axis 2 is out of bounds for array of dimension 2/);
    expect(() => vm((v) => lax.psum(v, 3 as unknown as string), "i")(x)).toThrow(/psum: axisName must be a string or an array of strings, got/);
    expect(() => vm((v) => lax.psum(v, "i", { axisIndexGroups: [[0, 1], [2, 3]] }), "i")(x)).toThrow(NotAvailableError);
    expect(() => vm((v) => lax.psum(v, "i", { axisIndexGroups: [[0, 1], [2, 3]] }), "i")(x)).toThrow(/psum: axis_index_groups not supported in vmap collectives/);
    expect(() => vm((v) => lax.allGather(v, "i", { axes: 1 } as object), "i")(x)).toThrow(/all_gather: unknown option, got "axes"/);
  });
});
