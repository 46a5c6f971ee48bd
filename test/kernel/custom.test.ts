// customJvp / customVjp (JAX's custom_jvp / custom_vjp), checkGrads (jax.test_util.check_grads)
// and debug.print (jax.debug.print). References are analytic derivatives, finite differences
// and the jaxpr JAX 0.11 prints (test/reference/jax-jaxprs.json).

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  NDArray, PrimalError, checkGrads, lax, customJvp, customVjp, debug, grad, jacfwd, jacrev, jit, jvp, makeJaxpr, np, valueAndGrad, vjp, vmap,
} from "../../kernel/index";
import { setOutputSink } from "../../kernel/core/output-sink";

const f32 = (x: number | number[] | number[][]) => np.array(x, { dtype: "float32" });
const vals = (x: unknown): number[] => Array.from((x as NDArray).dataSync() as ArrayLike<number>, Number);
const val = (x: unknown): number => vals(x)[0];
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
/** Central finite difference in float64 of a JS function (an independent reference). */
const fd = (g: (x: number) => number, x: number, h = 1e-5) => (g(x + h) - g(x - h)) / (2 * h);

function expectClose(got: unknown, want: number | number[], tol = 1e-5): void {
  const g = vals(got);
  const w = typeof want === "number" ? [want] : want;
  expect(g.length).toBe(w.length);
  g.forEach((v, i) => expect(Math.abs(v - w[i])).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(w[i]))));
}

// ---------------------------------------------------------------------------------------------
// The JAX docs' examples

/** log(1 + exp(x)) with a stable derivative (JAX's custom_jvp tutorial). */
const log1pexp = customJvp(function log1pexp(x: NDArray) {
  return np.log(np.exp(x).add(1));
});
log1pexp.defjvp(function log1pexpJvp([x]: NDArray[], [t]: NDArray[]) {
  const ans = log1pexp(x);
  return [ans, np.subtract(1, np.divide(1, np.exp(x).add(1))).mul(t)];
});
const log1pexpPlain = (x: NDArray) => np.log(np.exp(x).add(1));

/** clip_gradient (JAX's custom_vjp tutorial): identity forward, clipped cotangent backward. */
const clipGradient = customVjp(function clip_gradient(_lo: number, _hi: number, x: NDArray) {
  return x;
});
clipGradient.defvjp(
  function clip_gradient_fwd(lo: number, hi: number, x: NDArray) {
    return [x, [lo, hi]];
  },
  function clip_gradient_bwd([lo, hi]: NDArray[], g: NDArray) {
    return [null, null, np.clip(g, lo, hi)];
  },
);

