// The WebGPU backend's runtime (kernel/backends/webgpu/webgpu-backend.ts and the device thread):
// devices and placement, transfers, PRNG bits equal to the CPU's, eager and jitted results equal
// to the CPU backend's within float32 tolerance, memory that stays flat over thousands of eager
// training steps without a single dispose, the budget's out-of-memory error, device loss, and
// the inspection record of programs compiled for the device. Runs on whatever adapter Dawn
// finds (lavapipe in CI); without one it is skipped, except under PRIMAL_CI=1 where it fails.

import { afterAll, describe, expect, it } from "vitest";
import { DeviceError, config, devicePut, devices, grad, jit, np, random } from "../../kernel/index";
import { NDArray } from "../../kernel/core/ndarray";
import { webgpuBackend } from "../../kernel/backends/webgpu/webgpu-backend";
import { clearCompiled, inspectCompiled, setKernelTiming } from "../../kernel/lower/inspect";
import { gpuRequired } from "./helpers/raw-device";

const gpus = webgpuBackend.devices();
if (!gpus.length && gpuRequired) throw new Error(`PRIMAL_CI=1 but there is no WebGPU device: ${webgpuBackend.unavailableReason()}`);
const gpu = gpus[0] as any;
const onGpu = <T extends NDArray>(x: T) => devicePut(x, "webgpu:0") as NDArray;
const bits = (x: NDArray) => Array.from(new Uint32Array((x.dataSync() as Float32Array).slice().buffer));

