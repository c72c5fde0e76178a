// The live-edit shapes of the ops routes (decnet/engine/mutations.py, decnet/core/plan.py),
// from docs/openapi.json.
import type { components } from "./schema";

type Schemas = components["schemas"];

export type MutationState = Schemas["MutationState"];
export type MutationView = Schemas["MutationView"];
export type SubmitResult = Schemas["SubmitResult"];
export type ContainerChange = Schemas["ContainerChange"];
export type NetworkChange = Schemas["NetworkChange"];
export type Plan = Schemas["Plan"];
export type PlanView = Schemas["PlanView"];
