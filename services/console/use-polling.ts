/**
 * A bounded poll: `load` runs at once, then again the number of milliseconds it resolved to after
 * it finished (null: not again until the inputs change or `refresh()`), never two at a time, and
 * only while the document is visible; when the tab comes back it runs at once. The delay comes from
 * `load` itself because only it knows the answer it just got (a task turned terminal, a search the
 * API refused), before any re-render.
 * The AbortSignal passed to `load` fires when the inputs change or the view goes away, so a late
 * answer for an old filter never lands on the new one.
 */
import { useCallback, useEffect, useRef } from 'preact/hooks';

export function usePolling(load: (signal: AbortSignal) => Promise<number | null>, inputs: readonly unknown[]): () => void {
  const loadRef = useRef(load);
  loadRef.current = load;
  const refreshRef = useRef<() => void>(() => undefined);

  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let running = false;
    let again = false;
    // The delay the last run asked for; kept so a tab coming back knows whether to resume.
    let next: number | null = 0;

    const schedule = () => {
      if (next === null || controller.signal.aborted || document.hidden) return;
      timer = setTimeout(() => void tick(), next);
    };
    const tick = async () => {
      clearTimeout(timer);
      timer = undefined;
      if (controller.signal.aborted) return;
      if (running) {
        again = true;
        return;
      }
      running = true;
      try {
        next = await loadRef.current(controller.signal);
      } catch {
        next = null; // a load handles its own errors; one that throws is not retried blindly
      } finally {
        running = false;
      }
      if (again) {
        again = false;
        void tick();
      } else schedule();
    };
    const onVisibility = () => {
      if (document.hidden) {
        clearTimeout(timer);
        timer = undefined;
      } else if (!running && next !== null) void tick();
    };

    refreshRef.current = () => void tick();
    document.addEventListener('visibilitychange', onVisibility);
    void tick();
    return () => {
      controller.abort();
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisibility);
    };
    // The caller names the inputs that restart the poll (a filter, a task id), as with useEffect.
  }, inputs);

  return useCallback(() => refreshRef.current(), []);
}
