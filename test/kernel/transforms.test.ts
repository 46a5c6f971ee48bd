// Table-driven checks of the transformations on every differentiable family: for each row
// (a function built from the NumPy API and its inputs), jvp against central finite differences
// of the eager function, vjp against jvp (the dot-product test <ct, J t> = <J^T ct, t>),
// vmap against a loop, jit against eager, and the compositions the issue names. Plus the
// registry test: every primitive has its jvp and batching rules, and linear ones a transpose.

import { describe, expect, it, vi } from "vitest";
import { ConcretizationError, NDArray, grad, jacfwd, jacrev, jit, jvp, makeJaxpr, np, random, valueAndGrad, vjp, vmap } from "../../kernel/index";
import { allPrimitives } from "../../kernel/core/primitive";

type F = (...xs: NDArray[]) => NDArray;
const key = random.key(7);
let seed = 0;
/** Random float32 inputs in [lo, hi] (deterministic per call order). */
const rnd = (shape: number[], lo = -1.5, hi = 1.5): NDArray => random.uniform(random.foldIn(key, seed++), shape, { minval: lo, maxval: hi });
const f64 = (x: NDArray) => Array.from(x.dataSync(), Number);
const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i], 0);
const norm = (a: number[]) => Math.sqrt(dot(a, a));

interface Row {
  name: string;
  f: F;
  args: () => NDArray[];
  /** Relative tolerance for the finite-difference check. */
  tol?: number;
}

const rows: Row[] = [
  { name: "sin cos mul", f: (x) => np.sin(x).mul(np.cos(x.mul(2))), args: () => [rnd([5])] },
  { name: "exp log1p tanh", f: (x) => np.exp(x).add(np.log1p(x.mul(x))).mul(np.tanh(x)), args: () => [rnd([3, 2])] },
  { name: "div sqrt", f: (x, y) => np.sqrt(x).div(y), args: () => [rnd([4], 0.5, 2), rnd([4], 0.5, 2)] },
  { name: "broadcasting binary", f: (x, y) => x.mul(y).sub(y.pow(2)), args: () => [rnd([2, 3]), rnd([3])] },
  { name: "power float exponent", f: (x, y) => np.power(x, y), args: () => [rnd([4], 0.5, 2), rnd([4])] },
  { name: "maximum minimum", f: (x, y) => np.maximum(x, y).add(np.minimum(x, y.mul(0.5))), args: () => [rnd([6]), rnd([6])] },
  { name: "arctan2 logistic erf", f: (x, y) => np.arctan2(x, y).add(np.exp(np.negative(x))).mul(np.tanh(y)), args: () => [rnd([3]), rnd([3], 0.5, 1.5)] },
  { name: "where", f: (x, y) => np.where(x.gt(0), x.mul(y), y), args: () => [rnd([5]), rnd([5])] },
  { name: "sum mean", f: (x) => np.sum(x.mul(x), { axis: 0 }).add(np.mean(x, { axis: 0 })), args: () => [rnd([3, 4])] },
  { name: "max prod", f: (x) => np.max(x, { axis: 1 }).mul(np.prod(x, { axis: 1 })), args: () => [rnd([3, 4], 0.5, 2)] },
  { name: "logsumexp softmax-like", f: (x) => x.sub(np.logsumexp(x, { axis: -1, keepdims: true })), args: () => [rnd([2, 5])] },
  { name: "cumsum cumprod", f: (x) => np.cumsum(x).add(np.cumprod(x)), args: () => [rnd([5], 0.5, 1.5)] },
  { name: "matmul", f: (a, b) => np.matmul(a, b), args: () => [rnd([3, 4]), rnd([4, 2])] },
  { name: "batched matmul einsum", f: (a, b) => np.einsum("bij,bjk->bik", a, b), args: () => [rnd([2, 3, 4]), rnd([2, 4, 2])] },
  { name: "reshape transpose", f: (x) => x.reshape([3, 2]).T.mul(x.reshape([2, 3])), args: () => [rnd([6])] },
  { name: "slices and concat", f: (x) => np.concatenate([x.get("1:"), x.get("::-2"), np.flip(x)]), args: () => [rnd([5])] },
  { name: "pad roll tile", f: (x) => np.pad(np.roll(x, 1), [[1, 2]]).sum().add(np.tile(x, 2)), args: () => [rnd([3])] },
  { name: "gather and scatter-add", f: (x) => x.get(np.array([2, 0, 2])).add(x.at(np.array([1, 1])).add(x.get("0:2")).get(np.array([1, 3, 0]))), args: () => [rnd([4])] },
  { name: "take_along_axis", f: (x) => np.takeAlongAxis(x, np.array([[1, 0], [0, 0]]), 1), args: () => [rnd([2, 3])] },
  { name: "sort", f: (x) => np.sort(x).mul(np.arange(5).astype("float32")), args: () => [rnd([5])] },
  { name: "var std", f: (x) => np.var(x, { axis: 0 }).add(np.std(x, { axis: 0 })), args: () => [rnd([4, 3])] },
  { name: "clip abs", f: (x) => np.clip(x, -0.5, 0.7).add(np.abs(x.sub(0.1))), args: () => [rnd([6])] },
  { name: "astype float16 roundtrip", f: (x) => x.astype("float16").astype("float32").mul(x), args: () => [rnd([3])], tol: 5e-2 },
];

