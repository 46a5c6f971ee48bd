// Small DOM helpers shared by the panels: an element builder (the pages' CSP forbids inline
// styles and the panels avoid innerHTML altogether, so everything is built node by node) and
// the number formats every panel uses, so a norm, a byte count or a time reads the same in each.

import { JsonNumber } from "../../kernel/protocol";

/** Properties {@link h} understands. */
export interface Props {
  className?: string;
  /** Text content (set as a text node, never parsed as HTML). */
  text?: string;
  title?: string;
  /** Attributes, set with setAttribute (`style` is refused: the CSP blocks it; use classes or el.style). */
  attrs?: Record<string, string | number | boolean | null | undefined>;
  /** Event listeners. */
  on?: { [K in keyof HTMLElementEventMap]?: (e: HTMLElementEventMap[K]) => void };
  dataset?: Record<string, string | number>;
}

/** A child of {@link h}: nodes, strings (text nodes), and null/undefined/false (skipped). */
export type Child = Node | string | null | undefined | false;

/** Builds an element: `h("span", { className: "badge", text: "cpu" })`, `h("div", {}, child1, "text")`. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props?: Props, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K];
export function h(tag: string, props?: Props, ...children: (Child | Child[])[]): HTMLElement;
export function h(tag: string, props: Props = {}, ...children: (Child | Child[])[]): HTMLElement {
  const el = document.createElement(tag);
  if (props.className) el.className = props.className;
  if (props.text !== undefined) el.textContent = props.text;
  if (props.title !== undefined) el.title = props.title;
  if (props.attrs)
    for (const [k, v] of Object.entries(props.attrs)) {
      if (v === null || v === undefined || v === false || k === "style") continue;
      el.setAttribute(k, v === true ? "" : String(v));
    }
  if (props.dataset) for (const [k, v] of Object.entries(props.dataset)) el.dataset[k] = String(v);
  if (props.on) for (const [k, fn] of Object.entries(props.on)) if (fn) el.addEventListener(k, fn as EventListener);
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

/** Removes every child of `el`. */
export function clear(el: Element): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

/** The number a {@link JsonNumber} stands for. */
export function toNumber(x: JsonNumber): number {
  if (typeof x === "number") return x;
  return x === "NaN" ? NaN : x === "Infinity" ? Infinity : -Infinity;
}

/** Whether a value is NaN or infinite (including the strings JSON carries them as). */
export function isBad(x: JsonNumber): boolean {
  return !Number.isFinite(toNumber(x));
}

/**
 * A number for display: `digits` significant digits (default 4), exponent form for very large
 * or very small magnitudes, integers below 1e9 as they are, and NaN/Inf spelled out.
 */
export function fmtNum(x: JsonNumber, digits = 4): string {
  const v = toNumber(x);
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "Inf" : "-Inf";
  if (v === 0) return "0";
  if (Number.isInteger(v) && Math.abs(v) < 1e9) return String(v);
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-4) return v.toExponential(Math.max(0, digits - 1)).replace(/\.?0+e/, "e");
  return String(Number(v.toPrecision(digits)));
}

/** A byte count: `512 B`, `1.5 KiB`, `12.0 MiB`. */
export function fmtBytes(n: number): string {
  if (!Number.isFinite(n)) return "?";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = Math.abs(n);
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  const sign = n < 0 ? "-" : "";
  return u === 0 ? `${sign}${v} B` : `${sign}${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

/** A duration in milliseconds: `0.012 ms`, `3.4 ms`, `1.25 s`. */
export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return "?";
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  if (ms >= 1) return `${ms.toFixed(2)} ms`;
  if (ms === 0) return "0 ms";
  return `${ms.toPrecision(2)} ms`;
}

/** `src/model.ts:12` for a source line (the file's last path segment). */
export function fmtSource(s: { file: string; line: number }): string {
  const parts = s.file.split(/[\\/]/);
  return `${parts[parts.length - 1]}:${s.line}`;
}
