// The `primal` command line (bin/primal.js → dist/cli.js):
//
//   primal run FILE.ts [--backend cpu|webgpu] [--no-jit] [--ir] [--kernels] [--json]
//
// Runs the cells of FILE.ts in order in one CellRunner — the same machinery as the editor's
// Run Cell — printing what each cell prints and the repr of its last expression when that
// is not undefined (as Jupyter does). Stops at the first cell that throws: the error goes
// to stderr as
//
//   Error in cell N (FILE.ts:LINE): Name: message
//       at fn (FILE.ts:LINE:COL)          ← only frames in the user's code
//
// and the exit status is 1. N counts cells from 1 in file order (the protocol's 0-based
// index + 1); FILE.ts is the path as given on the command line.
//
// `--json` prints one JSON object per line on stdout instead, errors included:
//   {"type":"text","cell":0,"stream":"stdout","text":"hello\n"}     printed text (stream: stdout|stderr)
//   {"type":"display","cell":0,"text":"Array([1, 2], dtype=int32)"} a display(x) call
//   {"type":"value","cell":0,"text":"Array([1, 2], dtype=int32)"}   the cell's last value (repr form)
//   {"type":"error","cell":1,"name":"ShapeError","message":"…","file":"FILE.ts","line":12,"column":5,
//    "stack":"ShapeError: …\n    at …"}                               the error that stopped the run
// where "cell" is the 0-based cell index, as in the protocol.
//
// Exit status: 0 when every cell ran, 1 when a cell threw (or a promise a cell started was
// rejected with nobody awaiting it: reported on stderr as "Uncaught …", the run goes on),
// 2 for a usage error (unknown flag, missing or unreadable file, an option that is not
// available yet).

import * as fs from "node:fs";
import * as path from "node:path";
import * as primal from "./index";
import { shutdownBackends } from "./core/device";
import { deviceThreadRecords } from "./backends/cpu/device-threads";
import { TraceRecord, onTrace } from "./ir/trace-log";
import { setLinearizeSources } from "./ir/source";
import { CompiledRecord, formatCompiled, onCompile, setKernelTiming } from "./lower/inspect";
import { parseCells } from "./server/cell-parser";
import { CellRunner, type CellErrorInfo, type CellOutput, type StackFrame } from "./server/cell-runner";
import { DeviceTextEntry, byCompileTime, deviceKernelText, deviceKernelTexts } from "./server/inspect-devices";
import { describePmap, shownProgram } from "./server/inspect-jaxpr";

/** Where the CLI writes, and what it runs cells against (tests pass a fake library). */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  library: Record<string, unknown>;
  cwd: string;
}

/** Parsed `primal run` options. */
interface RunOptions {
  file: string;
  /** null: the automatic choice (kernel/core/device.ts). */
  backend: "cpu" | "webgpu" | null;
  noJit: boolean;
  ir: boolean;
  kernels: boolean;
  json: boolean;
}

const HELP = `Usage: primal run FILE.ts [options]

Runs the cells of FILE.ts (a cell starts at a line "// %%") in order in one kernel, the
way the editor's Run Cell does, printing what each cell prints and the value of its last
expression. Stops at the first cell that throws, prints the error with its line in
FILE.ts to stderr and exits with status 1.

Options:
  --backend cpu|webgpu  device to run on (default: a hardware GPU through WebGPU when
                        there is one, else the CPU; webgpu also takes a software adapter)
  --no-jit              run every primitive eagerly, like jax.disable_jit()
  --ir                  also print the jaxpr of every function traced by jit, grad or
                        pmap (a pmap's per-device program)
  --kernels             also print what jit compiled: each program's fused kernels, their
                        generated source, the equations they compute and their times (a
                        pmap's programs once per CPU device that compiled them)
  --json                print one JSON object per output, one per line
  -h, --help            show this help
  -v, --version         print the version

Exit status: 0 success, 1 a cell threw, 2 usage error.
`;

/** Thrown by the argument parser; `main` prints it and exits with status 2. */
class UsageError extends Error {}

