// Runs cells of one cell file in a persistent REPL scope: the kernel's "Run Cell".
//
// One `CellRunner` per file (per kernel session) owns one `node:vm` context. The context's
// global object *is* the notebook scope: cell-transform.ts rewrites every top-level
// declaration into an assignment to a global, so bindings survive from cell to cell and
// re-running a cell rebinds them. Each cell runs as `(async () => { body })()` so top-level
// `await` works and the last expression can be `return`ed as the cell's value.
//
// The context also holds the cell-facing globals: a captured `console`, `print` and
// `display` (their output goes to `onOutput`, not to the process's stdout), timers, Node's
// web-platform globals, and `__primal_import`, which the rewritten `import` statements call:
//   "primal"           → the library object given to the constructor
//   "./x", "/abs/x"    → .ts/.tsx/.mts/.js/extension-less: bundled by esbuild and evaluated as
//                        CommonJS in the same context (so their console output is captured
//                        too); .json/.cjs/.node: require(); .mjs: import()
//   "pkg", "node:fs"   → createRequire(file)(spec), falling back to import() for ESM-only packages
//
// Errors are mapped back to the user's file: a stack frame in a cell's virtual file goes
// through the magic-string map, then esbuild's map, then the cell's start line.
//
// Realms: values created by cell code (`[]`, `{}`, closures, errors thrown by the engine) come
// from the context's realm, values made by the library from the kernel's. `Array.isArray` and
// `ArrayBuffer.isView` work across realms, `instanceof Array` and `proto === Object.prototype`
// do not — the library must use the former. The host's typed-array constructors, ArrayBuffer,
// DataView and Buffer are installed in the context so `new Float32Array(n)` in a cell is the
// same class the library checks for.
//
// Not supported (by design or not yet):
// - `export` statements in cells are dropped (a cell has nobody to export to).
// - `const` is not enforced across cells and top-level bindings have no temporal dead zone
//   (they are properties of the scope; see cell-transform.ts).
// - Imports are snapshots, not live bindings, and a missing named import is `undefined`
//   rather than a SyntaxError (a type imported without `type` must not fail at run time).
// - `breakOnSigint` interrupts only the synchronous part of a cell: code after its first
//   `await` runs from the microtask queue, outside `runInContext`. `interrupt()` covers a cell
//   that is awaiting: its run ends at once as interrupted (the timers the run started are
//   cleared; a promise it awaits can still settle later, unseen). A synchronous loop after
//   an `await` blocks the event loop and can only be stopped by restarting the process.
// - Promise rejections nobody handles reach the process; its owner (kernel, CLI) routes
//   them to `reportUncaught`.

import * as vm from "node:vm";
import * as path from "node:path";
import * as util from "node:util";
import { Console } from "node:console";
import { Writable } from "node:stream";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import * as esbuild from "esbuild";
import { TraceMap, originalPositionFor, encodedMappings, LEAST_UPPER_BOUND } from "@jridgewell/trace-mapping";
import { PrimalError } from "../core/errors";
import { SourceInfo } from "../ir/jaxpr";
import { setSourceLocator } from "../ir/source";
import type { Cell } from "./cell-parser";
import { transformCell, CellSyntaxError, IMPORT_FN, IMPORT_META } from "./cell-transform";
import { cjsNamespace, fileMtime, nativeImport, resolveEsmEntry } from "./cell-modules";

/** Output a cell produces while it runs (its value comes back in the {@link CellResult}). */
export type CellOutput =
  | { kind: "text"; stream: "stdout" | "stderr"; text: string }
  /** `display(v)`; with `richDisplay`, `value` is the value itself and `text` is empty (the owner formats it). */
  | { kind: "display"; text: string; value?: unknown };

/** One stack frame after source mapping. Lines and columns are 1-based. */
export interface StackFrame {
  functionName?: string;
  /** The user's file (absolute) for cell frames, the original source for bundled modules, else as V8 printed it. */
  file: string;
  line: number;
  column: number;
  /** True for frames in the cell file this runner runs. */
  inCellFile: boolean;
  /** True for frames in the cell file or in a workspace module the runner bundled. */
  isUserCode: boolean;
  /** The frame's line as V8 printed it, for frames that were not mapped. */
  raw?: string;
}

