/**
 * The unattended first key: an install stores the hash of a key the operator put in a Secret, so
 * `helm test` and the first curl work without `kubectl exec … keys create`. Idempotent — every
 * migration run (each upgrade) calls it again.
 */
import { randomUUID } from 'node:crypto';
import { apiKeyMatches, apiKeyPrefix, hashApiKey } from '../core/auth/api-key';
import type { ApiKeyRepository } from '../core/auth/api-key.repository';

/** `created`: stored now; `present`: already stored; `revoked`: stored and revoked (left revoked). */
export type SeedOutcome = 'created' | 'present' | 'revoked';

export async function seedApiKey(
  keys: ApiKeyRepository,
  seed: { plain: string; clientId: string; admin: boolean },
): Promise<SeedOutcome> {
  const prefix = apiKeyPrefix(seed.plain);
  if (!prefix) throw new Error('the seed key is not of the form tsk_<prefix>_<secret>');
  for (let round = 0; round < 2; round++) {
    const existing = await keys.findByPrefix(prefix);
    if (existing) {
      // Same prefix, other secret: refusing beats silently keeping a key nobody holds.
      if (!apiKeyMatches(seed.plain, existing.hash)) throw new Error(`another key with prefix ${prefix} is already stored`);
      // An operator's revocation wins over the Secret that is still mounted.
      return existing.revokedAt ? 'revoked' : 'present';
    }
    try {
      await keys.insert({ id: randomUUID(), clientId: seed.clientId, prefix, hash: hashApiKey(seed.plain), admin: seed.admin });
      return 'created';
    } catch (e: unknown) {
      // 23505: a concurrent run inserted it first; the next round reads and compares it.
      if ((e as { code?: string }).code !== '23505') throw e;
    }
  }
  throw new Error(`could not seed key ${prefix}`);
}
