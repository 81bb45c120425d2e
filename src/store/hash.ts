import { createHash } from "node:crypto";

/** JSON with object keys sorted recursively, so equal content gives equal text whatever the key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

/** sha256 (hex) of the canonical JSON of the object exactly as the API returned it. */
export function contentHash(raw: unknown): string {
  return createHash("sha256").update(canonicalJson(raw)).digest("hex");
}
