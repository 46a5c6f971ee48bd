// Primal quickstart: a tour of what works today, in cells. Run it with `npm start`, or
// `npx primal run examples/quickstart.ts`, or open it in VS Code and use "Primal: Run File".
// Each `// %%` line starts a cell; cells share one scope, like a notebook.
import { np, devices, devicePut, print, display } from "primal";

// %% Arrays and dtypes
// JS numbers are weakly typed, like Python scalars in JAX: they adapt to the array's dtype.
const x = np.array([1, 2, 3]);            // int32: every element is an integer
const y = np.array([0.5, 1.5, 2.5]);      // float32
print(x.dtype, y.dtype);
print(x.mul(2).dtype);                    // int32: the 2 does not widen x
x.add(y)                                  // the cell's last value shows JAX's repr

// %% Creating arrays
print(np.arange(10));
print(np.linspace(0, 1, 5));
print(np.eye(3));
print(np.zeros([2, 3], { dtype: "int32" }));
np.full([2, 2], 7.5, { dtype: np.float16 })

// %% Broadcasting and elementwise math
const m = np.arange(12).reshape([3, 4]);
print(m);
print(m.add(np.array([100, 200, 300, 400])));   // [3,4] + [4]
print(np.sqrt(m).get("1:, ::2"));
np.exp(np.linspace(-1, 1, 3))

// %% Reductions
print(np.sum(m), np.sum(m, { axis: 0 }), np.mean(m, { axis: 1, keepdims: true }));
print(np.argmax(np.array([1, 7, 7, 3])));          // ties go to the first index
np.max(np.array([1, NaN, 3]))                      // NaN propagates, as in JAX

// %% Indexing and functional updates
const v = np.arange(10);
print(v.get(-1), v.get("::3"), v.get(np.array([0, 0, 9])));
print(v.get(11));                                  // out-of-bounds reads clamp, as in JAX
const w = v.at(np.array([1, 1, 2])).add(10);       // repeated indices accumulate
print(w);
v.at(20).set(-1)                                   // out-of-bounds updates are dropped

// %% Linear algebra
const a = np.array([[1, 2], [3, 4]], { dtype: "float32" });
print(np.matmul(a, a));
print(np.einsum("ij,jk->ik", a, a.T));
np.dot(a, np.array([1, -1]))

// %% Integer semantics
print(np.floorDivide(np.array([7, -7]), 2), np.remainder(np.array([7, -7]), 2));
np.floorDivide(np.array([1, 0]), 0)                // integer x // 0 follows XLA: -2 and -1

// %% Sorting
const s = np.array([3, 1, NaN, 2]);
print(np.sort(s), np.argsort(s));                  // NaN sorts last

// %% Devices
print(devices());
const z = devicePut(np.ones([2]), "cpu:0");
display(z);
