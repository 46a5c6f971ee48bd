// One primitive, one record: everything Primal knows about a primitive is declared once, in a
// PrimitiveSpec. The foundation has the shape/dtype rule and the CPU implementation; the
// transformations add their rules to the same record (jvp, transpose, batching), and the
// compiler its lowering. The registry lets tests and the compiler list what a primitive lacks.

import { ShapedArray } from "./aval";
import { DType, Storage } from "./dtype";

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

/** The record of a primitive: its name and all its rules. */
export interface PrimitiveSpec<P> {
  readonly name: string;
  /** The shape/dtype rule (JAX's abstract eval); throws a PrimalError for bad input. */
  abstractEval(avals: ShapedArray[], params: P): ShapedArray[];
  /** Evaluation on the CPU backend. */
  cpu: CpuImpl<P>;
  /** For elementwise primitives: the scalar expression the CPU kernels are generated from. */
  elementwise?: ElementwiseRule<P>;
}

/** A registered primitive. Parameters are a plain object of printable values. */
export class Primitive<P = any> implements PrimitiveSpec<P> {
  readonly name: string;
  readonly abstractEval: PrimitiveSpec<P>["abstractEval"];
  readonly cpu: CpuImpl<P>;
  readonly elementwise?: ElementwiseRule<P>;
  constructor(spec: PrimitiveSpec<P>) {
    this.name = spec.name;
    this.abstractEval = spec.abstractEval;
    this.cpu = spec.cpu;
    this.elementwise = spec.elementwise;
  }
  toString(): string {
    return this.name;
  }
}

const registry = new Map<string, Primitive>();

/** Declares a primitive. Names are unique. */
export function definePrimitive<P>(spec: PrimitiveSpec<P>): Primitive<P> {
  if (registry.has(spec.name)) throw new Error(`definePrimitive: duplicate primitive name "${spec.name}"`);
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
