// The panels' empty states: what to do when there is nothing to show (no kernel yet, the kernel
// died or is busy, nothing recorded yet). One place so the three panels word them alike.

import { PanelKernelState } from "../../kernel/protocol";
import { clear, h } from "./dom";

/** Default explanation per kernel state. */
const MESSAGES: Record<PanelKernelState, string> = {
  stopped: "No kernel is running. Run a cell (Shift+Enter in a file with // %% cells) to start one.",
  dead: "The kernel exited. Run a cell to start a new one.",
  busy: "The kernel is busy; this panel updates when the cell finishes.",
  idle: "Nothing recorded yet. Run a cell that calls jit or grad.",
};

/**
 * Replaces `root`'s content with an empty state: the kernel's state, `reason` (what the
 * extension said) or the default explanation, and a hint. Returns the element added.
 */
export function renderStatus(root: HTMLElement, kernel: PanelKernelState, reason?: string): HTMLElement {
  clear(root);
  const box = h(
    "div",
    { className: `empty-state kernel-${kernel}`, attrs: { role: "status", "aria-live": "polite" } },
    kernel === "busy" ? h("vscode-progress-ring", { className: "empty-ring" }) : null,
    h("div", { className: "empty-title", text: reason && reason.trim() ? reason : MESSAGES[kernel] }),
    reason && reason.trim() && reason !== MESSAGES[kernel] ? h("div", { className: "empty-hint", text: MESSAGES[kernel] }) : null,
  );
  root.append(box);
  return box;
}

/** A small badge naming the kernel's state (for panel headers). */
export function kernelStateBadge(kernel: PanelKernelState): HTMLElement {
  return h("span", { className: `state-badge kernel-${kernel}`, text: kernel === "idle" ? "kernel idle" : `kernel ${kernel}`, title: MESSAGES[kernel] });
}
