/** Listing a client's webhook deliveries (failed ones, typically) and redelivering one. */
import { z } from 'zod';
import { ClientError, NotFoundError } from '../../core/errors/app-error';
import { isUuid } from '../../core/tasks/task';
import type { Delivery, DeliveryRepository } from '../data-access/webhook-delivery.repository';
import type { Principal } from './authenticator';
import { issuesOf } from './task-schemas';

export interface WebhookDeliveriesService {
  list(query: Record<string, unknown>, principal: Principal): Promise<Delivery[]>;
  redeliver(id: string, principal: Principal): Promise<Delivery>;
}

export const deliveriesQuery = (listMaxLimit: number) =>
  z.strictObject({
    status: z.enum(['pending', 'delivered', 'failed']).default('failed'),
    limit: z.coerce.number().int().min(1).max(listMaxLimit).default(Math.min(50, listMaxLimit)),
  });

export function createWebhookDeliveriesService(repo: DeliveryRepository, o: { listMaxLimit: number }): WebhookDeliveriesService {
  const query = deliveriesQuery(o.listMaxLimit);
  const scopeOf = (p: Principal) => ({ clientId: p.admin ? null : p.clientId });
  return {
    async list(q, principal) {
      const parsed = query.safeParse(q);
      if (!parsed.success) {
        throw new ClientError('invalid_query', 'query parameters are invalid', 400, { issues: issuesOf(parsed.error) });
      }
      return repo.list({ ...parsed.data, scope: scopeOf(principal) });
    },
    async redeliver(id, principal) {
      const d = isUuid(id) ? await repo.redeliver(id, scopeOf(principal)) : null;
      if (!d) throw new NotFoundError(`webhook delivery ${JSON.stringify(id.slice(0, 100))} not found`);
      return d;
    },
  };
}
