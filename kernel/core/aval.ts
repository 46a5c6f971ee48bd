// ShapedArray: the abstract value (aval) of an array: shape, dtype and weak type. Tracing,
// shape rules and the jaxpr printer work on avals only.

import { DType } from "./dtype";
import { Shape, sizeOf } from "./shape";

/** The abstract value of an array: what is known about it without its data. */
export class ShapedArray {
  readonly shape: readonly number[];
  constructor(
    shape: Shape,
    readonly dtype: DType,
    /** True for values that came from a JS scalar: they do not widen typed arrays. */
    readonly weakType = false,
  ) {
    this.shape = Object.freeze([...shape]);
  }
  get ndim(): number {
    return this.shape.length;
  }
  get size(): number {
    return sizeOf(this.shape);
  }
  /** JAX's short form: `f32[3,4]`. */
  str(): string {
    return `${this.dtype.short}[${this.shape.join(",")}]`;
  }
  equals(o: ShapedArray): boolean {
    return (
      this.dtype === o.dtype &&
      this.weakType === o.weakType &&
      this.shape.length === o.shape.length &&
      this.shape.every((d, i) => d === o.shape[i])
    );
  }
  /** The same aval with another shape/dtype/weak type. */
  update(p: { shape?: Shape; dtype?: DType; weakType?: boolean }): ShapedArray {
    return new ShapedArray(p.shape ?? this.shape, p.dtype ?? this.dtype, p.weakType ?? this.weakType);
  }
  /** A key for caches: identical for equal avals. */
  key(): string {
    return `${this.str()}${this.weakType ? "w" : ""}`;
  }
  toString(): string {
    return `ShapedArray(${this.str()}${this.weakType ? ", weak_type=True" : ""})`;
  }
}
