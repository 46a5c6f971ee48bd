// Device placement: JAX's devices(), devicePut, deviceGet and blockUntilReady, over pytrees
// (nested JS arrays and plain objects whose leaves are NDArrays or JS values).

import { Device, devices as allDevices, toDevice } from "../core/device";
import { NDArray, NestedList, fromStorage } from "../core/ndarray";
import { isPlainObject } from "../core/shape";
import { ArrayLike, asArray } from "./convert";

/** Every device of every available backend, or of one platform (`devices("cpu")`). */
export function devices(backend?: string): Device[] {
  return allDevices(backend);
}

/** A pytree: a leaf, or nested arrays/objects of pytrees. */
export type Tree<T> = T | readonly Tree<T>[] | { readonly [k: string]: Tree<T> } | null;

function mapTree<A, B>(t: Tree<A>, isLeaf: (x: unknown) => boolean, f: (a: A) => B): Tree<B> {
  if (t === null || t === undefined) return null;
  if (isLeaf(t)) return f(t as A);
  if (Array.isArray(t)) return t.map((e) => mapTree(e, isLeaf, f));
  if (isPlainObject(t))
    return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, mapTree(v as Tree<A>, isLeaf, f)]));
  return f(t as A);
}

const isArrayLeaf = (x: unknown) => x instanceof NDArray || typeof x === "number" || typeof x === "boolean" || ArrayBuffer.isView(x);

/**
 * Copies arrays to a device. With a device named, the result is committed to it (operations
 * with it run there); without one it goes to the default device, uncommitted.
 */
export function devicePut<T extends Tree<ArrayLike>>(x: T, device?: Device | string): Tree<NDArray> {
  const dev = device === undefined ? undefined : toDevice(device, "devicePut");
  return mapTree<ArrayLike, NDArray>(x, isArrayLeaf, (leaf) => {
    const a = asArray(leaf, null, "devicePut");
    const target = dev ?? toDevice(undefined);
    if (a._buffer && a.device === target && (a._committed || !dev)) return a;
    const data = a._buf("devicePut").readSync();
    return fromStorage(data, a.aval, target, dev !== undefined);
  });
}

/** Copies arrays to the host as nested JS arrays (numbers/booleans), like jax.device_get. */
export function deviceGet(x: Tree<NDArray | number | boolean>): Tree<NestedList> {
  return mapTree<NDArray | number | boolean, NestedList>(x, isArrayLeaf, (leaf) => (leaf instanceof NDArray ? leaf.tolist() : leaf));
}

/** Waits until every array in the tree has been computed. */
export async function blockUntilReady<T>(x: T): Promise<T> {
  const waits: Promise<unknown>[] = [];
  mapTree<unknown, null>(x as Tree<unknown>, (v) => v instanceof NDArray, (leaf) => {
    if (leaf instanceof NDArray) waits.push(leaf.blockUntilReady());
    return null;
  });
  await Promise.all(waits);
  return x;
}
