// The live-edit shapes of the ops routes (decnet/engine/mutations.py: SubmitResult, PlanView,
// MutationView; decnet/core/plan.py: Plan). Written by hand until the routes are in
// docs/openapi.json; src/api/liveTypes.test.ts compares them with the schema once they are.
import type { Issue, Status } from "./types";

export type MutationState = "pending" | "applying" | "applied" | "failed" | "cancelled";

export interface MutationView {
  id: string;
  topology: string;
  op: string;
  ops: Record<string, unknown>[];
  state: MutationState;
  version: number | null;
  requested_at: string;
  started_at: string | null;
  finished_at: string | null;
  reason: string | null;
  issues: Record<string, unknown>[];
}

export interface SubmitResult {
  topology: string;
  mode: "applied" | "enqueued";
  version: number;
  mutation?: MutationView | null;
  warnings?: Issue[];
  notes?: string[];
}

export interface ContainerChange {
  container: string;
  decky: string;
  role: string;
  service?: string | null;
  action: string;
  reasons?: string[];
}

export interface NetworkChange {
  network: string;
  lan: string;
  action: string;
}

export interface Plan {
  topology: string;
  version: number;
  containers?: ContainerChange[];
  networks?: NetworkChange[];
  unchanged?: number;
  notes?: string[];
}

export interface PlanView {
  topology: string;
  status: Status;
  live: boolean;
  valid: boolean;
  issues: Issue[];
  plan: Plan | null;
}
