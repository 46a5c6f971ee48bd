// Prints the WebGPU adapter's description and exits 0, or prints why there is none and exits 1.
// scripts/test.mjs runs it to decide whether the WebGPU suites can run (shared/webgpu-node.md).
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { join } from "node:path";

const require = createRequire(import.meta.url);
let dawn;
try {
  const pkg = require.resolve("webgpu");
  const arch = process.platform === "darwin" ? "universal" : process.arch;
  const p = join(pkg, "..", "dist", `${process.platform}-${arch}`, "dawn.node");
  if (!existsSync(p)) throw new Error(`no ${p}`);
  dawn = require(p);
} catch (e) {
  console.log(`the webgpu package is not installed (${e.message})`);
  process.exit(1);
}
const gpu = dawn.create((process.env.PRIMAL_WEBGPU_FLAGS ?? "").split(",").filter(Boolean));
globalThis.__probeGpu = gpu; // keep dawn.node alive (shared/webgpu-node.md, pitfall 1)
const adapter = await gpu.requestAdapter();
if (!adapter) {
  console.log("no WebGPU adapter: requestAdapter() returned null (install a Vulkan driver; in CI .ci/run installs Mesa's lavapipe)");
  process.exit(1);
}
console.log(adapter.info.description || adapter.info.device || adapter.info.vendor);
process.exit(0);
