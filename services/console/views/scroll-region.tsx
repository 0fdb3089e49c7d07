/**
 * A wide table's container: it scrolls horizontally in a narrow window instead of widening the
 * page. Focusable and labelled, so keyboard users can scroll it too (axe: scrollable-region-focusable).
 */
import type { ComponentChildren } from 'preact';

export function ScrollRegion({ label, children }: { label: string; children: ComponentChildren }) {
  // "<caption> table": a page section may already be a region named by its heading ("Attempts").
  return (
    <div class="scroll-region" role="region" aria-label={`${label} table`} tabIndex={0}>
      {children}
    </div>
  );
}
