// `npm run package`: the marketplace VSIX files. One per platform (linux-x64, linux-arm64,
// darwin-arm64, darwin-x64, win32-x64), each carrying only its own native runtime (esbuild's
// binary for transpiling cells, Dawn's dawn.node for WebGPU), plus a universal VSIX that carries
// esbuild-wasm and no Dawn, so it runs anywhere on the CPU backend. Why this shape, and the
// size budget: docs/packaging.md.
//
// Steps:
//   1. a production build (minified, external source maps) in a private copy of the sources, so
//      the checkout's dist/ (which other tests run from) is left alone;
//   2. the source maps go to out/vsix/primal-<version>-sourcemaps/, not into any VSIX;
//   3. per target, a stage folder out/vsix/stage/<target>/ with the manifest, the marketplace
//      README (media/marketplace/README.md, not the repository's), CHANGELOG, LICENSE, the
//      examples "Primal: Open Example" copies, dist/ (bundles only), syntaxes/, media/, and under
//      dist/node_modules/ the runtime packages (next to dist/kernel.js, so Node's resolution
//      finds them; vsce --no-dependencies leaves out a top-level node_modules/);
//   4. `vsce package --no-dependencies [--target <t>]` in that folder, filtered by .vscodeignore.
//
// esbuild's platform packages (@esbuild/<platform>) and esbuild-wasm come from the npm registry
// (`npm pack`, cached in ${PRIMAL_CACHE:-~/.cache/primal}/npm-packs) and are checked against
// the integrity recorded in package-lock.json (esbuild-wasm: pinned below).
//
//   node scripts/package.mjs                      # every target and the universal VSIX
//   node scripts/package.mjs --target linux-x64   # one (repeatable); "universal" for the fallback
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { inflateRawSync } from "node:zlib";

export const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
export const OUT = join(ROOT, "out", "vsix");

/** Each platform target: its esbuild package and its folder in webgpu/dist. */
export const TARGETS = {
  "linux-x64": { esbuild: "@esbuild/linux-x64", dawn: "linux-x64" },
  "linux-arm64": { esbuild: "@esbuild/linux-arm64", dawn: "linux-arm64" },
  "darwin-arm64": { esbuild: "@esbuild/darwin-arm64", dawn: "darwin-universal" },
  "darwin-x64": { esbuild: "@esbuild/darwin-x64", dawn: "darwin-universal" },
  "win32-x64": { esbuild: "@esbuild/win32-x64", dawn: "win32-x64" },
};
export const UNIVERSAL = "universal";

/** esbuild-wasm is not in the lock file (nothing installs it): its tarball's integrity, pinned. */
const ESBUILD_WASM_INTEGRITY = {
  "0.28.2": "sha512-GccVwhv3mmOUVQHCQm2Ox/rby8n/EqUwvZxE6Pjfikrq/lWw9g9WX/u9EykWnpot3Ko6j426DgQdea2xWKIAQA==",
};

/** Compressed-size budget of the linux-x64 VSIX (the figure). */
export const SIZE_BUDGET_BYTES = 15 * 1024 * 1024;

/**
 * The example cell files shipped under examples/ for "Primal: Open Example" (src/examples.ts
 * lists the same names; .vscodeignore and the VSIX test's allow-list let them in).
 */
export const SHIPPED_EXAMPLES = ["quickstart.ts", "mlp.ts"];

/** The README of the marketplace page, staged as README.md in place of the repository's. */
const MARKETPLACE_README = join("media", "marketplace", "README.md");

/** Sources the production build reads (scripts/build.mjs bundles from these). */
const BUILD_INPUTS = ["kernel", "src", "webview", "scripts", "syntaxes", "package.json", "tsconfig.base.json"];

/** Bundles the extension does not run: the CLI (bin/primal.js) and the benchmark runner. */
const NOT_SHIPPED = new Set(["cli.js", "bench.js"]);

