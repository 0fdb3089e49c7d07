/**
 * The OpenAPI 3.1 document of the API, generated from the zod schemas that validate requests
 * (domain/task-schemas) and type the answers (task-views). JSON Schema 2020-12 is OpenAPI 3.1's
 * schema dialect, so zod 4's own `z.toJSONSchema` converts them without a third-party generator.
 * `test/unit/openapi.test.ts` checks that every route the app serves is documented and that every
 * example validates against its schema; `npm run lint` lints the document (redocly).
 */
import { z } from 'zod';
import { taskSchemas, jsonValue, type SchemaLimits } from '../domain/task-schemas';
import { deliveriesQuery } from '../domain/webhook-deliveries.service';
import { scheduleSchemas } from '../domain/schedule-schemas';
import { scheduleList, scheduleView } from './schedule-views';
import { batchAccepted, deliveryList, deliveryView, errorBody, overviewView, replayResult, submitAccepted, taskList, taskView, whoAmI } from './task-views';

type Json = Record<string, unknown>;

const EXAMPLE_ID = '0b5c1f7e-3c1a-4f7e-9a51-2f6d3c8e9a10';
const exampleTask = {
  task_id: EXAMPLE_ID,
  type: 'simulate',
  status: 'done',
  payload: { n: 1 },
  result: { ok: true },
  error: null,
  errors: [],
  attempts: 1,
  max_attempts: 3,
  timeout_ms: 30000,
  priority: 0,
  schedule_id: null,
  run_after: '2026-11-30T12:00:00.000Z',
  created_at: '2026-11-30T12:00:00.000Z',
  updated_at: '2026-11-30T12:00:03.100Z',
  started_at: '2026-11-30T12:00:00.050Z',
  attempt_started_at: '2026-11-30T12:00:00.050Z',
  finished_at: '2026-11-30T12:00:03.100Z',
  trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
  trace_url: 'http://localhost:16686/trace/4bf92f3577b34da6a3ce929d0e0e4736',
};

const exampleDelivery = {
  id: '5d0c2b9e-8f7a-4c3e-b1d2-7a6e5f4c3b2a',
  task_id: EXAMPLE_ID,
  url: 'https://hooks.example.com/tasker',
  task_status: 'done',
  status: 'failed',
  attempts: 8,
  next_attempt_at: null,
  last_status: 500,
  last_error: 'HTTP 500',
  created_at: '2026-11-30T12:00:03.100Z',
  delivered_at: null,
};

const SCHEDULE_ID = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
const exampleSchedule = {
  schedule_id: SCHEDULE_ID,
  name: 'nightly report',
  cron: '0 30 2 * * *',
  timezone: 'Europe/Berlin',
  type: 'simulate',
  payload: { report: 'daily' },
  max_attempts: null,
  timeout_ms: null,
  priority: 0,
  overlap: 'skip',
  missed: 'run_once',
  paused: false,
  next_run_at: '2026-12-01T01:30:00.000Z',
  next_runs: ['2026-12-01T01:30:00.000Z', '2026-12-02T01:30:00.000Z', '2026-12-03T01:30:00.000Z', '2026-12-04T01:30:00.000Z', '2026-12-05T01:30:00.000Z'],
  last_tick_at: '2026-11-30T01:30:00.000Z',
  last_task_id: EXAMPLE_ID,
  last_tick_result: 'created',
  skipped_ticks: 0,
  created_at: '2026-11-20T09:00:00.000Z',
  updated_at: '2026-11-30T01:30:00.012Z',
};

const { next_runs: _runs, ...listedSchedule } = exampleSchedule;

