/**
 * The request schemas of the schedule endpoints; the service validates with them and the OpenAPI
 * document is generated from the same objects. The cron expression and the time zone are checked
 * here too (croner, Intl), so a bad one is a 422 naming its field, never a 500 at the first tick.
 */
import { z } from 'zod';
import { cronProblem, timeZoneProblem } from '../../core/schedules/cron-times';
import { MISSED_POLICIES, OVERLAP_POLICIES } from '../../core/schedules/schedule';
import { PRIORITY_MAX, PRIORITY_MIN } from '../../core/tasks/state/claim-next';
import { jsonValue, priorityField } from './task-schemas';

export interface ScheduleSchemaLimits {
  timeoutCeilingMs: number;
  listMaxLimit: number;
}

export type ScheduleSchemas = ReturnType<typeof scheduleSchemas>;

/** Most attempts a schedule may ask for its tasks. */
export const SCHEDULE_MAX_ATTEMPTS = 100;

export function scheduleSchemas(o: ScheduleSchemaLimits) {
  const creation = z
    .strictObject({
      name: z.string().min(1).max(200).optional().meta({ description: 'A label for people; not unique.' }),
      cron: z
        .string()
        .trim()
        .min(1)
        .max(200)
        .meta({
          description:
            'Cron expression: five fields (minute hour day-of-month month day-of-week) or six with seconds first, croner syntax (`L`, `W`, `#`, `@hourly`, …).',
          examples: ['*/15 * * * *', '0 30 2 * * *'],
        }),
      timezone: z
        .string()
        .min(1)
        .max(100)
        .superRefine((tz, ctx) => {
          const problem = timeZoneProblem(tz);
          if (problem) ctx.addIssue({ code: 'custom', message: problem });
        })
        .default('UTC')
        .meta({ description: 'IANA time zone the expression is read in (default UTC); DST follows croner (README "Schedules").' }),
      type: z.string().min(1).max(100).meta({ description: 'Task type of every task the schedule creates.' }),
      payload: jsonValue,
      max_attempts: z.number().int().min(1).max(SCHEDULE_MAX_ATTEMPTS).optional().meta({ description: "Default: the task type's." }),
      timeout_ms: z.number().int().min(1).max(o.timeoutCeilingMs).optional().meta({ description: "Per-task timeout; default: the task type's." }),
      priority: priorityField
        .optional()
        .meta({ description: `Priority of every task it creates (${PRIORITY_MIN}…${PRIORITY_MAX}, default 0; README "Who runs next").` }),
      overlap: z.enum(OVERLAP_POLICIES).default('allow').meta({ description: '`skip`: no task for a tick while the previous one is pending or processing.' }),
      missed: z
        .enum(MISSED_POLICIES)
        .default('run_once')
        .meta({ description: 'After downtime: `run_once` makes one task for the most recent missed tick, `skip` none; both continue with the next tick.' }),
    })
    .superRefine((v, ctx) => {
      // Checked once the time zone is known good (an unknown one is already an issue of its own).
      if (timeZoneProblem(v.timezone) !== null) return;
      const problem = cronProblem(v.cron, v.timezone, new Date());
      if (problem) ctx.addIssue({ code: 'custom', path: ['cron'], message: problem });
    });
  const listQuery = z.strictObject({
    limit: z.coerce.number().int().min(1).max(o.listMaxLimit).default(Math.min(50, o.listMaxLimit)),
    cursor: z.string().max(200).optional(),
  });
  return { creation, listQuery };
}
