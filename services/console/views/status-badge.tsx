/** A task status as a coloured badge whose text is exactly the status. */
import type { TaskStatus } from '../api-types';

export function StatusBadge({ status }: { status: TaskStatus }) {
  return <span class={`badge badge-${status}`}>{status}</span>;
}
