// One primitive, one record: everything Primal knows about a primitive is declared once, in a
// PrimitiveSpec. The foundation has the shape/dtype rule and the CPU implementation; the
// transformations add their rules to the same record (jvp, transpose, batching), and the
// compiler its lowering. The registry lets tests and the compiler list what a primitive lacks.

import { ShapedArray } from "./aval";
import { DType, Storage } from "./dtype";
import type { NDArray } from "./ndarray";
import { PrimalError, ShapeError } from "./errors";
import { checkSize, describeValue } from "./shape";

/** A contiguous row-major array on the host, as the CPU implementations see it. */
export interface HostArray {
  readonly data: Storage;
  readonly shape: readonly number[];
  readonly dtype: DType;
}

/** CPU implementation: host inputs in, one storage per output (matching `outAvals`). */
export type CpuImpl<P> = (inputs: HostArray[], params: P, outAvals: ShapedArray[]) => Storage[];

/** An elementwise primitive's scalar rule, as a JS expression over its operand names. */
export interface ElementwiseRule<P> {
  /** A JS expression computing one element; `args` are JS expressions of the (decoded) operands. */
  js(args: string[], inDtypes: DType[], outDtype: DType, params: P): string;
}

/** A linear input whose value is not known while transposing (Autodidax's UndefPrimal). */
export class UndefinedPrimal {
  constructor(readonly aval: ShapedArray) {}
}

/**
 * Forward-mode rule: given primal inputs and their tangents (null = a symbolic zero), returns
 * the primal outputs and their tangents (null where the tangent is zero, e.g. integer outputs).
 * Rules compute with `bind` on other primitives, so they compose with every transformation.
 */
export type JvpRule<P> = (primals: NDArray[], tangents: (NDArray | null)[], params: P) => [NDArray[], (NDArray | null)[]];

/**
 * Transposition rule of a primitive that is linear in the inputs marked UndefinedPrimal: given
 * the cotangents of the outputs (null = zero), returns one cotangent per input (null for inputs
 * that are not linear, or whose cotangent is zero).
 */
export type TransposeRule<P> = (cts: (NDArray | null)[], args: (NDArray | UndefinedPrimal)[], params: P) => (NDArray | null)[];

/**
 * Batching rule (vmap): each argument has a batch dimension or null (not batched); returns the
 * outputs and where their batch dimension is. `axisSize` is the mapped axis' size, `axisName`
 * its name (vmap's axisName, or null), which collectives compare with the axes they name.
 */
export type BatchRule<P> = (args: NDArray[], dims: (number | null)[], params: P, axisSize: number, axisName?: string | null) => [NDArray[], (number | null)[]];

/** The record of a primitive: its name and all its rules. */
export interface PrimitiveSpec<P> {
  readonly name: string;
  /** The shape/dtype rule (JAX's abstract eval); throws a PrimalError for bad input. */
  abstractEval(avals: ShapedArray[], params: P): ShapedArray[];
  /** Evaluation on the CPU backend. */
  cpu: CpuImpl<P>;
  /** For elementwise primitives: the scalar expression the CPU kernels are generated from. */
  elementwise?: ElementwiseRule<P>;
  /** Forward-mode differentiation. */
  jvp?: JvpRule<P>;
  /** Transposition, for primitives that are linear in some inputs (needed by grad/vjp). */
  transpose?: TransposeRule<P>;
  /** Batching (vmap). */
  batch?: BatchRule<P>;
  /**
   * Evaluation for higher-order primitives (jit, cond, scan...): runs on concrete arrays by
   * evaluating their jaxprs, instead of a backend kernel. Takes precedence over `cpu`.
   */
  impl?: (args: NDArray[], params: P) => NDArray[];
  /** Higher-order primitives whose jaxpr partial evaluation may inline (jit). */
  inlineForPartialEval?: (args: NDArray[], params: P) => NDArray[];
  /** The parameters as JAX prints them (some are hidden or respelled); all of them by default. */
  printParams?: (params: P) => Record<string, unknown>;
  /** Nested jaxprs print with the names of the equation's inputs and outputs (JAX's jit does). */
  aliasNestedNames?: boolean;
  /**
   * Collectives (psum, all_gather...): the named axes the primitive communicates over. `bind`
   * processes it at least at the innermost transformation that binds each name (a vmap or pmap
   * with that axisName; none: JAX's unbound axis name error), and a vmap of one of these names
   * runs the batching rule even when no operand is batched.
   */
  axisNames?: (params: P) => readonly string[];
}

/** A registered primitive. Parameters are a plain object of printable values. */
export class Primitive<P = any> implements PrimitiveSpec<P> {
  readonly name: string;
  readonly abstractEval: PrimitiveSpec<P>["abstractEval"];
  readonly cpu: CpuImpl<P>;
  readonly elementwise?: ElementwiseRule<P>;
  jvp?: JvpRule<P>;
  transpose?: TransposeRule<P>;
  batch?: BatchRule<P>;
  readonly impl?: (args: NDArray[], params: P) => NDArray[];
  readonly inlineForPartialEval?: (args: NDArray[], params: P) => NDArray[];
  readonly printParams?: (params: P) => Record<string, unknown>;
  readonly aliasNestedNames?: boolean;
  readonly axisNames?: (params: P) => readonly string[];
  constructor(spec: PrimitiveSpec<P>) {
    this.name = spec.name;
    // Every result shape is checked once here, for every trace: sizes are non-negative
    // integers and the array fits MAX_ARRAY_SIZE, so nothing is allocated for a bad shape.
    this.abstractEval = (avals, params) => {
      const outs = spec.abstractEval(avals, params);
      for (const o of outs) checkResultShape(spec.name, o.shape);
      return outs;
    };
    this.cpu = spec.cpu;
    this.elementwise = spec.elementwise;
    this.jvp = spec.jvp;
    this.transpose = spec.transpose;
    this.batch = spec.batch;
    this.impl = spec.impl;
    this.inlineForPartialEval = spec.inlineForPartialEval;
    this.printParams = spec.printParams;
    this.aliasNestedNames = spec.aliasNestedNames;
    this.axisNames = spec.axisNames;
  }
  toString(): string {
    return this.name;
  }
}

/** A primitive's result shape: non-negative integer sizes, at most MAX_ARRAY_SIZE elements. */
function checkResultShape(op: string, shape: readonly number[]): void {
  for (const d of shape)
    if (typeof d !== "number" || !Number.isInteger(d) || d < 0)
      throw new ShapeError(`${op}: result sizes must be non-negative integers, got shape ${describeValue(shape)}`);
  checkSize(op, shape);
}

const registry = new Map<string, Primitive>();

/** Declares a primitive. Names are unique. */
export function definePrimitive<P>(spec: PrimitiveSpec<P>): Primitive<P> {
  if (registry.has(spec.name)) throw new PrimalError(`definePrimitive: duplicate primitive name "${spec.name}"`);
  const p = new Primitive<P>(spec);
  registry.set(spec.name, p);
  return p;
}

/** Every declared primitive, for registry-driven tests and the compiler. */
export function allPrimitives(): Primitive[] {
  return [...registry.values()];
}

export function getPrimitive(name: string): Primitive | undefined {
  return registry.get(name);
}
