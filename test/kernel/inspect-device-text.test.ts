// The text forms of the kernels inspector (`primal run --kernels`, inspect/kernels) list the
// programs the CPU devices' own threads compile, over 2 logical CPU devices (PRIMAL_CPU_DEVICES=2,
// read when the CPU backend loads, so it is set in vi.hoisted before the kernel is imported). A
// pmap whose body has a psum between two elementwise steps is cut into two programs, each
// compiled on both devices' threads; both text forms print each of them once per device under
// a heading naming the pmapped function, the line that called it and the device. The reference
// for each printed program is the same program (the one the main side sent to the thread)
// compiled and run here, on this thread, and formatted by this thread: the steps, equations and
// kernel sources must be equal (timings left out). Also: the order (inspect/kernels newest first,
// `--kernels` in compile order among the cell's programs, a program's devices together, cpu:0
// first), the file filter, the heading's line against this file's own text, and that a second
// `--kernels` run in the same process prints only the programs compiled during its own cells.

import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

const savedDevices = vi.hoisted(() => {
  const was = process.env.PRIMAL_CPU_DEVICES;
  process.env.PRIMAL_CPU_DEVICES = "2";
  return was;
});

import { ClosedJaxpr, NDArray, devices, jit, lax, np, pmap } from "../../kernel/index";
import { deviceThreadKernelText, deviceThreadsEnabled } from "../../kernel/backends/cpu/device-threads";
import { bind } from "../../kernel/core/trace";
import { formatCompiledSteps, setKernelTiming } from "../../kernel/lower/inspect";
import { compiledRecordOf } from "../../kernel/lower/jit-runner";
import { jitP } from "../../kernel/transforms/jit";
import { clearInspectRecords, setInspectRecording } from "../../kernel/server/inspect-records";
import { inspectText, keepTraceRecords } from "../../kernel/server/inspect-text";

const N = 512;

/** The body: two elementwise runs with a psum between them, so pmap cuts it into two programs. */
function centre(x: NDArray): NDArray {
  const s = np.exp(x.mul(0.001)).mul(2);
  const t = lax.psum(s, "i");
  return np.sin(s.div(t)).add(x);
}
const centred = pmap(centre, { axisName: "i" });
const input = () => np.array(Array.from({ length: 2 }, (_, d) => Array.from({ length: N }, (_, j) => ((d * N + j) % 97) - 48)), { dtype: "float32" });

/** One printed program: its heading and the text below it, with the measured times taken out. */
interface Block {
  heading: string;
  body: string;
}

/** Compile and kernel times differ from run to run: everything else must be equal. */
const withoutTimes = (text: string): string => text.replace(/compiled in [0-9.]+ ms/g, "compiled in ? ms").replace(/, [0-9.]+ ms\/call over \d+ call\(s\)/g, "");

/** The `--- kernels of ... ---` blocks of a text answer, in order. */
function blocks(text: string): Block[] {
  return text
    .split(/^(?=--- kernels of )/m)
    .filter((b) => b.startsWith("--- kernels of "))
    .map((b) => {
      const nl = b.indexOf("\n");
      return { heading: b.slice(0, nl), body: withoutTimes(b.slice(nl + 1).replace(/\n+$/, "\n")) };
    });
}

/** The kernel source lines of a block (the `    | ` lines). */
const sourceLines = (body: string): string[] => body.split("\n").filter((l) => l.startsWith("    | "));

/**
 * Each started thread's records numbered above `after` (oldest first), with the text below the
 * heading that this thread prints for the same program compiled and run here once, as it ran
 * there (small kernels turn to wasm at a program's second call).
 */
