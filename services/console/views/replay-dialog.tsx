/**
 * Bulk replay of dead letters (POST /dead-letters/replay). The dialog first asks the API with
 * dry_run, so the confirmation states how many tasks would be replayed and at what rate, then
 * replays on the operator's word. Nothing changes until "Replay <n> tasks" is pressed.
 */
import { useEffect, useId, useState } from 'preact/hooks';
import { errorMessage, isAbort, type ApiClient } from '../api-client';
import { FAILURE_REASONS, type FailureReason, type ReplayRequest, type ReplayResult } from '../api-types';
import { useModal } from './confirm-dialog';
import { Alert } from './messages';

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;
/** Typing in a field waits this long before asking the API again. */
const SETTLE_MS = 300;

export interface ReplayDialogProps {
  api: ApiClient;
  open: boolean;
  /** The type the list is filtered by, as the starting value. */
  initialType: string;
  onClose: () => void;
  onReplayed: (result: ReplayResult) => void;
}

function requestOf(reason: string, type: string, limit: number): ReplayRequest {
  const r: ReplayRequest = { limit };
  if (reason) r.reason = reason as FailureReason;
  if (type.trim()) r.type = type.trim();
  return r;
}

export function ReplayDialog({ api, open, initialType, onClose, onReplayed }: ReplayDialogProps) {
  const ref = useModal(open);
  const titleId = useId();
  const [reason, setReason] = useState('');
  const [type, setType] = useState(initialType);
  const [limitText, setLimitText] = useState(String(DEFAULT_LIMIT));
  const [preview, setPreview] = useState<ReplayResult | null>(null);
  const [checking, setChecking] = useState(false);
  const [replaying, setReplaying] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const limit = Number(limitText);
  const limitValid = Number.isInteger(limit) && limit >= 1 && limit <= MAX_LIMIT;

  // Each time the dialog opens, start from the list's type filter.
  useEffect(() => {
    if (open) {
      setType(initialType);
      setError(null);
    }
  }, [open, initialType]);

  // The dry run: how many would be replayed with these fields, asked again when they settle.
  useEffect(() => {
    if (!open) return;
    setPreview(null);
    if (!limitValid) {
      setChecking(false);
      setError(`"At most" must be a whole number from 1 to ${MAX_LIMIT}.`);
      return;
    }
    setChecking(true);
    setError(null);
    const controller = new AbortController();
    const timer = setTimeout(() => {
      api
        .replayDeadLetters({ ...requestOf(reason, type, limit), dry_run: true }, controller.signal)
        .then((r) => {
          setPreview(r);
          setChecking(false);
        })
        .catch((e: unknown) => {
          if (isAbort(e)) return;
          setError(errorMessage(e));
          setChecking(false);
        });
    }, SETTLE_MS);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [api, open, reason, type, limit, limitValid]);

  const replay = async () => {
    if (!preview || preview.matched === 0) return;
    setReplaying(true);
    setError(null);
    try {
      const result = await api.replayDeadLetters(requestOf(reason, type, limit));
      onReplayed(result);
    } catch (e: unknown) {
      setError(errorMessage(e));
    } finally {
      setReplaying(false);
    }
  };

  const n = preview?.matched ?? 0;
  return (
    <dialog ref={ref} class="dialog" aria-labelledby={titleId} onClose={onClose}>
      <h2 id={titleId}>Replay failed tasks</h2>
      <p class="muted small">Failed tasks (dead letters) matching these fields go back to pending, released at the API's replay rate.</p>
      <form
        class="dialog-form"
        onSubmit={(e) => {
          e.preventDefault();
          void replay();
        }}
      >
        <div class="field">
          <label for="r-reason">Reason</label>
          <select id="r-reason" value={reason} onChange={(e) => setReason(e.currentTarget.value)}>
            <option value="">Any reason</option>
            {FAILURE_REASONS.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="r-type">Type</label>
          <input id="r-type" type="text" value={type} autocomplete="off" onInput={(e) => setType(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="r-limit">At most</label>
          <input id="r-limit" type="number" min={1} max={MAX_LIMIT} step={1} value={limitText} onInput={(e) => setLimitText(e.currentTarget.value)} />
        </div>
        <p class="replay-summary" aria-live="polite">
          {checking && 'Counting the failed tasks that match…'}
          {!checking && preview &&
            `This will replay ${preview.matched} failed tasks at ${preview.rate_per_second} per second (about ${Math.ceil(preview.spread_ms / 1000)} s).`}
        </p>
        {error && <Alert>{error}</Alert>}
        <div class="actions">
          <button type="submit" class="primary" disabled={checking || replaying || !preview || n === 0}>
            Replay {n} tasks
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </dialog>
  );
}
