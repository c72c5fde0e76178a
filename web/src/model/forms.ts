// The create dialog's generator form → the API's `generate` body (strict types: the API
// refuses "3" for 3), with the field at fault named before anything is sent.
import type { GenerateSpec } from "../api/types";

export interface GeneratorForm {
  name: string;
  host: string;
  depth: string;
  branching: string;
  deckies_min: string;
  deckies_max: string;
  forward_p: string;
  cross_p: string;
  services: string;
  publish: string;
  seed: string;
}

export const defaultGeneratorForm: GeneratorForm = {
  name: "",
  host: "localhost",
  depth: "2",
  branching: "2",
  deckies_min: "1",
  deckies_max: "3",
  forward_p: "0.5",
  cross_p: "0",
  services: "",
  publish: "",
  seed: "0",
};

export interface FieldSpec {
  key: keyof GeneratorForm;
  label: string;
  /** What the parameter does, in words (shown under the field). */
  help: string;
  /** A number input's bounds and step; absent: a text input. */
  number?: { min: number; max: number; step: number };
  placeholder?: string;
}

/** The generator's parameters (decnet/models.py GeneratorParams, decnet/core/generate.py). */
export const GENERATOR_FIELDS: readonly FieldSpec[] = [
  { key: "name", label: "name", help: "lowercase letters, digits and '-', starting with a letter", placeholder: "e.g. corp" },
  { key: "host", label: "host", help: "the inventory host the maze runs on" },
  { key: "depth", label: "depth", help: "levels of LANs, the internet-facing DMZ first (1: the DMZ alone)", number: { min: 1, max: 16, step: 1 } },
  { key: "branching", label: "branching", help: "how many LANs hang below each LAN of the level above", number: { min: 1, max: 8, step: 1 } },
  { key: "deckies_min", label: "deckies per LAN, min", help: "fewest ordinary deckies in a LAN (besides its bridge)", number: { min: 0, max: 64, step: 1 } },
  { key: "deckies_max", label: "deckies per LAN, max", help: "most ordinary deckies in a LAN; each LAN draws a count between min and max", number: { min: 0, max: 64, step: 1 } },
  {
    key: "forward_p",
    label: "forwarding probability",
    help: "the chance (0–1) that a LAN's bridge decky forwards IP packets, letting an intruder route through it deeper instead of only logging in on it",
    number: { min: 0, max: 1, step: 0.05 },
  },
  {
    key: "cross_p",
    label: "cross-edge probability",
    help: "the chance (0–1) that a bridge is also attached to a second LAN of the level above: more than one way down, a maze instead of a tree",
    number: { min: 0, max: 1, step: 0.05 },
  },
  { key: "services", label: "services", help: "comma-separated services every decky runs; empty: each decky gets a random archetype", placeholder: "e.g. ssh, http" },
  { key: "publish", label: "publish on the gateway", help: "host:container ports the DMZ gateway publishes on the host, comma-separated", placeholder: "e.g. 2222:22" },
  { key: "seed", label: "seed", help: "the same seed and parameters give the same maze", number: { min: 0, max: Number.MAX_SAFE_INTEGER, step: 1 } },
];

/** The form field an API error's `field` (`body.generate.depth`) is about, or null. */
export function formField(apiField: string | null): keyof GeneratorForm | null {
  const last = apiField?.split(".").at(-1);
  return GENERATOR_FIELDS.find((f) => f.key === last)?.key ?? null;
}

const NAME_RE = /^[a-z][a-z0-9-]{0,62}$/;

type Result = { spec: GenerateSpec } | { field: keyof GeneratorForm; error: string };

function int(form: GeneratorForm, field: keyof GeneratorForm, min: number, max: number): number | string {
  const text = form[field].trim();
  if (!/^\d+$/.test(text)) return "a whole number, please";
  const n = Number(text);
  return n < min || n > max ? `between ${min} and ${max}` : n;
}

function prob(form: GeneratorForm, field: keyof GeneratorForm): number | string {
  const n = Number(form[field].trim());
  return form[field].trim() === "" || Number.isNaN(n) || n < 0 || n > 1 ? "a probability between 0 and 1" : n;
}

const list = (text: string): string[] =>
  text.split(",").map((s) => s.trim()).filter(Boolean);

export function generatorSpec(form: GeneratorForm): Result {
  if (!NAME_RE.test(form.name)) {
    return { field: "name", error: "lowercase letters, digits and '-', starting with a letter" };
  }
  const numbers: [keyof GeneratorForm, number | string][] = [
    ["depth", int(form, "depth", 1, 16)],
    ["branching", int(form, "branching", 1, 8)],
    ["deckies_min", int(form, "deckies_min", 0, 64)],
    ["deckies_max", int(form, "deckies_max", 0, 64)],
    ["forward_p", prob(form, "forward_p")],
    ["cross_p", prob(form, "cross_p")],
    ["seed", int(form, "seed", 0, Number.MAX_SAFE_INTEGER)],
  ];
  for (const [field, value] of numbers) if (typeof value === "string") return { field, error: value };
  const v = Object.fromEntries(numbers) as Record<string, number>;
  if ((v.deckies_min ?? 0) > (v.deckies_max ?? 0)) {
    return { field: "deckies_min", error: "not more than the max" };
  }
  const spec: GenerateSpec = {
    name: form.name,
    host: form.host.trim() || "localhost",
    depth: v.depth ?? 2,
    branching: v.branching ?? 2,
    deckies_min: v.deckies_min ?? 1,
    deckies_max: v.deckies_max ?? 3,
    forward_p: v.forward_p ?? 0.5,
    cross_p: v.cross_p ?? 0,
    seed: v.seed ?? 0,
    publish: list(form.publish),
  } as GenerateSpec;
  const services = list(form.services);
  if (services.length) spec.services = services;
  return { spec };
}
