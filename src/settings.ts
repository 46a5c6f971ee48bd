// The `primal.*` settings and how they map onto the kernel's `config/set`. One place reads
// them so that the status bar, the kernel manager and the commands agree on what "JIT on"
// means. `primal.kernel.env` is a restricted setting in untrusted workspaces (package.json
// capabilities), since an environment variable like NODE_OPTIONS can run code.

import * as vscode from "vscode";
import type { SetConfigParams } from "../kernel/protocol";

/** The settings that configure the kernel, as read from VS Code. */
export interface KernelConfig {
  jitEnabled: boolean;
  /** "cpu", "webgpu", or null for automatic. */
  backend: string | null;
  prngPartitionable: boolean;
  /** Measure each compiled kernel's time (the kernels panel). */
  kernelTiming: boolean;
  /** Extra environment for the kernel process (also passed at spawn). */
  env: Record<string, string>;
}

/** Reads the `primal.*` settings (resource-independent: the kernel is one per window). */
export function readKernelConfig(): KernelConfig {
  const c = vscode.workspace.getConfiguration("primal");
  const backend = c.get<string>("backend", "auto");
  const rawEnv = c.get<Record<string, unknown>>("kernel.env", {}) ?? {};
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(rawEnv)) if (v !== null && v !== undefined) env[k] = String(v);
  return {
    jitEnabled: c.get<boolean>("jit.enabled", true),
    backend: backend === "auto" || !backend ? null : backend,
    prngPartitionable: c.get<boolean>("prng.partitionable", false),
    kernelTiming: c.get<boolean>("kernels.timing", true),
    env,
  };
}

/** True if inline result decorations are wanted. */
export function inlineResultsEnabled(): boolean {
  return vscode.workspace.getConfiguration("primal").get<boolean>("results.inline", true);
}

/** The `config/set` parameters for a configuration. */
export function configParams(c: KernelConfig): SetConfigParams {
  return { jitEnabled: c.jitEnabled, backend: c.backend, prngPartitionable: c.prngPartitionable, kernelTiming: c.kernelTiming, env: c.env };
}

/** Writes a setting where the user would expect it: the workspace when one is open, else globally. */
export async function updateSetting(key: string, value: unknown): Promise<void> {
  const target = vscode.workspace.workspaceFolders?.length ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
  await vscode.workspace.getConfiguration("primal").update(key, value, target);
}
