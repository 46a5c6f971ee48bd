// The two contenders of `npm run bench -- --backend webgpu`, opened on the same adapter in one
// process: Primal's WebGPU device (webgpu:0, the default device once
// `jax_platform_name` is "webgpu"; its Dawn instance lives in Primal's device thread) and
// @jax-js/jax's `webgpu` device, which looks for `navigator.gpu`. Node has no navigator, so
// one is made from the `webgpu` package (Dawn), the same package Primal uses.
//
// Pitfall 1 of shared/webgpu-node.md: the object `create()` returns must stay referenced for
// the device's whole life, or the process crashes at a random later await; it is kept in a
// module-level constant and on globalThis.navigator.
//
// Pipelines: Primal's client counts the distinct shaders it sent to the device (each becomes
// one pipeline on the device thread); jax-js's pipelines are counted by wrapping its
// GPUDevice's createComputePipeline and createComputePipelineAsync.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { config, devices } from "../../kernel/index";
import { webgpuBackend } from "../../kernel/backends/webgpu/webgpu-backend";
import type { GpuClient } from "../../kernel/backends/webgpu/gpu-client";
import type { JaxJs, Peer } from "./peers";

/** Primal's WebGPU device as the benchmark drives it. */
export interface PrimalGpu {
  device: string;
  /** The adapter in words (its description). */
  adapter: string;
  /** A software rasterizer (lavapipe/llvmpipe): sizes and repetitions are kept small. */
  software: boolean;
  client: GpuClient;
  /** Waits until every command sent so far has run on the device (no copy back). */
  sync(): void;
}

/** jax-js on its WebGPU device, and its pipeline counter. */
export interface JaxGpu extends Peer<JaxJs> {
  /** Compute pipelines jax-js created so far (createComputePipeline + ...Async calls). */
  pipelines(): number;
}

/** The part of Dawn's `GPU` object used here (the project's type roots leave out @webgpu/types). */
interface GpuEntry {
  requestAdapter(opts?: { powerPreference?: string }): Promise<{ info?: { vendor: string; architecture: string; device: string; description: string } } | null>;
}

let navigatorGpu: GpuEntry | null = null;

/** Makes `navigator.gpu` (Dawn through the `webgpu` package) for jax-js; idempotent. */
async function installNavigatorGpu(): Promise<GpuEntry> {
  if (navigatorGpu) return navigatorGpu;
  const wgpu = (await import("webgpu")) as unknown as { create(flags: string[]): GpuEntry; globals: Record<string, unknown> };
  Object.assign(globalThis, wgpu.globals);
  const flags = (process.env.PRIMAL_WEBGPU_FLAGS ?? "").split(",").filter(Boolean);
  navigatorGpu = wgpu.create(flags);
  // jax-js also reads navigator.userAgent (a mobile-browser check in its kernel tuning).
  Object.defineProperty(globalThis, "navigator", { value: { gpu: navigatorGpu, userAgent: `Node.js/${process.version}`, hardwareConcurrency: 1 }, configurable: true, writable: true });
  return navigatorGpu;
}

/** Opens Primal's webgpu:0 and makes it the default device (new arrays and jit go there). */
export function openPrimalGpu(): PrimalGpu {
  config.update("jax_platform_name", "webgpu");
  const list = devices("webgpu");
  if (!list.length) throw new Error(`bench: Primal has no WebGPU device (${webgpuBackend.unavailableReason() ?? "no reason given"})`);
  const dev = list[0] as unknown as { client: GpuClient; deviceKind: string };
  const client = dev.client;
  return {
    device: String(list[0]),
    adapter: dev.deviceKind,
    software: client.info.software,
    client,
    sync: () => client.syncSync(),
  };
}

/** jax-js with its WebGPU device as the default, or the reason it could not start. */
export async function openJaxGpu(): Promise<JaxGpu | { error: string }> {
  let lib: JaxJs;
  try {
    await installNavigatorGpu();
    lib = await import("@jax-js/jax");
    const ok = await lib.init("webgpu");
    if (!ok.includes("webgpu")) return { error: `jax-js init("webgpu") returned ${JSON.stringify(ok)}` };
    lib.defaultDevice("webgpu");
  } catch (e) {
    return { error: `@jax-js/jax on webgpu did not start (${(e as Error).message})` };
  }
  const dev = lib.getWebGPUDevice() as unknown as Record<string, unknown>;
  let count = 0;
  for (const m of ["createComputePipeline", "createComputePipelineAsync"] as const) {
    const orig = (dev[m] as (...a: unknown[]) => unknown).bind(dev);
    Object.defineProperty(dev, m, {
      value: (...a: unknown[]) => {
        count++;
        return orig(...a);
      },
      configurable: true,
      writable: true,
    });
  }
  const adapter = await navigatorGpu!.requestAdapter({ powerPreference: "high-performance" });
  const info = adapter?.info;
  const what = info ? info.description || `${info.vendor} ${info.architecture} ${info.device}`.trim() : "unknown adapter";
  return { lib, name: "@jax-js/jax", version: installedVersion("@jax-js/jax"), backend: `webgpu device (${what}, Dawn in the main thread)`, pipelines: () => count };
}

/** Finishes both devices' work and releases Primal's device thread (before process.exit). */
export async function closeGpus(jax: JaxGpu | null): Promise<void> {
  if (jax) {
    // An empty array read waits for the queue: jax-js has nothing in flight afterwards.
    const z = jax.lib.numpy.zeros([1]);
    await z.data();
    (jax.lib.getWebGPUDevice() as unknown as { destroy(): void }).destroy();
  }
  await webgpuBackend.shutdown();
}

function installedVersion(pkg: string): string {
  try {
    return (JSON.parse(readFileSync(join(process.cwd(), "node_modules", pkg, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}