/**
 * Runs the command line `argv` (without `node` and the script) and resolves to the exit
 * status. Never calls `process.exit` itself, so it can be tested in-process.
 */
export async function main(argv: readonly string[], io: CliIo = defaultIo()): Promise<number> {
  let opts: RunOptions | "help" | "version";
  try {
    opts = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.stderr(`primal: ${e.message}\nRun "primal --help" for usage.\n`);
    return 2;
  }
  if (opts === "help") {
    io.stdout(HELP);
    return 0;
  }
  if (opts === "version") {
    io.stdout(`${readVersion()}\n`);
    return 0;
  }
  return runFile(opts, io);
}

function parseArgs(argv: readonly string[]): RunOptions | "help" | "version" {
  if (argv.includes("-h") || argv.includes("--help")) return "help";
  if (argv.includes("-v") || argv.includes("--version")) return "version";
  if (argv.length === 0) throw new UsageError("missing command (expected: primal run FILE.ts)");
  const [command, ...rest] = argv;
  if (command !== "run") throw new UsageError(`unknown command "${command}" (expected: run)`);
  const opts: RunOptions = { file: "", backend: null, noJit: false, ir: false, kernels: false, json: false };
  const files: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (arg === "--backend" || arg.startsWith("--backend=")) {
      const value = arg === "--backend" ? rest[++i] : arg.slice("--backend=".length);
      if (value !== "cpu" && value !== "webgpu") {
        throw new UsageError(value === undefined ? "--backend needs a value (cpu or webgpu)" : `unknown backend "${value}" (expected cpu or webgpu)`);
      }
      opts.backend = value;
    } else if (arg === "--no-jit") opts.noJit = true;
    else if (arg === "--ir") opts.ir = true;
    else if (arg === "--kernels") opts.kernels = true;
    else if (arg === "--json") opts.json = true;
    else if (arg.startsWith("-") && arg !== "-") throw new UsageError(`unknown option "${arg}"`);
    else files.push(arg);
  }
  if (files.length === 0) throw new UsageError("missing FILE (usage: primal run FILE.ts)");
  if (files.length > 1) throw new UsageError(`expected one FILE, got ${files.length}: ${files.join(" ")}`);
  opts.file = files[0];
  return opts;
}

