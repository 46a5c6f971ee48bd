// examples/data-parallel.ts, run as a user runs it (`primal run`, kernel/cli.ts, with
// PRIMAL_CPU_DEVICES=4 set before the kernel loads): its printed losses against the same
// training written without pmap, on one device over the whole batch (the gradient of the mean
// loss, which the example gets as the pmean of the four devices' gradients). The reference uses
// no pmap, no collective and no device thread, so it checks the example's data-parallel path as
// a whole: sharding, the programs on the devices' threads, pmean and the sharded outputs fed back.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.PRIMAL_CPU_DEVICES = "4";
});

import * as primal from "../../kernel/index";
import { deviceThreadStats } from "../../kernel/backends/cpu/device-threads";

const { np, nn, random, jit, valueAndGrad, tree } = primal;
type NDArray = primal.NDArray;

const examples = join(__dirname, "../../examples");

/** The example's training, on one device over the whole batch: the losses at steps 0, 40, ..., 200. */
function referenceLosses(): number[] {
  const D = 4;
  const [kx, kt, kp] = random.split(random.key(0), 3);
  const X = random.normal(kx, [D * 16, 8]);
  const Y = np.tanh(np.matmul(X, random.normal(kt, [8, 2])));
  const [k1, k2] = random.split(kp);
  let p: Record<string, NDArray> = { w1: nn.initializers.heNormal()(k1, [8, 32]), b1: np.zeros([32]), w2: nn.initializers.heNormal()(k2, [32, 2]), b2: np.zeros([2]) };
  const predict = (q: Record<string, NDArray>, x: NDArray) => np.matmul(np.tanh(np.matmul(x, q.w1).add(q.b1)), q.w2).add(q.b2);
  const loss = (q: Record<string, NDArray>) => np.mean(predict(q, X).sub(Y).pow(2));
  const step = jit((q: Record<string, NDArray>) => {
    const [l, g] = valueAndGrad(loss)(q);
    return [tree.map((w: NDArray, gw: NDArray) => w.sub(gw.mul(0.1)), q, g), l];
  });
  const out: number[] = [];
  for (let i = 0; i <= 200; i++) {
    const [next, l] = step(p) as [Record<string, NDArray>, NDArray];
    p = next;
    if (i % 40 === 0) out.push(Number(l.item()));
  }
  return out;
}

describe("examples/data-parallel.ts", () => {
  it("trains over 4 CPU devices, each on its thread, with the losses of one-device full-batch training", async () => {
    expect(readFileSync(join(examples, "data-parallel.ts"), "utf8")).toMatch(/pmean/);
    const cliModule = "../../kernel/cli";
    type Main = (argv: string[], io: { stdout(t: string): void; stderr(t: string): void; library: object; cwd: string }) => Promise<number>;
    const { main } = (await import(cliModule)) as { main: Main };
    let stdout = "";
    let stderr = "";
    const code = await main(["run", "data-parallel.ts"], { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), library: primal, cwd: examples });
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const losses = [...stdout.matchAll(/step (\d+): loss (\S+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
    expect(losses.map(([s]) => s)).toEqual([0, 40, 80, 120, 160, 200]);
    const want = referenceLosses();
    losses.forEach(([, l], k) => expect(Math.abs(l - want[k])).toBeLessThan(1e-4 * Math.max(1, want[k])));
    // It learns, and the programs ran on the four devices' threads.
    expect(losses[5][1]).toBeLessThan(losses[0][1] / 10);
    const stats = deviceThreadStats();
    expect(stats.map((t) => t.device)).toEqual([0, 1, 2, 3]);
    expect(stats.every((t) => t.programs > 0)).toBe(true);
  }, 60_000);
});
