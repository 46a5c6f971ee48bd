// @vitest-environment happy-dom
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The kernels panel (webview/kernels/) on the CPU devices' own programs: records shaped as
// inspect/kernelRecords answers for a pmap over cpu:0 and cpu:1 (test/kernel/inspect-device-programs.test.ts
// checks the kernel's side): one record per program and device, each with its `device` and its
// link to the pmap's IR record (`irRecordId`, `irEqns`), beside a record of the kernel process's
// own. Checked: the device badge on exactly the device records (text, title, its class, and a
// CSS rule that colours it through VS Code's theme variables only, so light, dark and
// high-contrast themes all apply), per-device calls in each row, "show in IR" on a device
// program posting the program's equations in the pmap's per-device program (not the optimised
// jaxpr, which a pmap record does not have), and a record with a malformed device refused by the
// panel's guard (logged, nothing drawn).

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { KernelProgramRecord, KernelRecordsResult, KernelStepInfo } from "../../kernel/protocol";
import { startKernelsPanel } from "../../webview/kernels/main";
import { KernelsView } from "../../webview/kernels/view";
import { Harness as FakeHarness, cleanUpPanelsAfterEach, sendToPanel, startInDom } from "./fake-vscode";

type Harness = FakeHarness<KernelsView>;
const start = (): Promise<Harness> => startInDom(startKernelsPanel);
const rows = (root: HTMLElement) => [...root.querySelectorAll<HTMLElement>(".vlist-row")].sort((a, b) => Number(a.dataset.index) - Number(b.dataset.index));
const rowsOf = (root: HTMLElement, kind: string) => rows(root).filter((r) => r.classList.contains(`krow-${kind}`));
const click = (el: Element) => el.dispatchEvent(new MouseEvent("click", { bubbles: true }));

let harness: Harness | null = null;
cleanUpPanelsAfterEach();

function step(name: string, eqns: number[], calls: number): KernelStepInfo {
  return {
    index: 0, kind: "kernel", name, source: `"use strict";\nreturn function ${name}(b0, b1) {\n  for (let i0 = 0; i0 < 4096; i0++) b0[i0] = b1[i0] * 2;\n};\n`, language: "javascript", ir: null,
    eqns, eqnText: eqns.map((k) => `e${k}:f32[4096] = mul a 2.0:f32[]`), launchShape: [4096], elements: 4096,
    timing: { calls, totalMs: 0.04 * calls, lastMs: 0.04 },
  };
}

/** A device thread's record of one of the pmap's two programs. */
function onDevice(device: number, program: number, calls: number): KernelProgramRecord {
  const irEqns = program === 0 ? [0, 1] : [3, 4, 5];
  return {
    id: 2 ** 40 + device * 2 ** 32 + program, name: "centre", platform: "cpu", adapter: "cpu", source: { file: "/w/train.ts", line: 12, column: 1 },
    irRecordId: 7, irEqns, device: `cpu:${device}`, counts: { kernels: 1, library: 0, aliases: 0 }, eqnCount: irEqns.length, peakTempBytes: 0,
    compileMs: 2, calls, cacheHit: null, timingOn: true, steps: [step(program === 0 ? "k0_mul_exp" : "k0_div_sin_add", irEqns.map((_, k) => k), calls)],
  };
}

/** The kernel process's own record of a jitted function. */
const own: KernelProgramRecord = {
  id: 5, name: "later", platform: "cpu", adapter: "cpu", source: { file: "/w/train.ts", line: 20, column: 1 }, irRecordId: 8,
  counts: { kernels: 1, library: 0, aliases: 0 }, eqnCount: 1, peakTempBytes: 0, compileMs: 1, calls: 1, cacheHit: null, timingOn: true, steps: [step("k0_mul", [0], 1)],
};

// Newest first, as the kernel answers: a program's devices together, cpu:0 first.
const data: KernelRecordsResult = { records: [own, onDevice(0, 1, 3), onDevice(1, 1, 2), onDevice(0, 0, 3), onDevice(1, 0, 2)], total: 5 };

describe("kernels panel: programs of the CPU devices' own threads", () => {
  it("shows a device badge on each device program, and none on the kernel process's own", async () => {
    harness = await start();
    const { root } = harness;
    sendToPanel({ type: "kernelRecords", data, devices: [], kernel: "idle" });
    const progs = rowsOf(root, "program");
    expect(progs.map((r) => r.querySelector(".prog-name")!.textContent)).toEqual(["later", "centre", "centre", "centre", "centre"]);
    expect(progs.map((r) => r.querySelector(".badge.device")?.textContent ?? null)).toEqual([null, "cpu:0", "cpu:1", "cpu:0", "cpu:1"]);
    const badge = progs[2].querySelector<HTMLElement>(".badge.device")!;
    expect(badge.title).toBe("compiled and run by cpu:1's own thread: this row's calls and times are that device's");
    // Beside the platform badge, before the statistics.
    expect(badge.previousElementSibling!.classList.contains("platform")).toBe(true);
    // Each device's own calls.
    expect(progs.slice(1).map((r) => r.querySelector(".prog-stats")!.textContent!.match(/(\d+) calls/)![1])).toEqual(["3", "2", "3", "2"]);
  });

  it("colours the badge through VS Code's theme variables only", () => {
    const css = readFileSync(join(__dirname, "../../webview/kernels/kernels.css"), "utf8");
    const rule = css.split("\n").find((l) => l.startsWith(".badge.device"));
    expect(rule).toBeDefined();
    expect(rule).toMatch(/border-color: var\(--vscode-charts-\w+\)/);
    // No literal colours: every theme (light, dark, high contrast) sets the variables.
    expect(rule).not.toMatch(/#[0-9a-f]{3,8}\b|rgb|hsl/i);
  });

  it("'show in IR' on a device program shows the program's equations in the pmap's per-device program", async () => {
    harness = await start();
    const { root, posted } = harness;
    sendToPanel({ type: "kernelRecords", data, devices: [], kernel: "idle" });
    click(rowsOf(root, "program")[2]);
    click(rowsOf(root, "step")[0]);
    const eqns = rowsOf(root, "eqns")[0];
    const link = eqns.querySelector<HTMLElement>(".show-in-ir")!;
    expect(link.title).toBe("show this program's equations in the per-device program it was cut from (IR panel)");
    click(link);
    expect(posted[posted.length - 1]).toEqual({ type: "showInIr", irRecordId: 7, optimized: false, eqns: [3, 4, 5] });
    // The kernel process's own program still points into its optimised jaxpr.
    click(rowsOf(root, "program")[0]);
    click(rowsOf(root, "step")[0]);
    click(rowsOf(root, "eqns")[0].querySelector(".show-in-ir")!);
    expect(posted[posted.length - 1]).toEqual({ type: "showInIr", irRecordId: 8, optimized: true, eqns: [0] });
  });

  it("refuses a record whose device is not a device name: logged, nothing drawn", async () => {
    harness = await start();
    const { root, posted } = harness;
    const bad = { ...data, records: [{ ...onDevice(0, 0, 1), device: 0 }] };
    window.dispatchEvent(new MessageEvent("message", { data: JSON.parse(JSON.stringify({ type: "kernelRecords", data: bad, devices: [], kernel: "idle" })) }));
    expect(rowsOf(root, "program")).toHaveLength(0);
    const log = posted.find((m) => m.type === "log");
    expect(log).toMatchObject({ type: "log", level: "warn", message: expect.stringContaining("records[0]: expected device to be a device name") });
  });
});
