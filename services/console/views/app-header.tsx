/** The bar on every signed-in page: where you are, who you are, and the way out. */
import type { WhoAmI } from '../api-types';
import { overviewHref, tasksHref, type Route } from '../router';

export function AppHeader({ who, route, onSignOut }: { who: WhoAmI; route: Route; onSignOut: () => void }) {
  const current = (name: 'overview' | 'tasks') =>
    (name === 'overview' ? route.name === 'overview' : route.name === 'tasks' || route.name === 'task') ? 'page' : undefined;
  return (
    <header class="app-header">
      <a class="skip-link" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>
        Skip to content
      </a>
      <span class="brand">Tasker</span>
      <nav aria-label="Console">
        <a href={overviewHref} aria-current={current('overview')}>
          Overview
        </a>
        <a href={tasksHref()} aria-current={current('tasks')}>
          Tasks
        </a>
      </nav>
      <span class="who">
        {/* AUTH_MODE=none answers client_id "": everyone is the same anonymous admin. */}
        Signed in as <strong>{who.client_id || 'anonymous'}</strong>
        {who.admin ? ' (admin)' : ''}
      </span>
      <button type="button" class="quiet" onClick={onSignOut}>
        Sign out
      </button>
    </header>
  );
}
