// Names for the API's schemas, generated from docs/openapi.json (`npm run gen:api`).
import type { components } from "./schema";

type Schemas = components["schemas"];

export type TopologyView = Schemas["TopologyView"];
export type TopologySummary = Schemas["TopologySummary"];
export type TopologyPage = Schemas["TopologyPage"];
export type Lan = Schemas["Lan"];
export type Decky = Schemas["Decky"];
export type Membership = Schemas["Membership"];
export type Issue = Schemas["Issue"];
export type Validation = Schemas["Validation"];
export type ServiceSpec = Schemas["ServiceSpec"];
export type ConfigParam = Schemas["ConfigParam"];
export type Archetype = Schemas["Archetype"];
export type GenerateSpec = Schemas["GenerateSpec"];
export type JobView = Schemas["JobView"];
/** Any event of the bus, discriminated on `type` (decnet/events.py): narrow with `ev.type`. */
export type Event = Schemas["Event"];
export type EventType = Event["type"];
export type EventOf<T extends EventType> = Extract<Event, { type: T }>;
export type TopologySnapshot = Schemas["TopologySnapshot"];
export type GlobalSnapshot = Schemas["GlobalSnapshot"];
export type SnapshotSummary = Schemas["SnapshotSummary"];
/** What a topology allows now, with the reason for each refusal (decnet/policy.py). */
export type Actions = Schemas["Actions"];
export type Verdict = Schemas["Verdict"];
export type SessionOut = Schemas["SessionOut"];
export type Principal = Schemas["Principal"];
export type Role = Schemas["Role"];
export type Status = Schemas["Status"];
export type DriftOut = Schemas["DriftOut"];
export type FindingOut = Schemas["FindingOut"];
export type LayoutBody = Schemas["LayoutBody"];
/** One source address and what it did to the maze (decnet/core/observe/attackers.py). */
export type Attacker = Schemas["Attacker"];
export type AttackerDetail = Schemas["AttackerDetail"];
export type TopologyActivity = Schemas["TopologyActivity"];
export type ConfigValue = string | number | boolean;

export interface Catalog {
  services: Record<string, ServiceSpec>;
  archetypes: Record<string, Archetype>;
}