function referenceBodies(after?: number): { device: string; local: number; body: string }[] {
  const out: { device: string; local: number; body: string }[] = [];
  const ran = new Set<ClosedJaxpr>();
  for (const t of deviceThreadKernelText(() => after))
    for (const r of t.records) {
      expect(r.program).toBeInstanceOf(ClosedJaxpr);
      const program = r.program!;
      // Every device ran the same program object: run it here once.
      if (!ran.has(program)) for (const o of bind(jitP, program.inAvals.map((a) => np.zeros(a.shape, { dtype: a.dtype.name })), { jaxpr: program, name: "same" })) o.dispose();
      ran.add(program);
      const mine = compiledRecordOf(program, "cpu");
      expect(mine).not.toBeNull();
      out.push({ device: String(t.device), local: r.id, body: withoutTimes(formatCompiledSteps(mine!)) });
    }
  // Two programs (before and after the psum) on each of the two devices.
  expect(ran.size).toBe(2);
  return out;
}

/** The 1-based line of this file that holds `marker` (once). */
function lineOf(marker: string): number {
  const lines = readFileSync(__filename, "utf8").split("\n");
  const at = lines.flatMap((l, k) => (l.includes(marker) ? [k + 1] : []));
  expect(at).toHaveLength(1);
  return at[0];
}

// As the kernel process does: records kept, kernels timed.
beforeAll(() => {
  keepTraceRecords();
  clearInspectRecords();
  setKernelTiming(true);
});
afterAll(() => {
  setKernelTiming(false);
  setInspectRecording(false);
  if (savedDevices === undefined) delete process.env.PRIMAL_CPU_DEVICES;
  else process.env.PRIMAL_CPU_DEVICES = savedDevices;
});

describe("inspect/kernels", () => {
  it("prints every device thread's programs under a heading naming the device, merged by compile time, newest first", () => {
    expect(devices("cpu").map(String)).toEqual(["cpu:0", "cpu:1"]);
    expect(deviceThreadsEnabled()).toBe(true);
    jit(function warm(x: NDArray) {
      return x.add(1);
    })(np.ones([3]));
    // Before any pmap: this process's program only, and no thread is started to ask.
    expect(blocks(inspectText("kernels").text).map((b) => b.heading)).toEqual([expect.stringMatching(/^--- kernels of jit\(warm\) \(.*\) ---$/)]);
    expect(deviceThreadKernelText()).toEqual([]);

    const out = centred(input()); // the pmap call (line of the headings)
    out.dispose();
    jit(function later(x: NDArray) {
      return x.mul(3);
    })(np.ones([2]));

    const res = inspectText("kernels");
    const got = blocks(res.text);
    expect(res.count).toBe(got.length);
    const at = `(${__filename}:${lineOf("centred(input()); " + "// the pmap call")})`;
    const device = (d: number) => `--- kernels of jit(centre) ${at} on cpu:${d} ---`;
    expect(got.map((b) => b.heading)).toEqual([
      expect.stringMatching(/^--- kernels of jit\(later\) \(.*\) ---$/),
      // The program after the psum, compiled last, then the one before it; cpu:0 first in each.
      device(0), device(1), device(0), device(1),
      expect.stringMatching(/^--- kernels of jit\(warm\) \(.*\) ---$/),
    ]);

    // Each device's text is what this thread prints for the same program compiled here.
    const refs = referenceBodies();
    expect(refs.map((r) => r.device)).toEqual(["cpu:0", "cpu:0", "cpu:1", "cpu:1"]);
    // Newest first: a device's second record, then its first.
    const want = [refs[1], refs[3], refs[0], refs[2]];
    got.slice(1, 5).forEach((b, k) => {
      expect(b.body).toBe(want[k].body);
      expect(sourceLines(b.body).length).toBeGreaterThan(0);
    });
    // The programs differ (before and after the psum), so the comparison could fail.
    expect(want[0].body).not.toBe(want[2].body);
    // The measured times are printed: each program ran once on each device.
    expect(res.text.match(/ms\/call over 1 call\(s\)/g)?.length).toBeGreaterThanOrEqual(4);
  });

  it("the file filter applies to the device threads' programs by the pmap call's file", () => {
    const mine = blocks(inspectText("kernels", { file: __filename }).text);
    // Shown with the file's base name when filtered to it, as this process's programs are.
    expect(mine.filter((b) => b.heading.includes(" on cpu:"))).toHaveLength(4);
    expect(mine.filter((b) => b.heading.includes(" on cpu:")).every((b) => b.heading.includes("(inspect-device-text.test.ts:"))).toBe(true);
    const none = inspectText("kernels", { file: "/nowhere.ts" });
    expect(none.count).toBe(0);
    expect(none.text).toMatch(/^No program has been compiled yet/);
  });
});

