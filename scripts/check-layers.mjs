// Checks the layering of shared/DESIGN.md on import statements: kernel/ never imports
// `vscode`, webview/ never imports Node or `vscode`, and inside kernel/ nothing imports upward
// (core <- ir, primitives <- api, transforms <- lower <- backends <- server <- main/cli).
// Run by `npm run typecheck`; prints each violation and exits 1 if there is any.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, relative, resolve } from "node:path";

const root = resolve(new URL("..", import.meta.url).pathname);
const files = (dir) =>
  readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith(".ts") ? [p] : [];
  });
const importsOf = (file) =>
  [...readFileSync(file, "utf8").matchAll(/(?:^|;)\s*(?:import|export)\s[^;]*?from\s+["']([^"']+)["']|(?:^|;)\s*import\s+["']([^"']+)["']/gm)].map((m) => m[1] ?? m[2]);

// Which kernel layers each layer may import (besides itself).
const allowed = {
  core: [],
  ir: ["core"],
  primitives: ["core"],
  // The NumPy/nn API may use transformations (custom_jvp, jit), as jax.numpy does; the
  // transformations never import the API.
  api: ["core", "ir", "primitives", "transforms"],
  transforms: ["core", "ir", "primitives"],
  lower: ["core", "ir", "primitives", "transforms"],
  backends: ["core", "ir", "primitives", "lower"],
  server: ["core", "ir", "primitives", "api", "transforms", "lower", "backends", "protocol"],
  top: ["core", "ir", "primitives", "api", "transforms", "lower", "backends", "server", "protocol", "version"],
};
const layerOf = (file) => {
  const rel = relative(join(root, "kernel"), file).split("/");
  // The protocol is kernel/protocol.ts and kernel/inspect-protocol.ts (the panels' part): one layer that imports nothing else.
  const base = rel[0].replace(/\.ts$/, "");
  return rel.length === 1 ? (base === "protocol" || base === "inspect-protocol" ? "protocol" : base === "version" ? "version" : "top") : rel[0];
};
const nodeBuiltin = (s) => s.startsWith("node:") || builtinModules.includes(s.split("/")[0]);

const problems = [];
for (const file of files(join(root, "kernel"))) {
  const from = layerOf(file);
  for (const spec of importsOf(file)) {
    if (spec === "vscode") problems.push(`${relative(root, file)}: kernel/ must not import vscode`);
    if (!spec.startsWith(".")) continue;
    const target = resolve(dirname(file), spec);
    if (!target.startsWith(join(root, "kernel"))) continue;
    const to = layerOf(target + ".ts");
    if (from === "protocol" && to !== "protocol") problems.push(`${relative(root, file)}: the protocol files must stand alone, imports ${spec}`);
    if (to === from || from === "protocol") continue;
    const ok = allowed[from] ?? allowed.top;
    if (!ok.includes(to) && to !== "version") problems.push(`${relative(root, file)}: layer ${from} must not import layer ${to} (${spec})`);
  }
}
for (const file of files(join(root, "webview"))) {
  for (const spec of importsOf(file)) {
    if (spec === "vscode" || nodeBuiltin(spec)) problems.push(`${relative(root, file)}: webview/ must not import ${spec}`);
  }
}
for (const p of problems) console.error(p);
if (problems.length) process.exit(1);
console.log(`layers: ${files(join(root, "kernel")).length + files(join(root, "webview")).length} files checked, no violations`);
