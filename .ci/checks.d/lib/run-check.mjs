/**
 * The frame every process-running check shares: run `main`, print its one-line summary, or `✗` and
 * the reason with exit code 1; clean up either way.
 */
export async function runCheck(main, summary, cleanup) {
  try {
    await main();
    console.log(`  ${summary}`);
  } catch (e) {
    console.error(`  ✗ ${e.message}`);
    process.exitCode = 1;
  } finally {
    await cleanup();
  }
}