describe("customJvp", () => {
  it("log1pexp: grad at 100 is 1.0 with the custom rule (autodiff of the formula gives nan)", () => {
    expect(val(grad(log1pexp)(100))).toBe(1);
    expect(Number.isNaN(val(grad(log1pexpPlain)(100)))).toBe(true);
    for (const x of [-3, -0.5, 0, 0.7, 4]) expectClose(grad(log1pexp)(x), sigmoid(x));
  });

  it("evaluates f itself, eagerly and under every transformation", () => {
    const x = f32([-2, 0.5, 3]);
    const want = [-2, 0.5, 3].map((v) => Math.log1p(Math.exp(v)));
    expectClose(log1pexp(x), want);
    expectClose(jit(log1pexp)(x), want);
    expectClose(vmap(log1pexp)(x), want);
    const [y, t] = jvp(log1pexp, [x], [f32([1, 2, -1])]);
    expectClose(y, want);
    expectClose(t, [sigmoid(-2) * 1, sigmoid(0.5) * 2, sigmoid(3) * -1]);
  });

  it("uses the rule, not autodiff of f", () => {
    // f is sin, the rule says the derivative is 2: every mode must see 2.
    const fakeSin = customJvp((x: NDArray) => np.sin(x));
    fakeSin.defjvp(([x]: NDArray[], [t]: NDArray[]) => [np.sin(x), t.mul(2)]);
    expectClose(fakeSin(f32(0.3)), Math.sin(0.3));
    expect(val(grad(fakeSin)(0.3))).toBe(2);
    expect(val(jvp(fakeSin, [0.3], [1.5])[1])).toBe(3);
    expect(vals(jacfwd(fakeSin)(f32([0.1, 0.2])))).toEqual([2, 0, 0, 2]);
    expect(vals(jacrev(fakeSin)(f32([0.1, 0.2])))).toEqual([2, 0, 0, 2]);
    expect(val(jit(grad(fakeSin))(0.3))).toBe(2);
    expect(val(grad(jit(fakeSin))(0.3))).toBe(2);
    // Composed with other operations, the chain rule goes through the rule.
    expectClose(grad((x: NDArray) => fakeSin(x.mul(x)).mul(3))(1.5), 3 * 2 * 2 * 1.5);
  });

  it("composes with jit", () => {
    expect(val(jit(grad(log1pexp))(100))).toBe(1);
    expect(val(grad(jit(log1pexp))(100))).toBe(1);
    expect(val(jit(grad(jit(log1pexp)))(100))).toBe(1);
    expectClose(jit(grad(log1pexp))(0.3), sigmoid(0.3));
  });

  it("composes with vmap: the function and the rule are batched", () => {
    const xs = f32([-1, 0.5, 100]);
    const want = [sigmoid(-1), sigmoid(0.5), 1];
    expectClose(vmap(grad(log1pexp))(xs), want);
    // vmap inside grad: the batched call is differentiated with the batched rule.
    expectClose(grad((x: NDArray) => np.sum(vmap(log1pexp)(x)))(xs), want);
    expectClose(grad((x: NDArray) => np.sum(jit(vmap(log1pexp))(x)))(xs), want);
    // An axis other than 0, and an unbatched argument.
    const m = f32([[1, 2, 3], [4, 5, 6]]);
    const addMul = customJvp((a: NDArray, b: NDArray) => a.mul(b));
    addMul.defjvp(([a, b]: NDArray[], [ta, tb]: NDArray[]) => [a.mul(b), ta.mul(b).add(a.mul(tb)).mul(10)]);
    const g = grad((a: NDArray) => np.sum(vmap(addMul, { inAxes: [1, null] })(m.mul(a), f32([1, 2]))));
    // d/da sum_j sum_i a*m[i,j]*w[i] = 10 * sum_ij m[i,j] w[i] = 10 * (6 + 2*15)
    expectClose(g(1.0), 360);
  });

  it("grad of grad differentiates the rule (second derivative sigmoid')", () => {
    for (const x of [-2, 0, 1, 3]) expectClose(grad(grad(log1pexp))(x), sigmoid(x) * (1 - sigmoid(x)));
    expectClose(jit(grad(grad(log1pexp)))(1), sigmoid(1) * (1 - sigmoid(1)));
    expectClose(jvp(grad(log1pexp), [1.0], [1.0])[1], sigmoid(1) * (1 - sigmoid(1)));
    // Third derivative against a float64 finite difference of the analytic second derivative.
    expectClose(grad(grad(grad(log1pexp)))(0.5), fd((x) => sigmoid(x) * (1 - sigmoid(x)), 0.5), 1e-4);
    const h = jacfwd(jacrev((x: NDArray) => np.sum(log1pexp(x))))(f32([0.5, -1]));
    expectClose(h, [sigmoid(0.5) * (1 - sigmoid(0.5)), 0, 0, sigmoid(-1) * (1 - sigmoid(-1))]);
  });

  it("takes pytrees and nondiffArgnums", () => {
    const f = customJvp((p: { a: NDArray; b: NDArray }) => ({ s: p.a.mul(p.b), d: [p.a.sub(p.b)] }));
    f.defjvp(([p]: any[], [t]: any[]) => [{ s: p.a.mul(p.b), d: [p.a.sub(p.b)] }, { s: t.a.mul(p.b).add(p.a.mul(t.b)), d: [t.a.sub(t.b).mul(7)] }]);
    const g = grad((p: { a: NDArray; b: NDArray }) => {
      const r = f(p);
      return r.s.add(r.d[0]);
    })({ a: f32(2), b: f32(5) });
    expectClose(g.a, 5 + 7);
    expectClose(g.b, 2 - 7);

    const apply = customJvp((fn: (x: NDArray) => NDArray, x: NDArray) => fn(x), { nondiffArgnums: [0] });
    apply.defjvp((fn: (x: NDArray) => NDArray, [x]: NDArray[], [t]: NDArray[]) => [fn(x), t.mul(100)]);
    expectClose(apply(np.sin, f32(0.5)), Math.sin(0.5));
    expect(val(grad((x: NDArray) => apply(np.sin, x))(0.5))).toBe(100);
    expect(val(jit(grad((x: NDArray) => apply(np.cos, x)))(0.5))).toBe(100);
    expect(apply.nondiffArgnums).toEqual([0]);
  });

  it("defjvps sums one rule per argument", () => {
    const mul = customJvp((x: NDArray, y: NDArray) => x.mul(y));
    mul.defjvps(
      (tx: NDArray, _ans: NDArray, _x: NDArray, y: NDArray) => tx.mul(y),
      (ty: NDArray, _ans: NDArray, x: NDArray) => ty.mul(x).mul(2),
    );
    const [gx, gy] = grad(mul, { argnums: [0, 1] })(3.0, 4.0);
    expect(val(gx)).toBe(4);
    expect(val(gy)).toBe(6);
    const onlyFirst = customJvp((x: NDArray, y: NDArray) => x.mul(y));
    onlyFirst.defjvps((tx: NDArray, _a: NDArray, _x: NDArray, y: NDArray) => tx.mul(y), null);
    expect(val(grad(onlyFirst, { argnums: 1 })(3.0, 4.0))).toBe(0);
  });

  it("stages one custom_jvp_call equation, printed as JAX prints jax.nn.relu", () => {
    const ref = JSON.parse(readFileSync(join(__dirname, "../reference/jax-jaxprs.json"), "utf8")) as { cases: { id: string; jaxpr: string }[] };
    const want = ref.cases.find((c) => c.id === "custom_jvp_relu")!.jaxpr;
    // jax.nn.relu is a custom_jvp of a jitted function, its rule given with defjvps.
    const reluBody = jit(function relu(x: NDArray) {
      return np.maximum(x, 0);
    });
    const myRelu = customJvp(reluBody);
    myRelu.defjvps((g: NDArray, _ans: NDArray, x: NDArray) => np.where(x.gt(0), g, 0));
    expect(String(makeJaxpr(myRelu)(np.zeros([3])))).toBe(want);
    expectClose(grad((x: NDArray) => np.sum(myRelu(x)))(f32([-1, 2, 0])), [0, 1, 0]);
  });

  it("closes over values of enclosing transformations that are not differentiated", () => {
    const out = vmap((y: NDArray) => {
      const scale = customJvp((x: NDArray) => x.mul(y));
      scale.defjvp(([x]: NDArray[], [t]: NDArray[]) => [x.mul(y), t.mul(y).mul(2)]);
      return grad(scale)(3.0);
    })(f32([1, 2, 3]));
    expectClose(out, [2, 4, 6]);
    const viaJit = jit((y: NDArray) => {
      const scale = customJvp((x: NDArray) => x.mul(y));
      scale.defjvp(([x]: NDArray[], [t]: NDArray[]) => [x.mul(y), t.mul(y).mul(2)]);
      return grad(scale)(3.0);
    })(f32(5));
    expectClose(viaJit, 10);
  });

  it("raises JAX's errors", () => {
    const noRule = customJvp(function noRule(x: NDArray) {
      return x;
    });
    expect(() => noRule(f32(1))).toThrow(/No JVP defined for custom_jvp function noRule\d* using defjvp\./);
    // Differentiating with respect to a closed-over value.
    expect(() =>
      grad((y: NDArray) => {
        const g = customJvp((x: NDArray) => x.mul(y));
        g.defjvp(([x]: NDArray[], [t]: NDArray[]) => [x.mul(y), t.mul(y)]);
        return g(f32(2));
      })(3.0),
    ).toThrow(/Detected differentiation of a custom_jvp function with respect to a closed-over value/);
    const bad = customJvp((x: NDArray) => np.sin(x));
    bad.defjvp(([x]: NDArray[], [t]: NDArray[]) => [np.sin(x)] as any);
    expect(() => grad(bad)(1.0)).toThrow(/must produce a pair/);
    const badShape = customJvp((x: NDArray) => np.sin(x));
    badShape.defjvp(([x]: NDArray[]) => [np.sin(x), np.zeros([2])]);
    expect(() => jvp(badShape, [f32([1, 2, 3])], [f32([1, 1, 1])])).toThrow(/corresponding shapes and dtypes/);
    const badTree = customJvp((x: NDArray) => [x, x]);
    badTree.defjvp(([x]: NDArray[], [t]: NDArray[]) => [[x, x], t]);
    expect(() => jvp(badTree, [f32(1)], [f32(1)])).toThrow(/equal container \(pytree\) structures/);
    const nd = customJvp((fn: unknown, x: NDArray) => x, { nondiffArgnums: [0] });
    nd.defjvp((_fn: unknown, [x]: NDArray[], [t]: NDArray[]) => [x, t]);
    expect(() => grad((x: NDArray) => nd(x, x))(1.0)).toThrow(/Tracers cannot be passed as non-differentiable arguments/);
    expect(() => customJvp((x: NDArray) => x).defjvp((() => null) as any, { symbolicZeros: true })).toThrow(PrimalError);
  });
});

