/**
 * A modal question with the native <dialog> (showModal: focus stays inside, Escape closes, the
 * page behind is inert). "Back" or Escape closes it without doing anything.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef } from 'preact/hooks';

export interface ConfirmDialogProps {
  open: boolean;
  title: string;
  children?: ComponentChildren;
  confirmLabel?: string;
  busy?: boolean;
  onConfirm: () => void;
  onClose: () => void;
}

/** Opens and closes a native dialog with `open`, and reports closing by any means (Escape too). */
export function useModal(open: boolean) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  return ref;
}

export function ConfirmDialog({ open, title, children, confirmLabel = 'Confirm', busy = false, onConfirm, onClose }: ConfirmDialogProps) {
  const ref = useModal(open);
  const titleId = useId();
  return (
    <dialog ref={ref} class="dialog" aria-labelledby={titleId} onClose={onClose}>
      <h2 id={titleId}>{title}</h2>
      {children}
      <div class="actions">
        <button type="button" class="primary" disabled={busy} onClick={onConfirm}>
          {confirmLabel}
        </button>
        <button type="button" autofocus onClick={onClose}>
          Back
        </button>
      </div>
    </dialog>
  );
}
