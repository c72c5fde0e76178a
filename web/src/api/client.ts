// The typed API client: paths and bodies from docs/openapi.json (src/api/schema.ts, generated),
// requests through openapi-fetch, the bearer token from the session, errors as ApiError.
import createClient, { type Middleware } from "openapi-fetch";
import type { ActivityAnswer, Window } from "../model/activity";
import type { Op } from "../model/ops";
import { ApiError } from "./errors";
import type { MutationView, PlanView, SubmitResult } from "./liveTypes";
import type { paths } from "./schema";
import type {
  Archetype,
  Attacker,
  AttackerDetail,
  Catalog,
  DriftOut,
  GenerateSpec,
  JobView,
  LayoutBody,
  Principal,
  ServiceSpec,
  SessionOut,
  TopologyPage,
  TopologyView,
  Validation,
} from "./types";

export interface ApiOptions {
  baseUrl?: string;
  token: () => string | null;
  /** Called on every 401: the token is gone (revoked, expired) — sign in again. */
  onUnauthorized: () => void;
  fetch?: typeof fetch;
}

interface Outcome<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

async function unwrap<T>(call: Promise<Outcome<T>>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) throw new ApiError(response.status, error);
  return data as T;
}

export type Api = ReturnType<typeof createApi>;

export function createApi(options: ApiOptions) {
  const baseUrl = options.baseUrl ?? "";
  const fetchImpl = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
  const client = createClient<paths>({ baseUrl, fetch: fetchImpl });
  const auth: Middleware = {
    onRequest({ request }) {
      const token = options.token();
      if (token) request.headers.set("Authorization", `Bearer ${token}`);
      return request;
    },
    onResponse({ response }) {
      if (response.status === 401) options.onUnauthorized();
      return response;
    },
  };
  client.use(auth);

  const named = (name: string) => ({ params: { path: { name } } });
  const topo = (name: string) => `/api/v1/topologies/${encodeURIComponent(name)}`;

  return {
    baseUrl,
    token: options.token,
    exchangeLogin: (code: string): Promise<SessionOut> =>
      unwrap(client.POST("/api/v1/sessions", { body: { code } })),
    whoami: (): Promise<Principal> => unwrap(client.GET("/api/v1/sessions/current")),
    logout: (): Promise<unknown> => unwrap(client.DELETE("/api/v1/sessions/current")),
    listTopologies: (): Promise<TopologyPage> =>
      unwrap(client.GET("/api/v1/topologies", { params: { query: { limit: 500 } } })),
    getTopology: (name: string): Promise<TopologyView> =>
      unwrap(client.GET("/api/v1/topologies/{name}", named(name))),
    generate: (spec: GenerateSpec): Promise<TopologyView> =>
      unwrap(client.POST("/api/v1/topologies", { body: { generate: spec } })),
    createFromDocument: (document: string | Record<string, unknown>): Promise<TopologyView> =>
      unwrap(client.POST("/api/v1/topologies", { body: { document } })),
    validateStored: (name: string): Promise<Validation> =>
      unwrap(client.GET("/api/v1/topologies/{name}/validate", named(name))),
    exportYaml: (name: string): Promise<string> =>
      unwrap(client.GET("/api/v1/topologies/{name}/export", { ...named(name), parseAs: "text" })),
    remove: (name: string, expectedVersion: number): Promise<unknown> =>
      unwrap(
        client.DELETE("/api/v1/topologies/{name}", {
          params: { path: { name }, query: { expected_version: expectedVersion } },
        }),
      ),
    putLayout: (name: string, body: LayoutBody): Promise<unknown> =>
      unwrap(client.PUT("/api/v1/topologies/{name}/layout", { ...named(name), body })),
    deploy: (name: string): Promise<JobView> =>
      unwrap(client.POST("/api/v1/topologies/{name}/deploy", { ...named(name), body: { dry_run: false, force: false } })),
    copy: (name: string, newName: string): Promise<TopologyView> =>
      unwrap(client.POST("/api/v1/topologies/{name}/copy", { ...named(name), body: { name: newName } })),
    gatherDrift: (): Promise<JobView> => unwrap(client.POST("/api/v1/drift")),
    teardown: (name: string): Promise<JobView> =>
      unwrap(client.POST("/api/v1/topologies/{name}/teardown", { ...named(name), body: { force: false } })),
    drift: (): Promise<DriftOut> => unwrap(client.GET("/api/v1/drift")),
    catalog: async (): Promise<Catalog> => {
      const [services, archetypes] = await Promise.all([
        unwrap<ServiceSpec[]>(client.GET("/api/v1/catalog/services")),
        unwrap<Archetype[]>(client.GET("/api/v1/catalog/archetypes")),
      ]);
      return {
        services: Object.fromEntries(services.map((s) => [s.name, s])),
        archetypes: Object.fromEntries(archetypes.map((a) => [a.name, a])),
      };
    },
    submitOps: (name: string, ops: Op[], expectedVersion: number): Promise<SubmitResult> =>
      unwrap(
        client.POST("/api/v1/topologies/{name}/ops", {
          ...named(name),
          body: { ops, expected_version: expectedVersion },
        }),
      ) as Promise<SubmitResult>,
    planOps: (name: string, ops: Op[], expectedVersion: number): Promise<PlanView> =>
      unwrap(
        client.POST("/api/v1/topologies/{name}/ops", {
          params: { path: { name }, query: { plan: true } },
          body: { ops, expected_version: expectedVersion },
        }),
      ) as Promise<PlanView>,
    mutation: (id: string): Promise<MutationView> =>
      unwrap(client.GET("/api/v1/mutations/{mutation_id}", { params: { path: { mutation_id: id } } })),
    activity: (name: string, window: Window): Promise<ActivityAnswer> =>
      unwrap(
        client.GET("/api/v1/topologies/{name}/activity", {
          params: { path: { name }, query: window === "all" ? {} : { since: window } },
        }),
      ),
    attackers: (topology: string, window: Window): Promise<Attacker[]> =>
      unwrap(client.GET("/api/v1/attackers", { params: { query: { topology, ...(window === "all" ? {} : { since: window }) } } })),
    attacker: (ip: string): Promise<AttackerDetail> =>
      unwrap(client.GET("/api/v1/attackers/{ip}", { params: { path: { ip } } })),
    streamUrl: (name: string | null): string =>
      `${baseUrl}${name === null ? "/api/v1" : topo(name)}/events/stream`,
  };
}
