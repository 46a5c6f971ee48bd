// Starting and stopping code-server (VS Code's server and web workbench) and headless Debian
// Chromium for the extension tests, shared by the stand-in VS Code executable
// (code-server-as-vscode.mjs, the extension-host tests) and the browser harness
// (browser/harness.mjs, the UI tests). The flags and settings are those of
// shared/vscode-testing.md §3–4: loopback only, no auth, no telemetry or update checks, no
// workspace trust prompt, extension hosts disposed 5 s after their page closes, and the smoke
// test driver enabled so that a `payload` with extensionTestsPath is honoured.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { toolPaths } from "../../scripts/provision-vscode.mjs";

/** User settings for a quiet, deterministic workbench. */
export const WORKBENCH_SETTINGS = {
  "workbench.startupEditor": "none",
  "security.workspace.trust.enabled": false,
  "telemetry.telemetryLevel": "off",
  "update.mode": "none",
  "extensions.autoCheckUpdates": false,
  "extensions.autoUpdate": false,
  "workbench.tips.enabled": false,
  "chat.disableAIFeatures": true,
  // The empty secondary side bar (chat's place) would take a third of every screenshot.
  "workbench.secondarySideBar.defaultVisibility": "hidden",
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A free TCP port on 127.0.0.1 (closed again before code-server binds it). */
export function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.on("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

/**
 * Starts code-server in its own process group with a temporary user-data dir, and waits for
 * /healthz. CODE_SERVER_NODE / CODE_SERVER_BIN override the provisioned tools.
 * @param {{extensionsDir?: string, settings?: object, env?: object, keepDir?: boolean,
 *   onSpawn?: (s: {process: import("node:child_process").ChildProcess, stop: () => Promise<void>, logTail: (n?: number) => string, logFile: string}) => void}} [opts]
 * @returns {Promise<{port: number, base: string, dir: string, extensionsDir: string, logFile: string,
 *   process: import("node:child_process").ChildProcess, logTail: (n?: number) => string, stop: () => Promise<void>}>}
 */
export async function startCodeServer(opts = {}) {
  const tools = toolPaths();
  const node = process.env.CODE_SERVER_NODE || tools.node;
  const bin = process.env.CODE_SERVER_BIN || tools.codeServer;
  const dir = mkdtempSync(join(tmpdir(), "primal-vscode-"));
  const user = join(dir, "user");
  const extensionsDir = opts.extensionsDir ?? join(dir, "extensions");
  mkdirSync(join(user, "User"), { recursive: true });
  mkdirSync(extensionsDir, { recursive: true });
  writeFileSync(join(user, "User", "settings.json"), JSON.stringify({ ...WORKBENCH_SETTINGS, ...opts.settings }, null, 2));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const logFile = join(dir, "code-server.log");
  const fd = openSync(logFile, "a");
  const child = spawn(
    node,
    [bin, "--bind-addr", `127.0.0.1:${port}`, "--auth", "none", "--disable-telemetry", "--disable-update-check",
      "--disable-workspace-trust", "--disable-getting-started-override", "--ignore-last-opened", "--reconnection-grace-time", "5",
      "--vscode-option", "enable-smoke-test-driver", "--user-data-dir", user, "--extensions-dir", extensionsDir],
    // Its own process group: stop() ends the server and the extension hosts it forked together.
    // XDG_CONFIG_HOME keeps it from writing ~/.config/code-server/config.yaml.
    { detached: true, stdio: ["ignore", fd, fd], env: { ...process.env, ...opts.env, XDG_CONFIG_HOME: join(dir, "xdg") } },
  );
  let spawnError;
  child.on("error", (e) => (spawnError = e));
  const logTail = (n = 40) => {
    try {
      // Minified source lines in stack traces run to megabytes: cut each line short.
      return readFileSync(logFile, "utf8").split("\n").slice(-n).map((l) => (l.length > 300 ? `${l.slice(0, 300)} …` : l)).join("\n");
    } catch {
      return "";
    }
  };
  const running = () => child.exitCode === null && child.signalCode === null && !spawnError;
  let stopping;
  const stop = () =>
    (stopping ??= (async () => {
      if (child.pid && running()) {
        try {
          process.kill(-child.pid, "SIGTERM");
        } catch {}
        for (let i = 0; i < 30 && running(); i++) await sleep(100);
      }
      // Extension hosts and language servers it forked may outlive the wrapper: end the group.
      try {
        if (child.pid) process.kill(-child.pid, "SIGKILL");
      } catch {}
      if (!opts.keepDir) rmSync(dir, { recursive: true, force: true });
    })());
  // A caller interrupted before this returns can still stop what was started.
  opts.onSpawn?.({ process: child, stop, logTail, logFile });
  const t0 = Date.now();
  for (;;) {
    if (!running()) {
      const why = spawnError ? `could not start (${node} ${bin}), got ${spawnError.message}` : `exited, got ${child.exitCode ?? child.signalCode}`;
      const tail = logTail();
      await stop();
      throw new Error(`code-server ${why}\n${tail}`);
    }
    const r = await fetch(`${base}/healthz`).catch(() => null);
    if (r?.ok) break;
    if (Date.now() - t0 > 60_000) {
      const tail = logTail();
      await stop();
      throw new Error(`code-server did not answer /healthz within 60 s\n${tail}`);
    }
    await sleep(100);
  }
  return { port, base, dir, extensionsDir, logFile, process: child, logTail, stop };
}

/**
 * Checks that the workbench page at `url` is served (a code-server run by a Node older than
 * 24 answers HTTP 500 at once); throws with the status otherwise.
 */
export async function checkWorkbench(url) {
  const r = await fetch(url).catch((e) => ({ status: 0, statusText: e.message }));
  if (r.status !== 200) throw new Error(`the workbench page answered HTTP ${r.status} ${r.statusText}`);
}

/** Headless Debian Chromium (CHROMIUM overrides /usr/bin/chromium) through playwright-core. */
export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || toolPaths().chromium,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}
