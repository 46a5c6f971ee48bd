// WGSL for the primitives the compiler leaves as library calls (kernel/lower/fusion.ts's
// "library" class: dot_general, gather, scatter, sort, cumulative ops, threefry...). Each rule is
// pure: from the operands' and results' avals and the equation's parameters to the text of one
// or more compute passes, run in order, and the scratch buffers they need. The runtime
// (webgpu-backend.ts) compiles the passes (cached by text), binds the buffers and dispatches.
// A primitive without a rule here, or whose rule declines (returns `{ why }`), runs on the host
// through its CPU implementation, and the inspection record says so.
//
// Buffer numbering, as in codegen-wgsl.ts: a pass's `bindings[].buf` indexes the call's buffers
// in the order outputs, then inputs, then temps. Bool arrays are stored as one u32 per element.

import { ShapedArray } from "../../core/aval";
import { DType } from "../../core/dtype";
import { WgslKernel } from "./codegen-wgsl";

/** What the adapter allows, as the rules need it (from GPUAdapter limits and features). */
export interface AdapterCaps {
  /** maxComputeInvocationsPerWorkgroup. */
  maxInvocations: number;
  /** maxComputeWorkgroupStorageSize, bytes. */
  maxWorkgroupStorage: number;
  /** maxStorageBufferBindingSize, bytes. */
  maxStorageBinding: number;
  subgroups: boolean;
  f16: boolean;
  /** A software adapter (lavapipe, SwiftShader, WARP): rules may prefer other variants; undefined when unknown. */
  software?: boolean;
}

/** WebGPU's guaranteed minimums: what rules may assume when no adapter is known (snapshot tests). */
export const DEFAULT_CAPS: AdapterCaps = { maxInvocations: 256, maxWorkgroupStorage: 16384, maxStorageBinding: 134217728, subgroups: false, f16: false };

/** A scratch buffer of a call. Its contents are undefined: passes must write before they read. */
export interface WgslTemp {
  dtype: DType;
  elements: number;
}

/** The passes of one library call. */
export interface WgslCall {
  passes: WgslKernel[];
  temps: WgslTemp[];
  /** Shown in the inspection record, e.g. "matmul 4x4 register tiles, 64 threads". */
  note?: string;
}

/** A library primitive's WGSL lowering; `{ why }` when it cannot handle these operands. */
export type WgslRule<P = any> = (ins: readonly ShapedArray[], outs: readonly ShapedArray[], params: P, caps: AdapterCaps) => WgslCall | { why: string };

const rules = new Map<string, WgslRule>();

/** Registers the WGSL lowering of a library primitive (one per primitive name). */
export function registerWgslRule<P>(name: string, rule: WgslRule<P>): void {
  if (rules.has(name)) throw new Error(`registerWgslRule: duplicate rule for "${name}"`);
  rules.set(name, rule as WgslRule);
}

/** The WGSL lowering of a library primitive, if any. */
export function wgslRule(name: string): WgslRule | undefined {
  return rules.get(name);
}

/** Names of the primitives with a WGSL lowering. */
export function wgslRuleNames(): string[] {
  return [...rules.keys()];
}
