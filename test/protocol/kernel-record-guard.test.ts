// The panel's guard on inspect/kernelRecords messages (validateHostMessage, kernel/inspect-protocol.ts):
// the kernel-record fields the kernels panel branches on are checked, the per-device programs'
// included. A message is accepted with this process's records and with device records (a
// `device` name, and a pmap program's link: `irRecordId` with `irEqns`), and refused, with a
// reason naming the record and the field, when the device is not a name, when `irEqns` are not
// integers or come without the record they index, or when id, name, platform or steps are
// missing. Hand-made records: the shapes under test are the malformed ones.

import { describe, expect, it } from "vitest";
import { KernelProgramRecord, validateHostMessage } from "../../kernel/protocol";

const base: KernelProgramRecord = {
  id: 3, name: "step", platform: "cpu", adapter: "cpu", source: null, counts: { kernels: 1, library: 0, aliases: 0 }, eqnCount: 2,
  peakTempBytes: 0, compileMs: 1.5, calls: 2, cacheHit: null, timingOn: true, steps: [],
};
const onDevice: KernelProgramRecord = { ...base, id: 2 ** 40 + 2 ** 32 + 7, name: "centre", device: "cpu:1", irRecordId: 4, irEqns: [3, 4, 5] };
const message = (...records: unknown[]) => ({ type: "kernelRecords", data: { records, total: records.length }, devices: [], kernel: "idle" });
const why = (...records: unknown[]) => validateHostMessage(JSON.parse(JSON.stringify(message(...records))));

describe("validateHostMessage on kernel records", () => {
  it("accepts this process's records and device records, with or without their link to a pmap record", () => {
    const unlinked = { ...onDevice, id: 2 ** 40 + 5, device: "cpu:0", irRecordId: undefined, irEqns: undefined };
    const m = JSON.parse(JSON.stringify(message(base, onDevice, unlinked, { ...base, id: 4, irRecordId: 0 })));
    expect(validateHostMessage(m)).toEqual(m);
  });

  it("refuses a device that is not a device name, naming the record", () => {
    for (const device of [1, "", null, ["cpu:1"], { id: "cpu:1" }, "x".repeat(201)])
      expect(why(base, { ...onDevice, device }), JSON.stringify(device)).toMatch(/^host message "kernelRecords": records\[1\]: expected device to be a device name \("cpu:1"\), got /);
  });

  it("refuses irEqns that are not integers or come without an irRecordId, and a non-integer irRecordId", () => {
    expect(why({ ...onDevice, irEqns: [1, 2.5] })).toBe('host message "kernelRecords": records[0]: expected irEqns (integers) with an irRecordId');
    expect(why({ ...onDevice, irEqns: "3-5" })).toBe('host message "kernelRecords": records[0]: expected irEqns (integers) with an irRecordId');
    expect(why(base, { ...onDevice, irRecordId: undefined })).toBe('host message "kernelRecords": records[1]: expected irEqns (integers) with an irRecordId');
    expect(why({ ...onDevice, irRecordId: "4" })).toBe('host message "kernelRecords": records[0]: expected an integer irRecordId');
  });

  it("refuses a record without id, name, platform or steps", () => {
    const bad: unknown[] = [null, "step", { ...base, id: 1.5 }, { ...base, name: 3 }, { ...base, platform: undefined }, { ...base, steps: {} }];
    for (const r of bad) expect(why(base, r), JSON.stringify(r)).toBe('host message "kernelRecords": records[1]: expected an object with id, name, platform and steps');
  });

  it("still checks the envelope first", () => {
    expect(validateHostMessage({ type: "kernelRecords", data: { records: [base], total: 1 }, kernel: "idle" })).toBe(
      'host message "kernelRecords": expected data {records, total}, devices and kernel state',
    );
  });
});
