/**
 * The shapes of the public API the console reads (notes: console contract). Written out here rather
 * than imported from services/api: the console is a browser bundle and must not pull in zod or
 * Node code; the API's OpenAPI document is the reference.
 */

export const TASK_STATUSES = ['pending', 'processing', 'done', 'failed', 'cancelled'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export const FAILURE_REASONS = ['error', 'timeout', 'permanent', 'crashed'] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface WhoAmI {
  client_id: string;
  admin: boolean;
}

export interface TypeOverview {
  type: string;
  pending_due: number;
  pending_delayed: number;
  running: number;
  /** Age of the oldest due pending task (since its run_after), or null when none is due. */
  oldest_pending_age_ms: number | null;
  /** Tasks in status failed (all time). */
  dead_letters: number;
  last_hour: { done: number; failed: number; cancelled: number };
  /** Per-minute counts; series.done[i] covers [series_start + i·bucket_seconds, +bucket_seconds). */
  series: { done: number[]; failed: number[] };
}

export interface Overview {
  generated_at: string;
  series_start: string;
  bucket_seconds: number;
  buckets: number;
  types: TypeOverview[];
}

/** One failed attempt. */
export interface TaskError {
  reason: FailureReason;
  message: string;
  attempt: number;
  at: string;
  started_at?: string | null;
}

export interface Delivery {
  id: string;
  task_id: string;
  url: string;
  task_status: TaskStatus;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  next_attempt_at: string | null;
  last_status: number | null;
  last_error: string | null;
  created_at: string;
  delivered_at: string | null;
}

export interface TaskView {
  task_id: string;
  type: string;
  status: TaskStatus;
  payload: Json;
  result: Json;
  error: TaskError | null;
  errors: TaskError[];
  attempts: number;
  max_attempts: number;
  timeout_ms: number;
  priority: number;
  schedule_id: string | null;
  run_after: string;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
  attempt_started_at?: string | null;
  trace_id?: string | null;
  trace_url?: string | null;
  /** GET /tasks/:id only. */
  callback?: { url: string; deliveries: Delivery[] } | null;
}

export interface TaskPage {
  tasks: TaskView[];
  next_cursor: string | null;
}

/** GET /tasks filters, named as the query parameters; created_* are RFC 3339. */
export interface TaskFilter {
  status?: TaskStatus;
  type?: string;
  created_after?: string;
  created_before?: string;
  q?: string;
}

export interface ReplayRequest {
  type?: string;
  reason?: FailureReason;
  limit?: number;
  dry_run?: boolean;
}

export interface ReplayResult {
  replayed: number;
  matched: number;
  spread_ms: number;
  rate_per_second: number;
}

export function isTerminal(status: TaskStatus): boolean {
  return status === 'done' || status === 'failed' || status === 'cancelled';
}
