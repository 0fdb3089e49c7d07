/**
 * Delivers completion webhooks from the outbox: claims due deliveries (SKIP LOCKED, so every API
 * replica can run this loop), signs each per Standard Webhooks (`webhook-id` = the delivery id,
 * stable across retries so receivers can deduplicate; `webhook-timestamp`; `webhook-signature`
 * HMAC-SHA256 by the `standardwebhooks` package), POSTs it under the address policy, and records
 * the outcome: delivered on 2xx; otherwise retried with exponential backoff (full jitter) until
 * WEBHOOK_MAX_ATTEMPTS; a refused target fails at once.
 */
import { Webhook } from 'standardwebhooks';
import { createPeriodic, type Periodic } from '../../core/lifecycle/periodic';
import { ATTR, contextFrom, inSpan, SpanKind } from '../../core/telemetry/tracing';
import type { Logger } from '../../core/log/logger';
import type { ClaimedDelivery, DeliveryRepository } from '../data-access/webhook-delivery.repository';
import { presentTask } from '../routes/task-views';
import type { PostOutcome } from './guarded-post';

export type DeliveryOutcome = 'delivered' | 'retried' | 'failed' | 'refused';

export interface WebhookDelivererOptions {
  repo: DeliveryRepository;
  /** `whsec_…` (base64 after the prefix), as Standard Webhooks defines it. */
  secret: string;
  post: (url: string, body: string, headers: Record<string, string>) => Promise<PostOutcome>;
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** Deliveries claimed (and sent concurrently) per round. */
  batch: number;
  pollMs: number;
  /** How long a claimed delivery stays invisible to other replicas: longer than one POST may take. */
  leaseMs: number;
  logger: Logger;
  onOutcome?: (outcome: DeliveryOutcome, seconds: number) => void;
}

export function createWebhookDeliverer(o: WebhookDelivererOptions): Periodic {
  const log = o.logger.child({ module: 'webhooks' });
  const signer = new Webhook(o.secret);

  /** One attempt, as a CLIENT span in the task's own trace (the context it was submitted under). */
  const deliver = (d: ClaimedDelivery): Promise<void> =>
    inSpan(
      'webhook deliver',
      {
        kind: SpanKind.CLIENT,
        parent: contextFrom(d.task.traceContext),
        attributes: { [ATTR.TASK_ID]: d.task.id, [ATTR.TASK_TYPE]: d.task.type, [ATTR.TASK_ATTEMPT]: d.attempt, [ATTR.WEBHOOK_DELIVERY_ID]: d.id },
      },
      async (span) => {
        const { outcome, status } = await attempt(d);
        span.setAttributes({ [ATTR.WEBHOOK_OUTCOME]: outcome, ...(status === null ? {} : { [ATTR.HTTP_RESPONSE_STATUS]: status }) });
      },
    );

  async function attempt(d: ClaimedDelivery): Promise<{ outcome: DeliveryOutcome; status: number | null }> {
    const started = performance.now();
    const sentAt = new Date();
    const body = JSON.stringify({ type: 'task.finished', timestamp: sentAt.toISOString(), data: presentTask(d.task) });
    const headers = { 'webhook-id': d.id, 'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)), 'webhook-signature': signer.sign(d.id, sentAt, body) };
    const r = await o.post(d.url, body, headers);
    let outcome: DeliveryOutcome;
    if (r.kind === 'delivered') {
      await o.repo.markDelivered(d.id, d.attempt, r.status);
      outcome = 'delivered';
    } else {
      const last = r.kind === 'refused' || d.attempt >= o.maxAttempts;
      const retryInMs = last ? null : Math.random() * Math.min(o.retryMaxMs, o.retryBaseMs * 2 ** (d.attempt - 1));
      await o.repo.markFailed(d.id, d.attempt, { httpStatus: r.kind === 'failed' ? r.status : null, error: r.error, retryInMs });
      outcome = r.kind === 'refused' ? 'refused' : last ? 'failed' : 'retried';
      const line = { task_id: d.task.id, delivery_id: d.id, attempt: d.attempt, error: r.error, retry_in_ms: retryInMs === null ? null : Math.round(retryInMs) };
      if (last) log.warn(line, `webhook delivery ${outcome}; no further attempt (redeliver with POST /webhooks/deliveries/:id/redeliver)`);
      else log.info(line, 'webhook delivery failed; retrying later');
    }
    o.onOutcome?.(outcome, (performance.now() - started) / 1000);
    return { outcome, status: r.kind === 'refused' ? null : r.status };
  }

  // A pool of `batch` slots, not rounds: a delivery that hangs until WEBHOOK_TIMEOUT_MS holds one
  // slot, and the others keep claiming and sending (with rounds, one slow endpoint would pace every
  // other endpoint's deliveries at one round per timeout).
  const inFlight = new Set<Promise<void>>();
  let mayHaveMore = false;
  const fill = async (): Promise<void> => {
    while (inFlight.size < o.batch) {
      const room = o.batch - inFlight.size;
      const due = await o.repo.claimDue(room, o.leaseMs);
      mayHaveMore = due.length === room;
      for (const d of due) {
        const p: Promise<void> = deliver(d)
          .catch((err: unknown) => log.warn({ err, delivery_id: d.id }, 'could not record a webhook outcome; the lease will retry it'))
          .finally(() => {
            inFlight.delete(p);
            // A freed slot claims again at once only when the last claim filled every slot.
            if (mayHaveMore) void periodic.runNow();
          });
        inFlight.add(p);
      }
      if (!mayHaveMore) return;
    }
  };
  const periodic = createPeriodic('webhook-delivery', o.pollMs, fill, log);
  return {
    start: () => periodic.start(),
    runNow: () => periodic.runNow(),
    /** Stops claiming, then lets the attempts in flight finish (each bounded by its deadline). */
    async stop() {
      await periodic.stop();
      await Promise.all([...inFlight]);
    },
  };
}