/** Central finite difference of f at xs along ts, computed with the eager forward. */
function finiteDiff(f: F, xs: NDArray[], ts: NDArray[], eps = 1e-3): number[] {
  const plus = f(...xs.map((x, i) => x.add(ts[i].mul(eps))));
  const minus = f(...xs.map((x, i) => x.sub(ts[i].mul(eps))));
  return f64(plus).map((p, k) => (p - f64(minus)[k]) / (2 * eps));
}

describe.each(rows)("$name", (row) => {
  const xs = row.args();
  const ts = xs.map((x) => rnd(x.shape));
  it("jvp matches central finite differences", () => {
    const [out, tout] = jvp(row.f, xs, ts);
    expect(out.shape).toEqual(row.f(...xs).shape);
    const fd = finiteDiff(row.f, xs, ts);
    const t = f64(tout);
    expect(norm(t.map((v, i) => v - fd[i]))).toBeLessThanOrEqual((row.tol ?? 1e-2) * Math.max(1, norm(fd)));
  });
  it("vjp is the transpose of jvp: <ct, J t> = <J^T ct, t>", () => {
    const [out, pullback] = vjp(row.f, ...xs);
    const ct = rnd(out.shape);
    const lhs = dot(f64(ct), f64(jvp(row.f, xs, ts)[1]));
    const cts = pullback(ct) as NDArray[];
    const rhs = cts.reduce((s, c, i) => s + dot(f64(c), f64(ts[i])), 0);
    expect(Math.abs(lhs - rhs)).toBeLessThanOrEqual((row.tol ? row.tol / 10 : 1e-4) * Math.max(1, Math.abs(lhs)));
  });
  it("vmap equals a loop (batch axis 0, every argument batched)", () => {
    const batch = xs.map((x) => np.stack([x, x.mul(0.5), x.add(0.25)]));
    const got = vmap(row.f)(...batch) as NDArray;
    const want = np.stack([0, 1, 2].map((i) => row.f(...batch.map((b) => b.get(i)))));
    expect(np.allclose(got, want, { rtol: 1e-5, atol: 1e-6 }).item()).toBe(true);
  });
  it("jit equals eager, and grad(jit) equals jit(grad)", () => {
    expect(np.allclose(jit(row.f)(...xs), row.f(...xs), { rtol: 1e-6, atol: 1e-6 }).item()).toBe(true);
    const s = (...a: NDArray[]) => np.sum(row.f(...a));
    const g1 = grad(jit(s))(xs[0], ...xs.slice(1));
    const g2 = jit(grad(s))(xs[0], ...xs.slice(1));
    expect(np.allclose(g1, g2, { rtol: 1e-5, atol: 1e-6 }).item()).toBe(true);
  });
});

