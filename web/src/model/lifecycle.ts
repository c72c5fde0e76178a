// Which actions a topology allows now comes from the server with every view, summary and
// status event (`actions`, decnet/policy.py: the one table), so a button is never offered for
// what the API would refuse, and its reason is the server's own words.
import type { Actions } from "../api/types";

export type Action = keyof Actions;

interface HasActions {
  actions: Actions;
}

/** Edits of a deployed topology are staged and applied as live changes: the server allows
 * editing it now, and it is past pending (a pending topology's edits change the stored design
 * at once, docs/mutations.md). */
export const isLive = (t: (HasActions & { status: string }) | null): boolean => t !== null && t.status !== "pending" && t.actions.edit.allowed;

export const allows = (t: HasActions, action: Action): boolean => t.actions[action].allowed;

/** Why `action` is not offered now, or null when it is. */
export function blockedWhy(t: HasActions, action: Action): string | null {
  const verdict = t.actions[action];
  return verdict.allowed ? null : (verdict.reason ?? `${action} is not possible now`);
}

/** A torn-down topology is deployed again as a copy under a new name (the server refuses its
 * own deploy and says so): the editor offers that instead of a dead Deploy button. */
export const offersCopy = (t: HasActions & { status: string }): boolean => t.status === "torn_down" && !allows(t, "deploy");
