// The API's one error body (docs/api.md): {"error": {code, message, field?, hint?, …}}, with
// `issues` for a batch or topology that fails validation (400) and `current`/`expected` for a
// version conflict (409).
import type { Issue } from "./types";

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly hint: string | null;
  readonly field: string | null;
  readonly issues: Issue[];
  readonly current: number | null;
  readonly expected: number | null;

  constructor(status: number, body: unknown) {
    const detail = errorDetail(body);
    super(detail.message ?? `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.code = typeof detail.code === "string" ? detail.code : `http_${status}`;
    this.hint = typeof detail.hint === "string" ? detail.hint : null;
    this.field = typeof detail.field === "string" ? detail.field : null;
    this.issues = Array.isArray(detail.issues) ? (detail.issues as Issue[]) : [];
    this.current = typeof detail.current === "number" ? detail.current : null;
    this.expected = typeof detail.expected === "number" ? detail.expected : null;
  }

  get versionConflict(): boolean {
    return this.status === 409 && this.code === "version_conflict";
  }
}

interface Detail {
  code?: unknown;
  message?: string;
  hint?: unknown;
  field?: unknown;
  issues?: unknown;
  current?: unknown;
  expected?: unknown;
}

function errorDetail(body: unknown): Detail {
  if (body && typeof body === "object" && "error" in body) {
    const inner = (body as { error: unknown }).error;
    if (inner && typeof inner === "object") {
      const d = inner as Detail;
      return { ...d, message: typeof d.message === "string" ? d.message : undefined };
    }
  }
  return {};
}

/** One line for a toast: the message, then the hint. */
export function explain(err: unknown): string {
  if (err instanceof ApiError) return err.hint ? `${err.message} — ${err.hint}` : err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}
