/**
 * What PostgreSQL's jsonb can store: JSON without U+0000 in any string or key. Checked before a
 * payload or result reaches a (possibly batched) statement, so one bad value cannot fail others.
 */
export function containsNul(v: unknown): boolean {
  if (typeof v === 'string') return v.includes('\0');
  if (Array.isArray(v)) return v.some(containsNul);
  if (v && typeof v === 'object') return Object.entries(v).some(([k, x]) => k.includes('\0') || containsNul(x));
  return false;
}

/** Serialises a handler result for storage; throws a descriptive Error when it cannot be stored. */
export function storableJson(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value ?? null);
  } catch (e) {
    throw new Error(`result is not JSON-serialisable: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  if (text === undefined) return 'null';
  if (containsNul(value)) throw new Error('result contains U+0000, which PostgreSQL jsonb cannot store');
  return text;
}
