import { it } from "vitest";
import { np } from "../../kernel/index";
import "../../kernel/ir/printer";
import { grad } from "../../kernel/transforms/autodiff";
import { makeJaxpr } from "../../kernel/transforms/stage";
import { jit } from "../../kernel/transforms/jit";
import { vmap } from "../../kernel/transforms/vmap";
it("x", () => {
  const inner = jit(function inner(y: any) { return np.sin(y).mul(2); });
  console.log(String(makeJaxpr((x: any) => inner(x).add(1))(np.zeros([3]))));
  const sq = jit((x: any) => x.mul(x));
  console.log(String(makeJaxpr(jit(grad((x: any) => x.mul(x))))(2)));
  console.log(String(makeJaxpr(grad(sq))(2)));
  console.log(String(grad(sq)(3)), sq(np.array([1.5, 2])).toString(), sq.traceCount);
  sq(np.array([3.5, 1])); console.log(sq.traceCount);
  console.log(String(vmap(sq)(np.array([1, 2.5]))));
  console.log(String(makeJaxpr(vmap(grad((x: any) => np.sin(x).mul(x))))(np.zeros([5]))));
});
