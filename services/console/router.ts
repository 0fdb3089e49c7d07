/**
 * Hash routing: `#/overview`, `#/tasks?status=failed&type=…`, `#/tasks/<id>`. The list's filters
 * live in the hash query under the API's own parameter names, so a filtered list is a link.
 */
import { useEffect, useState } from 'preact/hooks';
import { TASK_STATUSES, type TaskFilter, type TaskStatus } from './api-types';

export type Route =
  | { name: 'overview' }
  | { name: 'tasks'; filter: TaskFilter }
  | { name: 'task'; id: string }
  | { name: 'not-found'; path: string };

const FILTER_KEYS = ['status', 'type', 'created_after', 'created_before', 'q'] as const;

function isStatus(s: string): s is TaskStatus {
  return (TASK_STATUSES as readonly string[]).includes(s);
}

export function parseRoute(hash: string): Route {
  const raw = hash.replace(/^#/, '');
  const [path = '', query = ''] = raw.split('?', 2);
  if (path === '' || path === '/' || path === '/overview') return { name: 'overview' };
  if (path === '/tasks') {
    const params = new URLSearchParams(query);
    const filter: TaskFilter = {};
    for (const key of FILTER_KEYS) {
      const value = params.get(key)?.trim();
      if (!value) continue;
      if (key === 'status') {
        if (isStatus(value)) filter.status = value;
      } else filter[key] = value;
    }
    return { name: 'tasks', filter };
  }
  const task = /^\/tasks\/([^/?]+)$/.exec(path);
  if (task?.[1]) return { name: 'task', id: decodeURIComponent(task[1]) };
  return { name: 'not-found', path };
}

export function tasksHref(filter: TaskFilter = {}): string {
  const params = new URLSearchParams();
  for (const key of FILTER_KEYS) {
    const value = filter[key];
    if (value) params.set(key, value);
  }
  const query = params.toString();
  return query ? `#/tasks?${query}` : '#/tasks';
}

export function taskHref(id: string): string {
  return `#/tasks/${encodeURIComponent(id)}`;
}

export const overviewHref = '#/overview';

/** The current route, updated on every hash change. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