describe("compositions", () => {
  const f = (x: NDArray) => np.sum(np.sin(x).mul(x.pow(2)));
  const x = np.array([0.3, -1.2, 2.0]);
  // d/dx sum(sin(x) x^2) = cos(x) x^2 + 2 x sin(x); second derivative (diagonal Hessian):
  // -sin(x) x^2 + 4 x cos(x) + 2 sin(x).
  const d1 = (v: number) => Math.cos(v) * v * v + 2 * v * Math.sin(v);
  const d2 = (v: number) => -Math.sin(v) * v * v + 4 * v * Math.cos(v) + 2 * Math.sin(v);
  const close = (a: NDArray, want: number[]) => f64(a).forEach((v, i) => expect(v).toBeCloseTo(want[i], 4));
  it("grad against the analytic derivative", () => close(grad(f)(x), [0.3, -1.2, 2.0].map(d1)));
  it("grad(grad) of a scalar function", () => {
    const g = (v: NDArray) => np.sin(v).mul(v.pow(2));
    expect(grad(grad(g))(0.7).item() as number).toBeCloseTo(d2(0.7), 4);
  });
  it("jacfwd(jacrev) = hessian, diagonal here", () => {
    const h = jacfwd(jacrev(f))(x) as NDArray;
    close(np.diagonal(h), [0.3, -1.2, 2.0].map(d2));
    expect(np.allclose(h.sub(np.diag(np.diagonal(h))), 0).item()).toBe(true);
  });
  it("vmap(grad) per example", () => close(vmap(grad((v: NDArray) => np.sin(v).mul(v.pow(2))))(x), [0.3, -1.2, 2.0].map(d1)));
  it("closures over traced values", () => {
    const outer = (a: NDArray) => grad((b: NDArray) => np.sum(a.mul(b).mul(b)))(np.array([1, 2], { dtype: "float32" }));
    // d/da sum(2 a b) at b = [1, 2] (the inner grad is 2ab) -> 2 b
    const g = jacrev((a: NDArray) => outer(a).sum())(np.array(3, { dtype: "float32" }));
    expect(g.item()).toBeCloseTo(2 * (1 + 2), 5);
  });
  it("valueAndGrad with argnums and hasAux over a pytree", () => {
    const loss = (p: { w: NDArray; b: NDArray }, xin: NDArray) => {
      const y = np.sum(p.w.mul(xin).add(p.b));
      return [y, { twice: y.mul(2) }] as const;
    };
    const [[v, aux], g] = valueAndGrad(loss, { hasAux: true })({ w: np.array([1, 2], { dtype: "float32" }), b: np.array(0.5) }, np.array([3, 4], { dtype: "float32" }));
    expect((v as NDArray).item()).toBeCloseTo(12, 5);
    expect((aux as { twice: NDArray }).twice.item()).toBeCloseTo(24, 5);
    expect(f64((g as { w: NDArray }).w)).toEqual([3, 4]);
    expect((g as { b: NDArray }).b.item()).toBeCloseTo(2, 6);
    const [, g2] = valueAndGrad((a: NDArray, b: NDArray) => np.sum(a.mul(b)), { argnums: [0, 1] })(np.array([1.5, 2]), np.array([3, 5.5]));
    expect((g2 as NDArray[]).map(f64)).toEqual([[3, 5.5], [1.5, 2]]);
  });
  it("jit traces once per signature; a cache hit does not retrace", () => {
    const h = jit((v: NDArray) => v.mul(2));
    h(np.array([1.5, 2]));
    h(np.array([3.5, 4]));
    expect(h.traceCount).toBe(1);
    h(np.array([1.5, 2, 3]));
    h(np.array([1, 2], { dtype: "int32" }));
    h(np.array([0.5, 1]));
    expect(h.traceCount).toBe(3);
  });
  it("JAX's errors: integer input, non-scalar output", () => {
    expect(() => grad((v: NDArray) => v.mul(2))(np.array(3, { dtype: "int32" }))).toThrow(/grad requires real- or complex-valued inputs .* but got int32/);
    expect(() => grad((v: NDArray) => v.mul(2))(np.array([1.5, 2]))).toThrow(/Gradient only defined for scalar-output functions. Output had shape: \(2,\)/);
    expect(() => vmap((a: NDArray) => a, { inAxes: [0, 0] })(np.ones([2]))).toThrow(/vmap in_axes must be an int, None, or a tuple of entries corresponding to the positional arguments/);
  });
  it("a tracer that escapes its transformation gives JAX's unexpected-tracer error", () => {
    let leaked: NDArray | null = null;
    grad((v: NDArray) => ((leaked = v), v.mul(2)))(1.5);
    expect(() => leaked!.add(1)).toThrow(/Encountered an unexpected tracer.*f32\[\] wrapped in a JVPTracer/);
    expect(() => jit((y: NDArray) => y.add(leaked!))(np.array(1.5))).toThrow(/unexpected tracer/);
  });
  it("vmap: inAxes per pytree leaf, null for broadcast arguments, outAxes, axisSize", () => {
    const r = vmap((p: { a: NDArray; b: NDArray }, c: NDArray) => p.a.mul(p.b).add(c), { inAxes: [{ a: 0, b: null }, 1], outAxes: 1 })(
      { a: np.array([1, 2, 3]), b: np.array(2) },
      np.array([[1, 1, 1], [2, 2, 2]]),
    ) as NDArray;
    // out[:, i] = a[i] * b + c[:, i]
    expect(r.tolist()).toEqual([[3, 5, 7], [4, 6, 8]]);
    expect((vmap(() => np.ones([2]), { axisSize: 3 })() as NDArray).shape).toEqual([3, 2]);
    expect(() => vmap((a: NDArray, b: NDArray) => a.add(b))(np.ones([2]), np.ones([3]))).toThrow(/vmap got inconsistent sizes for the array axes to be mapped/);
  });
  it("JS comparisons on a traced value inside jit raise the concretization error (Python's `if x > 0:`)", () => {
    const x = np.array(2.5);
    expect(+x).toBe(2.5);
    expect((x as unknown as number) > 1).toBe(true);
    expect(`${np.array([1, 2])}`).toBe("[1 2]");
    expect("v=" + np.array([1, 2])).toBe("v=[1 2]");
    expect(() => jit((y: NDArray) => ((y as unknown as number) > 0 ? y : y.neg()))(np.array(1.5))).toThrow(ConcretizationError);
    expect(() => +np.array([1, 2])).toThrow(/item/);
  });
  it("jit(vmap(f)) and vmap(jit(f)) equal vmap(f)", () => {
    const g = (v: NDArray) => np.sum(np.sin(v).mul(v));
    const xs = np.array([[0.1, 0.2], [0.3, -0.4], [1.5, 2.5]]);
    const want = vmap(g)(xs) as NDArray;
    expect(np.allclose(jit(vmap(g))(xs), want).item()).toBe(true);
    expect(np.allclose(vmap(jit(g))(xs), want).item()).toBe(true);
    expect(np.allclose(jit(vmap(grad(g)))(xs), vmap(grad(g))(xs)).item()).toBe(true);
  });
  it("makeJaxpr of grad matches JAX's documented jaxpr", () => {
    expect(String(makeJaxpr(grad((v: NDArray) => np.sin(np.cos(v))))(3))).toBe(
      "{ lambda ; a:f32[]. let\n    b:f32[] = cos a\n    c:f32[] = sin a\n    _:f32[] = sin b\n    d:f32[] = cos b\n    e:f32[] = mul 1.0:f32[] d\n    f:f32[] = neg e\n    g:f32[] = mul f c\n  in (g,) }",
    );
  });
});