async function runFile(opts: RunOptions, io: CliIo): Promise<number> {
  const abs = path.resolve(io.cwd, opts.file);
  let text: string;
  try {
    text = fs.readFileSync(abs, "utf8");
  } catch (e) {
    const code = (e as { code?: string }).code;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory" : String((e as Error).message);
    io.stderr(`primal: cannot read ${opts.file}: ${why}\n`);
    return 2;
  }

  if (opts.backend) {
    // --backend is `config.update("jax_platform_name", ...)`: the default device of the run.
    const config = io.library.config as { update(name: string, value: unknown): void } | undefined;
    const devices = io.library.devices as ((platform?: string) => unknown[]) | undefined;
    // A library without devices (the tests' stand-in) has nothing to choose.
    if (config && devices) {
      try {
        config.update("jax_platform_name", opts.backend);
        if (!devices(opts.backend).length) throw new Error(`no ${opts.backend} device`);
      } catch (e) {
        io.stderr(`primal: --backend ${opts.backend}: ${(e as Error).message}\n`);
        return 2;
      }
    }
  }

  if (opts.noJit) {
    // --no-jit is `config.update("jax_disable_jit", true)`. Until the library has `config`
    // (it arrives with jit) there is nothing to turn off, and the flag is a no-op.
    const config = io.library.config as { update?: (name: string, value: unknown) => void } | undefined;
    if (config && typeof config.update === "function") config.update("jax_disable_jit", true);
  }

  const shown = (file: string): string => (file === abs ? opts.file : path.relative(io.cwd, file) || file);
  const json = (o: Record<string, unknown>): void => io.stdout(`${JSON.stringify(o)}\n`);
  let current = 0;
  const onOutput = (o: CellOutput): void => {
    if (opts.json) {
      json(o.kind === "text" ? { type: "text", cell: current, stream: o.stream, text: o.text } : { type: "display", cell: current, text: o.text });
    } else if (o.kind === "display") {
      io.stdout(`${o.text}\n`);
    } else {
      (o.stream === "stderr" ? io.stderr : io.stdout)(o.text);
    }
  };
  const runner = new CellRunner({ library: io.library, filePath: abs, onOutput });
  // --ir: each program traced by jit, grad or pmap, printed after the output of the cell that traced it.
  const traced: TraceRecord[] = [];
  const stopLog = opts.ir ? onTrace((r) => traced.push(r)) : () => undefined;
  if (opts.ir) setLinearizeSources(true);
  // --kernels: each program jit compiled during a cell, printed (with the kernels' measured
  // times over the cell's calls) after that cell's output. The CPU devices' threads compile a
  // pmap's programs: those are asked for after each cell (only when some thread was started),
  // headed with their device, named after the pmapped function and its line (from the pmap's
  // trace record), and printed among this thread's in compile order, a program's devices
  // together (kernel/server/inspect-devices.ts).
  const compiled: { r: CompiledRecord; at: number }[] = [];
  const pmapTraces: { record: TraceRecord }[] = [];
  const stopKernelLogs: (() => void)[] = [];
  /** Per device, the thread's own id of the last record printed (or there before the run): later ones are new. */
  const seenOnThread = new Map<number, number>();
  if (opts.kernels) {
    stopKernelLogs.push(
      onCompile((r) => compiled.push({ r, at: performance.timeOrigin + performance.now() })),
      onTrace((r) => {
        if (r.kind !== "pmap") return;
        pmapTraces.push({ record: r });
        if (pmapTraces.length > 200) pmapTraces.splice(0, pmapTraces.length - 200);
      }),
    );
    setKernelTiming(true);
    // Threads already started (a run inside a process that used them) keep older programs.
    for (const t of deviceThreadRecords(() => ({ limit: 1 }))) seenOnThread.set(t.device.id, t.records.at(-1)?.record.id ?? -1);
  }
  const flushKernels = (): void => {
    if (!opts.kernels) return;
    const own = compiled.splice(0).map(({ r, at }) => ({ at, device: -1, r, e: null }));
    const theirs = deviceKernelTexts((d) => seenOnThread.get(d), pmapTraces).map((e) => ({ at: e.at, device: e.device.id, r: null, e }));
    for (const { e } of theirs) seenOnThread.set(e.device.id, Math.max(e.local, seenOnThread.get(e.device.id) ?? -1));
    for (const { r, e } of byCompileTime<{ at: number; device: number; r: CompiledRecord | null; e: DeviceTextEntry | null }>([...own, ...theirs], false)) {
      const source = r ? r.source : e!.source;
      const where = source ? ` (${shown(source.file)}:${source.line})` : "";
      if (opts.json) {
        const text = r ? formatCompiled(r) : deviceKernelText(e!, "");
        json({ type: "kernels", cell: current, name: r ? r.name : e!.name, ...(e ? { device: String(e.device) } : {}), file: source?.file, line: source?.line, text });
      } else io.stdout(r ? formatCompiled(r, where) : deviceKernelText(e!, where));
    }
  };
  const flushTraces = (): void => {
    for (const r of traced.splice(0)) {
      const where = r.source ? ` (${shown(r.source.file)}:${r.source.line})` : "";
      const label = `${r.kind}(${r.name})${where}`;
      if (r.kind === "pmap") {
        // The program every device runs on its shard, printed as makeJaxpr prints the body.
        const text = String(shownProgram(r));
        if (opts.json) json({ type: "jaxpr", cell: current, kind: r.kind, name: r.name, file: r.source?.file, line: r.source?.line, text, pmap: r.pmap });
        else io.stdout(`--- per-device program of ${label}${r.pmap ? `: ${describePmap(r.pmap)}` : ""} ---\n${text}\n`);
        continue;
      }
      if (opts.json) json({ type: "jaxpr", cell: current, kind: r.kind, name: r.name, file: r.source?.file, line: r.source?.line, text: String(r.jaxpr) });
      else io.stdout(`--- jaxpr of ${label} ---\n${String(r.jaxpr)}\n`);
    }
  };
  // A promise a cell rejected without anyone awaiting it would otherwise crash Node with an
  // unmapped stack: report it like Jupyter does, go on, and fail the run at the end.
  let uncaught = 0;
  const onRejection = (e: unknown): void => {
    uncaught++;
    runner.reportUncaught(e);
  };
  process.on("unhandledRejection", onRejection);
  try {
    for (const cell of parseCells(text)) {
      current = cell.index;
      const result = await runner.runCell(cell);
      flushTraces();
      flushKernels();
      if (result.ok) {
        if (result.display === undefined) continue;
        if (opts.json) json({ type: "value", cell: cell.index, text: result.display });
        else io.stdout(`${result.display}\n`);
        continue;
      }
      const err = result.error;
      if (opts.json) {
        json({ type: "error", cell: err.cell, name: err.name, message: err.message, file: opts.file, line: err.line, column: err.column, stack: rewriteStack(err, shown) });
      } else {
        io.stderr(formatError(err, opts.file, shown));
      }
      return 1;
    }
    return uncaught > 0 ? 1 : 0;
  } finally {
    stopLog();
    for (const stop of stopKernelLogs) stop();
    if (opts.kernels) setKernelTiming(false);
    process.off("unhandledRejection", onRejection);
  }
}

