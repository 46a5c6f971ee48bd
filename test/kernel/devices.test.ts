// Devices and host transfer (JAX's devices, device_put, device_get, block_until_ready), and
// the print/display entry points for plain Node use.

import { describe, expect, it } from "vitest";
import { np, devices, devicePut, deviceGet, blockUntilReady, print, display, NDArray } from "../../kernel/index";
import { setOutputSink } from "../../kernel/api/output";
import { DisposedError } from "../../kernel/core/errors";

describe("devices", () => {
  it("lists cpu:0 and arrays live there", () => {
    const ds = devices();
    expect(ds.map(String)).toEqual(["cpu:0"]);
    expect(devices("cpu")[0].platform).toBe("cpu");
    const x = np.ones([2]);
    expect(String(x.device)).toBe("cpu:0");
    expect([...x.devices()].map(String)).toEqual(["cpu:0"]);
    expect(() => devices("tpu")).toThrow(/backend: unknown or unavailable platform, got "tpu"/);
  });
  it("devicePut converts JS values and trees, and commits when a device is named", () => {
    // JS arrays are pytree nodes, as Python lists are in JAX: their leaves are put one by one.
    const t = devicePut({ w: [[1, 2]], b: 3, nested: [np.zeros([1]), null] }) as unknown as { w: NDArray[][]; b: NDArray; nested: [NDArray, null] };
    expect(t.w[0][1]).toBeInstanceOf(NDArray);
    expect(t.w[0][1].item()).toBe(2);
    expect(t.b.weakType).toBe(true);
    expect(t.nested[1]).toBeNull();
    const c = devicePut(np.arange(3), "cpu:0") as NDArray;
    expect(c._committed).toBe(true);
    expect(c.add(1)._committed).toBe(true); // results of committed inputs stay committed
    expect(() => devicePut(np.ones([1]), "cpu:7")).toThrow(/devicePut: no such device, got "cpu:7"/);
  });
  it("deviceGet returns host values: nested lists for arrays, leaves untouched otherwise", () => {
    expect(deviceGet({ a: np.array([[1, 2], [3, 4]]), b: np.array([true, false]), c: 5 })).toEqual({ a: [[1, 2], [3, 4]], b: [true, false], c: 5 });
  });
  it("blockUntilReady waits on every leaf and returns the tree", async () => {
    const tree = [np.ones([2]), { y: np.zeros([3]) }];
    expect(await blockUntilReady(tree)).toBe(tree);
    expect(await np.ones([2]).blockUntilReady()).toBeInstanceOf(NDArray);
  });
  it("data() and dataSync() agree; float16 is decoded to float32 values", async () => {
    const h = np.array([0.1, 2], { dtype: "float16" });
    expect(h.dataSync()).toBeInstanceOf(Float32Array);
    expect(Array.from(await h.data())).toEqual([0.0999755859375, 2]);
  });
  it("dispose frees the array; using it afterwards is a clear error", () => {
    const x = np.ones([4]);
    x.dispose();
    expect(() => x.dataSync()).toThrow(DisposedError);
    expect(() => x.add(1)).toThrow(/add: the array was disposed/);
    expect(String(x)).toBe("<disposed f32[4]>");
  });
});

describe("using", () => {
  it("disposes through both Symbol.dispose and Symbol.for('Symbol.dispose') (what esbuild's lowering uses in a vm context)", () => {
    for (const key of [(Symbol as { dispose?: symbol }).dispose, Symbol.for("Symbol.dispose")]) {
      if (!key) continue;
      const x = np.ones([1]) as unknown as Record<symbol, () => void>;
      x[key]();
      expect(() => (x as unknown as NDArray).dataSync()).toThrow(DisposedError);
    }
  });
});

describe("print and display", () => {
  it("print uses NumPy's str, display JAX's repr", () => {
    const got: [string, string][] = [];
    const prev = setOutputSink((kind, text) => got.push([kind, text]));
    try {
      print("x =", np.array([3, 8, 15]), 2);
      display(np.array([3, 8, 15]), np.asarray(2));
    } finally {
      setOutputSink(prev);
    }
    expect(got).toEqual([
      ["print", "x = [ 3  8 15] 2"],
      ["display", "Array([ 3,  8, 15], dtype=int32)"],
      ["display", "Array(2, dtype=int32, weak_type=True)"],
    ]);
  });
});