// Primitives whose tangent maps are built from them: they must transpose.
const LINEAR = [
  "add", "add_any", "sub", "neg", "mul", "div", "convert_element_type", "copy", "select_n", "reduce_sum", "broadcast_in_dim",
  "reshape", "transpose", "squeeze", "rev", "slice", "pad", "concatenate", "dynamic_slice", "dynamic_update_slice", "gather",
  "scatter-add", "scatter", "cumsum", "dot_general",
];
describe("registry", () => {
  it("every primitive has a jvp rule and a batching rule", () => {
    const missing = allPrimitives().flatMap((p) => [...(p.jvp ? [] : [`${p.name}.jvp`]), ...(p.batch ? [] : [`${p.name}.batch`])]);
    expect(missing).toEqual([]);
  });
  it("every linear primitive has a transpose rule", () => {
    const byName = new Map(allPrimitives().map((p) => [p.name, p]));
    expect(LINEAR.filter((n) => !byName.get(n)?.transpose)).toEqual([]);
  });
});

describe("jit donateArgnums", () => {
  it("warns once, as JAX does where a backend cannot use a donation, and the donated array stays valid", () => {
    const spy = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
    try {
      const f = jit((x: NDArray, y: NDArray) => x.add(y), { donateArgnums: 0 });
      const x = np.ones([3]);
      expect(Array.from(f(x, np.ones([3])).dataSync())).toEqual([2, 2, 2]);
      f(x, np.ones([3]));
      expect(spy).toHaveBeenCalledTimes(1);
      expect(String(spy.mock.calls[0][0])).toMatch(/^Some donated buffers were not usable: ShapedArray\(float32\[3\]\)\.\nDonation is not implemented for \['cpu'\]/);
      expect(Array.from(x.dataSync())).toEqual([1, 1, 1]);
    } finally {
      spy.mockRestore();
    }
  });
});
