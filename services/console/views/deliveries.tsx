/** The completion webhook of a task and its deliveries (GET /tasks/:id → callback). */
import type { TaskView } from '../api-types';
import { formatInstant } from '../format';
import { ScrollRegion } from './scroll-region';

export function Deliveries({ callback }: { callback: TaskView['callback'] }) {
  if (!callback) return <p class="muted">This task has no webhook.</p>;
  return (
    <>
      <p class="small">
        Callback URL: <span class="mono break">{callback.url}</span>
      </p>
      {callback.deliveries.length === 0 ? (
        <p class="muted">No delivery yet: one is made when the task finishes.</p>
      ) : (
        <ScrollRegion label="Webhook deliveries">
          <table class="data">
            <caption class="visually-hidden">Webhook deliveries</caption>
            <thead>
              <tr>
                <th scope="col">Delivery</th>
                <th scope="col">Announces</th>
                <th scope="col">Status</th>
                <th scope="col">Attempts</th>
                <th scope="col">Last answer</th>
                <th scope="col">Created</th>
                <th scope="col">Delivered / next attempt</th>
              </tr>
            </thead>
            <tbody>
              {callback.deliveries.map((d) => (
                <tr key={d.id}>
                  <td class="mono nowrap">{d.id}</td>
                  <td>{d.task_status}</td>
                  <td>
                    <span class={`outcome outcome-${d.status}`}>{d.status}</span>
                  </td>
                  <td class="num">{d.attempts}</td>
                  <td class="error-cell">{[d.last_status === null ? null : `HTTP ${d.last_status}`, d.last_error].filter(Boolean).join(' · ') || '—'}</td>
                  <td class="nowrap">{formatInstant(d.created_at)}</td>
                  <td class="nowrap">{d.delivered_at ? formatInstant(d.delivered_at) : d.next_attempt_at ? `next ${formatInstant(d.next_attempt_at)}` : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </ScrollRegion>
      )}
    </>
  );
}
