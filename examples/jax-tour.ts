// The JAX quickstart tour, translated cell by cell: grad, vmap, jit with a static argument,
// and random keys. Run with `npx primal run examples/jax-tour.ts`.
import { np, grad, vmap, jit, random, makeJaxpr, print } from "primal";

// %% grad: derivatives of JS functions
const f = (x: np.NDArray) => x.pow(2).add(x.mul(2));   // x**2 + 2*x
print(grad(f)(3));                                      // 8.0
print(grad(grad(f))(3));                                // 2.0
makeJaxpr(grad(f))(3)

// %% vmap: batching without loops
const dot = (a: np.NDArray, b: np.NDArray) => np.dot(a, b);
const xs = np.arange(12, { dtype: "float32" }).reshape([4, 3]);
const w = np.array([1, 0, -1], { dtype: "float32" });
print(vmap(dot, { inAxes: [0, null] })(xs, w));         // one dot per row of xs
vmap(dot)(xs, xs)

// %% jit: trace once, run many times; static arguments select the program
const power = jit((x: np.NDArray, n: number) => {
  let y = x;
  for (let i = 1; i < n; i++) y = y.mul(x);
  return y;
}, { staticArgnums: [1] });
print(power(np.array([1, 2, 3], { dtype: "float32" }), 3));
print(power(np.array([4, 5, 6], { dtype: "float32" }), 3)); // cache hit: no retrace
print("traces:", power.traceCount);
makeJaxpr((x: np.NDArray) => power(x, 2))(np.ones([3]))

// %% random: explicit keys, split to get independent streams
const key = random.key(0);
const [k1, k2] = random.split(key);
print(random.normal(k1, [3]));
print(random.uniform(k2, [3]));
random.normal(k1, [3])                                   // the same key gives the same numbers
