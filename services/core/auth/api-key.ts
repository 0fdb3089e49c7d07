/**
 * API keys: `tsk_<prefix>_<secret>`. The prefix (public, unique) finds the record; the secret has
 * 256 bits of entropy, so a fast SHA-256 is the right hash (a slow KDF buys nothing against
 * brute force of a random 256-bit value). Only the hash is stored; comparison is constant-time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const KEY = /^tsk_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

export interface GeneratedKey {
  plain: string;
  prefix: string;
  hash: Buffer;
}

export function generateApiKey(): GeneratedKey {
  const prefix = randomBytes(8).toString('hex').slice(0, 12);
  const plain = `tsk_${prefix}_${randomBytes(32).toString('base64url')}`;
  return { plain, prefix, hash: hashApiKey(plain) };
}

export function hashApiKey(plain: string): Buffer {
  return createHash('sha256').update(plain).digest();
}

/** The lookup prefix of a well-formed key, or null. */
export function apiKeyPrefix(plain: string): string | null {
  return KEY.exec(plain)?.[1] ?? null;
}

export function apiKeyMatches(plain: string, storedHash: Buffer): boolean {
  const h = hashApiKey(plain);
  return h.length === storedHash.length && timingSafeEqual(h, storedHash);
}
