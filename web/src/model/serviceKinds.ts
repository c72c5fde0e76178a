// The palette groups services by what they imitate. The catalogue (decnet/data/catalog.yml)
// has no kind field, so the grouping lives here; a service not listed lands in "other".
import type { ServiceSpec } from "../api/types";

const KINDS: ReadonlyArray<readonly [string, readonly string[]]> = [
  ["remote access", ["ssh", "telnet", "rdp", "vnc"]],
  ["web", ["http", "https"]],
  ["files", ["ftp", "smb"]],
  ["databases", ["mysql", "postgres", "mssql", "redis", "mongodb", "elasticsearch"]],
  ["mail", ["smtp", "imap", "pop3"]],
  ["directory & network", ["dns", "snmp", "ldap"]],
  ["voice & IoT", ["sip", "mqtt"]],
];

export interface ServiceGroup {
  kind: string;
  services: ServiceSpec[];
}

export function kindOf(service: string): string {
  return KINDS.find(([, names]) => names.includes(service))?.[0] ?? "other";
}

export function groupServices(services: readonly ServiceSpec[]): ServiceGroup[] {
  const order = [...KINDS.map(([kind]) => kind), "other"];
  const groups = new Map<string, ServiceSpec[]>();
  for (const s of services) groups.set(kindOf(s.name), [...(groups.get(kindOf(s.name)) ?? []), s]);
  return order
    .filter((kind) => groups.has(kind))
    .map((kind) => ({ kind, services: [...(groups.get(kind) ?? [])].sort((a, b) => a.name.localeCompare(b.name)) }));
}

export const portsLabel = (s: ServiceSpec): string => s.ports.map((p) => `${p.port}/${p.proto ?? "tcp"}`).join(", ");