/** `Error in cell N (FILE:LINE): Name: message` and the user-code frames, one per line. */
function formatError(err: CellErrorInfo, file: string, shown: (f: string) => string): string {
  const lines = [`Error in cell ${err.cell + 1} (${file}:${err.line}): ${err.name}: ${err.message}`];
  for (const f of err.frames) if (f.isUserCode) lines.push(formatFrame(f, shown));
  return lines.join("\n") + "\n";
}

/** The runner's stack with absolute paths replaced by the paths the user would type. */
function rewriteStack(err: CellErrorInfo, shown: (f: string) => string): string {
  const header = err.stack.split("\n").filter((l) => !/^\s+at /.test(l));
  return [...header, ...err.frames.map((f) => formatFrame(f, shown))].join("\n");
}

function formatFrame(f: StackFrame, shown: (f: string) => string): string {
  if (f.raw !== undefined) return f.raw;
  const loc = `${shown(f.file)}:${f.line}:${f.column}`;
  return f.functionName ? `    at ${f.functionName} (${loc})` : `    at ${loc}`;
}

function readVersion(): string {
  // A literal require, so esbuild inlines package.json into dist/cli.js; `../` is the
  // repository root both from kernel/cli.ts (tests) and from dist/cli.js.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pkg = require("../package.json") as { version?: string };
  return pkg.version ?? "unknown";
}

function defaultIo(): CliIo {
  return {
    stdout: (t) => void process.stdout.write(t),
    stderr: (t) => void process.stderr.write(t),
    library: primal as unknown as Record<string, unknown>,
    cwd: process.cwd(),
  };
}

/**
 * True when this module is the program being run: `node dist/cli.js`, or `bin/primal.js`
 * (which only requires the bundle). False when a test imports it.
 */
function isEntryPoint(): boolean {
  if (typeof require === "undefined" || typeof module === "undefined") return false;
  const entry = require.main;
  if (!entry) return false;
  return entry === module || /[\\/]bin[\\/]primal(\.js)?$/.test(entry.filename);
}

if (isEntryPoint()) {
  // Library frames in error stacks point into kernel/*.ts instead of the bundle (the build
  // writes source maps); cell frames are mapped by the runner either way.
  process.setSourceMapsEnabled(true);
  main(process.argv.slice(2)).then(
    async (code) => {
      await shutdownBackends();
      // Exit explicitly (a cell may have left a timer running), but only once what was
      // written to the pipes has been handed over, so nothing is cut off.
      process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
    },
    (e: unknown) => {
      process.stderr.write(`primal: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`, () => process.exit(70));
    },
  );
}
