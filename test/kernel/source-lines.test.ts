// Source lines of traced equations (kernel/ir/source.ts): every equation jit or make_jaxpr
// stages records the first frame of the user's code that led to it. Inside a jvp rule, a
// batching rule or a whole backward pass, the library captures the stack once and shares it
// between the equations it stages (captures cost ~1 µs per stack frame); user code called from
// there (custom_jvp rules, custom_vjp fwd/bwd) captures its own again. These tests trace the
// same programs with the sharing on and off and require the same line for every equation
// (nested jaxprs included), and check a few lines against where the code is written.

import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { customJvp, customVjp, grad, jacrev, jit, nn, np, tree, valueAndGrad, vmap } from "../../kernel/index";
import { NDArray } from "../../kernel/core/ndarray";
import { ClosedJaxpr, Jaxpr } from "../../kernel/ir/jaxpr";
import { _setSourceSharing } from "../../kernel/ir/source";
import { makeJaxpr } from "../../kernel/transforms/stage";

afterEach(() => void _setSourceSharing(true));

/** "prim@line" for every equation, nested jaxprs depth first. */
function lines(cj: ClosedJaxpr): string[] {
  const out: string[] = [];
  const walk = (j: Jaxpr): void => {
    for (const e of j.eqns) {
      const s = e.source;
      out.push(`${e.primitive.name}@${s ? `${s.file.split(/[/\\]/).pop()}:${s.line}` : "-"}`);
      for (const v of Object.values(e.params)) {
        if (v instanceof ClosedJaxpr) walk(v.jaxpr);
        else if (v instanceof Jaxpr) walk(v);
        else if (Array.isArray(v)) for (const x of v) if (x instanceof ClosedJaxpr) walk(x.jaxpr);
      }
    }
  };
  walk(cj.jaxpr);
  return out;
}

/** The lines of `trace()`'s jaxpr with capture sharing on, after checking they equal those with it off. */
function sameWithAndWithout(trace: () => ClosedJaxpr): string[] {
  _setSourceSharing(false);
  const off = lines(trace());
  _setSourceSharing(true);
  const on = lines(trace());
  expect(on).toEqual(off);
  expect(on.length).toBeGreaterThan(0);
  return on;
}

const f32 = (xs: number[]) => np.array(xs, { dtype: "float32" });
/** The line of this file that carries the comment `// tag`. */
const lineOf = (tag: string) => (readFileSync(__filename, "utf8").split("\n").findIndex((l) => l.includes(`// ${tag}`)) + 1);

describe("source lines of traced equations", () => {
  it("an MLP training step (valueAndGrad inside jit): the same lines with shared captures", () => {
    type P = { w: NDArray; b: NDArray };
    const step = (p: P, x: NDArray, y: NDArray) => {
      const loss = (q: P) => np.negative(np.mean(np.sum(y.mul(nn.logSoftmax(nn.relu(np.matmul(x, q.w).add(q.b)), 1)), 1)));
      const [l, g] = valueAndGrad(loss)(p); // VG_LINE
      return [tree.map((w: NDArray, gw: NDArray) => w.sub(gw.mul(0.1)), p, g), l];
    };
    const args = [{ w: np.zeros([3, 4]), b: np.zeros([4]) }, np.zeros([2, 3]), np.zeros([2, 4])] as const;
    const got = sameWithAndWithout(() => jit(step).lower(...args));
    // The backward pass is staged by the valueAndGrad call: its line, not the loss's.
    const vgLine = got.find((s) => s.startsWith("transpose@"))!;
    if (process.env.PRIMAL_JIT_ALL !== "1") expect(vgLine).toBe(`transpose@source-lines.test.ts:${lineOf("VG_LINE")}`);
    expect(got.filter((s) => s.startsWith("dot_general@")).length).toBeGreaterThanOrEqual(2);
  });

  it("vmap of grad, jacrev, and a jit nested in a jit", () => {
    const f = (x: NDArray) => np.sum(np.tanh(x.mul(x)).mul(np.exp(x)));
    sameWithAndWithout(() => makeJaxpr(vmap(grad(f)))(np.zeros([3, 2])) as ClosedJaxpr);
    sameWithAndWithout(() => makeJaxpr(jacrev((x: NDArray) => np.sin(x).mul(2)))(np.zeros([3])) as ClosedJaxpr);
    const inner = jit((x: NDArray) => np.cumsum(x.mul(3)));
    sameWithAndWithout(() => makeJaxpr(grad((x: NDArray) => inner(x).sum()))(np.zeros([4])) as ClosedJaxpr);
  });

  it("custom_jvp rules and custom_vjp fwd/bwd record their own lines", () => {
    const softplus = customJvp((x: NDArray) => np.log1p(np.exp(x)));
    softplus.defjvp((primals: NDArray[], tangents: NDArray[]) => {
      const [x] = primals;
      const [t] = tangents;
      const out = softplus(x);
      return [out, t.mul(nn.sigmoid(x))]; // RULE_LINE
    });
    const clip = customVjp((x: NDArray) => x.mul(2));
    clip.defvjp(
      (x: NDArray) => [x.mul(2), x],
      (res: NDArray, g: NDArray) => [np.clip(g, -1, 1).mul(np.sign(res))], // BWD_LINE
    );
    const loss = (x: NDArray) => softplus(x).add(clip(x)).sum();
    const got = sameWithAndWithout(() => makeJaxpr(grad(loss))(f32([0.5, -2])) as ClosedJaxpr);
    // Under the jit-all run the first frame outside kernel/ is the harness's (test/jit-all): only the comparison above holds.
    if (process.env.PRIMAL_JIT_ALL === "1") return;
    // sigmoid (logistic) is staged by the user's rule: the rule's line, not the loss's.
    expect(got.some((s) => s.startsWith("logistic@") && s.endsWith(`:${lineOf("RULE_LINE")}`))).toBe(true);
    // sign is staged by the user's bwd during the backward pass: bwd's line.
    expect(got.some((s) => s.startsWith("sign@") && s.endsWith(`:${lineOf("BWD_LINE")}`))).toBe(true);
  });
});