describe("customVjp", () => {
  it("clip_gradient: the forward is the identity, the cotangent is clipped", () => {
    const f = (x: NDArray) => clipGradient(-0.75, 0.75, np.sin(x).mul(3));
    for (const x of [0.1, 1.5, 3]) {
      expectClose(f(f32(x)), 3 * Math.sin(x));
      expectClose(grad(f)(x), Math.max(-0.75, Math.min(0.75, 1)) * 3 * Math.cos(x));
    }
    // Without clipping the gradient would be 3 cos(0.1) ~ 2.985.
    expectClose(grad((x: NDArray) => clipGradient(-10, 10, np.sin(x).mul(3)))(0.1), 3 * Math.cos(0.1));
    // Cotangents larger than the bound are clipped (an output scaled by 5 before the loss).
    expectClose(grad((x: NDArray) => clipGradient(-0.75, 0.75, x).mul(5))(1.0), 0.75);
  });

  it("uses bwd, not autodiff of f (a straight-through estimator)", () => {
    const ste = customVjp((x: NDArray) => np.floor(x));
    ste.defvjp(
      (x: NDArray) => [np.floor(x), null],
      (_res: null, g: NDArray) => [g],
    );
    expectClose(ste(f32([1.7, -0.2])), [1, -1]);
    expect(val(grad((x: NDArray) => ste(x).mul(3))(1.7))).toBe(3);
    expect(val(grad((x: NDArray) => np.floor(x).mul(3))(1.7))).toBe(0);
    expect(vals(jacrev(ste)(f32([1.7, 2.2])))).toEqual([1, 0, 0, 1]);
  });

  it("forward mode is JAX's error", () => {
    const f = (x: NDArray) => clipGradient(-1, 1, x);
    expect(() => jvp(f, [1.0], [1.0])).toThrow("can't apply forward-mode autodiff (jvp) to a custom_vjp function.");
    expect(() => jacfwd(f)(f32([1, 2]))).toThrow(/forward-mode autodiff/);
  });

  const sinv = customVjp(function sinv(x: NDArray) {
    return np.sin(x);
  });
  sinv.defvjp(
    (x: NDArray) => [np.sin(x), np.cos(x)],
    (cosx: NDArray, g: NDArray) => [cosx.mul(g)],
  );

  it("composes with jit, vmap and itself (grad of grad differentiates fwd and bwd)", () => {
    expectClose(grad(sinv)(0.7), Math.cos(0.7));
    expectClose(jit(grad(sinv))(0.7), Math.cos(0.7));
    expectClose(grad(jit(sinv))(0.7), Math.cos(0.7));
    expectClose(jit(sinv)(f32(0.7)), Math.sin(0.7));
    const xs = f32([0.1, 0.5, 2]);
    expectClose(vmap(sinv)(xs), [0.1, 0.5, 2].map(Math.sin));
    expectClose(vmap(grad(sinv))(xs), [0.1, 0.5, 2].map(Math.cos));
    expectClose(grad((x: NDArray) => np.sum(vmap(sinv)(x)))(xs), [0.1, 0.5, 2].map(Math.cos));
    expectClose(grad((x: NDArray) => np.sum(jit(vmap(sinv))(x)))(xs), [0.1, 0.5, 2].map(Math.cos));
    expectClose(grad(grad(sinv))(0.7), -Math.sin(0.7));
    expectClose(jvp(grad(sinv), [0.7], [1.0])[1], -Math.sin(0.7));
    expectClose(jacrev(sinv)(f32([0.1, 0.2])), [Math.cos(0.1), 0, 0, Math.cos(0.2)]);
    expectClose(jacrev(jacrev(sinv))(f32([0.3])), [-Math.sin(0.3)]);
  });

  it("vmap sums the cotangents of unbatched arguments", () => {
    const scale = customVjp((w: NDArray, x: NDArray) => w.mul(x));
    scale.defvjp(
      (w: NDArray, x: NDArray) => [w.mul(x), [w, x]],
      ([w, x]: NDArray[], g: NDArray) => [g.mul(x), g.mul(w)],
    );
    const xs = f32([1, 2, 3]);
    const loss = (w: NDArray, x: NDArray) => np.sum(vmap(scale, { inAxes: [null, 0] })(w, x));
    const [gw, gx] = grad(loss, { argnums: [0, 1] })(f32(2), xs);
    expectClose(gw, 6);
    expectClose(gx, [2, 2, 2]);
  });

  it("takes pytrees, null cotangents and nondiffArgnums", () => {
    const pt = customVjp((p: { a: NDArray; b: NDArray }) => ({ s: p.a.mul(p.b), d: p.a.sub(p.b) }));
    pt.defvjp(
      (p: { a: NDArray; b: NDArray }) => [{ s: p.a.mul(p.b), d: p.a.sub(p.b) }, p],
      (p: { a: NDArray; b: NDArray }, ct: { s: NDArray; d: NDArray }) => [{ a: ct.s.mul(p.b).add(ct.d), b: null }],
    );
    const g = grad((p: { a: NDArray; b: NDArray }) => {
      const r = pt(p);
      return r.s.add(r.d.mul(3));
    })({ a: f32(2), b: f32(5) });
    expectClose(g.a, 5 + 3);
    expectClose(g.b, 0);

    const withFn = customVjp((fn: (x: NDArray) => NDArray, x: NDArray) => fn(x), { nondiffArgnums: [0] });
    withFn.defvjp(
      (fn: (x: NDArray) => NDArray, x: NDArray) => [fn(x), x],
      (_fn: unknown, x: NDArray, g: NDArray) => [g.mul(x)],
    );
    expectClose(grad((x: NDArray) => withFn(np.exp, x))(3.0), 3);
  });

  it("prints on the backward pass (the JAX docs' print_grad)", () => {
    const printGrad = customVjp((x: NDArray) => x);
    printGrad.defvjp(
      (x: NDArray) => [x, null],
      (_: null, g: NDArray) => {
        debug.print("x_grad: {}", g);
        return [g];
      },
    );
    const out = captureOutput(() => expect(val(grad((x: NDArray) => printGrad(x).mul(2))(1.0))).toBe(2));
    expect(out).toEqual(["x_grad: 2.0"]);
  });

  it("stages one custom_vjp_call equation", () => {
    const text = String(makeJaxpr(sinv)(0.5));
    expect(text).toContain("custom_vjp_call[");
    expect(text).toContain("name=sinv");
    expect(text.match(/ = /g)!.length).toBe(2); // the call and, inside call_jaxpr, sin
    // Under grad, fwd runs and the transpose of custom_lin is bwd (cos a times the cotangent).
    expect(String(makeJaxpr(grad(sinv))(0.5))).toMatch(/cos a[\s\S]*mul/);
  });

  it("raises JAX's errors", () => {
    const noRule = customVjp(function noVjp(x: NDArray) {
      return x;
    });
    expect(() => noRule(f32(1))).toThrow(/No VJP defined for custom_vjp function noVjp\d* using defvjp\./);
    const badFwd = customVjp((x: NDArray) => x);
    badFwd.defvjp((x: NDArray) => x, (_r: unknown, g: NDArray) => [g]);
    expect(() => grad(badFwd)(1.0)).toThrow(/must produce a pair/);
    const badBwd = customVjp((x: NDArray, y: NDArray) => x.mul(y));
    badBwd.defvjp((x: NDArray, y: NDArray) => [x.mul(y), null], (_r: unknown, g: NDArray) => [g]);
    expect(() => grad(badBwd)(1.0, 2.0)).toThrow(/one cotangent per argument/);
    const badShape = customVjp((x: NDArray) => x);
    badShape.defvjp((x: NDArray) => [x, null], () => [np.zeros([2])]);
    expect(() => grad((x: NDArray) => np.sum(badShape(x)))(f32([1, 2, 3]))).toThrow(/same shape\/dtypes/);
    expect(() =>
      grad((y: NDArray) => {
        const g = customVjp((x: NDArray) => x.mul(y));
        g.defvjp((x: NDArray) => [x.mul(y), null], (_r: unknown, ct: NDArray) => [ct.mul(y)]);
        return g(f32(2));
      })(3.0),
    ).toThrow(/closed-over value/);
  });
});

