// How cells' imports are loaded (kernel/server/cell-runner.ts): CommonJS namespaces the way
// Node's ESM shows them, a real dynamic import() in the kernel's realm, and the ESM entry of a
// bare specifier for packages that `require` cannot load. Plain functions over the file system.

import * as fs from "node:fs";
import * as path from "node:path";

/** What `import * as ns` gives for a CommonJS module: its exports plus `default`, as Node's ESM does. */
export function cjsNamespace(exports: unknown): unknown {
  if (exports !== null && (typeof exports === "object" || typeof exports === "function")) {
    if ((exports as { __esModule?: boolean }).__esModule) return exports;
    return { ...(exports as object), default: exports };
  }
  return { default: exports };
}

/** A file's modification time, -1 when it cannot be read. */
export function fileMtime(file: string): number {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return -1;
  }
}

/**
 * A real dynamic import() in the kernel's realm. esbuild keeps a non-literal `import(x)` as
 * is in its CommonJS output, and Node supports import() in CommonJS modules; under vitest
 * the module transform routes it through its own loader, which also works. (`new Function`
 * would hide it from both, but fails under vitest: eval'd code has no import callback.)
 */
export function nativeImport(url: string): Promise<unknown> {
  return import(url) as Promise<unknown>;
}

/**
 * Finds the ESM entry file of a bare specifier (`pkg` or `pkg/sub`) by walking up the
 * `node_modules` folders from `fromDir` and reading the package's `exports` with the
 * "import"/"node"/"default" conditions, then `module`/`main`. Only needed for packages that
 * `require` cannot load; returns undefined when nothing fits.
 */
export function resolveEsmEntry(spec: string, fromDir: string): string | undefined {
  const parts = spec.split("/");
  const nameLen = spec.startsWith("@") ? 2 : 1;
  const pkgName = parts.slice(0, nameLen).join("/");
  const subpath = parts.length > nameLen ? "./" + parts.slice(nameLen).join("/") : ".";
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const pkgDir = path.join(dir, "node_modules", pkgName);
    const pkgJson = path.join(pkgDir, "package.json");
    if (fs.existsSync(pkgJson)) {
      const pkg = JSON.parse(fs.readFileSync(pkgJson, "utf8")) as { exports?: unknown; module?: string; main?: string };
      let target: string | undefined;
      if (pkg.exports !== undefined) {
        const ex = pkg.exports;
        const isMap = ex !== null && typeof ex === "object" && !Array.isArray(ex) && Object.keys(ex).some((k) => k.startsWith("."));
        target = pickCondition(isMap ? (ex as Record<string, unknown>)[subpath] : subpath === "." ? ex : undefined);
      } else {
        target = subpath === "." ? (pkg.module ?? pkg.main ?? "index.js") : subpath;
      }
      return target ? path.join(pkgDir, target) : undefined;
    }
    if (path.dirname(dir) === dir) return undefined;
  }
}

function pickCondition(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (Array.isArray(v)) {
    for (const item of v) {
      const r = pickCondition(item);
      if (r) return r;
    }
    return undefined;
  }
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    for (const cond of ["import", "node", "module", "default"]) if (cond in o) return pickCondition(o[cond]);
  }
  return undefined;
}
