// The peers a user would pick instead of Primal, loaded into the benchmark's own process:
// @jax-js/jax on its `wasm` device, and TensorFlow.js on its WebAssembly backend (or, where that
// backend does not start, its plain-JS `cpu` backend; the report says which ran). Both are
// devDependencies pinned in package.json and left external by scripts/build.mjs, so they are
// loaded from node_modules exactly as a user's program would load them.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

export type JaxJs = typeof import("@jax-js/jax");
export type Tfjs = typeof import("@tensorflow/tfjs");

/** A loaded peer library and how it runs here. */
export interface Peer<L> {
  lib: L;
  name: string;
  version: string;
  /** The device/backend it computes on, in words. */
  backend: string;
}

/** The peers that loaded; a missing one leaves its columns empty, with the reason in `notes`. */
export interface Peers {
  jax: Peer<JaxJs> | null;
  tf: Peer<Tfjs> | null;
  notes: string[];
}

const req = createRequire(join(process.cwd(), "package.json"));

/** The installed version of a package (read from node_modules: some packages do not export package.json). */
function installedVersion(pkg: string): string {
  try {
    return (JSON.parse(readFileSync(join(process.cwd(), "node_modules", pkg, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

/** jax-js on its wasm device (its default on Node; webgpu is absent here). */
async function loadJax(notes: string[]): Promise<Peer<JaxJs> | null> {
  try {
    const lib: JaxJs = await import("@jax-js/jax");
    await lib.init("wasm");
    lib.defaultDevice("wasm");
    // jax-js spreads wasm kernels over Web Workers when `Worker` and SharedArrayBuffer exist;
    // Node has worker_threads but no global `Worker`, so here it runs on one thread.
    const threaded = typeof (globalThis as { Worker?: unknown }).Worker !== "undefined";
    return { lib, name: "@jax-js/jax", version: installedVersion("@jax-js/jax"), backend: `wasm device, ${threaded ? "Web Workers" : "1 thread (no global Worker in Node)"}` };
  } catch (e) {
    notes.push(`@jax-js/jax did not load (${(e as Error).message}); its columns are empty.`);
    return null;
  }
}

/** TensorFlow.js on its wasm backend (SIMD), else its cpu backend. */
async function loadTf(notes: string[]): Promise<Peer<Tfjs> | null> {
  let lib: Tfjs;
  try {
    lib = await import("@tensorflow/tfjs");
  } catch (e) {
    notes.push(`@tensorflow/tfjs did not load (${(e as Error).message}); its columns are empty.`);
    return null;
  }
  const version = installedVersion("@tensorflow/tfjs");
  try {
    const wasm: typeof import("@tensorflow/tfjs-backend-wasm") = await import("@tensorflow/tfjs-backend-wasm");
    wasm.setWasmPaths(dirname(req.resolve("@tensorflow/tfjs-backend-wasm")) + "/");
    if (!(await lib.setBackend("wasm"))) throw new Error("setBackend('wasm') returned false");
    await lib.ready();
    const simd = lib.env().getBool("WASM_HAS_SIMD_SUPPORT");
    const threads = lib.env().getBool("WASM_HAS_MULTITHREAD_SUPPORT");
    return { lib, name: "@tensorflow/tfjs", version, backend: `wasm backend ${installedVersion("@tensorflow/tfjs-backend-wasm")}, ${simd ? "SIMD" : "no SIMD"}, ${threads ? "threaded" : "1 thread"}` };
  } catch (e) {
    notes.push(`tfjs wasm backend unavailable (${(e as Error).message}); tfjs ran on its cpu backend.`);
    await lib.setBackend("cpu");
    await lib.ready();
    return { lib, name: "@tensorflow/tfjs", version, backend: "cpu backend (plain JS)" };
  }
}

/** Loads both peers (jax-js first: its init does not depend on tfjs, and vice versa). */
export async function loadPeers(): Promise<Peers> {
  const notes: string[] = [];
  const jax = await loadJax(notes);
  const tf = await loadTf(notes);
  return { jax, tf, notes };
}

/** Runs a peer's part of a workload; a failure is reported and leaves the cell empty instead of ending the run. */
export async function tryPeer<T>(what: string, notes: string[], fn: () => Promise<T>): Promise<T | null> {
  try {
    return await fn();
  } catch (e) {
    const msg = `${what} failed: ${(e as Error).message.split("\n")[0]}`;
    console.error(`bench: ${msg}`);
    notes.push(msg);
    return null;
  }
}