describe("checkGrads", () => {
  it("passes for correct derivatives, orders 1 and 2, both modes", () => {
    checkGrads((x: NDArray) => np.sin(x).mul(x), [f32([0.5, -1.2, 2])], 2);
    checkGrads((x: NDArray, y: NDArray) => np.tanh(x.mul(y)).add(np.exp(y.mul(0.3))), [f32([0.5, -0.2]), f32([1.5, 0.7])], 2);
    checkGrads((p: { w: NDArray; b: NDArray }) => np.sum(np.tanh(p.w.mul(2).add(p.b))), [{ w: f32([0.1, 0.2, -0.3]), b: f32(0.4) }], 2);
    checkGrads(log1pexp, [f32([0.5, -1.2, 2])], 2);
    checkGrads(log1pexp, [3.0], 3, { modes: "fwd" });
  });

  it("checks custom_vjp functions in reverse mode", () => {
    const sq = customVjp((x: NDArray) => x.mul(x));
    sq.defvjp((x: NDArray) => [x.mul(x), x], (x: NDArray, g: NDArray) => [g.mul(x).mul(2)]);
    checkGrads(sq, [f32([0.3, -1.5])], 2, { modes: ["rev"] });
    expect(() => checkGrads(sq, [f32([0.3])], 1)).toThrow(/forward-mode autodiff/);
  });

  it("names the mismatch: a wrong jvp rule", () => {
    const wrong = customJvp((x: NDArray) => np.sin(x));
    wrong.defjvp(([x]: NDArray[], [t]: NDArray[]) => [np.sin(x), np.cos(x).mul(t).mul(1.1)]);
    expect(() => checkGrads(wrong, [f32([0.5, 1])], 1, { modes: ["fwd"] })).toThrow(/JVP tangent mismatch .*autodiff .* expected .*atol = .*rtol = /);
    expect(() => checkGrads(wrong, [f32([0.5, 1])], 1, { modes: ["rev"] })).toThrow(/VJP cotangent projection mismatch/);
    try {
      checkGrads(wrong, [f32([0.5, 1])], 1, { modes: ["fwd"] });
    } catch (e) {
      expect(e).toBeInstanceOf(PrimalError);
    }
  });

  it("names the mismatch: a wrong second derivative only fails at order 2", () => {
    // The first derivative is right; the rule's own derivative (d/dx of the tangent map) is not.
    const f = customJvp((x: NDArray) => x.mul(x).mul(x));
    f.defjvp(([x]: NDArray[], [t]: NDArray[]) => [x.mul(x).mul(x), lax.stopGradient(x.mul(x).mul(3)).mul(t)]);
    checkGrads(f, [f32([0.7, 1.3])], 1);
    expect(() => checkGrads(f, [f32([0.7, 1.3])], 2, { modes: ["fwd"] })).toThrow(/JVP of JVP tangent mismatch/);
    expect(() => checkGrads(f, [f32([0.7, 1.3])], 2, { modes: ["rev"] })).toThrow(/VJP of VJP cotangent projection mismatch/);
  });

  it("tolerances and eps are options; bad arguments are errors", () => {
    const wrong = customJvp((x: NDArray) => np.sin(x));
    wrong.defjvp(([x]: NDArray[], [t]: NDArray[]) => [np.sin(x), np.cos(x).mul(t).mul(1.01)]);
    expect(() => checkGrads(wrong, [f32([0.5])], 1, { atol: 1e-4, rtol: 1e-4 })).toThrow(PrimalError);
    checkGrads(wrong, [f32([0.5])], 1, { atol: 0.1, rtol: 0.1 });
    checkGrads((x: NDArray) => np.exp(x), [f32([0.5])], 2, { eps: 1e-3 });
    expect(() => checkGrads((x: NDArray) => x, [np.array([1, 2])], 1)).toThrow(/floating-point/);
    expect(() => checkGrads((x: NDArray) => x, [f32(1)], 0)).toThrow(/order/);
    expect(() => checkGrads((x: NDArray) => x, [f32(1)], 1, { modes: ["sideways" as "fwd"] })).toThrow(/modes/);
    expect(() => checkGrads((x: NDArray) => x, [f32(1)], 1, { tol: 1 } as object)).toThrow(/unknown option/);
  });
});

