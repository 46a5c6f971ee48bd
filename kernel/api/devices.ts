// Device placement: JAX's devices(), devicePut, deviceGet and blockUntilReady, over pytrees
// (nested JS arrays and plain objects whose leaves are NDArrays or JS values).

import { Device, devices as allDevices, toDevice } from "../core/device";
import { NDArray, NestedList, fromStorage } from "../core/ndarray";
import { treeLeaves, treeMap } from "../core/tree";
import { ArrayLike, asArray } from "./convert";

/** JAX's `jax.devices()`: the default backend's devices, or one platform's (`devices("webgpu")`). */
export function devices(backend?: string): Device[] {
  return allDevices(backend);
}

/** A pytree: a leaf, or nested arrays/objects of pytrees (kernel/core/tree.ts decides what is a node). */
export type Tree<T> = T | readonly Tree<T>[] | { readonly [k: string]: Tree<T> } | null;

/**
 * Copies arrays to a device. With a device named, the result is committed to it (operations
 * with it run there); without one it goes to the default device, uncommitted.
 */
export function devicePut<T extends Tree<ArrayLike>>(x: T, device?: Device | string): Tree<NDArray> {
  const dev = device === undefined ? undefined : toDevice(device, "devicePut");
  return treeMap((leaf: ArrayLike) => {
    const a = asArray(leaf, null, "devicePut");
    const target = dev ?? toDevice(undefined);
    if (a._buffer && a.device === target && (a._committed || !dev)) return a;
    const data = a._buf("devicePut").readSync();
    return fromStorage(data, a.aval, target, dev !== undefined);
  }, x);
}

/** Copies arrays to the host as nested JS arrays (numbers/booleans), like jax.device_get. */
export function deviceGet(x: Tree<NDArray | number | boolean>): Tree<NestedList> {
  return treeMap((leaf: NDArray | number | boolean) => (leaf instanceof NDArray ? leaf.tolist() : leaf), x);
}

/** Waits until every array in the tree has been computed. */
export async function blockUntilReady<T>(x: T): Promise<T> {
  await Promise.all(treeLeaves(x).filter((leaf) => leaf instanceof NDArray).map((a: NDArray) => a.blockUntilReady()));
  return x;
}
