// One esbuild script for every bundle: the extension (dist/extension.js), the kernel process
// (dist/kernel.js), the CLI (dist/cli.js), the device threads (dist/gpu-thread.js,
// dist/cpu-device-thread.js), the panels (dist/webview/*.js) and the benchmark
// runner (dist/bench.js). `--production` minifies and writes source maps beside the bundles.
import * as esbuild from "esbuild";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const production = process.argv.includes("--production");
const common = {
  bundle: true,
  sourcemap: production ? "external" : "inline",
  minify: production,
  logLevel: "warning",
  target: "es2022",
  absWorkingDir: root,
};
// esbuild (used at run time to transpile cells) ships a native binary: never bundle it.
const node = { ...common, platform: "node", format: "cjs", external: ["esbuild", "vscode", "webgpu"] };

rmSync(join(root, "dist"), { recursive: true, force: true });
const builds = [
  { ...node, entryPoints: ["src/extension.ts"], outfile: "dist/extension.js" },
  { ...node, entryPoints: ["kernel/cli.ts"], outfile: "dist/cli.js" },
  // The WebGPU device thread runs as its own worker script (kernel/backends/webgpu/gpu-client.ts).
  { ...node, entryPoints: ["kernel/backends/webgpu/gpu-thread.ts"], outfile: "dist/gpu-thread.js" },
  // Each CPU device's thread runs its own copy of the library (kernel/backends/cpu/device-threads.ts).
  { ...node, entryPoints: ["kernel/cpu-device-thread.ts"], outfile: "dist/cpu-device-thread.js" },
];
if (existsSync(join(root, "kernel/main.ts"))) builds.push({ ...node, entryPoints: ["kernel/main.ts"], outfile: "dist/kernel.js" });
if (existsSync(join(root, "test/bench/bench.ts"))) builds.push({ ...node, entryPoints: ["test/bench/bench.ts"], outfile: "dist/bench.js", external: [...node.external, "@jax-js/jax", "@tensorflow/tfjs", "@tensorflow/tfjs-backend-wasm"] });
// The panels run under a CSP without 'unsafe-eval'. fast-element (under the webview toolkit)
// keeps a `new Function("return this")` fallback for engines without globalThis, which VS
// Code's Chromium never takes; it is cut so that the bundles hold no Function constructor.
const noFunctionConstructor = {
  name: "no-function-constructor",
  setup(b) {
    b.onLoad({ filter: /@microsoft[\\/]fast-element[\\/]dist[\\/]esm[\\/]platform\.js$/ }, async (a) => {
      const src = await readFile(a.path, "utf8");
      const out = src.replace('return new Function("return this")();', "return {};");
      if (out === src) throw new Error("fast-element's platform.js changed: its Function-constructor fallback was not found");
      return { contents: out, loader: "js" };
    });
  },
};
const panels = existsSync(join(root, "webview")) ? readdirSync(join(root, "webview")).filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts")) : [];
if (panels.length)
  builds.push({ ...common, platform: "browser", format: "iife", entryPoints: panels.map((f) => `webview/${f}`), outdir: "dist/webview", plugins: [noFunctionConstructor] });

const t0 = Date.now();
await Promise.all(builds.map((b) => esbuild.build(b)));
console.log(`build: ${builds.length} bundles in ${Date.now() - t0} ms${production ? " (production)" : ""}`);
