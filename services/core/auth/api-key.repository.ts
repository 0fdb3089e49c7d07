/** `api_keys` rows: created by the keys CLI, read by the API's authenticator. */
import type { Db } from '../db/database';

export interface ApiKeyRecord {
  id: string;
  clientId: string;
  prefix: string;
  hash: Buffer;
  admin: boolean;
  createdAt: Date;
  revokedAt: Date | null;
}

interface Row {
  id: string;
  client_id: string;
  prefix: string;
  key_hash: Buffer;
  admin: boolean;
  created_at: Date;
  revoked_at: Date | null;
}

const toRecord = (r: Row): ApiKeyRecord => ({
  id: r.id,
  clientId: r.client_id,
  prefix: r.prefix,
  hash: r.key_hash,
  admin: r.admin,
  createdAt: r.created_at,
  revokedAt: r.revoked_at,
});

export interface ApiKeyRepository {
  insert(k: { id: string; clientId: string; prefix: string; hash: Buffer; admin: boolean }): Promise<void>;
  findByPrefix(prefix: string): Promise<ApiKeyRecord | null>;
  list(): Promise<ApiKeyRecord[]>;
  /** Revokes by id or prefix; returns how many keys were revoked. */
  revoke(idOrPrefix: string): Promise<number>;
}

export function createApiKeyRepository(db: Db): ApiKeyRepository {
  return {
    async insert(k) {
      await db.raw(`INSERT INTO api_keys (id, client_id, prefix, key_hash, admin) VALUES (?, ?, ?, ?, ?)`, [
        k.id,
        k.clientId,
        k.prefix,
        k.hash,
        k.admin,
      ]);
    },
    async findByPrefix(prefix) {
      const r = await db.raw<{ rows: Row[] }>(`SELECT * FROM api_keys WHERE prefix = ?`, [prefix]);
      return r.rows[0] ? toRecord(r.rows[0]) : null;
    },
    async list() {
      const r = await db.raw<{ rows: Row[] }>(`SELECT * FROM api_keys ORDER BY created_at`);
      return r.rows.map(toRecord);
    },
    async revoke(idOrPrefix) {
      const r = await db.raw<{ rowCount: number }>(
        `UPDATE api_keys SET revoked_at = now()
          WHERE revoked_at IS NULL AND (prefix = ? OR id::text = ?)`,
        [idOrPrefix, idOrPrefix],
      );
      return r.rowCount;
    },
  };
}
