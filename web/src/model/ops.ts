// The op vocabulary of docs/mutations.md (decnet/core/ops.py): names, not ids, address
// everything. Every edit the editor makes is one of these, on pending and live topologies alike.
import type { ConfigValue } from "../api/types";

export interface LanCanvas {
  x?: number;
  y?: number;
  w?: number;
  h?: number;
}

export interface DeckyCanvas {
  x?: number;
  y?: number;
}

export interface AddLan {
  op: "add_lan";
  name: string;
  subnet?: string;
  dmz?: boolean;
  allow_public?: boolean;
  canvas?: LanCanvas;
}

export interface RemoveLan {
  op: "remove_lan";
  name: string;
}

export interface UpdateLan {
  op: "update_lan";
  name: string;
  rename?: string;
  subnet?: string;
  dmz?: boolean;
  allow_public?: boolean;
  canvas?: LanCanvas;
}

export interface AddDecky {
  op: "add_decky";
  name: string;
  lan: string;
  services?: string[];
  archetype?: string;
  config?: Record<string, Record<string, ConfigValue>>;
  ip?: string;
  forwards_l3?: boolean;
  publish?: string[];
  canvas?: DeckyCanvas;
}

export interface RemoveDecky {
  op: "remove_decky";
  name: string;
}

export interface UpdateDecky {
  op: "update_decky";
  name: string;
  services?: string[];
  config?: Record<string, Record<string, ConfigValue | null>>;
  forwards_l3?: boolean;
  publish?: string[];
  home?: string;
  canvas?: DeckyCanvas;
  force?: boolean;
}

export interface AttachDecky {
  op: "attach_decky";
  decky: string;
  lan: string;
  ip?: string;
}

export interface DetachDecky {
  op: "detach_decky";
  decky: string;
  lan: string;
}

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
