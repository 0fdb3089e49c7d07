/**
 * A task's attempts: each failed one from `errors[]` (started_at → at), then the current or last
 * one (attempt_started_at → finished_at, or → now while it runs), as a table and a timeline.
 */
import type { TaskView } from '../api-types';
import { between, formatDuration, formatInstant } from '../format';
import { ScrollRegion } from './scroll-region';

export interface Attempt {
  attempt: number;
  startedAt: string | null;
  /** When it ended; null while it runs. */
  endedAt: string | null;
  outcome: string;
  error: string | null;
}

/** The attempts a task view tells of, oldest first. `now` ends a running attempt's bar. */
export function attemptsOf(t: TaskView): Attempt[] {
  const rows: Attempt[] = t.errors.map((e) => ({
    attempt: e.attempt,
    startedAt: e.started_at ?? null,
    endedAt: e.at,
    outcome: e.reason,
    error: e.message,
  }));
  const counted = new Set(rows.map((r) => r.attempt));
  // The attempt not among the failures: the one running, the one that succeeded, or one cancelled mid-run.
  if (t.attempts > 0 && !counted.has(t.attempts)) {
    const startedAt = t.attempt_started_at ?? null;
    if (t.status === 'processing') rows.push({ attempt: t.attempts, startedAt, endedAt: null, outcome: 'running', error: null });
    else if (t.status === 'done') rows.push({ attempt: t.attempts, startedAt, endedAt: t.finished_at, outcome: 'done', error: null });
    else if (t.status === 'cancelled') rows.push({ attempt: t.attempts, startedAt, endedAt: t.finished_at, outcome: 'cancelled', error: null });
  }
  return rows;
}

function Timeline({ attempts, now }: { attempts: Attempt[]; now: number }) {
  const spans = attempts.map((a) => {
    const end = a.endedAt ? Date.parse(a.endedAt) : now;
    const start = a.startedAt ? Date.parse(a.startedAt) : end;
    return { a, start, end };
  });
  const from = Math.min(...spans.map((s) => s.start));
  const to = Math.max(...spans.map((s) => s.end));
  const range = Math.max(1, to - from);
  return (
    <div class="timeline" aria-hidden="true">
      {spans.map(({ a, start, end }) => (
        <div class="timeline-row" key={a.attempt}>
          <span class="timeline-label">#{a.attempt}</span>
          <span class="timeline-track">
            <span
              class={`timeline-bar outcome-${a.outcome}`}
              // Set through the CSSOM by Preact (not a style="" attribute), which the CSP allows.
              style={{ left: `${((start - from) / range) * 100}%`, width: `max(3px, ${((end - start) / range) * 100}%)` }}
            />
          </span>
        </div>
      ))}
      <div class="timeline-axis muted small">
        <span>{formatInstant(new Date(from).toISOString())}</span>
        <span>{formatDuration(range)}</span>
      </div>
    </div>
  );
}

export function Attempts({ task }: { task: TaskView }) {
  const attempts = attemptsOf(task);
  const now = Date.now();
  if (attempts.length === 0) return <p class="muted">No attempt yet{task.status === 'pending' ? ` (due ${formatInstant(task.run_after)})` : ''}.</p>;
  return (
    <>
      <ScrollRegion label="Attempts">
        <table class="data">
          <caption class="visually-hidden">Attempts</caption>
          <thead>
            <tr>
              <th scope="col">Attempt</th>
              <th scope="col">Started</th>
              <th scope="col">Duration</th>
              <th scope="col">Outcome</th>
              <th scope="col">Error</th>
            </tr>
          </thead>
          <tbody>
            {attempts.map((a) => (
              <tr key={a.attempt}>
                <td class="num">{a.attempt}</td>
                <td class="nowrap">{a.startedAt ? <time dateTime={a.startedAt}>{formatInstant(a.startedAt)}</time> : '—'}</td>
                <td class="num nowrap">
                  {a.endedAt === null && a.startedAt ? `${formatDuration(now - Date.parse(a.startedAt))} so far` : formatDuration(between(a.startedAt, a.endedAt))}
                </td>
                <td>
                  <span class={`outcome outcome-${a.outcome}`}>{a.outcome}</span>
                </td>
                <td class="error-cell">{a.error ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </ScrollRegion>
      <Timeline attempts={attempts} now={now} />
    </>
  );
}
