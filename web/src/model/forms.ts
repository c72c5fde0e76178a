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

const NAME_RE = /^[a-z][a-z0-9-]{0,62}$/;

type Result = { spec: GenerateSpec } | { field: keyof GeneratorForm; error: string };

function int(form: GeneratorForm, field: keyof GeneratorForm, min: number, max: number): number | string {
  const text = form[field].trim();
  if (!/^\d+$/.test(text)) return `${field} must be a whole number`;
  const n = Number(text);
  return n < min || n > max ? `${field} must be between ${min} and ${max}` : n;
}

function prob(form: GeneratorForm, field: keyof GeneratorForm): number | string {
  const n = Number(form[field].trim());
  return form[field].trim() === "" || Number.isNaN(n) || n < 0 || n > 1 ? `${field} must be between 0 and 1` : n;
}

const list = (text: string): string[] =>
  text.split(",").map((s) => s.trim()).filter(Boolean);

export function generatorSpec(form: GeneratorForm): Result {
  if (!NAME_RE.test(form.name)) {
    return { field: "name", error: "name: lowercase letters, digits and '-', starting with a letter" };
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
    return { field: "deckies_min", error: "deckies_min must not exceed deckies_max" };
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
