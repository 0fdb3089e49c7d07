/**
 * Creating, reading, listing, deleting, pausing and resuming cron schedules: the API's domain
 * logic. Owner-scoped exactly like tasks: a client sees and changes only its own schedules, an
 * admin every one, and another client's schedule is "not found".
 */
import { randomUUID } from 'node:crypto';
import { ClientError, NotFoundError } from '../../core/errors/app-error';
import { cronClock, upcomingRuns } from '../../core/schedules/cron-times';
import type { Schedule } from '../../core/schedules/schedule';
import { isUuid } from '../../core/tasks/task';
import type { TaskTypeDefinition } from '../../core/tasks/task-types';
import { containsNul } from '../../core/tasks/storable-json';
import type { Scope } from '../../core/tasks/state/sql-fragments';
import type { ScheduleRepository } from '../data-access/schedule.repository';
import type { Principal } from './authenticator';
import { scheduleSchemas, type ScheduleSchemaLimits } from './schedule-schemas';
import { decodeCursor, encodeCursor } from './task.service';
import { issuesOf } from './task-schemas';

/** How many upcoming run times a schedule shows. */
export const UPCOMING_RUNS = 5;

export interface ScheduleServiceOptions extends ScheduleSchemaLimits {
  types: readonly TaskTypeDefinition[];
}

/** A schedule with its next run times (single reads and writes; listings leave them out). */
export type ScheduleWithRuns = Schedule & { nextRuns?: Date[] };

export interface ScheduleService {
  create(body: unknown, principal: Principal): Promise<ScheduleWithRuns>;
  get(id: string, principal: Principal): Promise<ScheduleWithRuns>;
  list(query: Record<string, unknown>, principal: Principal): Promise<{ schedules: Schedule[]; nextCursor: string | null }>;
  delete(id: string, principal: Principal): Promise<void>;
  pause(id: string, principal: Principal): Promise<ScheduleWithRuns>;
  resume(id: string, principal: Principal): Promise<ScheduleWithRuns>;
}

export function createScheduleService(repo: ScheduleRepository, o: ScheduleServiceOptions): ScheduleService {
  const byName = new Map(o.types.map((t) => [t.name, t]));
  const { creation, listQuery } = scheduleSchemas(o);
  const scopeOf = (p: Principal): Scope => ({ clientId: p.admin ? null : p.clientId });
  const notFound = (id: string) => new NotFoundError(`schedule ${JSON.stringify(id.slice(0, 100))} not found`);
  const invalid = (path: string, message: string, code = 'invalid_body') =>
    new ClientError(code, 'request body is invalid', 422, { issues: [{ path, message }] });

  const withRuns = (s: Schedule, now: Date): ScheduleWithRuns => ({ ...s, nextRuns: upcomingRuns(cronClock(s.cron, s.timezone), s, now, UPCOMING_RUNS) });

  return {
    async create(body, principal) {
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        throw new ClientError('invalid_body', 'request body must be a JSON object', 422);
      }
      const parsed = creation.safeParse(body);
      if (!parsed.success) throw new ClientError('invalid_body', 'request body is invalid', 422, { issues: issuesOf(parsed.error) });
      const v = parsed.data;
      const def = byName.get(v.type);
      if (!def) throw invalid('type', `unknown task type "${v.type}"; known: ${[...byName.keys()].join(', ')}`);
      // The payload is checked now, as on POST /tasks, so no tick ever creates a task that would be refused.
      if (containsNul(v.payload)) throw invalid('payload', 'payload strings and keys must not contain the NUL character (\\u0000)', 'invalid_payload');
      const payload = def.payloadSchema.safeParse(v.payload);
      if (!payload.success) {
        throw new ClientError('invalid_payload', `payload is invalid for type "${def.name}"`, 422, {
          issues: issuesOf(payload.error).map((i) => ({ ...i, path: i.path ? `payload.${i.path}` : 'payload' })),
        });
      }
      if (def.maxPayloadBytes !== undefined) {
        const size = Buffer.byteLength(JSON.stringify(v.payload));
        if (size > def.maxPayloadBytes) {
          throw new ClientError('payload_too_large', `payload is ${size} bytes; type "${def.name}" accepts at most ${def.maxPayloadBytes}`, 413);
        }
      }
      const clock = cronClock(v.cron, v.timezone);
      const s = await repo.insert(
        {
          id: randomUUID(),
          clientId: principal.clientId,
          name: v.name ?? null,
          cron: v.cron,
          timezone: v.timezone,
          type: def.name,
          payload: v.payload,
          maxAttempts: v.max_attempts ?? null,
          timeoutMs: v.timeout_ms ?? null,
          priority: v.priority ?? 0,
          overlap: v.overlap,
          missed: v.missed,
        },
        (now) => clock.next(now),
      );
      return withRuns(s, s.createdAt);
    },

    async get(id, principal) {
      const found = isUuid(id) ? await repo.findById(id, scopeOf(principal)) : null;
      if (!found) throw notFound(id);
      return withRuns(found.schedule, found.now);
    },

    async list(query, principal) {
      const q = listQuery.safeParse(query);
      if (!q.success) throw new ClientError('invalid_query', 'query parameters are invalid', 400, { issues: issuesOf(q.error) });
      const after = q.data.cursor === undefined ? undefined : decodeCursor(q.data.cursor);
      const rows = await repo.list({ scope: scopeOf(principal), after, limit: q.data.limit + 1 });
      const page = rows.slice(0, q.data.limit);
      const last = page.at(-1);
      return { schedules: page.map((r) => r.schedule), nextCursor: rows.length > q.data.limit && last ? encodeCursor(last.position) : null };
    },

    async delete(id, principal) {
      if (!isUuid(id) || !(await repo.delete(id, scopeOf(principal)))) throw notFound(id);
    },

    async pause(id, principal) {
      const r = isUuid(id) ? await repo.pause(id, scopeOf(principal)) : null;
      if (!r) throw notFound(id);
      return withRuns(r.schedule, r.now);
    },

    async resume(id, principal) {
      const r = isUuid(id) ? await repo.resume(id, scopeOf(principal), (cron, tz, now) => cronClock(cron, tz).next(now)) : null;
      if (!r) throw notFound(id);
      return withRuns(r.schedule, r.now);
    },
  };
}
