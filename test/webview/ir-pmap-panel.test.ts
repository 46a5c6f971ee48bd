// @vitest-environment happy-dom
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The IR panel (webview/ir/) on pmap records: real records from pmap calls over 2 logical CPU
// devices (PRIMAL_CPU_DEVICES=2, set in vi.hoisted before the kernel loads), sent as the
// extension sends inspect/irRecords. A pmap record's row carries the "pmap" badge and its axis;
// its detail says the axis name and size and "per-device program, runs on" its devices, one tag
// per device in shard order; its tab shows the per-device program line by line as printed. An
// unnamed axis says so; jit records show none of it; a record with a malformed pmap field is
// refused by the panel's guard (logged, nothing rendered). The badge's colours are theme
// variables (light and dark come from VS Code).

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

const savedDevices = vi.hoisted(() => {
  const was = process.env.PRIMAL_CPU_DEVICES;
  process.env.PRIMAL_CPU_DEVICES = "2";
  return was;
});

import { NDArray, devices, jit, lax, np, pmap } from "../../kernel/index";
import { IrRecord, IrRecordsResult, PanelToHost } from "../../kernel/protocol";
import { clearInspectRecords, irRecords, setInspectRecording } from "../../kernel/server/inspect-records";
import { startIrPanel } from "../../webview/ir/main";
import { IrView } from "../../webview/ir/view";
import { Harness as FakeHarness, cleanUpPanelsAfterEach, sendToPanel, startInDom } from "./fake-vscode";

type Harness = FakeHarness<IrView>;
const start = (): Promise<Harness> => startInDom(startIrPanel);
const f32 = (xs: number[]) => np.array(xs, { dtype: "float32" });
const last = <T extends PanelToHost["type"]>(posted: PanelToHost[], type: T) => posted.filter((m) => m.type === type).pop() as Extract<PanelToHost, { type: T }> | undefined;

let harness: Harness | null = null;
cleanUpPanelsAfterEach();

