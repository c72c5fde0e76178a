// Plain words for what the API names with identifiers: statuses, apply phases, counts. Display
// only: what a status allows is the server's `actions` (model/lifecycle.ts).
import type { Status } from "../api/types";

const STATUS_WORDS: Record<Status, string> = {
  pending: "pending",
  deploying: "deploying",
  active: "active",
  degraded: "degraded",
  failed: "failed",
  tearing_down: "tearing down",
  torn_down: "torn down",
};

/** A status as people say it (`torn_down` → "torn down"); unknown names lose their `_`. */
export const statusWords = (status: string): string => STATUS_WORDS[status as Status] ?? status.replace(/_/g, " ");

/** "1 LAN", "3 LANs", "1 decky", "2 deckies". */
export function plural(n: number, noun: string): string {
  if (n === 1) return `1 ${noun}`;
  return `${n} ${noun.endsWith("y") && !/[aeiou]y$/.test(noun) ? `${noun.slice(0, -1)}ies` : `${noun}s`}`;
}

// The phases the host's apply reports (roles/decnet_topology: progress files).
const PHASE_WORDS: Record<string, string> = {
  queued: "waiting for the host",
  check: "checking the host",
  create: "creating containers",
  start: "starting containers",
  verify: "verifying",
  remove: "removing containers",
  networks: "removing networks",
  rollback: "rolling back",
  done: "done",
  failed: "failed",
};

export const phaseWords = (phase: string): string => PHASE_WORDS[phase] ?? phase;

/** A status change as a sentence: "corp: pending → deploying (deploy run r1)". */
export const transition = (name: string, from: string, to: string, reason: string): string =>
  `${name}: ${statusWords(from)} → ${statusWords(to)}${reason ? ` (${reason})` : ""}`;
