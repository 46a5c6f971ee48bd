import { expect, it } from "vitest";
import { makeJaxpr, np } from "../../kernel/index";
import { float32 } from "../../kernel/core/dtype";
import { generateWgsl } from "../../kernel/backends/webgpu/codegen-wgsl";
import { lowerPure } from "../kernel/helpers/golden";
import { rawDevice, runPasses } from "./helpers/raw-device";

it("runs a fused kernel", async () => {
  const dev = await rawDevice();
  if (!dev) return;
  const x = np.arange(256).astype("float32").mul(0.01);
  const p = lowerPure(makeJaxpr((x: any) => np.tanh(x.mul(2).add(1)).mul(x))(x));
  const k = p.steps.find((s) => s.kind === "kernel")!;
  const w = generateWgsl((k as any).kernel);
  const [out] = await runPasses(dev, [w], [{ dtype: float32, elements: 256 }], [{ data: x.dataSync() as Float32Array, dtype: float32 }]);
  const ref = (x.dataSync() as Float32Array).map((v) => Math.tanh(v * 2 + 1) * v);
  for (let i = 0; i < 256; i++) expect(out[i]).toBeCloseTo(ref[i], 5);
});
