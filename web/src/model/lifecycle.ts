// Which topology statuses allow which action: one table for the list, the toolbar and the
// editor, mirroring the server's lifecycle (decnet/engine/rollout.py DEPLOY / TEARDOWN, SPEC
// §3) so a button is never offered for what the API would refuse.
import type { Status } from "../api/types";

export type Action = "deploy" | "teardown" | "edit" | "delete";

const ALLOWED: Record<Action, ReadonlySet<Status>> = {
  deploy: new Set<Status>(["pending", "active", "degraded", "failed"]),
  // A pending topology is torn down without a run (nothing was ever deployed); a deploy in
  // flight may be interrupted.
  teardown: new Set<Status>(["pending", "deploying", "active", "degraded", "failed"]),
  // While a run owns the host, and after teardown (the record is history), the design is fixed.
  edit: new Set<Status>(["pending", "active", "degraded", "failed"]),
  delete: new Set<Status>(["pending", "failed", "torn_down"]),
};

const EDIT_WHY: Partial<Record<Status, string>> = {
  deploying: "a deploy is running: edits wait until it ends",
  tearing_down: "it is being torn down",
  torn_down: "it is torn down: create a new topology (or import its YAML) to change it",
};

export const allows = (status: Status, action: Action): boolean => ALLOWED[action].has(status);

/** Why `action` is not offered while `status`, or null when it is. */
export function blockedWhy(status: Status, action: Action): string | null {
  if (allows(status, action)) return null;
  if (action === "edit") return EDIT_WHY[status] ?? `the topology is ${status}`;
  return `${action} is not possible while ${status}`;
}
