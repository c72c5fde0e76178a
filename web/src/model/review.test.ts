import { describe, expect, it } from "vitest";
import type { Plan } from "../api/liveTypes";
import { sessionWarnings } from "./review";

const change = (decky: string, role: string, action: string, service?: string) => ({ container: `decnet-corp.${decky}${service ? `.${service}` : ""}`, decky, role, action, service: service ?? null, reasons: [] });

describe("the review's warnings", () => {
  it("names every decky whose containers are recreated or removed, and nothing for new ones", () => {
    const plan = {
      topology: "corp",
      version: 4,
      containers: [
        change("br", "base", "recreate"),
        change("br", "service", "recreate", "http"),
        change("a", "service", "recreate", "http"),
        change("a", "service", "recreate", "ssh"),
        change("gw", "service", "remove", "smb"),
        change("old", "base", "remove"),
        change("new", "base", "create"),
      ],
      networks: [],
    } as unknown as Plan;
    expect(sessionWarnings(plan).map((w) => w.text)).toEqual([
      "br is recreated (its IP stack restarts): every intruder session on it drops.",
      "On a, http, ssh are recreated: intruder sessions on them drop.",
      "On gw, smb is removed: intruder sessions on it end.",
      "old is removed: every intruder session on it ends.",
    ]);
    expect(sessionWarnings(null)).toEqual([]);
  });
});