const cacheDir = () => join(process.env.PRIMAL_CACHE || join(homedir(), ".cache", "primal"), "npm-packs");
const log = (s) => console.log(`package: ${s}`);

/** Runs scripts/build.mjs --production in a private copy of the sources; returns its dist/. */
function productionBuild(work) {
  const src = join(work, "src-copy");
  mkdirSync(src, { recursive: true });
  for (const name of BUILD_INPUTS) if (existsSync(join(ROOT, name))) cpSync(join(ROOT, name), join(src, name), { recursive: true });
  symlinkSync(join(ROOT, "node_modules"), join(src, "node_modules"), "dir");
  execFileSync(process.execPath, [join(src, "scripts", "build.mjs"), "--production"], { cwd: src, stdio: "inherit" });
  return join(src, "dist");
}

/** Copies `from` to `to`, splitting: *.map files into `maps`, NOT_SHIPPED left out. */
function copyBundles(from, to, maps) {
  for (const d of readdirSync(from, { withFileTypes: true })) {
    const a = join(from, d.name);
    if (d.isDirectory()) {
      copyBundles(a, join(to, d.name), join(maps, d.name));
      continue;
    }
    const base = d.name.replace(/\.map$/, "");
    if (NOT_SHIPPED.has(base)) continue;
    const dest = d.name.endsWith(".map") ? maps : to;
    mkdirSync(dest, { recursive: true });
    cpSync(a, join(dest, d.name));
  }
}

/** The sha512 integrity string of a file, as npm writes it. */
const integrityOf = (file) => `sha512-${createHash("sha512").update(readFileSync(file)).digest("base64")}`;

/**
 * The unpacked folder of `name@version` from the npm registry (`npm pack`, cached), after
 * checking the tarball against `integrity`.
 */
function npmPackage(name, version, integrity) {
  const dir = cacheDir();
  mkdirSync(dir, { recursive: true });
  const tgz = join(dir, `${name.replace(/^@/, "").replace("/", "-")}-${version}.tgz`);
  if (!existsSync(tgz)) {
    log(`npm pack ${name}@${version}`);
    const r = spawnSync("npm", ["pack", `${name}@${version}`, "--pack-destination", dir, "--silent"], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`package: npm pack ${name}@${version} failed, got exit ${r.status}: ${r.stderr}`);
  }
  const got = integrityOf(tgz);
  if (got !== integrity) {
    rmSync(tgz, { force: true });
    throw new Error(`package: ${name}@${version} does not match its recorded integrity, got ${got} (expected ${integrity})`);
  }
  const unpacked = `${tgz.slice(0, -4)}-unpacked`;
  if (!existsSync(join(unpacked, "package", "package.json"))) {
    rmSync(unpacked, { recursive: true, force: true });
    mkdirSync(unpacked, { recursive: true });
    execFileSync("tar", ["xzf", tgz, "-C", unpacked]);
  }
  return join(unpacked, "package");
}

/** The lock file's record of an installed package (version, integrity). */
function locked(name) {
  const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8"));
  const rec = lock.packages?.[`node_modules/${name}`];
  if (!rec?.version || !rec.integrity) throw new Error(`package: ${name} is not in package-lock.json, got ${JSON.stringify(rec)}`);
  return rec;
}

/** Copies the listed files of a package folder into `to`. */
function copyFiles(from, to, files) {
  for (const f of files) {
    if (!existsSync(join(from, f))) continue;
    mkdirSync(dirname(join(to, f)), { recursive: true });
    cpSync(join(from, f), join(to, f));
  }
}

/** The manifest as shipped: the repository's, less what only development needs. */
function shippedManifest() {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
  delete pkg.scripts;
  delete pkg.devDependencies;
  delete pkg.bin;
  return pkg;
}

