// Data-parallel training over 4 CPU devices: the parameters are copied to every device, each
// device takes a quarter of the batch, computes its gradient, and `lax.pmean` averages the
// gradients across devices so every copy takes the same SGD step (the gradient of the mean
// loss over the whole batch). Run with
//   PRIMAL_CPU_DEVICES=4 npx primal run examples/data-parallel.ts
// (PRIMAL_CPU_DEVICES=4 exposes four logical CPU devices, like XLA's
// --xla_force_host_platform_device_count; in VS Code, put it in the primal.kernel.env setting).
// Each CPU device has a thread of its own: the step's programs run on the four threads at once,
// and the data, parameters and gradients stay on the devices between steps (pmap's outputs are
// sharded; only the printed loss is read back).
import { np, nn, random, lax, pmap, valueAndGrad, tree, devices, devicePutSharded, devicePutReplicated, print } from "primal";

const nDev = devices().length;
if (nDev < 4) throw new Error(`this example wants 4 devices, got ${nDev}: run it with PRIMAL_CPU_DEVICES=4`);
const D = 4;

// %% Data: a regression task from a fixed random teacher, split into D shards of 16 rows
const [kx, kt, kp] = random.split(random.key(0), 3);
const X = random.normal(kx, [D * 16, 8]);
const Y = np.tanh(np.matmul(X, random.normal(kt, [8, 2])));
// Shard i of the batch lives on device i from now on.
const shard = (a: np.NDArray) => devicePutSharded(Array.from({ length: D }, (_, i) => a.get(`${16 * i}:${16 * (i + 1)}`)), devices()) as np.NDArray;
const Xs = shard(X);
const Ys = shard(Y);

// %% Parameters: one copy per device (the leading axis of size D)
type Params = { w1: np.NDArray; b1: np.NDArray; w2: np.NDArray; b2: np.NDArray };
const [k1, k2] = random.split(kp);
const init: Params = {
  w1: nn.initializers.heNormal()(k1, [8, 32]),
  b1: np.zeros([32]),
  w2: nn.initializers.heNormal()(k2, [32, 2]),
  b2: np.zeros([2]),
};
let params = devicePutReplicated(init, devices()) as Params;

// %% The per-device step: local loss and gradient, then pmean across the devices
const predict = (p: Params, x: np.NDArray) => np.matmul(np.tanh(np.matmul(x, p.w1).add(p.b1)), p.w2).add(p.b2);
const loss = (p: Params, x: np.NDArray, y: np.NDArray) => np.mean(predict(p, x).sub(y).pow(2));
const lr = 0.1;
const step = pmap(
  (p: Params, x: np.NDArray, y: np.NDArray) => {
    const [l, g] = valueAndGrad(loss)(p, x, y);
    const gm = lax.pmean(g, "batch");
    return [tree.map((w: np.NDArray, gw: np.NDArray) => w.sub(gw.mul(lr)), p, gm), lax.pmean(l, "batch")] as const;
  },
  { axisName: "batch" },
);

// %% Train: the loss (the same on every device) goes down
for (let i = 0; i <= 200; i++) {
  const [next, l] = step(params, Xs, Ys);
  params = next as Params;
  if (i % 40 === 0) print(`step ${i}: loss`, (l as np.NDArray).get(0));
}
