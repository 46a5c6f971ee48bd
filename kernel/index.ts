// The public API of Primal ("primal"): re-exports only. See shared/API.md for how JAX's
// Python names map to these.

import "./backends/cpu/cpu-backend";
import "./backends/cpu/compiled";
import "./backends/webgpu/webgpu-backend";
import "./primitives";
import "./api/indexing";
import "./api/array-methods";
import "./ir/printer";

export * as np from "./api/numpy";
export * as lax from "./lax";
export * as tree from "./api/tree";
export * as random from "./api/random";
export * as nn from "./api/nn";
export { PRNGKeyArray } from "./api/random";
export { devices, devicePut, devicePutSharded, devicePutReplicated, deviceGet, blockUntilReady } from "./api/devices";
export { print, display, plot } from "./api/output";
export { grad, valueAndGrad, jvp, vjp, linearize, jacfwd, jacrev, hessian } from "./transforms/autodiff";
export { jacrev as jacobian } from "./transforms/autodiff";
export { vmap } from "./transforms/vmap";
export { jit, disableJit } from "./transforms/jit";
export { pmap } from "./transforms/pmap";
export { makeJaxpr } from "./transforms/stage";
export { customJvp, customVjp } from "./transforms/custom";
export { checkGrads } from "./transforms/check-grads";
export { debug } from "./transforms/debug";
export { config } from "./core/config";
export { ClosedJaxpr, Jaxpr } from "./ir/jaxpr";
export { NDArray } from "./core/ndarray";
export { ShapedArray } from "./core/aval";
export type { ArrayLike } from "./api/convert";
export type { Device } from "./core/device";
export {
  PrimalError, ShapeError, DTypeError, AxisError, IndexError, ValueError, ConcretizationError, ArgumentError, DisposedError, NotAvailableError, DeviceError, NameError,
} from "./core/errors";
export { EscapedTracerError } from "./core/trace";
export { version } from "./version";
