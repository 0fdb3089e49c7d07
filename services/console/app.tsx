/**
 * The console's root: who is signed in, and which view the hash asks for. The API client is
 * built here once, with the credential held in memory (and mirrored in sessionStorage); a 401 on
 * any call signs the operator out with the API's message.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, createApiClient, errorMessage } from './api-client';
import type { WhoAmI } from './api-types';
import type { CredentialStore } from './credential-store';
import { overviewHref, useRoute, type Route } from './router';
import { AppHeader } from './views/app-header';
import { OverviewView } from './views/overview.view';
import { SignInView } from './views/sign-in.view';
import { TaskListView } from './views/task-list.view';
import { TaskPageView } from './views/task-page.view';

type Session = { state: 'checking' } | { state: 'signed-out'; notice: string | null } | { state: 'signed-in'; who: WhoAmI };

function rejected(e: ApiError): string {
  return `The credential was not accepted: ${e.message}`;
}

function titleOf(route: Route): string {
  switch (route.name) {
    case 'overview':
      return 'Overview';
    case 'tasks':
      return 'Tasks';
    case 'task':
      return `Task ${route.id}`;
    case 'not-found':
      return 'Not found';
  }
}

export function App({ store }: { store: CredentialStore }) {
  const credential = useRef<string | null>(store.read());
  const [session, setSession] = useState<Session>({ state: 'checking' });
  const route = useRoute();

  const api = useMemo(
    () =>
      createApiClient({
        credential: () => credential.current,
        onUnauthorized: (e) => {
          store.clear();
          credential.current = null;
          setSession({ state: 'signed-out', notice: rejected(e) });
        },
      }),
    [store],
  );

  // At start: a stored credential is checked again; without one, an API with AUTH_MODE=none
  // answers /whoami anyway and the sign-in is skipped.
  useEffect(() => {
    const stored = credential.current;
    api.whoami(stored).then(
      (who) => setSession({ state: 'signed-in', who }),
      (e: unknown) => {
        if (e instanceof ApiError && e.status === 401) {
          if (stored) store.clear();
          credential.current = null;
          setSession({ state: 'signed-out', notice: stored ? rejected(e) : null });
        } else setSession({ state: 'signed-out', notice: errorMessage(e) });
      },
    );
  }, [api, store]);

  useEffect(() => {
    document.title = session.state === 'signed-in' ? `${titleOf(route)} · Tasker` : 'Sign in · Tasker';
  }, [session.state, route]);

  // A new view takes the focus, so keyboard and screen-reader users start at its top.
  const firstRoute = useRef(true);
  useEffect(() => {
    if (firstRoute.current) {
      firstRoute.current = false;
      return;
    }
    document.getElementById('main')?.focus();
  }, [route]);

  const signIn = async (value: string) => {
    let who: WhoAmI;
    try {
      who = await api.whoami(value);
    } catch (e: unknown) {
      throw new Error(e instanceof ApiError && e.status === 401 ? rejected(e) : errorMessage(e), { cause: e });
    }
    store.save(value);
    credential.current = value;
    setSession({ state: 'signed-in', who });
  };

  const signOut = () => {
    store.clear();
    credential.current = null;
    setSession({ state: 'signed-out', notice: null });
  };

  if (session.state === 'checking') return <p class="boot">Loading the Tasker console…</p>;
  if (session.state === 'signed-out') return <SignInView onSignIn={signIn} notice={session.notice} />;

  return (
    <>
      <AppHeader who={session.who} route={route} onSignOut={signOut} />
      {route.name === 'overview' && <OverviewView api={api} />}
      {route.name === 'tasks' && <TaskListView api={api} filter={route.filter} />}
      {route.name === 'task' && <TaskPageView key={route.id} api={api} id={route.id} />}
      {route.name === 'not-found' && (
        <main id="main" tabIndex={-1}>
          <h1>Not found</h1>
          <p>
            Nothing lives at <span class="mono">#{route.path}</span>. Go to the <a href={overviewHref}>overview</a>.
          </p>
        </main>
      )}
    </>
  );
}
