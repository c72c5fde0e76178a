// The typed API client: paths and bodies from docs/openapi.json (src/api/schema.ts, generated),
// requests through openapi-fetch, the bearer token from the session, errors as ApiError.
import createClient, { type Middleware } from "openapi-fetch";
import type { Op } from "../model/ops";
import { ApiError } from "./errors";
import type { MutationView, PlanView, SubmitResult } from "./liveTypes";
import type { paths } from "./schema";
import type {
  Archetype,
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

  /** Routes not yet in docs/openapi.json (the ops routes of issue 8), same auth and errors. */
  async function raw<T>(method: string, path: string, body?: unknown): Promise<T> {
    const token = options.token();
    const headers: Record<string, string> = { "Content-Type": "application/json" };
    if (token) headers.Authorization = `Bearer ${token}`;
    const init: RequestInit = { method, headers };
    if (body !== undefined) init.body = JSON.stringify(body);
    const response = await fetchImpl(`${baseUrl}${path}`, init);
    const text = await response.text();
    const parsed: unknown = text ? JSON.parse(text) : null;
    if (response.status === 401) options.onUnauthorized();
    if (!response.ok) throw new ApiError(response.status, parsed);
    return parsed as T;
  }

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
      raw("POST", `${topo(name)}/ops`, { ops, expected_version: expectedVersion }),
    planOps: (name: string, ops: Op[], expectedVersion: number): Promise<PlanView> =>
      raw("POST", `${topo(name)}/ops?plan=true`, { ops, expected_version: expectedVersion }),
    mutations: (name: string): Promise<MutationView[]> => raw("GET", `${topo(name)}/mutations`),
    streamUrl: (name: string | null): string =>
      `${baseUrl}${name === null ? "/api/v1" : topo(name)}/events/stream`,
  };
}
