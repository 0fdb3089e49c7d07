/** Submitting and reading tasks: the API's domain logic, free of HTTP and driver details. */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { ClientError, NotFoundError } from '../../core/errors/app-error';
import { isUuid, type Task } from '../../core/tasks/task';
import { DEFAULT_TASK_TYPE, findTaskType, taskTypeNames } from '../../core/tasks/task-types';
import type { TaskRepository } from '../data-access/task.repository';
import type { TaskDispatcher } from './task-dispatcher';

const submission = z.strictObject({
  type: z.string().min(1).max(100).optional(),
  payload: z.json(),
});

export interface TaskService {
  submit(body: unknown): Promise<Task>;
  get(id: string): Promise<Task>;
}

export function createTaskService(repo: TaskRepository, dispatcher: TaskDispatcher): TaskService {
  return {
    async submit(body) {
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        throw new ClientError('invalid_body', 'request body must be a JSON object', 422);
      }
      if (!('payload' in body)) {
        throw new ClientError('missing_payload', 'request body must contain "payload" (any JSON value)', 422);
      }
      const parsed = submission.safeParse(body);
      if (!parsed.success) {
        throw new ClientError('invalid_body', 'request body is invalid', 422, { issues: issuesOf(parsed.error) });
      }
      const typeName = parsed.data.type ?? DEFAULT_TASK_TYPE;
      const def = findTaskType(typeName);
      if (!def) {
        throw new ClientError('unknown_type', `unknown task type "${typeName}"`, 400, { known_types: taskTypeNames() });
      }
      const payload = def.payloadSchema.safeParse(parsed.data.payload);
      if (!payload.success) {
        throw new ClientError('invalid_payload', `payload is invalid for type "${def.name}"`, 422, {
          issues: issuesOf(payload.error),
        });
      }
      const task = await repo.insert({
        id: randomUUID(),
        type: def.name,
        payload: parsed.data.payload,
        maxAttempts: def.maxAttempts,
        timeoutMs: def.timeoutMs,
      });
      dispatcher.dispatch(task);
      return task;
    },

    async get(id) {
      const task = isUuid(id) ? await repo.findById(id) : null;
      if (!task) throw new NotFoundError(`task ${JSON.stringify(id.slice(0, 100))} not found`);
      return task;
    },
  };
}

function issuesOf(e: z.ZodError): { path: string; message: string }[] {
  return e.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
}
