/** The two ways the console reports an outcome: an alert (something failed) and a status (it worked). */
import type { ComponentChildren } from 'preact';

export function Alert({ children }: { children: ComponentChildren }) {
  return (
    <p role="alert" class="message message-error">
      {children}
    </p>
  );
}

export function Status({ children }: { children: ComponentChildren }) {
  return (
    <p role="status" class="message message-ok">
      {children}
    </p>
  );
}