/** Fills out/vsix/stage/<target>/ with what that VSIX holds; returns the folder. */
function stage(target, built, work) {
  const dir = join(work, "stage", target);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "package.json"), JSON.stringify(shippedManifest(), null, 2) + "\n");
  if (!existsSync(join(ROOT, "LICENSE"))) throw new Error(`package: no LICENSE file in the repository, got none at ${join(ROOT, "LICENSE")}`);
  cpSync(join(ROOT, MARKETPLACE_README), join(dir, "README.md"));
  for (const f of ["CHANGELOG.md", "LICENSE", ".vscodeignore", "syntaxes"]) if (existsSync(join(ROOT, f))) cpSync(join(ROOT, f), join(dir, f), { recursive: true });
  copyFiles(join(ROOT, "examples"), join(dir, "examples"), SHIPPED_EXAMPLES);
  for (const f of SHIPPED_EXAMPLES) if (!existsSync(join(dir, "examples", f))) throw new Error(`package: example ${f} is missing, got no ${join(ROOT, "examples", f)}`);
  copyFiles(join(ROOT, "media"), join(dir, "media"), ["icon.png", ...readdirSync(join(ROOT, "media", "walkthrough")).map((f) => `walkthrough/${f}`)]);
  cpSync(built, join(dir, "dist"), { recursive: true });
  const nm = join(dir, "dist", "node_modules");
  const esbuildVersion = locked("esbuild").version;
  if (target === UNIVERSAL) {
    // esbuild-wasm in esbuild's place: the same API (sync calls included), no native code.
    const integrity = ESBUILD_WASM_INTEGRITY[esbuildVersion];
    if (!integrity) throw new Error(`package: no pinned esbuild-wasm integrity for esbuild ${esbuildVersion}, got only ${Object.keys(ESBUILD_WASM_INTEGRITY)}`);
    const wasm = npmPackage("esbuild-wasm", esbuildVersion, integrity);
    copyFiles(wasm, join(nm, "esbuild"), ["package.json", "LICENSE.md", "lib/main.js", "bin/esbuild", "esbuild.wasm", "wasm_exec.js", "wasm_exec_node.js"]);
  } else {
    const t = TARGETS[target];
    copyFiles(join(ROOT, "node_modules", "esbuild"), join(nm, "esbuild"), ["package.json", "LICENSE.md", "lib/main.js"]);
    const rec = locked(t.esbuild);
    if (rec.version !== esbuildVersion) throw new Error(`package: ${t.esbuild} is ${rec.version} in the lock file, got esbuild ${esbuildVersion}`);
    const native = npmPackage(t.esbuild, rec.version, rec.integrity);
    copyFiles(native, join(nm, t.esbuild), ["package.json", "bin/esbuild", "esbuild.exe"]);
    const webgpu = join(ROOT, "node_modules", "webgpu");
    copyFiles(webgpu, join(nm, "webgpu"), ["package.json", "index.js", "LICENSE.md"]);
    const dawn = join(webgpu, "dist", t.dawn);
    if (!existsSync(join(dawn, "dawn.node"))) throw new Error(`package: Dawn for ${target} is missing, got no ${join(dawn, "dawn.node")}`);
    cpSync(dawn, join(nm, "webgpu", "dist", t.dawn), { recursive: true });
  }
  return dir;
}

