// The `np` namespace: jax.numpy in TypeScript. Re-exports the NumPy-style functions from
// their concept files, plus the dtypes as values (np.float32, np.int32, ...).

export * from "./creation";
export * from "./ufuncs";
export * from "./reductions";
export * from "./shape-ops";
export * from "./contractions";
export * from "./sorting";
export * from "./comparisons";
export { take, takeAlongAxis, nonzero, argwhere, flatnonzero } from "./index-update";
export { npAstype as astype } from "./convert";
export { bool, int8, int16, int32, uint8, uint16, uint32, float16, bfloat16, float32, DType } from "../core/dtype";
export { setPrintOptions, getPrintOptions } from "../core/format";
export { NDArray } from "../core/ndarray";

import { bool as bool_, float32 as f32, int32 as i32 } from "../core/dtype";
/** Alias of np.bool (NumPy's `bool_`). */
export const bool_dtype = bool_;
/** JAX's default float and int with x64 off. */
export const floating = f32;
export const integer = i32;
export const inf = Infinity;
export const nan = NaN;
export const pi = Math.PI;
export const e = Math.E;
export const newaxis = null;
