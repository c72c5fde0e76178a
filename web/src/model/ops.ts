// The op vocabulary of docs/mutations.md (decnet/core/ops.py, types from docs/openapi.json):
// names, not ids, address everything. Every edit the editor makes is one of these, on pending and live topologies alike.
import type { components } from "../api/schema";

type Schemas = components["schemas"];

export type LanCanvas = Schemas["LanCanvas"];
export type DeckyCanvas = Schemas["DeckyCanvas"];
export type AddLan = Schemas["AddLan"];
export type RemoveLan = Schemas["RemoveLan"];
export type UpdateLan = Schemas["UpdateLan"];
export type AddDecky = Schemas["AddDecky"];
export type RemoveDecky = Schemas["RemoveDecky"];
export type UpdateDecky = Schemas["UpdateDecky"];
export type AttachDecky = Schemas["AttachDecky"];
export type DetachDecky = Schemas["DetachDecky"];

export type Op =
  | AddLan
  | RemoveLan
  | UpdateLan
  | AddDecky
  | RemoveDecky
  | UpdateDecky
  | AttachDecky
  | DetachDecky;

export type OpKind = Op["op"];

/** What an op is about, for the canvas: the element it adds, changes or removes. */
export interface OpTarget {
  kind: "lan" | "decky";
  name: string;
}

export function opTarget(op: Op): OpTarget {
  switch (op.op) {
    case "add_lan":
    case "remove_lan":
    case "update_lan":
      return { kind: "lan", name: op.name };
    case "add_decky":
    case "remove_decky":
    case "update_decky":
      return { kind: "decky", name: op.name };
    case "attach_decky":
    case "detach_decky":
      return { kind: "decky", name: op.decky };
  }
}

/** One line for people: "add decky web-2 to dmz". */
export function describeOp(op: Op): string {
  switch (op.op) {
    case "add_lan":
      return `add ${op.dmz ? "DMZ" : "LAN"} ${op.name}${op.subnet ? ` (${op.subnet})` : ""}`;
    case "remove_lan":
      return `remove LAN ${op.name}`;
    case "update_lan":
      return `change LAN ${op.name}${op.rename ? ` → ${op.rename}` : ""}`;
    case "add_decky":
      return `add decky ${op.name} to ${op.lan}${op.archetype ? ` (${op.archetype})` : ""}`;
    case "remove_decky":
      return `remove decky ${op.name}`;
    case "update_decky":
      return `change decky ${op.name}${op.home ? ` (move to ${op.home})` : ""}`;
    case "attach_decky":
      return `attach ${op.decky} to ${op.lan}`;
    case "detach_decky":
      return `detach ${op.decky} from ${op.lan}`;
  }
}

/** The deckies applying `ops` to `t` changes on the host: the deckies the ops name, and every
 * decky on a LAN an op changes or removes. */
export function deckiesTouched(ops: readonly Op[], t: { deckies: readonly { name: string; memberships: readonly { lan: string }[] }[] }): string[] {
  const out = new Set<string>();
  for (const op of ops) {
    const target = opTarget(op);
    if (target.kind === "decky") out.add(target.name);
    else if (op.op !== "add_lan") {
      for (const d of t.deckies) if (d.memberships.some((m) => m.lan === target.name)) out.add(d.name);
    }
  }
  return [...out];
}
