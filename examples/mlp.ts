// A two-layer MLP (728 -> 100 -> 10, relu) trained with SGD on a synthetic regression task:
// valueAndGrad over a pytree of parameters, a jitted update step, and the loss printed every
// few epochs. Run with `npx primal run examples/mlp.ts`.
import { np, nn, random, jit, valueAndGrad, tree, print } from "primal";

// %% Data: inputs and targets from a fixed random teacher network
const [kx, kt, kp] = random.split(random.key(42), 3);
const X = random.normal(kx, [32, 728]);
const teacher = random.normal(kt, [728, 10]).mul(0.05);
const Y = np.tanh(np.matmul(X, teacher));

// %% Parameters
type Params = { w1: np.NDArray; b1: np.NDArray; w2: np.NDArray; b2: np.NDArray };
const [k1, k2] = random.split(kp);
let params: Params = {
  w1: nn.initializers.heNormal()(k1, [728, 100]),
  b1: np.zeros([100]),
  w2: nn.initializers.heNormal()(k2, [100, 10]),
  b2: np.zeros([10]),
};

// %% Model, loss and a jitted SGD step
const predict = (p: Params, x: np.NDArray) => np.matmul(nn.relu(np.matmul(x, p.w1).add(p.b1)), p.w2).add(p.b2);
const loss = (p: Params, x: np.NDArray, y: np.NDArray) => np.mean(predict(p, x).sub(y).pow(2));
const lr = 0.05;
const step = jit((p: Params, x: np.NDArray, y: np.NDArray) => {
  const [l, g] = valueAndGrad(loss)(p, x, y);
  return [tree.map((w: np.NDArray, gw: np.NDArray) => w.sub(gw.mul(lr)), p, g), l] as const;
});

// %% Train: 100 steps, the loss goes down
for (let i = 0; i <= 100; i++) {
  const [next, l] = step(params, X, Y);
  params = next as Params;
  if (i % 20 === 0) print(`step ${i}: loss`, l);
}
