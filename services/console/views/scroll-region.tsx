/**
 * A wide table's container: it scrolls horizontally in a narrow window instead of widening the
 * page. Focusable and labelled, so keyboard users can scroll it too (axe: scrollable-region-focusable).
 */
import type { ComponentChildren } from 'preact';

export function ScrollRegion({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <div class="scroll-region" role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}
