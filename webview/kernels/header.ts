// The kernels panel's header: the devices programs compile for (platform, adapter, threads) with
// each WebGPU adapter's limits and features behind a disclosure, the kernel's state, a count of
// the programs shown, and the refresh action.

import { DeviceInfo, KernelRecordsResult, PanelKernelState } from "../../kernel/protocol";
import { h } from "../common/dom";
import { kernelStateBadge } from "../common/status";

/** Limits shown first (those that shape kernels); the rest follow alphabetically. */
const KEY_LIMITS = [
  "maxComputeWorkgroupSizeX", "maxComputeInvocationsPerWorkgroup", "maxComputeWorkgroupsPerDimension", "maxStorageBufferBindingSize",
  "maxBufferSize", "maxStorageBuffersPerShaderStage", "maxComputeWorkgroupStorageSize",
];

/** One device: `webgpu:0 · llvmpipe (LLVM 15.0.7, 256 bits)`, with its limits and features when known. */
export function deviceElement(d: DeviceInfo): HTMLElement {
  const name = d.adapter ?? (d.kind !== d.platform ? d.kind : "");
  const head = h(
    "span",
    { className: "device-head" },
    h("span", { className: `badge platform platform-${d.platform}`, text: d.platform }),
    h("span", { className: "device-id code", text: d.id }),
    name ? h("span", { className: "device-adapter", text: name, title: "adapter" }) : null,
    d.threads !== undefined ? h("span", { className: "muted", text: `${d.threads} thread${d.threads === 1 ? "" : "s"}` }) : null,
  );
  const limits = d.limits ? Object.entries(d.limits) : [];
  const features = d.features ?? [];
  if (!limits.length && !features.length) return h("div", { className: "device" }, head);
  limits.sort(([a], [b]) => {
    const ia = KEY_LIMITS.indexOf(a);
    const ib = KEY_LIMITS.indexOf(b);
    return ia >= 0 || ib >= 0 ? (ia < 0 ? 1e9 : ia) - (ib < 0 ? 1e9 : ib) : a.localeCompare(b);
  });
  const summary = [limits.length ? `${limits.length} limits` : "", features.length ? `${features.length} features` : ""].filter(Boolean).join(", ");
  return h(
    "details",
    { className: "device" },
    h("summary", {}, head, h("span", { className: "muted", text: summary })),
    features.length ? h("div", { className: "device-features" }, ...features.map((f) => h("span", { className: "badge feature", text: f }))) : null,
    limits.length
      ? h(
          "table",
          { className: "device-limits" },
          h("tbody", {}, ...limits.map(([k, v]) => h("tr", {}, h("td", { className: "code", text: k }), h("td", { className: "num", text: v.toLocaleString("en-US") })))),
        )
      : null,
  );
}

/** The header's actions. */
export interface HeaderActions {
  refresh(): void;
  expandAll(): void;
  collapseAll(): void;
}

/** The header: title, devices, state, counts and the actions. */
export function renderHeader(devices: DeviceInfo[], data: KernelRecordsResult | null, kernel: PanelKernelState, actions: HeaderActions): HTMLElement {
  const shown = data ? data.records.length : 0;
  const count = data ? (data.total > shown ? `${shown} of ${data.total} programs (newest first)` : `${shown} program${shown === 1 ? "" : "s"}`) : "";
  return h(
    "div",
    { className: "panel-header kernels-header" },
    h("span", { className: "panel-title", text: "Compiled kernels" }),
    h("span", { className: "muted program-count", text: count }),
    kernelStateBadge(kernel),
    h("span", { className: "spacer" }),
    shown ? h("vscode-button", { className: "expand-all", text: "Expand all", attrs: { appearance: "secondary", title: "Show every program's steps" }, on: { click: actions.expandAll } }) : null,
    shown ? h("vscode-button", { className: "collapse-all", text: "Collapse all", attrs: { appearance: "secondary" }, on: { click: actions.collapseAll } }) : null,
    h("vscode-button", { className: "refresh", text: "Refresh", attrs: { appearance: "secondary", title: "Ask the kernel for its compiled programs again" }, on: { click: actions.refresh } }),
    devices.length ? h("div", { className: "devices" }, ...devices.map(deviceElement)) : null,
  );
}
