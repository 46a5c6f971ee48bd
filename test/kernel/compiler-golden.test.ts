// Golden tests of code generation (issue 4: "golden tests pin generated kernel source for a
// few programs, so codegen changes are reviewed, not accidental"). For each program below,
// test/kernel/golden/<name>.txt holds what the compiler makes of it: the jaxpr after the
// passes, then each step of the lowered program: for a fused kernel its scalar IR
// (printKernel) and its JavaScript (generateJs), for a library call its primitive. Lowering
// and code generation are pure functions (jaxpr in, text out), so this needs no device and
// runs nothing. Any difference fails with a line diff; when the change is intended, rewrite
// the files and review them in the commit:
//   PRIMAL_UPDATE_GOLDEN=1 npx vitest run test/kernel/compiler-golden.test.ts

import { describe, expect, it } from "vitest";
import { makeJaxpr, nn, np } from "../../kernel/index";
import { NDArray } from "../../kernel/core/ndarray";
import { checkGolden, lineDiff, lowered } from "./helpers/golden";

const f32 = (shape: number[]) => np.zeros(shape, { dtype: "float32" });

/** The programs: name, what it shows, the function and its argument shapes. */
const PROGRAMS: [string, string, (...xs: NDArray[]) => unknown, NDArray[]][] = [
  ["tanh-fma", "tanh(x*2+1)*x: one flat elementwise kernel", (x) => np.tanh(x.mul(2).add(1)).mul(x), [f32([4, 256])]],
  ["logsumexp-axis1", "logsumexp over axis 1: a max kernel, then exp-sum-log with the max as prologue and epilogue", (x) => nn.logsumexp(x, 1), [f32([8, 16])]],
  ["softmax", "softmax over the last axis: max, exp (read twice, materialised), sum, divide", (x) => nn.softmax(x, -1), [f32([8, 16])]],
  ["mlp-layer", "relu(x @ w + b): dot_general as a library step, the bias + relu epilogue as one kernel", (x, w, b) => nn.relu(np.matmul(x, w).add(b)), [f32([32, 64]), f32([64, 16]), f32([16])]],
  ["transposed-broadcast-add", "x.T + row: the transpose and the broadcast are strides of the loads", (x, r) => x.T.add(r).mul(0.5), [f32([5, 3]), f32([5])]],
  ["reduce-outer-axes", "sum over axes 0 and 2 of exp(x): the accumulator array of the outer-axes mode", (x) => np.sum(np.exp(x), { axis: [0, 2] }), [f32([2, 3, 4])]],
];

describe("golden: generated kernels (PRIMAL_UPDATE_GOLDEN=1 rewrites test/kernel/golden)", () => {
  for (const [name, what, f, args] of PROGRAMS)
    it(`${name}: ${what}`, () => {
      const text = `# ${what}\n# inputs: ${args.map((a) => a.aval.str()).join(", ")}\n\n${lowered(makeJaxpr(f)(...args))}\n`;
      checkGolden(name, text);
    });

  it("the diff names the changed lines", () => {
    const d = lineDiff("a\nb\nc\nd\ne\nf\ng\nh", "a\nb\nc\nD\ne\nf\ng\nh");
    expect(d).toBe("  ...\n  b\n  c\n- d\n+ D\n  e\n  f\n  ...");
  });
});
