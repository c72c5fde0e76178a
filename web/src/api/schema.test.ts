/// <reference types="node" />
// The typed client stands on src/api/schema.ts; it must be what openapi-typescript makes of
// docs/openapi.json today (regenerate with `npm run gen:api` after the API changes).
import { readFileSync } from "node:fs";
import openapiTS, { astToString } from "openapi-typescript";
import { describe, expect, it } from "vitest";

const spec = new URL("../../../docs/openapi.json", import.meta.url);
const committed = new URL("./schema.ts", import.meta.url);

const body = (text: string): string => text.replace(/^\/\*\*[\s\S]*?\*\/\s*/, "").trim();

describe("the generated API types", () => {
  it("match docs/openapi.json (run `npm run gen:api` in web/ if this fails)", async () => {
    // Fields with a default stay optional (`--default-non-nullable false`): a request may leave
    // them out, and the editor reads them with a fallback.
    const fresh = astToString(await openapiTS(spec, { defaultNonNullable: false }));
    expect(body(readFileSync(committed, "utf8"))).toBe(body(fresh));
  }, 30_000);
});
