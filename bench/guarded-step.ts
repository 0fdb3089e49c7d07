/** One benchmark step: its failure is recorded and reported, and the run goes on to the next. */
export async function guardedStep<T>(name: string, fn: () => Promise<T>, errors: string[]): Promise<T | null> {
  try {
    return await fn();
  } catch (e) {
    const msg = `${name}: ${e instanceof Error ? e.message : String(e)}`;
    errors.push(msg.split('\n').slice(0, 8).join('\n  '));
    process.stderr.write(`  failed: ${msg}\n`);
    return null;
  }
}
