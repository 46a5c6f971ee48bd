// pmap over two WebGPU devices (PRIMAL_WEBGPU_DEVICES=2: two adapters, each with its own device
// thread; on lavapipe every adapter request gives another one). The variable is read when the
// backend opens its devices, so it is set in vi.hoisted before the kernel is imported. Checked:
// the two devices are distinct; elementwise programs and a batched matmul against the
// unsharded computation recomputed in float64 on the host; every collective against its
// definition on the host; the gradient of a data-parallel loss (per-device gradients, pmean)
// against the analytic float64 gradient of the whole batch, as pmap(grad) and as grad(pmap);
// outputs on WebGPU devices; every shard's equations on its own device (a spy on the backend's
// execute); JAX's error for more shards than devices. With webgpu as the default platform and
// with `devices: devices("webgpu")`. Skipped without an adapter, except under PRIMAL_CI=1.

import { afterEach, describe, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.PRIMAL_WEBGPU_DEVICES = "2";
});

import { NDArray, config, devicePut, devices, grad, lax, np, pmap } from "../../kernel/index";
import { ValueError } from "../../kernel/core/errors";
import { webgpuBackend } from "../../kernel/backends/webgpu/webgpu-backend";
import { at, build, expectClose, randArrays } from "../kernel/helpers/host-arrays";
import { gpuRequired } from "./helpers/raw-device";

type Fn = (...args: any[]) => any;
const gpus = webgpuBackend.devices();
if (gpus.length < 2 && gpuRequired) throw new Error(`PRIMAL_CI=1 but there are not 2 WebGPU devices: ${webgpuBackend.unavailableReason()}`);
const D = 2;
const TOL = 2e-5; // float32 WGSL against float64 host references
const randArray = randArrays(8642);
/** pmap over the WebGPU devices with the axis named "i". */
const pm = (f: Fn, opts: Record<string, unknown> = {}) => pmap(f, { axisName: "i", devices: devices("webgpu"), ...opts });
const sum = (a: number[]) => a.reduce((s, v) => s + v, 0);

/** Records the device each primitive runs on through the WebGPU backend's execute. */
function spyDevices(): { calls: { prim: string; device: string }[]; restore: () => void } {
  const calls: { prim: string; device: string }[] = [];
  const original = webgpuBackend.execute.bind(webgpuBackend);
  const spy = vi.spyOn(webgpuBackend, "execute").mockImplementation((prim, inputs, params, outAvals, device) => {
    calls.push({ prim: prim.name, device: String(device) });
    return original(prim, inputs, params, outAvals, device);
  });
  return { calls, restore: () => spy.mockRestore() };
}

const onWebgpu = (x: NDArray) => expect(x.device.platform).toBe("webgpu");

