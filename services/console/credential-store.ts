/**
 * The operator's credential (an API key or a JWT), kept for this browser tab's session only
 * (sessionStorage: gone when the tab closes, never sent as a cookie).
 */
const KEY = 'tasker.credential';

export interface CredentialStore {
  read(): string | null;
  save(credential: string): void;
  clear(): void;
}

export function createCredentialStore(storage: Storage = window.sessionStorage): CredentialStore {
  return {
    read: () => {
      try {
        return storage.getItem(KEY);
      } catch {
        return null; // storage disabled by the browser: behave as signed out
      }
    },
    save: (credential) => {
      try {
        storage.setItem(KEY, credential);
      } catch {
        // Storage disabled: the credential lives only until the next reload.
      }
    },
    clear: () => {
      try {
        storage.removeItem(KEY);
      } catch {
        // nothing stored
      }
    },
  };
}
