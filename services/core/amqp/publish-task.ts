/**
 * Publishes a task's wake-up message inside a PRODUCER span of the task's trace; the span's context
 * travels in the message headers (W3C traceparent), so the consumer's spans link back to it.
 */
import type { Context } from '@opentelemetry/api';
import { ATTR, captureContext, inSpan, messagingAttributes, SpanKind } from '../telemetry/tracing';
import type { Task } from '../tasks/task';
import type { Publisher } from './publisher';

export function publishTask(
  publisher: Publisher,
  task: Pick<Task, 'id' | 'type'>,
  opts: { parent?: Context; republished?: boolean } = {},
): Promise<void> {
  return inSpan(
    `publish ${publisher.exchange}`,
    {
      kind: SpanKind.PRODUCER,
      parent: opts.parent,
      attributes: {
        ...messagingAttributes({ type: 'send', name: 'publish' }, publisher.exchange, task),
        [ATTR.MESSAGING_ROUTING_KEY]: task.type,
        [ATTR.TASK_REPUBLISHED]: opts.republished ?? false,
      },
    },
    () => publisher.publish({ task_id: task.id, type: task.type }, captureContext()),
  );
}
