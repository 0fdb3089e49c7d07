/** The sign-in: one credential (an API key or a JWT), checked with GET /whoami before it is kept. */
import { useState } from 'preact/hooks';
import { Alert } from './messages';

export interface SignInProps {
  /** Resolves when the credential was accepted; rejects with the message to show otherwise. */
  onSignIn: (credential: string) => Promise<void>;
  /** Why the operator is here again (a rejected credential, an unreachable API), if anything. */
  notice: string | null;
}

export function SignInView({ onSignIn, notice }: SignInProps) {
  const [credential, setCredential] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    const value = credential.trim();
    if (!value) {
      setError('Enter an API key or a JWT.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await onSignIn(value);
    } catch (err: unknown) {
      setError(err instanceof Error ? err.message : String(err));
      setBusy(false);
    }
  };

  const message = error ?? notice;
  return (
    <main id="main" class="sign-in">
      <h1>Sign in to Tasker</h1>
      <p class="muted">Use the API key or JWT you call the API with. It is kept in this tab only and cleared when you sign out or close the tab.</p>
      {message && <Alert>{message}</Alert>}
      <form class="sign-in-form" onSubmit={(e) => void submit(e)}>
        <label for="credential">API key or JWT</label>
        <input
          id="credential"
          name="credential"
          type="password"
          autocomplete="off"
          spellcheck={false}
          required
          value={credential}
          onInput={(e) => setCredential(e.currentTarget.value)}
        />
        <button type="submit" class="primary" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}