describe("primal run --kernels", () => {
  const dir = mkdtempSync(join(tmpdir(), "primal-pmap-kernels-"));
  writeFileSync(
    join(dir, "p.ts"),
    [
      `import { np, pmap, lax } from "primal";`, // 1
      `// %%`, // 2
      `const f = pmap(function rows(v: np.NDArray) { const s = np.exp(v.mul(0.5)).mul(2); return np.cos(s.div(lax.psum(s, "i"))).sub(v); }, { axisName: "i" });`, // 3
      `f(np.arange(16).reshape([2, 8])).shape`, // 4
      `// %%`, // 5
      `console.log("second cell")`, // 6
    ].join("\n"),
  );
  type Main = (argv: string[], io: { stdout(t: string): void; stderr(t: string): void; library: object; cwd: string }) => Promise<number>;
  // Imported through a variable, as test/kernel/cell-runner.test.ts does.
  const cliModule = "../../kernel/cli";
  const run = async (...flags: string[]) => {
    const { main } = (await import(cliModule)) as { main: Main };
    const real = await import("../../kernel/index");
    let stdout = "";
    let stderr = "";
    const code = await main(["run", ...flags, "p.ts"], { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), library: real, cwd: dir });
    return { code, stdout, stderr };
  };

  it("prints each device's programs after the cell, headed with the device, in compile order; only this run's", async () => {
    // The threads already hold the programs of the tests above: a run prints only its own.
    const before = deviceThreadKernelText().map((t) => t.records.length);
    expect(before).toEqual([2, 2]);
    const { code, stdout, stderr } = await run("--kernels");
    expect(stderr).toBe("");
    expect(code).toBe(0);
    // The cell's programs, before its value.
    const got = blocks(stdout.slice(0, stdout.indexOf("[ 2, 8 ]\n")));
    const heading = (d: number) => `--- kernels of jit(rows) (p.ts:4) on cpu:${d} ---`;
    // Oldest first: the program before the psum, then the one after it; cpu:0 first in each.
    expect(got.map((b) => b.heading)).toEqual([heading(0), heading(1), heading(0), heading(1)]);
    // Printed after the cell's output, before its value; nothing after the second cell.
    expect(stdout.indexOf(heading(0))).toBeLessThan(stdout.indexOf("[ 2, 8 ]"));
    expect(stdout.endsWith("[ 2, 8 ]\nsecond cell\n")).toBe(true);

    // The threads' records 2 and 3 (0 and 1 are the test file's pmap's).
    const refs = referenceBodies(1);
    expect(refs.map((r) => r.device)).toEqual(["cpu:0", "cpu:0", "cpu:1", "cpu:1"]);
    const want = [refs[0], refs[2], refs[1], refs[3]];
    got.forEach((b, k) => {
      expect(b.body).toBe(want[k].body);
      expect(sourceLines(b.body).length).toBeGreaterThan(0);
    });
    expect(want[0].body).not.toBe(want[2].body);
    // Distinct from the test file's pmap: the printed programs are the run's (cos, sub).
    expect(got[2].body).toMatch(/ = cos /);
  });

  it("--json gives each device's program its own object with the device", async () => {
    const { code, stdout } = await run("--kernels", "--json");
    expect(code).toBe(0);
    const objs = stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    const kernels = objs.filter((o) => o.type === "kernels");
    expect(kernels.map((o) => [o.cell, o.name, o.device, o.line])).toEqual([
      [1, "rows", "cpu:0", 4], [1, "rows", "cpu:1", 4], [1, "rows", "cpu:0", 4], [1, "rows", "cpu:1", 4],
    ]);
    expect(kernels.every((o) => o.file === join(dir, "p.ts"))).toBe(true);
    expect((kernels[1].text as string).startsWith("--- kernels of jit(rows) on cpu:1 ---\n")).toBe(true);
  });
});
