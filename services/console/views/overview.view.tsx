/**
 * The overview: per task type, the backlog and the last hour's outcomes, as the API computes them
 * from PostgreSQL (GET /overview), refreshed every 5 s while the tab is visible.
 */
import { useMemo, useState } from 'preact/hooks';
import { errorMessage, isAbort, type ApiClient } from '../api-client';
import type { Overview, TypeOverview } from '../api-types';
import { formatAge, formatInstant } from '../format';
import { tasksHref } from '../router';
import { usePolling } from '../use-polling';
import { Alert } from './messages';
import { ChartLegend, OutcomeChart, type OutcomeSeries } from './outcome-chart';
import { ScrollRegion } from './scroll-region';

const REFRESH_MS = 5000;

function seriesOf(overview: Overview, t: TypeOverview): OutcomeSeries {
  const start = Date.parse(overview.series_start) / 1000;
  const times = Array.from({ length: overview.buckets }, (_, i) => start + i * overview.bucket_seconds);
  return { times, done: t.series.done, failed: t.series.failed };
}

function TypeChart({ overview, type }: { overview: Overview; type: TypeOverview }) {
  const series = useMemo(() => seriesOf(overview, type), [overview, type]);
  return (
    <figure class="card chart-card">
      <figcaption>Done and failed per minute: {type.type}</figcaption>
      <ChartLegend />
      <OutcomeChart series={series} />
      <p class="muted small">
        Last hour: {type.last_hour.done} done, {type.last_hour.failed} failed, {type.last_hour.cancelled} cancelled.
      </p>
    </figure>
  );
}

export function OverviewView({ api }: { api: ApiClient }) {
  const [overview, setOverview] = useState<Overview | null>(null);
  const [error, setError] = useState<string | null>(null);

  usePolling(
    async (signal) => {
      try {
        const o = await api.overview(signal);
        setOverview(o);
        setError(null);
      } catch (e: unknown) {
        if (!isAbort(e)) setError(errorMessage(e));
      }
    },
    () => REFRESH_MS,
    [api],
  );

  return (
    <main id="main" tabIndex={-1}>
      <div class="page-head">
        <h1>Overview</h1>
        {overview && <p class="muted small">Updated {formatInstant(overview.generated_at)} · refreshes every 5 s</p>}
      </div>
      {error && <Alert>{error}</Alert>}
      {!overview && !error && <p class="muted">Loading…</p>}
      {overview && (
        <>
          <ScrollRegion label="Task types">
            <table class="data numeric">
              <caption>Task types</caption>
              <thead>
                <tr>
                  <th scope="col">Type</th>
                  <th scope="col">Due</th>
                  <th scope="col">Delayed</th>
                  <th scope="col">Running</th>
                  <th scope="col">Oldest pending</th>
                  <th scope="col">Dead letters</th>
                  <th scope="col">Done (1 h)</th>
                  <th scope="col">Failed (1 h)</th>
                </tr>
              </thead>
              <tbody>
                {overview.types.length === 0 && (
                  <tr>
                    <td colSpan={8} class="empty">
                      No task types are registered.
                    </td>
                  </tr>
                )}
                {overview.types.map((t) => (
                  <tr key={t.type}>
                    <th scope="row">
                      <a href={tasksHref({ type: t.type })}>{t.type}</a>
                    </th>
                    <td>{t.pending_due}</td>
                    <td>{t.pending_delayed}</td>
                    <td>{t.running}</td>
                    <td>{formatAge(t.oldest_pending_age_ms)}</td>
                    <td class={t.dead_letters > 0 ? 'warn' : undefined}>
                      {t.dead_letters > 0 ? <a href={tasksHref({ type: t.type, status: 'failed' })}>{t.dead_letters}</a> : t.dead_letters}
                    </td>
                    <td>{t.last_hour.done}</td>
                    <td class={t.last_hour.failed > 0 ? 'warn' : undefined}>{t.last_hour.failed}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </ScrollRegion>
          <div class="chart-grid">
            {overview.types.map((t) => (
              <TypeChart key={t.type} overview={overview} type={t} />
            ))}
          </div>
        </>
      )}
    </main>
  );
}
