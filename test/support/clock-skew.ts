/**
 * Preload (`NODE_OPTIONS=--require <this file>`) that moves a process's Date.now by
 * TEST_CLOCK_SKEW_MS: a worker whose clock is wrong, as after a bad NTP step. Test-only.
 */
const skew = Number(process.env.TEST_CLOCK_SKEW_MS ?? 0);
const realNow = Date.now.bind(Date);
Date.now = () => realNow() + skew;

export const CLOCK_SKEW_PRELOAD = __filename;
