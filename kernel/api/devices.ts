// Device placement: JAX's devices(), devicePut, deviceGet and blockUntilReady, over pytrees
// (nested JS arrays and plain objects whose leaves are NDArrays or JS values).

import { Device, DeviceBuffer, devices as allDevices, toDevice } from "../core/device";
import { ArgumentError, ShapeError } from "../core/errors";
import { NDArray, NestedList, fromStorage } from "../core/ndarray";
import { ShardedBuffer } from "../core/sharded";
import { describeValue } from "../core/shape";
import { treeFlatten, treeLeaves, treeMap, treeUnflatten } from "../core/tree";
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

/** The devices a sharded placement names, checked. */
function shardDevices(op: string, devs: unknown): Device[] {
  if (!Array.isArray(devs) || devs.length === 0) throw new ArgumentError(`${op}: devices must be a non-empty list of devices, got ${describeValue(devs)}`);
  return devs.map((d) => toDevice(d as Device | string, op));
}

/** One array whose shard i is `parts[i]` placed on devs[i], stacked along a new axis 0. */
function shardedArray(op: string, parts: NDArray[], devs: Device[]): NDArray {
  const a0 = parts[0];
  parts.forEach((p, i) => {
    if (p.shape.length !== a0.shape.length || p.shape.some((d, k) => d !== a0.shape[k]) || p.dtype !== a0.dtype)
      throw new ShapeError(`${op}: every shard must have the same shape and dtype, got ${a0.aval.str()} and ${p.aval.str()} (shard ${i})`);
  });
  // A backend may keep shards where pmap reads them in place (a CPU device's own thread).
  const bufs: DeviceBuffer[] = parts.map((p, i) => {
    const b = devs[i].backend;
    const data = p._buf(op).readSync();
    return b.placeShard ? b.placeShard(data, a0.aval, devs[i]) : b.fromHost(data, a0.aval, devs[i]);
  });
  const aval = a0.aval.update({ shape: [parts.length, ...a0.shape], weakType: false });
  return new NDArray(aval, new ShardedBuffer(bufs, a0.aval.update({ weakType: false }), 0, aval), false);
}

/**
 * jax.device_put_sharded: stacks `shards` (pytrees of the same structure, leaves of one shape
 * and dtype) along a new leading axis, shard i on devices[i]. A pmap over that axis on those
 * devices reads the shards where they are, without copying; reading the whole array gathers it.
 */
export function devicePutSharded<T extends Tree<ArrayLike>>(shards: readonly T[], devices: readonly (Device | string)[]): Tree<NDArray> {
  const op = "devicePutSharded";
  if (!Array.isArray(shards)) throw new ArgumentError(`${op}: shards must be a list with one pytree per device, got ${describeValue(shards)}`);
  const devs = shardDevices(op, devices);
  if (shards.length !== devs.length) throw new ShapeError(`${op}: expected one shard per device, got ${shards.length} shards for ${devs.length} devices`);
  const flat = shards.map((t) => treeFlatten(t));
  flat.forEach(([, def], i) => {
    if (!def.equals(flat[0][1])) throw new ShapeError(`${op}: every shard must have the same tree structure, got ${flat[0][1]} and ${def} (shard ${i})`);
  });
  const leaves = flat[0][0].map((_, k) => shardedArray(op, flat.map(([ls]) => asArray(ls[k], null, op)), devs));
  return treeUnflatten(flat[0][1], leaves);
}

/** jax.device_put_replicated: `x` copied to every device, stacked along a new leading axis (one shard per device). */
export function devicePutReplicated<T extends Tree<ArrayLike>>(x: T, devices: readonly (Device | string)[]): Tree<NDArray> {
  const op = "devicePutReplicated";
  const devs = shardDevices(op, devices);
  return treeMap((leaf: ArrayLike) => {
    const a = asArray(leaf, null, op);
    return shardedArray(op, devs.map(() => a), devs);
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