describe.skipIf(gpus.length < 2)("pmap on WebGPU devices", () => {
  afterEach(() => {
    vi.restoreAllMocks();
    config.update("jax_platform_name", null);
  });

  it("PRIMAL_WEBGPU_DEVICES=2 gives two distinct devices", () => {
    const ds = devices("webgpu");
    expect(ds.map(String)).toEqual(["webgpu:0", "webgpu:1"]);
    expect(ds[0]).not.toBe(ds[1]);
    expect((ds[0] as any).client).not.toBe((ds[1] as any).client);
  });

  it("elementwise, from host inputs and from inputs on a WebGPU device, against float64", () => {
    const [x, xs] = randArray([D, 5]);
    const f = (v: NDArray) => np.sin(v).mul(2).add(v.mul(v));
    const want = xs.map((a) => 2 * Math.sin(a) + a * a);
    const out = pm(f)(x);
    onWebgpu(out);
    expect(out.shape).toEqual([D, 5]);
    expectClose(out, want, TOL);
    // Input committed to webgpu:1, mapped along axis 1 and stacked along axis 1.
    const placed = devicePut(x.T, "webgpu:1") as NDArray;
    const t = pm(f, { inAxes: 1, outAxes: 1 })(placed);
    onWebgpu(t);
    expectClose(t, build([5, D], ([k, i]) => want[i * 5 + k]), TOL);
  });

  it("batched matmul [2, 64, 64], both operands mapped and the weights replicated", () => {
    const N = 64;
    const [a, as] = randArray([D, N, N]);
    const [b, bs] = randArray([D, N, N]);
    const [w, ws] = randArray([N, N]);
    const both = pm((x: NDArray, y: NDArray) => np.matmul(x, y))(a, b);
    onWebgpu(both);
    expect(both.shape).toEqual([D, N, N]);
    const dot = (d: number, r: number, rhs: (k: number) => number) => {
      let s = 0;
      for (let k = 0; k < N; k++) s += at(as, [D, N, N], [d, r, k]) * rhs(k);
      return s;
    };
    // Sums of 64 products of values in [-2, 2): float32 accumulation within ~1e-5 relative.
    expectClose(both, build([D, N, N], ([d, r, c]) => dot(d, r, (k) => at(bs, [D, N, N], [d, k, c]))), 1e-4);
    const rep = pm((x: NDArray, m: NDArray) => np.tanh(np.matmul(x, m)), { inAxes: [0, null] })(a, w);
    expectClose(rep, build([D, N, N], ([d, r, c]) => Math.tanh(dot(d, r, (k) => ws[k * N + c]))), 1e-4);
  });

  describe("collectives against their definitions", () => {
    const F = 3;
    const [x, xs] = randArray([D, F]);
    const col = (k: number) => Array.from({ length: D }, (_, i) => xs[i * F + k]);
    const check = (f: Fn, want: number[]) => {
      const out = pm(f)(x);
      onWebgpu(out);
      expectClose(out, want, TOL);
    };

    it("psum, pmean, pmax, pmin", () => {
      check((v: NDArray) => lax.psum(v, "i"), build([D, F], ([, k]) => sum(col(k))));
      check((v: NDArray) => lax.pmean(v, "i"), build([D, F], ([, k]) => sum(col(k)) / D));
      check((v: NDArray) => lax.pmax(v, "i"), build([D, F], ([, k]) => Math.max(...col(k))));
      check((v: NDArray) => lax.pmin(v, "i"), build([D, F], ([, k]) => Math.min(...col(k))));
    });

    it("allGather, stacked, along axis 1 and tiled", () => {
      check((v: NDArray) => lax.allGather(v, "i"), build([D, D, F], ([, j, k]) => xs[j * F + k]));
      check((v: NDArray) => lax.allGather(v, "i", { axis: 1 }), build([D, F, D], ([, k, j]) => xs[j * F + k]));
      check((v: NDArray) => lax.allGather(v, "i", { tiled: true }), build([D, D * F], ([, m]) => xs[m]));
    });

    it("ppermute: a swap, and a partial permutation (zeros where nothing is sent)", () => {
      check((v: NDArray) => lax.ppermute(v, "i", [[0, 1], [1, 0]]), build([D, F], ([i, k]) => xs[(1 - i) * F + k]));
      check((v: NDArray) => lax.ppermute(v, "i", [[0, 1]]), build([D, F], ([i, k]) => (i === 1 ? xs[k] : 0)));
    });

    it("axisIndex: shard i gets i, on its device", () => {
      const idx = pm((v: NDArray) => lax.axisIndex("i").add(v.sum().mul(0)))(x);
      onWebgpu(idx);
      expect(Array.from(idx.dataSync() as Float32Array)).toEqual([0, 1]);
      expect(Array.from(pm(() => lax.axisIndex("i"), { axisSize: D })().dataSync() as Int32Array)).toEqual([0, 1]);
    });

    it("psumScatter, untiled and tiled", () => {
      const [y, ys] = randArray([D, D, 2]);
      const S = (j: number, k: number) => sum(Array.from({ length: D }, (_, i) => at(ys, [D, D, 2], [i, j, k])));
      const out = pm((v: NDArray) => lax.psumScatter(v, "i"))(y);
      onWebgpu(out);
      expectClose(out, build([D, 2], ([i, k]) => S(i, k)), TOL);
      expectClose(pm((v: NDArray) => lax.psumScatter(v.reshape([2 * D]), "i", { tiled: true }))(y), build([D, 2], ([i, m]) => S(i, m)), TOL);
    });
  });

  describe("data-parallel gradient", () => {
    // loss(p) = mean_n (tanh(x_n . w + b) - y_n)^2 over a batch of 8, 4 rows per device.
    const B = 8;
    const K = 3;
    const [X, Xs] = randArray([B, K]);
    const [Y, Ys] = randArray([B]);
    const [w, wsArr] = randArray([K]);
    const params = { w, b: np.array(0.3, { dtype: "float32" }) };
    type P = typeof params;
    const loss = (p: P, x: NDArray, y: NDArray) => np.mean(np.square(np.tanh(np.matmul(x, p.w).add(p.b)).sub(y)));
    // The analytic gradient of the whole batch's mean loss, in float64.
    const ref = (() => {
      const b = 0.30000001192092896; // float32(0.3)
      const gw = [0, 0, 0];
      let gb = 0;
      for (let n = 0; n < B; n++) {
        const t = Math.tanh(sum(wsArr.map((wk, k) => wk * Xs[n * K + k])) + b);
        const dz = (2 / B) * (t - Ys[n]) * (1 - t * t);
        for (let k = 0; k < K; k++) gw[k] += dz * Xs[n * K + k];
        gb += dz;
      }
      return { w: gw, b: gb };
    })();
    const Xd = X.reshape([D, B / D, K]);
    const Yd = Y.reshape([D, B / D]);

    it("pmap(grad) with pmean of the gradients: every device holds the whole batch's gradient", () => {
      const step = pm((p: P, x: NDArray, y: NDArray) => lax.pmean(grad(loss)(p, x, y), "i"), { inAxes: [null, 0, 0] });
      const g = step(params, Xd, Yd) as P;
      onWebgpu(g.w);
      expect(g.w.shape).toEqual([D, K]);
      expectClose(g.w, [...ref.w, ...ref.w], 1e-5);
      expectClose(g.b, [ref.b, ref.b], 1e-5);
    });

    it("grad of the mean of the per-device losses, webgpu as the default platform", () => {
      config.update("jax_platform_name", "webgpu");
      const onGpu = { w: devicePut(w, "webgpu:0") as NDArray, b: devicePut(params.b, "webgpu:0") as NDArray };
      const total = (p: P) => np.mean(pmap(loss, { inAxes: [null, 0, 0] })(p, Xd, Yd));
      const g = grad(total)(onGpu) as P;
      onWebgpu(g.w);
      expectClose(g.w, ref.w, 1e-5);
      expectClose(g.b, [ref.b], 1e-5);
    });
  });

  describe("placement", () => {
    it("each shard's equations run on its own device; the result lands on the first device", () => {
      const [x, xs] = randArray([D, 4]);
      const { calls, restore } = spyDevices();
      const out = pm((v: NDArray) => lax.psum(np.sin(v), "i").mul(np.exp(v)))(x);
      restore();
      for (const prim of ["sin", "exp", "mul"]) expect(calls.filter((c) => c.prim === prim).map((c) => c.device).sort()).toEqual(["webgpu:0", "webgpu:1"]);
      expect(String(out.device)).toBe("webgpu:0");
      expectClose(out, build([D, 4], ([i, k]) => (Math.sin(xs[k]) + Math.sin(xs[4 + k])) * Math.exp(xs[i * 4 + k])), TOL);
    });

    it("devices in another order: shard i on the i-th device given, the output on the first", () => {
      const [x, xs] = randArray([D, 4]);
      const { calls, restore } = spyDevices();
      const out = pm((v: NDArray) => np.exp(v).add(lax.axisIndex("i")), { devices: [...devices("webgpu")].reverse() })(x);
      restore();
      const exps = calls.filter((c) => c.prim === "exp").map((c) => c.device);
      expect(exps.sort()).toEqual(["webgpu:0", "webgpu:1"]);
      expect(String(out.device)).toBe("webgpu:1");
      expectClose(out, build([D, 4], ([i, k]) => Math.exp(xs[i * 4 + k]) + i), TOL);
    });

    it("webgpu as the default platform: pmap without devices runs there", () => {
      config.update("jax_platform_name", "webgpu");
      const [x, xs] = randArray([D, 3]);
      expect(String(x.device)).toBe("webgpu:0");
      const { calls, restore } = spyDevices();
      const out = pmap((v: NDArray) => np.cos(v))(x);
      restore();
      expect(calls.filter((c) => c.prim === "cos").map((c) => c.device).sort()).toEqual(["webgpu:0", "webgpu:1"]);
      onWebgpu(out);
      expectClose(out, xs.map(Math.cos), TOL);
    });
  });

  it("more shards than devices: JAX's error", () => {
    config.update("jax_platform_name", "webgpu");
    const f = (v: NDArray) => v.add(1);
    expect(() => pmap(f)(np.zeros([3, 2]))).toThrow(ValueError);
    expect(() => pmap(f)(np.zeros([3, 2]))).toThrow("compiling computation that requires 3 logical devices, but only 2 XLA devices are available (num_replicas=3)");
    expect(() => pmap(f, { devices: devices("webgpu") })(np.zeros([3, 2]))).toThrow(ValueError);
    expect(() => pmap(f, { devices: devices("webgpu") })(np.zeros([3, 2]))).toThrow(/must equal the number of local devices passed to pmap. Got axis_size=3, num_local_devices=2/);
  });
});
