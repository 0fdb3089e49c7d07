/**
 * A bounded poll: `load` runs at once, then `intervalMs()` after the previous run finished (never
 * two at a time), only while the document is visible; when the tab comes back it runs at once.
 * The AbortSignal passed to `load` fires when the inputs change or the view goes away, so a late
 * answer for an old filter never lands on the new one.
 */
import { useCallback, useEffect, useRef } from 'preact/hooks';

export function usePolling(load: (signal: AbortSignal) => Promise<void>, intervalMs: () => number | null, inputs: readonly unknown[]): () => void {
  const loadRef = useRef(load);
  const intervalRef = useRef(intervalMs);
  loadRef.current = load;
  intervalRef.current = intervalMs;
  const refreshRef = useRef<() => void>(() => undefined);

  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let running = false;
    let again = false;

    const schedule = () => {
      const ms = intervalRef.current();
      if (ms === null || controller.signal.aborted || document.hidden) return;
      timer = setTimeout(() => void tick(), ms);
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
        await loadRef.current(controller.signal);
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
      } else if (!running) void tick();
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
