/** The console's entry point (bundled into dist/console/app.js): mounts the app on #app. */
import { render } from 'preact';
import { App } from './app';
import { createCredentialStore } from './credential-store';

const root = document.getElementById('app');
if (root) {
  root.textContent = '';
  render(<App store={createCredentialStore()} />, root);
}
