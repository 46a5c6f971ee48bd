// Literals and concrete scalars: a 0-d constant that staging writes inline (`2.0:f32[]`) and
// turns back into an array when the jaxpr is evaluated.

import { ShapedArray } from "../core/aval";
import { Storage } from "../core/dtype";
import { NDArray, fromStorage } from "../core/ndarray";
import { numberToBF16, numberToF16 } from "../core/float16";
import { Literal } from "./jaxpr";

/** The one-element host storage of a literal (f16/bf16 as bit patterns). */
export function literalStorage(l: Literal): Storage {
  const d = l.aval.dtype;
  const v = typeof l.value === "boolean" ? Number(l.value) : l.value;
  const data = new d.storage(1);
  data[0] = d.name === "float16" ? numberToF16(v) : d.name === "bfloat16" ? numberToBF16(v) : v;
  return data;
}

/** The 0-d array a literal stands for. */
export function fromLiteral(l: Literal): NDArray {
  return fromStorage(literalStorage(l), new ShapedArray([], l.aval.dtype, l.aval.weakType));
}

/** A literal for a concrete 0-d array (its value read on the host). */
export function toLiteral(x: NDArray): Literal {
  const v = x.dataSync()[0];
  return new Literal(x.dtype.isBool ? v !== 0 : v, x.aval);
}