/** What went wrong in a cell, positioned in the user's file. */
export interface CellErrorInfo {
  /** `err.name` (e.g. "ShapeError", "TypeError", "SyntaxError"); "Error" for a thrown non-Error value. */
  name: string;
  message: string;
  /** Index of the cell that was running. */
  cell: number;
  /**
   * 1-based line in the user's file: the first stack frame in the cell file (which may be in
   * an earlier cell, if a function defined there threw). A thrown non-Error value has no
   * stack; then this is the running cell's first line.
   */
  line: number;
  /** 1-based column, when known. */
  column?: number;
  /** The header line(s) and the mapped frames, in V8's `    at fn (file:line:col)` format. */
  stack: string;
  frames: StackFrame[];
}

/** The outcome of running one cell. */
export type CellResult =
  | { ok: true; value?: unknown; display?: string }
  /** `interrupted`: stopped by SIGINT (synchronous code) or {@link CellRunner.interrupt}; the error is named "Interrupted". */
  | { ok: false; error: CellErrorInfo; interrupted?: boolean };

/** How to run one cell (see {@link CellRunner.runCell}). */
export interface RunOptions {
  /** Attach a source map to the cell's script so that a debugger binds breakpoints in the cell file. */
  debug?: boolean;
  /** With `debug`: a `debugger` statement before the cell's first line. */
  stopOnEntry?: boolean;
}

/** Options of {@link CellRunner}. */
export interface CellRunnerOptions {
  /** What `import ... from "primal"` yields (the kernel passes `import * as primal from "./index"`). */
  library: Record<string, unknown>;
  /** The cell file; relative imports resolve from its folder. */
  filePath: string;
  /** Receives printed text and `display()` output as it happens. */
  onOutput: (o: CellOutput) => void;
  /** `display(v)` hands `v` itself to onOutput (the kernel builds array/table/plot records from it). */
  richDisplay?: boolean;
  /** Extra globals of the cells' scope (and names of the "primal" namespace), e.g. `plot`. */
  extraGlobals?: Record<string, unknown>;
}

/** An error the runner itself raises (an import it cannot resolve). */
export class CellError extends PrimalError {}

/** How a virtual file's positions map back to source. */
interface MappedFile {
  kind: "cell" | "bundle";
  /** Maps applied in order, each from generated (1-based line, 0-based column) to its source. */
  maps: TraceMap[];
  /** For cells: the file line of cell line 1. */
  startLine: number;
  /** For bundles: folder that the map's `sources` are relative to. */
  dir: string;
}

interface BundleCacheEntry {
  signature: string;
  namespace: unknown;
}

const inspectOptions: util.InspectOptions = { colors: false, depth: 4 };

/** Values shaped like Primal's NDArray: `repr()` (JAX repr) and a real `toString()` (NumPy str). */
function isArrayLike(x: unknown, ctxObjectToString: unknown): x is { repr(): string; toString(): string } {
  if (x === null || typeof x !== "object") return false;
  const o = x as { repr?: unknown; toString?: unknown };
  return (
    typeof o.repr === "function" &&
    typeof o.toString === "function" &&
    o.toString !== Object.prototype.toString &&
    o.toString !== ctxObjectToString
  );
}

/**
 * Runs the cells of one file in a shared scope. Cells may be run in any order and any
 * number of times; calls to {@link runCell} are queued, so two cells never interleave.
 */
export class CellRunner {
  /** The context's global object (the notebook scope), for inspection by the kernel and tests. */
  readonly scope: Record<string, unknown>;
  private readonly context: vm.Context;
  private readonly filePath: string;
  private readonly dir: string;
  private readonly library: Record<string, unknown>;
  private readonly onOutput: (o: CellOutput) => void;
  private readonly requireFromFile: NodeJS.Require;
  private readonly files = new Map<string, MappedFile>();
  private readonly bundles = new Map<string, BundleCacheEntry>();
  private readonly ctxObjectToString: unknown;
  private libraryNamespace: Record<string, unknown> | undefined;
  private seq = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly richDisplay: boolean;
  private readonly extraGlobals: Record<string, unknown>;
  /** The run in progress: how to end it early, and the timers it started. */
  private current: { stop: (e: Error) => void; timers: Set<NodeJS.Timeout> } | null = null;

