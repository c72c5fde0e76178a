import { describe, expect, it } from "vitest";
import type { Op } from "./ops";
import * as stage from "./stage";

const a: Op = { op: "add_lan", name: "vault" };
const b: Op = { op: "add_decky", name: "x", lan: "vault", archetype: "linux-server", canvas: { x: 1, y: 2 } };
const c: Op = { op: "attach_decky", decky: "br", lan: "vault" };

describe("stage", () => {
  it("collects entries in order and flattens them into one batch", () => {
    const s = stage.stageOps(stage.stageOps(stage.emptyStage, [a], "add LAN"), [b, c], "add + attach");
    expect(s.entries.map((e) => e.label)).toEqual(["add LAN", "add + attach"]);
    expect(stage.batchOf(s)).toEqual([a, b, c]);
  });

  it("ignores an empty edit", () => {
    expect(stage.stageOps(stage.emptyStage, [], "nothing")).toBe(stage.emptyStage);
  });

  it("undoes and redoes whole entries; a new edit clears the redo list", () => {
    let s = stage.stageOps(stage.stageOps(stage.emptyStage, [a], "1"), [b], "2");
    s = stage.undo(s);
    expect(stage.batchOf(s)).toEqual([a]);
    expect(stage.canRedo(s)).toBe(true);
    s = stage.redo(s);
    expect(stage.batchOf(s)).toEqual([a, b]);
    s = stage.stageOps(stage.undo(s), [c], "3");
    expect(stage.batchOf(s)).toEqual([a, c]);
    expect(stage.canRedo(s)).toBe(false);
  });

  it("undo and redo at the ends change nothing", () => {
    expect(stage.undo(stage.emptyStage)).toBe(stage.emptyStage);
    expect(stage.redo(stage.emptyStage)).toBe(stage.emptyStage);
  });

  it("discard drops everything but keeps ids increasing", () => {
    const s = stage.discard(stage.stageOps(stage.emptyStage, [a], "1"));
    expect(s.entries).toEqual([]);
    expect(s.undone).toEqual([]);
    expect(stage.stageOps(s, [b], "2").entries[0]?.id).toBe(2);
  });

  it("maps a batch op index back to its entry", () => {
    const s = stage.stageOps(stage.stageOps(stage.emptyStage, [a], "1"), [b, c], "2");
    expect(stage.entryOfOp(s, 0)?.entry.label).toBe("1");
    expect(stage.entryOfOp(s, 2)?.op).toEqual(c);
    expect(stage.entryOfOp(s, 3)).toBeNull();
  });

  it("moving a staged new element edits its add op; anything else is the layout route's", () => {
    const s = stage.stageOps(stage.emptyStage, [a, b], "1");
    const moved = stage.amendCanvas(s, "decky", "x", { x: 50 });
    expect(stage.batchOf(moved as stage.Stage)[1]).toEqual({ ...b, canvas: { x: 50, y: 2 } });
    expect(stage.amendCanvas(s, "decky", "gw", { x: 50 })).toBeNull();
    expect(stage.amendCanvas(s, "lan", "vault", { w: 300 })?.entries[0]?.ops[0]).toEqual({ ...a, canvas: { w: 300 } });
  });

  it("drops one entry by id", () => {
    const s = stage.stageOps(stage.stageOps(stage.emptyStage, [a], "1"), [b], "2");
    expect(stage.batchOf(stage.dropEntry(s, 1))).toEqual([b]);
  });
});