// ---------------------------------------------------------------------------------------------
// debug.print

let captured: string[] = [];
let restore: ReturnType<typeof setOutputSink> | null = null;
function captureOutput(fn: () => void): string[] {
  const got: string[] = [];
  const prev = setOutputSink((_kind, text) => got.push(text));
  try {
    fn();
  } finally {
    setOutputSink(prev);
  }
  return got;
}

describe("debug.print", () => {
  beforeEach(() => {
    captured = [];
    restore = setOutputSink((kind, text) => captured.push(`${kind}:${text}`));
  });
  afterEach(() => {
    if (restore) setOutputSink(restore);
  });

  it("prints eagerly with Python's format syntax, arrays in NumPy's str form", () => {
    debug.print("x={x}", { x: f32([1.5, 2]) });
    debug.print("{} and {}", f32(3.5), np.array([1, 2, 3]));
    debug.print("{1}-{0}", 1, "b");
    debug.print("{{literal}} {x:.3f} {y:>6} {z!r}", { x: f32(2), y: 7, z: f32([1, 2]) });
    debug.print("{:e} {:+d} {:08.2f} {:.2%} {:,}", f32(1234.5), np.array(5), f32(-3.14159), 0.25, 1234567);
    debug.print("{} {} {}", true, null, [f32(1), 2]);
    debug.print("no placeholders");
    expect(captured).toEqual([
      "print:x=[1.5 2. ]",
      "print:3.5 and [1 2 3]",
      "print:b-1",
      "print:{literal} 2.000      7 array([1., 2.], dtype=float32)",
      "print:1.234500e+03 +5 -0003.14 25.00% 1,234,567",
      "print:True None [array(1., dtype=float32), 2]",
      "print:no placeholders",
    ]);
  });

  it("checks the format against the arguments (JAX's checks)", () => {
    expect(() => debug.print("{x}", { y: 1 })).toThrow(/no keyword argument "x"/);
    expect(() => debug.print("x", f32(1))).toThrow(/Unused positional arguments/);
    expect(() => debug.print("{x}", { x: 1, y: 2 })).toThrow(/Unused keyword arguments/);
    expect(() => debug.print("{} {}", 1)).toThrow(/Replacement index 1 out of range/);
    expect(() => debug.print("{} {0}", 1)).toThrow(/cannot switch/);
    expect(() => debug.print("{:.2f}", f32([1, 2]))).toThrow(/unsupported format string/);
    expect(captured).toEqual([]);
  });

  it("prints at every call of a jitted function, not at trace time", () => {
    const f = jit((x: NDArray) => {
      debug.print("x={x} 2x={}", x.mul(2), { x });
      return x.mul(2);
    });
    expectClose(f(f32(3.5)), 7);
    f(f32(4.5));
    f(f32(4.5));
    expect(f.traceCount).toBe(1);
    expect(captured).toEqual(["print:x=3.5 2x=7.0", "print:x=4.5 2x=9.0", "print:x=4.5 2x=9.0"]);
    captured.length = 0;
    f.lower(f32(1));
    makeJaxpr((x: NDArray) => {
      debug.print("{}", x);
      return x;
    })(f32(1));
    expect(captured).toEqual([]);
  });

  it("stages a debug_print equation that nothing uses (and keeps it)", () => {
    const text = String(
      makeJaxpr((x: NDArray) => {
        debug.print("x={x}", { x });
        return x.mul(2);
      })(1.0),
    );
    expect(text).toBe(
      [
        "{ lambda ; a:f32[]. let",
        "    debug_print[",
        "      fmt=x={x}",
        "      has_placeholders=True",
        "      in_tree=PyTreeDef([[], {x: *}])",
        "      ordered=False",
        "      partitioned=False",
        "      static_args=()",
        "    ] a",
        "    b:f32[] = mul a 2.0:f32[]",
        "  in (b,) }",
      ].join("\n"),
    );
    // A print of values that do not affect the output survives jit.
    const g = jit((x: NDArray) => {
      debug.print("side {}", np.sin(x));
      return x;
    });
    g(f32(0));
    expect(captured).toEqual(["print:side 0.0"]);
  });

  // JAX's docs (debugging/print_breakpoint.md): under vmap, debug.print prints once per element.
  it("prints once per element under vmap, in order", () => {
    vmap((x: NDArray) => {
      debug.print("v: {}", x);
      return x;
    })(f32([1, 2, 3]));
    vmap(
      (x: NDArray, y: NDArray) => {
        debug.print("{} {}", x, y);
        return x;
      },
      { inAxes: [1, null] },
    )(f32([[1, 2], [3, 4]]), f32(9));
    jit(
      vmap((x: NDArray) => {
        debug.print("j: {}", x.mul(10));
        return x;
      }),
    )(f32([1, 2]));
    expect(captured).toEqual(["print:v: 1.0", "print:v: 2.0", "print:v: 3.0", "print:[1. 3.] 9.0", "print:[2. 4.] 9.0", "print:j: 10.0", "print:j: 20.0"]);
  });

  it("prints the primal values on the forward pass under grad", () => {
    const f = (x: NDArray) => {
      debug.print("x: {}", x);
      return x.mul(x);
    };
    expectClose(grad(f)(1.5), 3);
    expectClose(jit(grad(f))(2.5), 5);
    expectClose(grad(jit(f))(3.5), 7);
    const [v, g] = valueAndGrad(f)(0.5);
    expectClose(v, 0.25);
    expectClose(g, 1);
    expectClose(grad(grad(f))(1.0), 2);
    expect(captured).toEqual(["print:x: 1.5", "print:x: 2.5", "print:x: 3.5", "print:x: 0.5", "print:x: 1.0"]);
    captured.length = 0;
    const [, pullback] = vjp(f, f32(4));
    pullback(f32(1));
    expect(captured).toEqual(["print:x: 4.0"]);
  });

  it("debug.callback calls back with concrete values", () => {
    const seen: number[] = [];
    jit((x: NDArray) => {
      debug.callback((v: NDArray) => seen.push(val(v)), x.add(1));
      return x;
    })(f32(2));
    grad((x: NDArray) => {
      debug.callback((v: NDArray) => seen.push(val(v)), x);
      return x;
    })(5.0);
    expect(seen).toEqual([3, 5]);
  });
});