/** Builds the document for these limits (they appear in the schemas: maxima of timeout_ms, wait, batch size). */
export function openApiDocument(limits: SchemaLimits): Json {
  const s = taskSchemas(limits);
  const deliveries = deliveriesQuery(limits.listMaxLimit);
  const sched = scheduleSchemas(limits);
  const registry = z.registry<{ id: string }>();
  const named = {
    JsonValue: jsonValue,
    TaskSubmission: s.submission,
    BatchTaskSubmission: s.batchItem,
    TaskBatch: s.batch,
    ReplayRequest: s.replayBody,
    Task: taskView,
    SubmitAccepted: submitAccepted,
    BatchAccepted: batchAccepted,
    TaskList: taskList,
    ReplayResult: replayResult,
    WhoAmI: whoAmI,
    Overview: overviewView,
    ScheduleCreation: sched.creation,
    Schedule: scheduleView,
    ScheduleList: scheduleList,
    Delivery: deliveryView,
    DeliveryList: deliveryList,
    Error: errorBody,
  };
  for (const [id, schema] of Object.entries(named)) registry.add(schema, { id });
  const generated = z.toJSONSchema(registry, { uri: (id) => `#/components/schemas/${id}`, io: 'input', unrepresentable: 'any' });
  const schemas: Record<string, Json> = {};
  for (const [id, schema] of Object.entries(generated.schemas)) {
    const { $schema: _dialect, $id: _id, ...rest } = schema as Json;
    schemas[id] = rest;
  }

  const ref = (id: keyof typeof named) => ({ $ref: `#/components/schemas/${id}` });
  const json = (id: keyof typeof named, example: unknown) => ({ 'application/json': { schema: ref(id), example } });
  const error = (description: string, code: string, message: string) => ({ description, content: json('Error', { error: { code, message } }) });
  const errors = {
    '400': error('Malformed request or query (the code names it).', 'invalid_query', 'query parameters are invalid'),
    '401': error('Missing or invalid credentials (AUTH_MODE=required).', 'unauthorized', 'missing bearer token'),
    '404': error('No such task, or not the caller\'s.', 'not_found', `task "${EXAMPLE_ID}" not found`),
    '429': error('Over a rate limit or the pending cap; see Retry-After.', 'too_many_pending', 'at most 100 pending tasks per client'),
    '503': error('A dependency is unavailable; see Retry-After.', 'service_unavailable', 'database unavailable'),
  };
  const pick = (...codes: (keyof typeof errors)[]) => Object.fromEntries(codes.map((c) => [c, errors[c]]));
  const invalid = error('The body is invalid (the details name every problem).', 'invalid_body', 'request body is invalid');
  const scheduleNotFound = { '404': error("No such schedule, or not the caller's.", 'not_found', `schedule "${SCHEDULE_ID}" not found`) };
  const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };
  const waitParam = { name: 'wait', in: 'query', required: false, ...queryParam(s.wait, 'wait') };
  const waitHeader = {
    'Wait-Timed-Out': {
      description: 'With `wait`: `true` when the wait ended (time, or the API draining) before the task was terminal.',
      schema: { type: 'string', enum: ['true', 'false'] },
    },
  };
  const taskAnswer = (description: string, example: unknown = exampleTask) => ({ description, headers: waitHeader, content: json('Task', example) });
  const open = { security: [] };

  return {
    openapi: '3.1.0',
    info: {
      title: 'Tasker',
      version: '1',
      description: 'Asynchronous tasks over HTTP: submit, wait for or read the result, cancel, retry, replay dead letters.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    tags: [
      { name: 'tasks', description: 'Submitting and following tasks' },
      { name: 'schedules', description: 'Cron schedules: one task per tick, across any number of replicas' },
      { name: 'webhooks', description: 'Completion webhooks (Standard Webhooks signatures)' },
      { name: 'console', description: 'What the web console (/ui) reads besides the task endpoints' },
      { name: 'operations', description: 'Probes, metrics and this document' },
    ],
    paths: {
      '/tasks': {
        post: {
          operationId: 'submitTask',
          tags: ['tasks'],
          summary: 'Submit a task (optionally waiting for its result)',
          parameters: [
            waitParam,
            { name: 'Idempotency-Key', in: 'header', required: false, description: 'Same key and body within IDEMPOTENCY_TTL_MS: the first answer is replayed.', schema: { type: 'string', pattern: '^[\\x21-\\x7e]{1,255}$' } },
          ],
          requestBody: { required: true, content: json('TaskSubmission', { type: 'simulate', payload: { n: 1 } }) },
          responses: {
            '200': taskAnswer('With `wait`: the task finished within it.'),
            '202': { description: 'Accepted (stored; runs at least once).', headers: waitHeader, content: json('SubmitAccepted', { task_id: EXAMPLE_ID, status: 'pending' }) },
            '413': error('Body or payload too large.', 'payload_too_large', 'request body exceeds 1048576 bytes'),
            '415': error('Not application/json.', 'unsupported_media_type', 'Content-Type must be application/json'),
            '422': invalid,
            ...pick('400', '401', '429', '503'),
          },
        },
        get: {
          operationId: 'listTasks',
          tags: ['tasks'],
          summary: 'List tasks, newest first (dead letters: status=failed)',
          parameters: Object.keys(s.listQuery.shape).map((name) => ({ name, in: 'query', required: false, ...queryParam(s.listQuery, name) })),
          responses: { '200': { description: 'A page of tasks.', content: json('TaskList', { tasks: [exampleTask], next_cursor: null }) }, ...pick('400', '401', '503') },
        },
      },
      '/tasks/batch': {
        post: {
          operationId: 'submitTaskBatch',
          tags: ['tasks'],
          summary: 'Submit many tasks in one transaction (all or none)',
          requestBody: {
            required: true,
            content: json('TaskBatch', { tasks: [{ type: 'simulate', payload: { n: 1 }, idempotency_key: 'order-1' }, { payload: { n: 2 } }] }),
          },
          responses: {
            '202': {
              description: 'Every task stored (or replayed for a known idempotency_key).',
              content: json('BatchAccepted', { tasks: [{ task_id: EXAMPLE_ID, status: 'pending', replayed: false }] }),
            },
            '413': error('Body larger than BATCH_MAX_BODY_BYTES.', 'payload_too_large', 'request body exceeds 16777216 bytes'),
            '422': error('Nothing stored: details.items names every failing item by index.', 'invalid_batch', '1 of 2 tasks are invalid; nothing was stored'),
            ...pick('401', '429', '503'),
          },
        },
      },
      '/tasks/{id}': {
        get: {
          operationId: 'getTask',
          tags: ['tasks'],
          summary: 'Read a task (optionally waiting until it is terminal)',
          parameters: [idParam, waitParam],
          responses: { '200': taskAnswer('The task (with `wait`: terminal, or its state when the wait ended).'), ...pick('400', '401', '404', '503') },
        },
      },
      '/tasks/{id}/cancel': {
        post: {
          operationId: 'cancelTask',
          tags: ['tasks'],
          summary: 'Cancel a pending or running task',
          parameters: [idParam],
          responses: {
            '200': { description: 'Cancelled (a running handler is aborted).', content: json('Task', { ...exampleTask, status: 'cancelled', result: null }) },
            '409': error('Already terminal.', 'not_cancellable', 'task is done; only pending or processing tasks can be cancelled'),
            ...pick('401', '404', '503'),
          },
        },
      },
      '/tasks/{id}/retry': {
        post: {
          operationId: 'retryTask',
          tags: ['tasks'],
          summary: 'Run a failed or cancelled task again, with a fresh attempt budget',
          parameters: [idParam],
          responses: {
            '202': { description: 'Pending again.', content: json('Task', { ...exampleTask, status: 'pending', result: null, finished_at: null }) },
            '409': error('Not failed or cancelled.', 'not_retryable', 'task is done; only failed or cancelled tasks can be retried'),
            ...pick('401', '404', '503'),
          },
        },
      },
      '/dead-letters/replay': {
        post: {
          operationId: 'replayDeadLetters',
          tags: ['tasks'],
          summary: 'Replay failed tasks, spread at REPLAY_RATE_PER_SECOND',
          requestBody: { required: false, content: json('ReplayRequest', { reason: 'timeout', limit: 100 }) },
          responses: { '202': { description: 'Replayed.', content: json('ReplayResult', { replayed: 12, matched: 12, spread_ms: 220, rate_per_second: 50 }) }, '422': invalid, ...pick('401', '503') },
        },
      },
      '/schedules': {
        post: {
          operationId: 'createSchedule',
          tags: ['schedules'],
          summary: 'Create a cron schedule (one task per tick)',
          requestBody: {
            required: true,
            content: json('ScheduleCreation', { name: 'nightly report', cron: '0 30 2 * * *', timezone: 'Europe/Berlin', type: 'simulate', payload: { report: 'daily' }, overlap: 'skip' }),
          },
          responses: {
            '201': { description: 'Created; the first tick is the first after now.', headers: { Location: { description: 'The schedule.', schema: { type: 'string' } } }, content: json('Schedule', exampleSchedule) },
            '413': error('Body or payload too large.', 'payload_too_large', 'request body exceeds 1048576 bytes'),
            '415': error('Not application/json.', 'unsupported_media_type', 'Content-Type must be application/json'),
            '422': error('Invalid: details.issues names each field (cron, timezone, type, payload, policies).', 'invalid_body', 'request body is invalid'),
            ...pick('401', '503'),
          },
        },
        get: {
          operationId: 'listSchedules',
          tags: ['schedules'],
          summary: "The caller's schedules, newest first",
          parameters: Object.keys(sched.listQuery.shape).map((name) => ({ name, in: 'query', required: false, ...queryParam(sched.listQuery, name) })),
          responses: {
            '200': { description: 'A page of schedules (without next_runs).', content: json('ScheduleList', { schedules: [listedSchedule], next_cursor: null }) },
            ...pick('400', '401', '503'),
          },
        },
      },
      '/schedules/{id}': {
        get: {
          operationId: 'getSchedule',
          tags: ['schedules'],
          summary: 'Read a schedule with its next run times',
          parameters: [idParam],
          responses: { '200': { description: 'The schedule.', content: json('Schedule', exampleSchedule) }, ...scheduleNotFound, ...pick('401', '503') },
        },
        delete: {
          operationId: 'deleteSchedule',
          tags: ['schedules'],
          summary: 'Delete a schedule (the tasks it created stay)',
          parameters: [idParam],
          responses: { '204': { description: 'Deleted.' }, ...scheduleNotFound, ...pick('401', '503') },
        },
      },
      '/schedules/{id}/pause': {
        post: {
          operationId: 'pauseSchedule',
          tags: ['schedules'],
          summary: 'Pause a schedule (idempotent): no ticks until resumed',
          parameters: [idParam],
          responses: { '200': { description: 'Paused.', content: json('Schedule', { ...exampleSchedule, paused: true }) }, ...scheduleNotFound, ...pick('401', '503') },
        },
      },
      '/schedules/{id}/resume': {
        post: {
          operationId: 'resumeSchedule',
          tags: ['schedules'],
          summary: 'Resume a schedule (idempotent) from the first tick after now: ticks missed while paused get no task',
          parameters: [idParam],
          responses: { '200': { description: 'Running again.', content: json('Schedule', exampleSchedule) }, ...scheduleNotFound, ...pick('401', '503') },
        },
      },
      '/webhooks/deliveries': {
        get: {
          operationId: 'listWebhookDeliveries',
          tags: ['webhooks'],
          summary: "The caller's webhook deliveries by status (default: failed), newest first",
          parameters: Object.keys(deliveries.shape).map((name) => ({ name, in: 'query', required: false, ...queryParam(deliveries, name) })),
          responses: { '200': { description: 'Deliveries.', content: json('DeliveryList', { deliveries: [exampleDelivery] }) }, ...pick('400', '401', '503') },
        },
      },
      '/webhooks/deliveries/{id}/redeliver': {
        post: {
          operationId: 'redeliverWebhook',
          tags: ['webhooks'],
          summary: 'Deliver again now, with a fresh attempt budget',
          parameters: [idParam],
          responses: {
            '202': { description: 'Due again.', content: json('Delivery', { ...exampleDelivery, status: 'pending', attempts: 0, last_error: null, next_attempt_at: '2026-11-30T12:10:00.000Z' }) },
            ...pick('401', '404', '503'),
          },
        },
      },
      '/whoami': {
        get: {
          operationId: 'whoAmI',
          tags: ['console'],
          summary: 'Who the credential belongs to',
          responses: { '200': { description: 'The caller.', content: json('WhoAmI', { client_id: 'billing', admin: false }) }, ...pick('401') },
        },
      },
      '/overview': {
        get: {
          operationId: 'overview',
          tags: ['console'],
          summary: 'Per task type: backlog, running, dead letters, and what finished per minute over the last hour (from PostgreSQL)',
          responses: {
            '200': {
              description: 'The overview, scoped to the caller unless admin.',
              content: json('Overview', {
                generated_at: '2026-11-30T12:00:30.000Z',
                series_start: '2026-11-30T11:01:00.000Z',
                bucket_seconds: 60,
                buckets: 2,
                types: [{ type: 'simulate', pending_due: 4, pending_delayed: 1, running: 2, oldest_pending_age_ms: 1200, dead_letters: 3, last_hour: { done: 120, failed: 1, cancelled: 0 }, series: { done: [70, 50], failed: [1, 0] } }],
              }),
            },
            ...pick('401', '503'),
          },
        },
      },
      '/openapi.json': {
        get: { operationId: 'openApiDocument', tags: ['operations'], summary: 'This document', ...open, responses: { '200': { description: 'OpenAPI 3.1 document.', content: { 'application/json': { schema: { type: 'object' } } } } } },
      },
      '/health': {
        get: { operationId: 'liveness', tags: ['operations'], summary: 'Liveness (no dependencies)', ...open, responses: { '200': probe('ok'), '503': probe('stalled') } },
      },
      '/ready': {
        get: { operationId: 'readiness', tags: ['operations'], summary: 'Readiness (database, schema, broker; 503 while draining)', ...open, responses: { '200': probe('ready'), '503': probe('not_ready') } },
      },
      '/metrics': {
        get: {
          operationId: 'metrics',
          tags: ['operations'],
          summary: 'Prometheus metrics',
          ...open,
          responses: { '200': { description: 'Prometheus text (or OpenMetrics when asked).', content: { 'text/plain': { schema: { type: 'string' } } } } },
        },
      },
    },
    components: {
      schemas,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API key (tsk_…) or a JWT.' } },
    },
  };
}

function probe(status: string) {
  return {
    description: `Status ${status}.`,
    content: { 'application/json': { schema: { type: 'object', properties: { status: { type: 'string' } }, required: ['status'] }, example: { status } } },
  };
}

/** One query parameter's schema (and description) from the zod object that validates the query. */
function queryParam(object: z.ZodObject, name: string): Json {
  const schema = z.toJSONSchema(object, { io: 'input', unrepresentable: 'any' }) as { properties: Record<string, Json> };
  const { description, ...rest } = schema.properties[name] ?? {};
  return { ...(description ? { description } : {}), schema: rest };
}
