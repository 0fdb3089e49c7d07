/** The task list's filters. Applying them writes the hash, which the list reads back. */
import { useState } from 'preact/hooks';
import { TASK_STATUSES, type TaskFilter, type TaskStatus } from '../api-types';
import { fromLocalInput, toLocalInput } from '../format';

interface Fields {
  status: string;
  type: string;
  createdAfter: string;
  createdBefore: string;
  q: string;
}

function fieldsOf(f: TaskFilter): Fields {
  return {
    status: f.status ?? '',
    type: f.type ?? '',
    createdAfter: toLocalInput(f.created_after),
    createdBefore: toLocalInput(f.created_before),
    q: f.q ?? '',
  };
}

function filterOf(v: Fields): TaskFilter {
  const f: TaskFilter = {};
  if (v.status) f.status = v.status as TaskStatus;
  if (v.type.trim()) f.type = v.type.trim();
  const after = fromLocalInput(v.createdAfter);
  if (after) f.created_after = after;
  const before = fromLocalInput(v.createdBefore);
  if (before) f.created_before = before;
  if (v.q.trim()) f.q = v.q.trim();
  return f;
}

/** Remount it (key) when the filter in the hash changes, so the fields show what is applied. */
export function TaskFilterForm({ filter, onApply }: { filter: TaskFilter; onApply: (f: TaskFilter) => void }) {
  const [v, setV] = useState(() => fieldsOf(filter));
  const set = (key: keyof Fields) => (e: Event) => setV({ ...v, [key]: (e.currentTarget as HTMLInputElement | HTMLSelectElement).value });
  const anySet = Object.values(filter).some(Boolean);
  return (
    <form
      role="search"
      aria-label="Filter tasks"
      class="filters"
      onSubmit={(e) => {
        e.preventDefault();
        onApply(filterOf(v));
      }}
    >
      <div class="field">
        <label for="f-status">Status</label>
        <select id="f-status" value={v.status} onChange={set('status')}>
          <option value="">Any status</option>
          {TASK_STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </div>
      <div class="field">
        <label for="f-type">Type</label>
        <input id="f-type" type="text" value={v.type} onInput={set('type')} autocomplete="off" />
      </div>
      <div class="field">
        <label for="f-after">Created after</label>
        <input id="f-after" type="datetime-local" value={v.createdAfter} onInput={set('createdAfter')} />
      </div>
      <div class="field">
        <label for="f-before">Created before</label>
        <input id="f-before" type="datetime-local" value={v.createdBefore} onInput={set('createdBefore')} />
      </div>
      <div class="field field-wide">
        <label for="f-q">Error contains</label>
        <input id="f-q" type="search" value={v.q} maxLength={200} onInput={set('q')} autocomplete="off" />
      </div>
      <div class="field field-buttons">
        <button type="submit" class="primary">
          Apply filters
        </button>
        {anySet && (
          <button type="button" onClick={() => onApply({})}>
            Clear
          </button>
        )}
      </div>
    </form>
  );
}