  constructor(opts: CellRunnerOptions) {
    this.filePath = path.resolve(opts.filePath);
    this.dir = path.dirname(this.filePath);
    this.library = opts.library;
    this.onOutput = opts.onOutput;
    this.richDisplay = opts.richDisplay ?? false;
    this.extraGlobals = opts.extraGlobals ?? {};
    this.requireFromFile = createRequire(this.filePath);
    this.context = vm.createContext(this.makeGlobals(), { name: `primal: ${path.basename(this.filePath)}` });
    this.scope = vm.runInContext("globalThis", this.context) as Record<string, unknown>;
    this.scope.global = this.scope;
    this.ctxObjectToString = vm.runInContext("Object.prototype.toString", this.context);
  }

  /** Runs one cell and reports its value or its error; never rejects. */
  runCell(cell: Cell, opts: RunOptions = {}): Promise<CellResult> {
    const run = this.queue.then(() => this.runNow(cell, opts));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Whether a cell is running now. */
  get busy(): boolean {
    return this.current !== null;
  }

  /**
   * Ends the running cell now, as interrupted, and clears the timers it started; the scope
   * keeps everything the cell assigned so far. For a cell that is awaiting (synchronous code
   * is stopped by SIGINT through breakOnSigint, since this cannot run while it does). Returns
   * false when no cell is running.
   */
  interrupt(): boolean {
    const c = this.current;
    if (!c) return false;
    for (const t of c.timers) clearTimeout(t);
    c.stop(interruptedError("kernel/interrupt"));
    return true;
  }

  /** The repr form of a value, as the last value of a cell and `display()` show it. */
  reprOf(value: unknown): string {
    if (isArrayLike(value, this.ctxObjectToString)) {
      try {
        return String(value.repr());
      } catch {
        // e.g. a disposed or otherwise broken array: fall back to Node's own rendering
      }
    }
    return util.inspect(value, inspectOptions);
  }

  private async runNow(cell: Cell, opts: RunOptions): Promise<CellResult> {
    const vname = `${this.filePath}#cell${cell.index}-run${++this.seq}`;
    let transformed;
    try {
      transformed = transformCell(cell.source, { sourcefile: `${this.filePath}#cell${cell.index}` });
    } catch (e) {
      if (e instanceof CellSyntaxError) {
        const line = cell.startLine + e.line - 1;
        const stack = `SyntaxError: ${e.message}\n    at ${this.filePath}:${line}:${e.column}`;
        const frame: StackFrame = { file: this.filePath, line, column: e.column, inCellFile: true, isUserCode: true };
        return { ok: false, error: { name: "SyntaxError", message: e.message, cell: cell.index, line, column: e.column, stack, frames: [frame] } };
      }
      return { ok: false, error: this.describeError(e, cell) };
    }
    // Pre-create the names so the assignments also work in strict code ("use strict", class bodies).
    for (const name of transformed.declaredNames) if (!(name in this.scope)) this.scope[name] = undefined;
    this.files.set(vname, {
      kind: "cell",
      maps: [new TraceMap(transformed.bodyMap), new TraceMap(transformed.jsMap)],
      startLine: cell.startLine,
      dir: this.dir,
    });
    const prevLocator = setSourceLocator((stack) => this.locate(stack) ?? prevLocator(stack));
    let stop: (e: Error) => void = () => undefined;
    const stopped = new Promise<never>((_, reject) => (stop = reject));
    stopped.catch(() => undefined);
    const current = { stop, timers: new Set<NodeJS.Timeout>() };
    this.current = current;
    try {
      // Line 1 of the wrapper holds no cell code (the maps rely on it), so `debugger` fits there.
      let src = `(async () => {${opts.debug && opts.stopOnEntry ? " debugger;" : ""}\n${transformed.body}\n})()`;
      if (opts.debug) src += `\n//# sourceMappingURL=data:application/json;base64,${Buffer.from(this.debugMap(transformed, cell.startLine)).toString("base64")}`;
      const script = new vm.Script(src, { filename: vname });
      const value: unknown = await Promise.race([script.runInContext(this.context, { breakOnSigint: true }), stopped]);
      if (value === undefined) return { ok: true };
      return { ok: true, value, display: this.richDisplay ? undefined : this.reprOf(value) };
    } catch (e) {
      if (isInterruption(e)) {
        const error = this.describeError(interruptedError("SIGINT"), cell);
        return { ok: false, interrupted: true, error: { ...error, stack: `${error.name}: ${error.message}` } };
      }
      if (e instanceof InterruptedError) return { ok: false, interrupted: true, error: { ...this.describeError(e, cell), stack: `${e.name}: ${e.message}` } };
      return { ok: false, error: this.describeError(e, cell) };
    } finally {
      if (this.current === current) this.current = null;
      setSourceLocator(prevLocator);
    }
  }

  /**
   * One source map from the cell's script to the cell file (the body map composed with
   * esbuild's, shifted to the cell's start line and below the wrapper's first line), for a
   * debugger: breakpoints set in the .ts file then bind to the running cell.
   */
  private debugMap(t: ReturnType<typeof transformCell>, startLine: number): string {
    const js = new TraceMap(t.jsMap);
    const lines: number[][][] = [[]];
    for (const segs of t.bodyMap.mappings) {
      const out: number[][] = [];
      for (const s of segs) {
        if (s.length < 4) continue;
        const [, , srcLine, srcCol] = s as [number, number, number, number];
        const o = originalPositionFor(js, { line: srcLine + 1, column: srcCol });
        if (o.line === null) continue;
        out.push([s[0], 0, startLine - 1 + o.line - 1, o.column]);
      }
      lines.push(out);
    }
    const tm = new TraceMap({ version: 3, file: "", sources: [this.filePath], names: [], mappings: lines as never });
    return JSON.stringify({ version: 3, sources: [this.filePath], names: [], mappings: encodedMappings(tm) });
  }

  // ---- globals -------------------------------------------------------------------------

  private makeGlobals(): Record<string, unknown> {
    const emit = (stream: "stdout" | "stderr") =>
      new Writable({
        write: (chunk: Buffer | string, _enc, cb) => {
          this.onOutput({ kind: "text", stream, text: chunk.toString() });
          cb();
        },
      });
    const con = new Console({ stdout: emit("stdout"), stderr: emit("stderr"), colorMode: false, inspectOptions: { depth: inspectOptions.depth } });
    // NDArray arguments print in NumPy's str form; everything else as Node prints it (nested
    // NDArrays use their inspect hook, which also gives the str form).
    const str = (a: unknown): unknown => (isArrayLike(a, this.ctxObjectToString) ? String(a.toString()) : a);
    const c = con as unknown as Record<string, (...args: unknown[]) => void>;
    for (const m of ["log", "info", "debug", "warn", "error", "trace"]) {
      const orig = c[m];
      c[m] = (...args: unknown[]) => orig(...args.map(str));
    }
    const print = (...args: unknown[]): void => c.log(...args);
    const display = (...values: unknown[]): void => {
      for (const v of values) this.onOutput(this.richDisplay ? { kind: "display", text: "", value: v } : { kind: "display", text: this.reprOf(v) });
    };
    // Timers are recorded with the run that started them, so that interrupting it clears them.
    const track = <T extends NodeJS.Timeout>(t: T): T => {
      this.current?.timers.add(t);
      return t;
    };

    // Callbacks scheduled by cells run outside runCell; their errors are reported (mapped)
    // on stderr instead of crashing the kernel.
    const guard =
      (fn: unknown) =>
      (...args: unknown[]): void => {
        if (typeof fn !== "function") return;
        try {
          const r: unknown = fn(...args);
          if (r && typeof (r as Promise<unknown>).then === "function") {
            (r as Promise<unknown>).then(undefined, (e: unknown) => this.reportUncaught(e));
          }
        } catch (e) {
          this.reportUncaught(e);
        }
      };

    const g: Record<string, unknown> = {
      console: con,
      print,
      display,
      [IMPORT_FN]: (spec: unknown) => this.importModule(String(spec)),
      [IMPORT_META]: { url: pathToFileURL(this.filePath).href, filename: this.filePath, dirname: this.dir },
      require: this.requireFromFile,
      __filename: this.filePath,
      __dirname: this.dir,
      setTimeout: (fn: unknown, ms?: number, ...a: unknown[]) => track(setTimeout(guard(fn), ms, ...a)),
      setInterval: (fn: unknown, ms?: number, ...a: unknown[]) => track(setInterval(guard(fn), ms, ...a)),
      setImmediate: (fn: unknown, ...a: unknown[]) => setImmediate(guard(fn), ...a),
      queueMicrotask: (fn: unknown) => queueMicrotask(guard(fn)),
      clearTimeout,
      clearInterval,
      clearImmediate,
      process,
      Buffer,
      ...this.extraGlobals,
    };
    // Web-platform globals Node provides, where this Node has them; plus the host's binary
    // data classes (see the realm note at the top of the file).
    const host = globalThis as unknown as Record<string, unknown>;
    for (const name of [
      "URL", "URLSearchParams", "TextEncoder", "TextDecoder", "structuredClone", "performance",
      "fetch", "Headers", "Request", "Response", "FormData", "Blob", "AbortController", "AbortSignal",
      "Event", "EventTarget", "MessageChannel", "BroadcastChannel", "atob", "btoa", "crypto", "navigator",
      "ArrayBuffer", "SharedArrayBuffer", "DataView", "Int8Array", "Uint8Array", "Uint8ClampedArray",
      "Int16Array", "Uint16Array", "Int32Array", "Uint32Array", "Float32Array", "Float64Array",
      "BigInt64Array", "BigUint64Array", "Float16Array",
    ]) {
      if (host[name] !== undefined) g[name] = host[name];
    }
    return g;
  }

  /**
   * Reports an error that escaped every cell (a timer callback that threw, a rejected
   * promise nobody awaited) on stderr as `Uncaught <mapped stack>`. Timer callbacks are
   * wrapped by the runner itself; the process owner (kernel, CLI) routes
   * `unhandledRejection` here.
   */
  reportUncaught(e: unknown): void {
    const info = this.describeError(e, undefined);
    this.onOutput({ kind: "text", stream: "stderr", text: `Uncaught ${info.stack}\n` });
  }

  // ---- imports -------------------------------------------------------------------------

  private async importModule(spec: string): Promise<unknown> {
    if (spec === "primal") return this.primalNamespace();
    if (spec.startsWith("file:")) spec = new URL(spec).pathname;
    if (spec.startsWith("./") || spec.startsWith("../") || spec === "." || spec === ".." || path.isAbsolute(spec)) {
      const abs = path.resolve(this.dir, spec);
      const ext = path.extname(abs).toLowerCase();
      if (ext === ".json" || ext === ".cjs" || ext === ".node") return cjsNamespace(this.requireFromFile(abs));
      if (ext === ".mjs") return nativeImport(pathToFileURL(abs).href);
      return this.importBundled(abs, spec);
    }
    try {
      return cjsNamespace(this.requireFromFile(spec));
    } catch (e) {
      const code = (e as { code?: string }).code;
      // ESM-only packages (no "require" condition, or top-level await): load them as ESM.
      if (code !== "ERR_REQUIRE_ESM" && code !== "ERR_PACKAGE_PATH_NOT_EXPORTED" && code !== "ERR_REQUIRE_ASYNC_MODULE") throw e;
      const entry = resolveEsmEntry(spec, this.dir);
      if (!entry) throw e;
      return nativeImport(pathToFileURL(entry).href);
    }
  }

  /** The library as seen from cells: its own `print`/`display` are replaced by the captured ones. */
  private primalNamespace(): Record<string, unknown> {
    if (!this.libraryNamespace) {
      const ns: Record<string, unknown> = { ...this.extraGlobals, ...this.library, print: this.scope.print, display: this.scope.display };
      if (!("default" in ns)) ns.default = ns;
      this.libraryNamespace = ns;
    }
    return this.libraryNamespace;
  }

  /**
   * Bundles a workspace module (TypeScript or JavaScript, with its own relative imports) and
   * evaluates it in the cells' context. The result is cached until one of the bundle's input
   * files changes, so editing a helper file and re-running the cell picks up the edit.
   */
  private importBundled(abs: string, spec: string): unknown {
    const outfile = path.join(path.dirname(abs), "__primal_bundle__.js");
    let result: esbuild.BuildResult & { outputFiles: esbuild.OutputFile[]; metafile: esbuild.Metafile };
    try {
      result = esbuild.buildSync({
        entryPoints: [abs],
        bundle: true,
        format: "cjs",
        platform: "node",
        target: "es2022",
        write: false,
        outfile,
        sourcemap: "external",
        metafile: true,
        external: ["primal"],
        logLevel: "silent",
      });
    } catch (e) {
      const first = (e as { errors?: esbuild.Message[] }).errors?.[0];
      if (!first) throw e;
      const where = first.location ? ` (${first.location.file}:${first.location.line}:${first.location.column + 1})` : "";
      throw new CellError(`cannot import "${spec}": ${first.text}${where}`);
    }
    const js = result.outputFiles.find((f) => f.path.endsWith(".js"))?.text ?? "";
    const map = result.outputFiles.find((f) => f.path.endsWith(".map"))?.text;
    const output = Object.values(result.metafile.outputs).find((o) => o.entryPoint !== undefined);
    const entry = path.resolve(output?.entryPoint ?? abs);
    const signature = Object.keys(result.metafile.inputs)
      .map((f) => `${f}@${fileMtime(path.resolve(f))}`)
      .join("|");
    const cached = this.bundles.get(entry);
    if (cached && cached.signature === signature) return cached.namespace;

    const vname = `${entry}#bundle${++this.seq}`;
    if (map) this.files.set(vname, { kind: "bundle", maps: [new TraceMap(map)], startLine: 1, dir: path.dirname(outfile) });
    const module = { exports: {} as unknown };
    const requireFromModule = createRequire(entry);
    const require = (id: string): unknown => (id === "primal" ? this.primalNamespace() : requireFromModule(id));
    const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {\n${js}\n})`, { filename: vname });
    const fn = script.runInContext(this.context) as (...a: unknown[]) => void;
    fn.call(module.exports, module.exports, require, module, entry, path.dirname(entry));
    const namespace = cjsNamespace(module.exports);
    this.bundles.set(entry, { signature, namespace });
    return namespace;
  }

  // ---- errors --------------------------------------------------------------------------

  /** Turns anything a cell threw into a {@link CellErrorInfo} positioned in the user's file. */
  private describeError(e: unknown, cell: Cell | undefined): CellErrorInfo {
    const isErr = e !== null && typeof e === "object" && typeof (e as Error).message === "string";
    const name = isErr ? String((e as Error).name ?? "Error") : "Error";
    const message = isErr ? (e as Error).message : `non-Error value thrown: ${util.inspect(e, inspectOptions)}`;
    const rawStack = isErr && typeof (e as Error).stack === "string" ? (e as Error).stack! : "";
    const frames: StackFrame[] = [];
    const header: string[] = [];
    let inFrames = false;
    let lastCell = -1; // index in `frames` of the outermost frame in a cell
    for (const lineText of rawStack.split("\n")) {
      const m = FRAME.exec(lineText);
      if (!m) {
        if (!inFrames) header.push(lineText);
        continue;
      }
      inFrames = true;
      const [, , fnName, file, l, c] = m;
      // Below the cell are only the runner's own frames (vm, this class, the event loop).
      if (file.startsWith("node:vm")) break;
      const known = this.files.get(file);
      if (known) {
        const pos = this.mapPosition(known, Number(l), Number(c));
        if (!pos) continue; // the wrapper's own `})()` call
        frames.push({ functionName: fnName || undefined, ...pos });
        if (known.kind === "cell") lastCell = frames.length - 1;
      } else {
        frames.push({ functionName: fnName || undefined, file, line: Number(l), column: Number(c), inCellFile: false, isUserCode: false, raw: lineText });
      }
    }
    // Frames below the outermost cell frame are the runner's own callers (runCell, the
    // microtask queue): noise for the user. Library frames are above it and stay.
    if (lastCell >= 0) frames.splice(lastCell + 1);
    const first = frames.find((f) => f.inCellFile);
    const headerText = header.length > 0 && header[0] !== "" ? header.join("\n") : `${name}: ${message}`;
    const stack = [headerText, ...frames.map(formatFrame)].join("\n");
    return {
      name,
      message,
      cell: cell?.index ?? -1,
      line: first?.line ?? cell?.startLine ?? 0,
      column: first?.column,
      stack,
      frames,
    };
  }

  /**
   * The user's location in a V8 stack: the first frame in a cell or a bundled workspace
   * module, mapped to its file and line. Installed as the source locator while a cell runs,
   * so traced equations record the user's line (for the IR panel).
   */
  locate(stack: string): SourceInfo | null {
    for (const lineText of stack.split("\n")) {
      const m = FRAME.exec(lineText);
      if (!m) continue;
      const known = this.files.get(m[3]);
      if (!known) continue;
      const pos = this.mapPosition(known, Number(m[4]), Number(m[5]));
      if (pos && pos.isUserCode) return { file: pos.file, line: pos.line, column: pos.column };
    }
    return null;
  }

  /** Maps a (1-based line, 1-based column) of a virtual file back to its source. */
  private mapPosition(f: MappedFile, line: number, column: number): Omit<StackFrame, "functionName"> | undefined {
    // Both wrappers put the code on the line after their first line.
    let pos: { line: number; column: number; source: string | null } = { line: line - 1, column: column - 1, source: null };
    if (pos.line < 1) return undefined;
    for (const tm of f.maps) {
      let o = originalPositionFor(tm, { line: pos.line, column: pos.column });
      if (o.line === null) o = originalPositionFor(tm, { line: pos.line, column: pos.column, bias: LEAST_UPPER_BOUND });
      if (o.line === null) return undefined;
      pos = { line: o.line, column: o.column, source: o.source };
    }
    if (f.kind === "cell") {
      return { file: this.filePath, line: f.startLine + pos.line - 1, column: pos.column + 1, inCellFile: true, isUserCode: true };
    }
    const file = pos.source ? path.resolve(f.dir, pos.source) : this.filePath;
    const inNodeModules = file.split(path.sep).includes("node_modules");
    return { file, line: pos.line, column: pos.column + 1, inCellFile: file === this.filePath, isUserCode: !inNodeModules };
  }
}

/** The error an interrupted cell ends with. */
export class InterruptedError extends PrimalError {
  override name = "Interrupted";
}

function interruptedError(by: string): InterruptedError {
  return new InterruptedError(`cell: interrupted (${by}); the kernel keeps its state`);
}

/** vm's error for a script stopped by SIGINT under breakOnSigint. */
function isInterruption(e: unknown): boolean {
  return e !== null && typeof e === "object" && (e as { code?: unknown }).code === "ERR_SCRIPT_EXECUTION_INTERRUPTED";
}

/** A V8 stack frame line: `    at [async ]fn (file:line:col)` or `    at file:line:col`. */
const FRAME = /^\s*at (async )?(?:(.*) \()?(.+?):(\d+):(\d+)\)?$/;

function formatFrame(f: StackFrame): string {
  if (f.raw !== undefined) return f.raw;
  const loc = `${f.file}:${f.line}:${f.column}`;
  return f.functionName ? `    at ${f.functionName} (${loc})` : `    at ${loc}`;
}
