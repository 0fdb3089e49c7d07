/**
 * The task list: filters in the hash, newest first, keyset pages (GET /tasks … cursor). The first
 * page refreshes every 5 s while visible; older pages stay as they were loaded.
 */
import { useState } from 'preact/hooks';
import { errorMessage, isAbort, type ApiClient } from '../api-client';
import type { ReplayResult, TaskFilter, TaskPage } from '../api-types';
import { formatInstant } from '../format';
import { taskHref, tasksHref } from '../router';
import { usePolling } from '../use-polling';
import { Alert, Status } from './messages';
import { ReplayDialog } from './replay-dialog';
import { ScrollRegion } from './scroll-region';
import { StatusBadge } from './status-badge';
import { TaskFilterForm } from './task-filter-form';

const PAGE_SIZE = 50;
const REFRESH_MS = 5000;

export function TaskListView({ api, filter }: { api: ApiClient; filter: TaskFilter }) {
  const filterKey = tasksHref(filter);
  // The cursors that led to the current page; empty on the first page. Reset with the filter.
  const [cursors, setCursors] = useState<{ key: string; stack: string[] }>({ key: filterKey, stack: [] });
  const stack = cursors.key === filterKey ? cursors.stack : [];
  const cursor = stack.at(-1);
  const [page, setPage] = useState<{ key: string; cursor: string | undefined; data: TaskPage } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [replayOpen, setReplayOpen] = useState(false);
  const [replayed, setReplayed] = useState<ReplayResult | null>(null);

  const refresh = usePolling(
    async (signal) => {
      try {
        const data = await api.listTasks(filter, { limit: PAGE_SIZE, cursor }, signal);
        setPage({ key: filterKey, cursor, data });
        setError(null);
      } catch (e: unknown) {
        if (!isAbort(e)) setError(errorMessage(e));
      }
    },
    () => (cursor === undefined ? REFRESH_MS : null),
    [api, filterKey, cursor],
  );

  const current = page && page.key === filterKey && page.cursor === cursor ? page.data : null;
  const tasks = current?.tasks ?? [];
  const loading = !current && !error;

  const goOlder = () => {
    if (current?.next_cursor) setCursors({ key: filterKey, stack: [...stack, current.next_cursor] });
  };
  const goNewer = () => setCursors({ key: filterKey, stack: stack.slice(0, -1) });

  return (
    <main id="main" tabIndex={-1}>
      <div class="page-head">
        <h1>Tasks</h1>
        <button type="button" onClick={() => { setReplayed(null); setReplayOpen(true); }}>
          Replay failed tasks…
        </button>
      </div>
      <TaskFilterForm key={filterKey} filter={filter} onApply={(f) => (window.location.hash = tasksHref(f))} />
      {replayed && <Status>Replayed {replayed.replayed} tasks.</Status>}
      {error && <Alert>{error}</Alert>}
      <ScrollRegion label="Tasks">
        <table class="data">
          <caption>Tasks</caption>
          <thead>
            <tr>
              <th scope="col">Task</th>
              <th scope="col">Type</th>
              <th scope="col">Status</th>
              <th scope="col">Attempts</th>
              <th scope="col">Created</th>
              <th scope="col">Last error</th>
            </tr>
          </thead>
          <tbody>
            {loading && (
              <tr>
                <td colSpan={6} class="empty">
                  Loading…
                </td>
              </tr>
            )}
            {current && tasks.length === 0 && (
              <tr>
                <td colSpan={6} class="empty">
                  No tasks match these filters.
                </td>
              </tr>
            )}
            {tasks.map((t) => (
              <tr key={t.task_id}>
                <td class="mono nowrap">
                  <a href={taskHref(t.task_id)}>{t.task_id}</a>
                </td>
                <td class="nowrap">{t.type}</td>
                <td>
                  <StatusBadge status={t.status} />
                </td>
                <td class="num nowrap">
                  {t.attempts} / {t.max_attempts}
                </td>
                <td class="nowrap">
                  <time dateTime={t.created_at}>{formatInstant(t.created_at)}</time>
                </td>
                <td class="error-cell">{t.error ? `${t.error.reason}: ${t.error.message}` : ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </ScrollRegion>
      <div class="pager">
        <button type="button" disabled={stack.length === 0} onClick={goNewer}>
          Newer
        </button>
        <span class="muted small">
          {stack.length === 0 ? 'Newest first · refreshes every 5 s' : `Page ${stack.length + 1}`}
        </span>
        <button type="button" disabled={!current?.next_cursor} onClick={goOlder}>
          Older
        </button>
      </div>
      <ReplayDialog
        api={api}
        open={replayOpen}
        initialType={filter.type ?? ''}
        onClose={() => setReplayOpen(false)}
        onReplayed={(r) => {
          setReplayOpen(false);
          setReplayed(r);
          refresh();
        }}
      />
    </main>
  );
}
