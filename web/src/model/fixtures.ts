// Test data for the unit tests (vitest): a small topology shaped like the generator's.
import type { Actions, Catalog, Decky, Lan, TopologyView } from "../api/types";

/** Every action allowed (tests that care about refusals pass their own `actions`). */
export const ALL_ALLOWED: Actions = {
  deploy: { allowed: true },
  teardown: { allowed: true },
  edit: { allowed: true },
  delete: { allowed: true },
};

export function lan(name: string, extra: Partial<Lan> = {}): Lan {
  return { name, subnet: null, is_dmz: false, allow_public: false, x: null, y: null, w: null, h: null, ...extra };
}

export function decky(name: string, home: string, extra: Partial<Decky> = {}): Decky {
  return { name, home_lan: home, memberships: [{ lan: home, ip: null }], services: ["http"], service_config: {}, archetype: null, forwards_l3: false, publish: [], x: null, y: null, ...extra };
}

export function topology(extra: Partial<TopologyView> = {}): TopologyView {
  return {
    name: "corp",
    status: "pending",
    live_round: false,
    actions: ALL_ALLOWED,
    version: 3,
    host: "localhost",
    desired_hash: "h",
    needs_resync: false,
    created_at: "2026-01-01T00:00:00.000000+00:00",
    status_changed_at: "2026-01-01T00:00:00.000000+00:00",
    config: {},
    images: {},
    problems: [],
    lans: [
      lan("dmz", { subnet: "10.192.0.0/24", is_dmz: true }),
      lan("lan-1", { subnet: "10.192.1.0/24" }),
    ],
    deckies: [
      decky("gw", "dmz", { memberships: [{ lan: "dmz", ip: "10.192.0.2" }], services: ["ssh", "http"] }),
      decky("br", "lan-1", {
        memberships: [
          { lan: "lan-1", ip: "10.192.1.2" },
          { lan: "dmz", ip: "10.192.0.3" },
        ],
        forwards_l3: true,
      }),
      decky("a", "lan-1", { memberships: [{ lan: "lan-1", ip: "10.192.1.3" }] }),
    ],
    ...extra,
  };
}

export const catalog: Catalog = {
  services: {
    ssh: {
      name: "ssh",
      ports: [{ port: 22, proto: "tcp" }],
      image: "decnet-lure:0.1",
      description: "",
      cap_add: [],
      params: [
        { key: "banner", type: "str", default: "SSH-2.0", secret: false, env: "DECNET_SSH_BANNER", description: "" },
        { key: "password", type: "str", secret: true, env: "DECNET_SSH_PASSWORD", description: "" },
      ],
    },
    http: {
      name: "http",
      ports: [{ port: 80, proto: "tcp" }],
      image: "decnet-lure:0.1",
      description: "",
      cap_add: [],
      params: [
        { key: "title", type: "str", default: "Intranet", secret: false, env: "DECNET_HTTP_TITLE", description: "" },
        { key: "workers", type: "int", default: 2, secret: false, env: "DECNET_HTTP_WORKERS", description: "" },
        { key: "tls", type: "bool", default: false, secret: false, env: "DECNET_HTTP_TLS", description: "" },
      ],
    },
    smb: { name: "smb", description: "", ports: [{ port: 445, proto: "tcp" }], image: "decnet-lure:0.1", params: [], cap_add: [] },
  },
  archetypes: {
    "linux-server": { name: "linux-server", description: "", services: ["ssh", "http"] },
  },
};