describe("IR panel on pmap records", () => {
  let data: IrRecordsResult;
  let named: IrRecord;
  let unnamed: IrRecord;
  let jitted: IrRecord;

  beforeAll(() => {
    expect(devices().map(String)).toEqual(["cpu:0", "cpu:1"]);
    setInspectRecording(true);
    clearInspectRecords();
    jit(function plain(x: NDArray) {
      return np.sin(x).sum();
    })(f32([1, 2]));
    pmap((v: NDArray) => np.exp(v))(f32([1, 2]));
    pmap(
      function rows(v: NDArray) {
        return lax.psum(np.tanh(v), "batch");
      },
      { axisName: "batch" },
    )(np.ones([2, 3]));
    data = irRecords();
    [named, unnamed, jitted] = data.records;
  });
  afterAll(() => {
    setInspectRecording(false);
    if (savedDevices === undefined) delete process.env.PRIMAL_CPU_DEVICES;
    else process.env.PRIMAL_CPU_DEVICES = savedDevices;
  });

  it("the records are the two pmaps (newest first) and the jit", () => {
    expect(data.records.map((r) => r.kind)).toEqual(["pmap", "pmap", "jit"]);
    expect(named.pmap).toEqual({ axisName: "batch", axisSize: 2, devices: ["cpu:0", "cpu:1"] });
    expect(unnamed.pmap).toEqual({ axisName: null, axisSize: 2, devices: ["cpu:0", "cpu:1"] });
    expect(jitted.pmap).toBeUndefined();
  });

  it("lists a pmap record with the pmap badge and its axis; a jit record has no axis", async () => {
    harness = await start();
    sendToPanel({ type: "irRecords", data, kernel: "idle" });
    const rows = harness.view.recordRows();
    expect(rows.map((r) => r.querySelector(".ir-kind")!.textContent)).toEqual(["pmap", "pmap", "jit"]);
    expect(rows[0].querySelector(".badge.ir-kind-pmap")).not.toBeNull();
    expect(rows.map((r) => r.querySelector(".ir-pmap-axis")?.textContent ?? null)).toEqual(["axis batch × 2", "unnamed axis × 2", null]);
    expect(rows[0].querySelector(".ir-pmap-axis")!.getAttribute("title")).toBe("Per-device program, runs on cpu:0, cpu:1");
  });

  it("the detail says axis, size and the devices the per-device program runs on, and shows it as printed", async () => {
    harness = await start();
    sendToPanel({ type: "irRecords", data, kernel: "idle" });
    const d = harness.view.detail()!;
    expect(d.record.id).toBe(named.id);
    const info = harness.root.querySelector(".ir-toolbar .ir-pmap")!;
    expect(info.querySelector(".ir-pmap-axis")!.textContent).toBe("axis batch × 2");
    expect(info.textContent).toContain("per-device program, runs on");
    expect([...info.querySelectorAll(".ir-device")].map((e) => [e.textContent, e.getAttribute("title")])).toEqual([
      ["cpu:0", "shard 0"],
      ["cpu:1", "shard 1"],
    ]);
    // Beside the kind badge, as the grad records' extra information sits with theirs.
    expect(harness.root.querySelector(".ir-toolbar .ir-kind")!.nextElementSibling).toBe(info);
    expect(d.tabs.map((t) => t.label)).toEqual(["Per-device program"]);
    const lines = d.textViews()[0].model.lines;
    expect(lines).toEqual(named.text.split("\n"));
    expect(named.text).toContain("psum[axes=('batch',)");
    const codes = [...harness.root.querySelectorAll<HTMLElement>(".ir-line .code-line")].map((e) => e.textContent);
    expect(codes).toEqual(lines);
    // "Open as text" names the per-device program.
    harness.root.querySelector(".ir-open-text")!.dispatchEvent(new MouseEvent("click", { bubbles: true }));
    const m = last(harness.posted, "openText")!;
    expect(m.text).toBe(named.text);
    expect(m.title).toMatch(/· per-device\.jaxpr$/);
  });

  it("an unnamed axis says so; a jit record's toolbar has no pmap information", async () => {
    harness = await start();
    sendToPanel({ type: "irRecords", data, kernel: "idle" });
    harness.view.select(unnamed.id);
    expect(harness.root.querySelector(".ir-toolbar .ir-pmap-axis")!.textContent).toBe("unnamed axis × 2");
    harness.view.select(jitted.id);
    expect(harness.root.querySelector(".ir-toolbar .ir-pmap")).toBeNull();
    expect(harness.view.detail()!.tabs.map((t) => t.label)).toEqual(["Traced", "Optimized"]);
  });

  it("a record with a malformed pmap field is refused by the guard: logged, nothing rendered", async () => {
    harness = await start();
    const bad = { ...named, pmap: { axisName: "batch", axisSize: 2, devices: ["cpu:0"] } };
    window.dispatchEvent(new MessageEvent("message", { data: JSON.parse(JSON.stringify({ type: "irRecords", data: { records: [bad], total: 1 }, kernel: "idle" })) }));
    expect(harness.view.recordRows()).toHaveLength(0);
    expect(last(harness.posted, "log")!.message).toContain("expected pmap");
  });

  it("colours the pmap badge and device tags with theme variables only", () => {
    const css = readFileSync(join(__dirname, "../../webview/ir/ir.css"), "utf8");
    const rule = (sel: string) => css.split("\n").find((l) => l.startsWith(`${sel} {`)) ?? "";
    expect(rule(".badge.ir-kind-pmap")).toMatch(/background: var\(--vscode-charts-green\); color: var\(--vscode-editor-background\);/);
    const device = css.slice(css.indexOf(".ir-device {"), css.indexOf("}", css.indexOf(".ir-device {")));
    expect(device).toContain("border: 1px solid var(--vscode-charts-green)");
    expect(css).toMatch(/body\.vscode-high-contrast \.ir-device,\nbody\.vscode-high-contrast-light \.ir-device \{ border-color: var\(--vscode-contrastBorder\); \}/);
    // No literal colours in the pmap rules.
    for (const l of css.split("\n").filter((x) => /ir-pmap|ir-device|ir-kind-pmap/.test(x))) expect(l).not.toMatch(/#[0-9a-f]{3,6}\b|rgb\(/i);
  });
});
