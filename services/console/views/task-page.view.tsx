/**
 * One task's life: its fields, payload and result, every attempt, its webhook deliveries, and the
 * two actions (retry, cancel), each confirmed first. Re-read every 2 s while the task can still
 * change, every 10 s once it is terminal (a retry or a replay can still bring it back).
 */
import { useState } from 'preact/hooks';
import { ApiError, errorMessage, isAbort, type ApiClient } from '../api-client';
import { isTerminal, type TaskView } from '../api-types';
import { formatDuration, formatInstant, formatJson } from '../format';
import { tasksHref } from '../router';
import { usePolling } from '../use-polling';
import { Attempts } from './attempts';
import { ConfirmDialog } from './confirm-dialog';
import { Deliveries } from './deliveries';
import { Alert, Status } from './messages';
import { StatusBadge } from './status-badge';

const ACTIVE_REFRESH_MS = 2000;
const TERMINAL_REFRESH_MS = 10_000;

type Action = 'retry' | 'cancel';

const ACTIONS: Record<Action, { question: string; done: string; explain: string }> = {
  retry: {
    question: 'Retry this task?',
    done: 'Retry requested.',
    explain: 'It goes back to pending with a fresh set of attempts and runs again.',
  },
  cancel: {
    question: 'Cancel this task?',
    done: 'Task cancelled.',
    explain: 'A pending task will not start; a running one is told to stop. A cancelled task can be retried later.',
  },
};

function Trace({ task }: { task: TaskView }) {
  if (task.trace_url) {
    return (
      <a href={task.trace_url} target="_blank" rel="noopener noreferrer">
        Open trace
      </a>
    );
  }
  if (task.trace_id) return <span class="mono">{task.trace_id}</span>;
  return <>—</>;
}

function Json({ value, empty }: { value: unknown; empty: string }) {
  if (value === null || value === undefined) return <p class="muted">{empty}</p>;
  return (
    <pre class="json" tabIndex={0}>
      {formatJson(value)}
    </pre>
  );
}

export function TaskPageView({ api, id }: { api: ApiClient; id: string }) {
  const [task, setTask] = useState<TaskView | null>(null);
  const [loadError, setLoadError] = useState<{ notFound: boolean; message: string } | null>(null);
  // The dialog stays mounted (closing it natively gives focus back to the button that opened it).
  const [action, setAction] = useState<Action>('retry');
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<{ ok: boolean; message: string } | null>(null);

  const shown = task?.task_id === id ? task : null;

  const refresh = usePolling(
    async (signal) => {
      try {
        const t = await api.getTask(id, signal);
        setTask(t);
        setLoadError(null);
      } catch (e: unknown) {
        if (isAbort(e)) return;
        const notFound = e instanceof ApiError && e.status === 404;
        setLoadError({ notFound, message: notFound ? `Task ${id} not found.` : errorMessage(e) });
        if (notFound) setTask(null);
      }
    },
    () => (loadError?.notFound ? null : shown && isTerminal(shown.status) ? TERMINAL_REFRESH_MS : ACTIVE_REFRESH_MS),
    [api, id],
  );

  const act = async (action: Action) => {
    setBusy(true);
    setOutcome(null);
    try {
      const t = action === 'retry' ? await api.retryTask(id) : await api.cancelTask(id);
      setTask(t);
      setOutcome({ ok: true, message: ACTIONS[action].done });
    } catch (e: unknown) {
      setOutcome({ ok: false, message: errorMessage(e) });
    } finally {
      setBusy(false);
      setConfirming(false);
      refresh();
    }
  };

  const canRetry = shown?.status === 'failed' || shown?.status === 'cancelled';
  const canCancel = shown?.status === 'pending' || shown?.status === 'processing';

  return (
    <main id="main" tabIndex={-1}>
      <p class="crumbs small">
        <a href={tasksHref()}>Tasks</a>
        {shown && (
          <>
            {' › '}
            <a href={tasksHref({ type: shown.type })}>{shown.type}</a>
          </>
        )}
      </p>
      <div class="page-head">
        <h1 class="task-title">
          Task <span class="mono">{id}</span>
        </h1>
        <div class="actions">
          <button type="button" disabled={!canRetry || busy} onClick={() => {
              setAction('retry');
              setConfirming(true);
            }}>
            Retry
          </button>
          <button type="button" class="danger" disabled={!canCancel || busy} onClick={() => {
              setAction('cancel');
              setConfirming(true);
            }}>
            Cancel task
          </button>
        </div>
      </div>
      {outcome && (outcome.ok ? <Status>{outcome.message}</Status> : <Alert>{outcome.message}</Alert>)}
      {loadError && <Alert>{loadError.message}</Alert>}
      {!shown && !loadError && <p class="muted">Loading…</p>}
      {shown && (
        <>
          <dl class="facts">
            <div>
              <dt>Status</dt>
              <dd>
                <StatusBadge status={shown.status} />
              </dd>
            </div>
            <div>
              <dt>Type</dt>
              <dd>{shown.type}</dd>
            </div>
            <div>
              <dt>Attempts</dt>
              <dd>
                {shown.attempts} of {shown.max_attempts}
              </dd>
            </div>
            <div>
              <dt>Priority</dt>
              <dd>{shown.priority}</dd>
            </div>
            <div>
              <dt>Created</dt>
              <dd>{formatInstant(shown.created_at)}</dd>
            </div>
            {shown.status === 'pending' && (
              <div>
                <dt>Due</dt>
                <dd>{formatInstant(shown.run_after)}</dd>
              </div>
            )}
            <div>
              <dt>Started</dt>
              <dd>{formatInstant(shown.started_at)}</dd>
            </div>
            <div>
              <dt>Finished</dt>
              <dd>{formatInstant(shown.finished_at)}</dd>
            </div>
            <div>
              <dt>Timeout</dt>
              <dd>{formatDuration(shown.timeout_ms)}</dd>
            </div>
            <div>
              <dt>Trace</dt>
              <dd>
                <Trace task={shown} />
              </dd>
            </div>
            {shown.schedule_id && (
              <div>
                <dt>Schedule</dt>
                <dd class="mono">{shown.schedule_id}</dd>
              </div>
            )}
          </dl>
          <div class="sections">
            <section aria-labelledby="h-payload">
              <h2 id="h-payload">Payload</h2>
              <Json value={shown.payload} empty="No payload." />
            </section>
            <section aria-labelledby="h-result">
              <h2 id="h-result">Result</h2>
              <Json value={shown.result} empty={shown.status === 'done' ? 'The handler returned nothing.' : 'No result yet.'} />
            </section>
          </div>
          <section aria-labelledby="h-attempts">
            <h2 id="h-attempts">Attempts</h2>
            <Attempts task={shown} />
          </section>
          <section aria-labelledby="h-deliveries">
            <h2 id="h-deliveries">Webhook deliveries</h2>
            <Deliveries callback={shown.callback ?? null} />
          </section>
        </>
      )}
      <ConfirmDialog open={confirming} title={ACTIONS[action].question} busy={busy} onConfirm={() => void act(action)} onClose={() => setConfirming(false)}>
        <p>{ACTIONS[action].explain}</p>
      </ConfirmDialog>
    </main>
  );
}
