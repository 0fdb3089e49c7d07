/** Why an attempt's AbortSignal fired, so the failure classifier can tell a timeout from a drain. */
export type AbortKind = 'timeout' | 'shutdown' | 'lease_lost' | 'cancelled';

export class AbortReason extends Error {
  constructor(readonly kind: AbortKind) {
    super(`aborted: ${kind}`);
    this.name = 'AbortReason';
  }
}

/** The kind of a signal's abort, or null when it has not fired (or fired for another reason). */
export function abortKindOf(signal: AbortSignal): AbortKind | null {
  return signal.aborted && signal.reason instanceof AbortReason ? signal.reason.kind : null;
}
