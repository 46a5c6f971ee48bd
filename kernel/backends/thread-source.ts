// Where a worker thread's code comes from, for the backends' own threads (the WebGPU device
// thread, the CPU devices' threads): the bundle scripts/build.mjs writes beside the running
// bundle in dist/, or, when running from the TypeScript sources (vitest, ad hoc bundles run from
// the checkout), the entry's source bundled on the fly with esbuild, which is a runtime
// dependency anyway (it transpiles cells). The transpiled code is kept per entry, so starting a
// second thread of the same kind costs no second build.

import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { Worker, WorkerOptions } from "node:worker_threads";

/** A worker's code: a file to run, or source to evaluate (`eval: true`). */
export type ThreadSource = { file: string } | { code: string; eval: true };

const transpiled = new Map<string, string>();

/**
 * The code of a worker entry: `bundled` when that file exists, else the first of `sources` that
 * exists, bundled with esbuild (packages in `external` left to require at run time); null when
 * neither is there (a user's own bundle of Primal, without the source tree).
 */
export function findThreadSource(bundled: string, sources: readonly string[], external: readonly string[] = ["esbuild", "webgpu"]): ThreadSource | null {
  if (existsSync(bundled)) return { file: bundled };
  const src = sources.find((f) => existsSync(f));
  if (!src) return null;
  let code = transpiled.get(src);
  if (code === undefined) {
    const esbuild = createRequire(__filename)("esbuild") as typeof import("esbuild");
    const out = esbuild.buildSync({ entryPoints: [src], bundle: true, write: false, platform: "node", format: "cjs", target: "es2022", external: [...external], logLevel: "silent" });
    code = out.outputFiles[0].text;
    transpiled.set(src, code);
  }
  return { code, eval: true };
}

/** Whether `findThreadSource` would find code, without transpiling anything. */
export function threadSourceExists(bundled: string, sources: readonly string[]): boolean {
  return existsSync(bundled) || sources.some((f) => existsSync(f));
}

/** Starts a worker on `src` with `opts`. */
export function startWorker(src: ThreadSource, opts: WorkerOptions): Worker {
  return "file" in src ? new Worker(src.file, opts) : new Worker(src.code, { ...opts, eval: true });
}
