/**
 * The runner's spans. The claim runs under the message's context (a child of the publish span);
 * the attempt's CONSUMER span is a child of the context stored on the task row — so every attempt,
 * however late, joins the trace of the request that created the task — and links to the publish
 * that woke it. The handler runs in its own span inside it.
 */
import { ATTR, context, contextFrom, inSpan, messagingAttributes, SpanKind, SpanStatusCode, trace } from '../../core/telemetry/tracing';
import type { RunnerObserver } from '../execution/runner-events';

export function attemptTracing(): RunnerObserver {
  return {
    aroundClaim: (meta, claim) => context.with(contextFrom(meta.headers), claim),
    aroundAttempt(task, meta, attempt) {
      const messageContext = contextFrom(meta.headers);
      const publishSpan = trace.getSpanContext(messageContext);
      return inSpan(
        `process ${meta.queue}`,
        {
          kind: SpanKind.CONSUMER,
          parent: task.traceContext ? contextFrom(task.traceContext) : messageContext,
          links: publishSpan && trace.isSpanContextValid(publishSpan) ? [{ context: publishSpan }] : [],
          attributes: { ...messagingAttributes({ type: 'process', name: 'process' }, meta.queue, task), [ATTR.TASK_ATTEMPT]: task.attempts },
        },
        async (span) => {
          const end = await attempt();
          span.setAttribute(ATTR.TASK_OUTCOME, end.outcome);
          if (end.outcome === 'failed' || end.outcome === 'timeout' || end.outcome === 'retried') {
            span.setStatus({ code: SpanStatusCode.ERROR, message: end.reason ?? end.outcome });
          }
          return end;
        },
      );
    },
    aroundHandler: (task, run) => inSpan(`task ${task.type}`, { attributes: { [ATTR.TASK_ID]: task.id, [ATTR.TASK_TYPE]: task.type } }, run),
  };
}

