// Sharded arrays: one NDArray whose data is split along one axis into shards, each shard on
// its own device, as pmap's outputs are in JAX (a pmap output's shards stay where they were
// computed until the array is read). The NDArray holds a ShardedBuffer; every consumer that
// needs the data as one buffer gets it through `resolve()` (NDArray._buf calls it): the shards
// gathered onto the first shard's device, once, then kept. pmap reads `shards` directly, so an
// output fed to the next pmap along the same axis and devices never leaves its devices (the
// loop of a data-parallel training step), and `devicePutSharded` makes such arrays from host
// values.
//
// Gathering copies: after a read, the array's memory is the shards plus the gathered copy
// (both freed by dispose). Shards are never mutated (arrays are immutable), so the gathered copy
// stays valid.

import { ShapedArray } from "./aval";
import { Device, DeviceBuffer } from "./device";
import { Storage } from "./dtype";
import { PrimalError } from "./errors";

/** The product of a shape's sizes. */
const prod = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/**
 * Stacks shard storages along `axis` of the result: `shardShape` is one shard's shape (without
 * the axis), the result's shape has `parts.length` at `axis`.
 */
export function stackStorage(parts: readonly Storage[], shardShape: readonly number[], axis: number): Storage {
  const n = prod(shardShape);
  const Ctor = parts[0].constructor as new (len: number) => Storage;
  const out = new Ctor(n * parts.length);
  // Result index [o, i, r] (o over the axes before `axis`, r over those after) is shard i's [o, r].
  const inner = prod(shardShape.slice(axis));
  const outer = n / Math.max(inner, 1);
  if (inner === 0) return out;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    if (p.length !== n) throw new PrimalError(`sharded: shard ${i} has ${p.length} elements, got shards of shape [${shardShape.join(", ")}] expected`);
    for (let o = 0; o < outer; o++) out.set(p.subarray(o * inner, (o + 1) * inner), (o * parts.length + i) * inner);
  }
  return out;
}

/** An array's data as shards along one axis, each on its device. */
export class ShardedBuffer implements DeviceBuffer {
  private gathered: DeviceBuffer | null = null;
  private shardBufs: DeviceBuffer[] | null;

  /**
   * @param shards one buffer per shard, in order along `axis`, each holding `shardAval`
   * @param aval the whole array's aval (the shards stacked along `axis`)
   */
  constructor(
    shards: DeviceBuffer[],
    readonly shardAval: ShapedArray,
    readonly axis: number,
    readonly aval: ShapedArray,
  ) {
    if (shards.length === 0) throw new PrimalError("sharded: an array needs at least one shard, got none");
    if (aval.shape[axis] !== shards.length || aval.size !== shardAval.size * shards.length)
      throw new PrimalError(`sharded: ${shards.length} shards of ${shardAval.str()} along axis ${axis} do not make ${aval.str()}, got a mismatch`);
    this.shardBufs = shards;
  }

  /** The shards' buffers, in order (throws once disposed). */
  get shards(): readonly DeviceBuffer[] {
    if (!this.shardBufs) throw new PrimalError("sharded: the array was disposed, got a disposed sharded buffer");
    return this.shardBufs;
  }
  /** The first shard's device: where the gathered array lives. */
  get device(): Device {
    return this.shards[0].device;
  }
  /** Every shard's device, in order. */
  devices(): Device[] {
    return this.shards.map((s) => s.device);
  }

  /** The whole array as one buffer on the first shard's device (gathered on first use). */
  resolve(): DeviceBuffer {
    if (this.gathered) return this.gathered;
    const data = stackStorage(
      this.shards.map((s) => s.readSync()),
      this.shardAval.shape,
      this.axis,
    );
    return this.keep(data);
  }
  private keep(data: Storage): DeviceBuffer {
    const dev = this.device;
    this.gathered ??= dev.backend.fromHost(data, this.aval, dev);
    return this.gathered;
  }
  readSync(): Storage {
    return this.resolve().readSync();
  }
  async read(): Promise<Storage> {
    if (this.gathered) return this.gathered.read();
    const parts = await Promise.all(this.shards.map((s) => s.read()));
    const data = stackStorage(parts, this.shardAval.shape, this.axis);
    this.keep(data);
    return data;
  }
  async ready(): Promise<void> {
    await Promise.all(this.shards.map((s) => (s.ready ? s.ready() : s.read())));
  }
  peek(): Storage | null {
    if (this.gathered) return this.gathered.peek ? this.gathered.peek() : this.gathered.readSync();
    return this.shards.every((s) => !s.peek || s.peek() !== null) ? this.readSync() : null;
  }
  dispose(): void {
    for (const s of this.shardBufs ?? []) s.dispose();
    this.gathered?.dispose();
    this.shardBufs = null;
    this.gathered = null;
  }
}