/** Runs vsce in a stage folder; returns the VSIX path. */
function vsce(dir, target, version) {
  const file = join(OUT, target === UNIVERSAL ? `primal-${version}.vsix` : `primal-${target}-${version}.vsix`);
  rmSync(file, { force: true });
  // No --baseImagesUrl/--baseContentUrl: the marketplace README's images and links are absolute
  // URLs (raw.githubusercontent.com for the screenshots), which vsce keeps as they are.
  const args = [join(ROOT, "node_modules", "@vscode", "vsce", "vsce"), "package", "--no-dependencies", "--no-update-package-json", "-o", file];
  if (target !== UNIVERSAL) args.push("--target", target);
  const r = spawnSync(process.execPath, args, { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const out = `${r.stdout}${r.stderr}`.trim();
  if (r.status !== 0) throw new Error(`package: vsce failed for ${target}, got exit ${r.status}:\n${out}`);
  for (const line of out.split("\n")) if (/WARNING|warn/i.test(line)) console.warn(`package: vsce: ${line}`);
  return file;
}

/**
 * The entries of a zip file (a VSIX), read from its central directory: name, sizes, unix mode.
 * @returns {{name: string, size: number, compressed: number, mode: number}[]}
 */
export function listVsix(file) {
  const buf = readFileSync(file);
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 65557); i--) if (buf.readUInt32LE(i) === 0x06054b50) { eocd = i; break; }
  if (eocd < 0) throw new Error(`listVsix: ${file} is not a zip file, got no end-of-central-directory record`);
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const out = [];
  for (let i = 0; i < count; i++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error(`listVsix: bad central directory entry ${i} in ${file}`);
    const compressed = buf.readUInt32LE(p + 20);
    const size = buf.readUInt32LE(p + 24);
    const n = buf.readUInt16LE(p + 28), x = buf.readUInt16LE(p + 30), c = buf.readUInt16LE(p + 32);
    const mode = buf.readUInt32LE(p + 38) >>> 16;
    out.push({ name: buf.toString("utf8", p + 46, p + 46 + n), size, compressed, mode, offset: buf.readUInt32LE(p + 42), method: buf.readUInt16LE(p + 10) });
    p += 46 + n + x + c;
  }
  return out;
}

/** The contents of one entry of a zip file (stored or deflated). */
export function readVsixEntry(file, name) {
  const e = listVsix(file).find((x) => x.name === name);
  if (!e) throw new Error(`readVsixEntry: ${file} has no ${name}`);
  const buf = readFileSync(file);
  const start = e.offset + 30 + buf.readUInt16LE(e.offset + 26) + buf.readUInt16LE(e.offset + 28);
  const data = buf.subarray(start, start + e.compressed);
  return e.method === 0 ? data : inflateRawSync(data);
}

/**
 * Builds and packages the given targets (default: every platform and the universal VSIX).
 * @param {{targets?: string[]}} [opts]
 * @returns {Promise<{target: string, file: string, bytes: number, files: number}[]>}
 */
export async function packageVsix(opts = {}) {
  const targets = opts.targets?.length ? opts.targets : [...Object.keys(TARGETS), UNIVERSAL];
  for (const t of targets) if (t !== UNIVERSAL && !TARGETS[t]) throw new Error(`package: unknown target, got ${t} (one of ${Object.keys(TARGETS).join(", ")}, ${UNIVERSAL})`);
  const version = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version;
  mkdirSync(OUT, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), "primal-package-"));
  try {
    let t0 = Date.now();
    const dist = productionBuild(work);
    const built = join(work, "bundles");
    const maps = join(OUT, `primal-${version}-sourcemaps`);
    rmSync(maps, { recursive: true, force: true });
    copyBundles(dist, built, maps);
    log(`production build in ${Date.now() - t0} ms; source maps in ${relative(ROOT, maps)}/`);
    const results = [];
    for (const target of targets) {
      t0 = Date.now();
      const file = vsce(stage(target, built, work), target, version);
      const bytes = statSync(file).size;
      const files = listVsix(file).length;
      log(`${relative(ROOT, file)}: ${(bytes / 2 ** 20).toFixed(2)} MiB, ${files} files (${Date.now() - t0} ms)`);
      results.push({ target, file, bytes, files });
    }
    return results;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const targets = [];
  for (let i = 2; i < process.argv.length; i++) if (process.argv[i] === "--target") targets.push(process.argv[++i]);
  const t0 = Date.now();
  const results = await packageVsix({ targets });
  const linux = results.find((r) => r.target === "linux-x64");
  if (linux && linux.bytes > SIZE_BUDGET_BYTES) {
    console.error(`package: linux-x64 VSIX is ${(linux.bytes / 2 ** 20).toFixed(2)} MiB, over the ${SIZE_BUDGET_BYTES / 2 ** 20} MiB budget`);
    process.exit(1);
  }
  log(`${results.length} VSIX file(s) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}