describe.skipIf(!gpus.length)("webgpu backend", () => {
  afterAll(() => config.update("jax_platform_name", null));

  it("lists the adapter as webgpu:0, places arrays there, and moves them back", () => {
    expect(devices("webgpu").map(String)).toEqual(["webgpu:0"]);
    config.update("jax_platform_name", "webgpu");
    expect(devices().map(String)).toEqual(["webgpu:0"]);
    config.update("jax_platform_name", null);
    expect(gpu.deviceKind.length).toBeGreaterThan(0);
    const x = onGpu(np.arange(6).reshape([2, 3]));
    expect(String(x.device)).toBe("webgpu:0");
    expect([...x.devices()].map(String)).toEqual(["webgpu:0"]);
    expect(x.add(1).tolist()).toEqual([[1, 2, 3], [4, 5, 6]]);
    const back = devicePut(x.mul(2), "cpu:0") as NDArray;
    expect(String(back.device)).toBe("cpu:0");
    expect(back.tolist()).toEqual([[0, 2, 4], [6, 8, 10]]);
  });

  it("raises JAX's error for arrays committed to different devices, and transfers uncommitted ones", () => {
    const a = onGpu(np.ones([3]));
    const c = devicePut(np.ones([3]), "cpu:0") as NDArray;
    expect(() => a.add(c)).toThrow(/committed to different devices, got webgpu:0 and cpu:0|committed to different devices, got cpu:0 and webgpu:0/);
    // An uncommitted CPU array follows the committed one to the GPU.
    const r = a.add(np.arange(3));
    expect(String(r.device)).toBe("webgpu:0");
    expect(r.tolist()).toEqual([1, 2, 3]);
  });

  it("follows config.update('jax_platform_name') for new arrays", () => {
    config.update("jax_platform_name", "webgpu");
    expect(String(np.zeros([2]).device)).toBe("webgpu:0");
    config.update("jax_platform_name", "cpu");
    expect(String(np.zeros([2]).device)).toBe("cpu:0");
    config.update("jax_platform_name", null);
  });

  it("gives the PRNG's bits exactly as the CPU does, eager and jitted", () => {
    const cpu = random.uniform(random.key(42), [257]);
    const cpuNormal = random.normal(random.key(42), [257]).dataSync();
    const cpuBits = random.bits(random.key(3), [100]).dataSync();
    const cpuJitted = jit((key: any) => random.uniform(key, [100]))(random.key(7));
    config.update("jax_platform_name", "webgpu");
    try {
      const eager = random.uniform(random.key(42), [257]);
      expect(String(eager.device)).toBe("webgpu:0");
      expect(bits(eager)).toEqual(bits(cpu));
      expect(Array.from(random.bits(random.key(3), [100]).dataSync())).toEqual(Array.from(cpuBits));
      // normal goes through erf_inv, a float32 transcendental: within float32 tolerance.
      random.normal(random.key(42), [257]).dataSync().forEach((v, i) => expect(Math.abs(v - cpuNormal[i])).toBeLessThan(2e-6 * (1 + Math.abs(cpuNormal[i]))));
      const jitted = jit((key: any) => random.uniform(key, [100]))(random.key(7));
      expect(String(jitted.device)).toBe("webgpu:0");
      expect(bits(jitted)).toEqual(bits(cpuJitted));
    } finally {
      config.update("jax_platform_name", null);
    }
  });

  it("computes what the CPU computes (float32 tolerance), eager and jitted, with gradients", () => {
    const xs = random.normal(random.key(1), [33, 17]);
    const w = random.normal(random.key(2), [17, 5]);
    const f = (x: NDArray, w: NDArray) => np.sum(np.tanh(np.matmul(x, w)).mul(np.exp(x).mean()));
    const g = (x: NDArray, w: NDArray) => np.mean(np.square(np.tanh(np.matmul(x, w))));
    const ref = [f(xs, w).item() as number, ...(grad(g, { argnums: 1 } as any)(xs, w) as NDArray).dataSync()];
    const [gx, gw] = [onGpu(xs), onGpu(w)];
    for (const run of [(x: NDArray, w: NDArray) => [f(x, w), grad(g, { argnums: 1 } as any)(x, w) as NDArray], jit((x: NDArray, w: NDArray) => [f(x, w), grad(g, { argnums: 1 } as any)(x, w) as NDArray])]) {
      const [v, dw] = run(gx, gw) as NDArray[];
      expect(String(dw.device)).toBe("webgpu:0");
      const got = [v.item() as number, ...dw.dataSync()];
      got.forEach((x, i) => expect(Math.abs(x - ref[i])).toBeLessThan(1e-4 * (1 + Math.abs(ref[i]))));
    }
  });

  it("keeps device memory flat over 3,000 eager training steps without dispose", () => {
    const x = onGpu(random.normal(random.key(1), [16, 32]));
    let w = onGpu(random.normal(random.key(0), [32, 8]).mul(0.1));
    const loss = (w: NDArray) => np.mean(np.square(np.tanh(np.matmul(x, w))));
    const before = loss(w).item() as number;
    const start = gpu.client.liveCount;
    const live: number[] = [];
    for (let i = 0; i < 3000; i++) {
      w = w.sub((grad(loss)(w) as NDArray).mul(0.5));
      if (i % 100 === 99) live.push(gpu.client.liveCount - start);
    }
    expect(loss(w).item()).toBeLessThan(before);
    // Each step leaves ~20 dead buffers: 60,000 without reclaiming. The count saw-tooths under
    // the collection threshold (16K buffers, webgpu-backend.ts) instead of growing with steps:
    // the last third of the run peaks no higher than the first two thirds did.
    const peak = (xs: number[]) => Math.max(...xs);
    expect(peak(live)).toBeLessThan(2 * 16384);
    expect(peak(live.slice(20))).toBeLessThanOrEqual(peak(live.slice(0, 20)) + 100);
    expect(gpu.client.stats().live).toBeLessThan(2 * 16384);
  }, 120000);

  it("reads asynchronously", async () => {
    const x = onGpu(np.arange(5)).mul(3);
    expect(Array.from(await x.data())).toEqual([0, 3, 6, 9, 12]);
    await expect(x.blockUntilReady()).resolves.toBe(x);
  });

  it("records compiled programs for the device with WGSL sources, and kernel times when timing is on", () => {
    clearCompiled();
    setKernelTiming(true);
    try {
      const f = jit((x: NDArray) => np.exp(x.mul(2)).sum(0));
      const y = f(onGpu(np.ones([64, 8])));
      expect(y.dataSync()[0]).toBeCloseTo(64 * Math.exp(2), 2);
      f(onGpu(np.ones([64, 8]))).dataSync();
      const r = inspectCompiled().find((c) => c.platform === "webgpu")!;
      expect(r).toBeDefined();
      const k = r.kernels.find((k) => k.kind === "kernel")!;
      expect(k.source).toMatch(/@compute @workgroup_size/);
      if (gpu.client.info.features.includes("timestamp-query")) {
        gpu.client.syncSync();
        expect(k.timing.calls).toBeGreaterThan(0);
      }
    } finally {
      setKernelTiming(false);
    }
  });

  it("raises a clear out-of-memory error past the budget, after reclaiming what is unreachable", () => {
    const old = (webgpuBackend as any).budgetBytes;
    (webgpuBackend as any).budgetBytes = gpu.client.liveBytes + 48 * 2 ** 20;
    try {
      // 40 unreachable 16 MiB arrays fit a 48 MiB budget: each allocation reclaims the last ones.
      for (let i = 0; i < 40; i++) onGpu(np.zeros([4 << 20])).add(1);
      const held: NDArray[] = [];
      expect(() => {
        for (let i = 0; i < 8; i++) held.push(onGpu(np.zeros([4 << 20])));
      }).toThrow(/out of device memory on webgpu:0: 16777216 bytes requested with \d+ bytes in use by live arrays, budget \d+ bytes/);
      held.length = 0;
    } finally {
      (webgpuBackend as any).budgetBytes = old;
    }
  });

  it("runs a file with `primal run --backend webgpu`, and prints WGSL with --kernels", async () => {
    const { main } = await import("../../kernel/cli");
    const lib = await import("../../kernel/index");
    let out = "";
    let err = "";
    const io = { stdout: (t: string) => void (out += t), stderr: (t: string) => void (err += t), library: lib, cwd: new URL("../kernel/fixtures", import.meta.url).pathname };
    try {
      expect(await main(["run", "--backend", "webgpu", "--kernels", "cli-kernels.ts"], io)).toBe(0);
    } finally {
      config.update("jax_platform_name", null);
    }
    expect(err).toBe("");
    expect(out).toMatch(/@compute @workgroup_size/);
    expect(out.split("\n")[0]).toBe("--- kernels of jit(fused) (cli-kernels.ts:7) on webgpu ---");
  });

  it("survives a lost device: its arrays raise a clear error, new ones work", () => {
    const x = onGpu(np.arange(4));
    x.dataSync();
    const y = onGpu(np.arange(4)).add(1);
    gpu.client.loseDevice();
    expect(() => y.mul(2).dataSync()).toThrow(DeviceError);
    expect(() => y.mul(2)).toThrow(/webgpu:0, which was lost and re-created since/);
    // x was read before the loss: its host copy is still there.
    expect(x.tolist()).toEqual([0, 1, 2, 3]);
    const z = onGpu(np.arange(4)).mul(2);
    expect(z.tolist()).toEqual([0, 2, 4, 6]);
  });
});
