/**
 * Who is calling: a bearer API key (looked up by prefix, compared in constant time, cached briefly)
 * or, when configured, a JWT verified with pinned algorithms, issuer, audience and age. `alg: none`
 * and HMAC/RSA confusion are rejected by construction: only the configured algorithms are accepted,
 * and jose checks the key type against the algorithm.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { apiKeyMatches, apiKeyPrefix } from '../../core/auth/api-key';
import type { ApiKeyRepository } from '../../core/auth/api-key.repository';
import { AppError } from '../../core/errors/app-error';

/** The caller. `admin` sees every client's tasks. */
export interface Principal {
  clientId: string;
  admin: boolean;
}

export const ANONYMOUS_ADMIN: Principal = Object.freeze({ clientId: '', admin: true });
const ADMIN_SCOPE = 'tasker:admin';

export class UnauthorizedError extends AppError {
  constructor(message: string) {
    super('unauthorized', message, 401);
  }
}

export interface JwtOptions {
  jwksUrl?: string;
  publicKeyPem?: string;
  secret?: string;
  algorithms: string[];
  issuer?: string;
  audience?: string;
  maxAgeSeconds: number;
  clientClaim: string;
}

export interface AuthenticatorOptions {
  mode: 'required' | 'none';
  keys: ApiKeyRepository;
  cacheMs: number;
  jwt?: JwtOptions;
}

export interface Authenticator {
  authenticate(authorization: string | undefined): Promise<Principal>;
  /** The caller when it is known without I/O or verification (a cached key, or AUTH_MODE=none); else undefined. */
  fromCache(authorization: string | undefined): Principal | undefined;
}

export function createAuthenticator(o: AuthenticatorOptions): Authenticator {
  const cache = new Map<string, { principal: Principal; until: number }>();
  const jwtKey: JWTVerifyGetKey | KeyObject | Uint8Array | null = !o.jwt
    ? null
    : o.jwt.jwksUrl
      ? createRemoteJWKSet(new URL(o.jwt.jwksUrl))
      : o.jwt.publicKeyPem
        ? createPublicKey(o.jwt.publicKeyPem)
        : o.jwt.secret
          ? new TextEncoder().encode(o.jwt.secret)
          : null;

  function cached(token: string): Principal | undefined {
    const hit = cache.get(token);
    return hit && hit.until > Date.now() ? hit.principal : undefined;
  }

  async function fromApiKey(token: string): Promise<Principal> {
    const hit = cached(token);
    if (hit) return hit;
    const prefix = apiKeyPrefix(token);
    const record = prefix ? await o.keys.findByPrefix(prefix) : null;
    if (!record || record.revokedAt || !apiKeyMatches(token, record.hash)) {
      cache.delete(token);
      throw new UnauthorizedError('invalid or revoked API key');
    }
    const principal = { clientId: record.clientId, admin: record.admin };
    if (o.cacheMs > 0) {
      if (cache.size > 10_000) cache.clear();
      cache.set(token, { principal, until: Date.now() + o.cacheMs });
    }
    return principal;
  }

  async function fromJwt(token: string, jwt: JwtOptions): Promise<Principal> {
    try {
      const verifyOpts = {
        algorithms: jwt.algorithms,
        issuer: jwt.issuer,
        audience: jwt.audience,
        maxTokenAge: jwt.maxAgeSeconds,
        requiredClaims: ['exp', jwt.clientClaim],
      };
      const { payload } =
        typeof jwtKey === 'function' ? await jwtVerify(token, jwtKey, verifyOpts) : await jwtVerify(token, jwtKey!, verifyOpts);
      const client = payload[jwt.clientClaim];
      if (typeof client !== 'string' || client.length === 0 || client.length > 100) {
        throw new Error(`claim ${jwt.clientClaim} must be a non-empty string`);
      }
      const scope = typeof payload.scope === 'string' ? payload.scope.split(' ') : [];
      return { clientId: client, admin: scope.includes(ADMIN_SCOPE) };
    } catch {
      throw new UnauthorizedError('invalid token');
    }
  }

  return {
    fromCache(authorization) {
      if (o.mode === 'none') return ANONYMOUS_ADMIN;
      const token = authorization?.startsWith('Bearer tsk_') ? authorization.slice('Bearer '.length) : undefined;
      return token === undefined ? undefined : cached(token);
    },

    async authenticate(authorization) {
      if (o.mode === 'none') return ANONYMOUS_ADMIN;
      const m = /^Bearer ([A-Za-z0-9._~+/=-]{10,4096})$/.exec(authorization ?? '');
      if (!m) throw new UnauthorizedError('missing or malformed Authorization: Bearer <key> header');
      const token = m[1]!;
      if (token.startsWith('tsk_')) return fromApiKey(token);
      if (o.jwt && jwtKey && token.split('.').length === 3) return fromJwt(token, o.jwt);
      throw new UnauthorizedError('invalid or revoked API key');
    },
  };
}
