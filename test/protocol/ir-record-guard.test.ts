// The panel's guard on inspect/irRecords messages (validateHostMessage, kernel/inspect-protocol.ts):
// the record fields the IR panel branches on are checked, the pmap record's included. A message
// is accepted with jit, grad and pmap records (pmap optional: a panel renders what is there) and
// refused, with a reason naming the record and the field, when a kind is unknown or a pmap field
// is malformed: a wrong axis name, a size that is not a positive integer, a device list that is
// not one name per shard. Hand-made records: the shapes under test are the malformed ones.

import { describe, expect, it } from "vitest";
import { IrRecord, isPmapInfo, validateHostMessage } from "../../kernel/protocol";

const jaxpr = { constvars: [], invars: [], eqns: [], outvars: [], eqnCount: 0 };
const base: IrRecord = { id: 1, kind: "jit", name: "f", source: null, inAvals: [], text: "{ lambda ; . let  in () }", jaxpr };
const pmapRec: IrRecord = { ...base, id: 2, kind: "pmap", name: "rows", pmap: { axisName: "i", axisSize: 2, devices: ["cpu:0", "cpu:1"] } };
const message = (...records: unknown[]) => ({ type: "irRecords", data: { records, total: records.length }, kernel: "idle" });

describe("validateHostMessage on IR records", () => {
  it("accepts jit, grad and pmap records (a pmap with a named axis, an unnamed one, or none given)", () => {
    const unnamed = { ...pmapRec, id: 3, pmap: { axisName: null, axisSize: 1, devices: ["cpu:0"] } };
    const bare = { ...pmapRec, id: 4, pmap: undefined };
    const m = JSON.parse(JSON.stringify(message(base, { ...base, id: 5, kind: "grad" }, pmapRec, unnamed, bare)));
    expect(validateHostMessage(m)).toEqual(m);
  });

  it("refuses an unknown kind, and a record without id, name or text", () => {
    expect(validateHostMessage(message(base, { ...base, kind: "vmap" }))).toBe('host message "irRecords": records[1]: expected kind jit, grad or pmap, got "vmap"');
    expect(validateHostMessage(message({ ...base, text: 3 }))).toMatch(/records\[0\]: expected an object with id, name and text/);
    expect(validateHostMessage(message(null))).toMatch(/records\[0\]: expected an object/);
  });

  it("refuses a malformed pmap field, naming the record", () => {
    const bad: unknown[] = [
      null,
      "i",
      { axisName: 3, axisSize: 2, devices: ["cpu:0", "cpu:1"] },
      { axisSize: 2, devices: ["cpu:0", "cpu:1"] },
      { axisName: "i", axisSize: 0, devices: [] },
      { axisName: "i", axisSize: 1.5, devices: ["cpu:0"] },
      { axisName: "i", axisSize: "2", devices: ["cpu:0", "cpu:1"] },
      { axisName: "i", axisSize: 2, devices: ["cpu:0"] },
      { axisName: "i", axisSize: 2, devices: ["cpu:0", 1] },
      { axisName: "i", axisSize: 2, devices: "cpu:0,cpu:1" },
    ];
    for (const p of bad) {
      const why = validateHostMessage(JSON.parse(JSON.stringify(message(base, { ...pmapRec, pmap: p }))));
      expect(why, JSON.stringify(p)).toBe('host message "irRecords": records[1]: expected pmap {axisName (string or null), axisSize ≥ 1, devices (one name per shard)}');
      expect(isPmapInfo(p)).toBe(false);
    }
    expect(isPmapInfo(pmapRec.pmap)).toBe(true);
  });

  it("leaves the other messages' records as they were (only the IR records are looked into)", () => {
    const m = { type: "gradientRecords", data: { records: [{ kind: "whatever" }], total: 1 }, kernel: "idle" };
    expect(validateHostMessage(m)).toEqual(m);
  });
});
