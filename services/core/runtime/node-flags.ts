/**
 * Node/V8 flags every Tasker process runs with: package.json scripts, the image's ENTRYPOINT, and
 * the processes the tests, the benchmark and `npm start` spawn (a unit test keeps them in step).
 * They trade a little GC CPU for a small resident set, which is what a pod's memory request pays
 * for (issue 7 asks for at most 150 MB per process):
 *
 * --max-semi-space-size=8: V8's young generation otherwise grows to 2 × 64 MB under load, which
 * alone put every process above 250 MB peak RSS in the benchmark; request- and task-sized garbage
 * dies young either way.
 * --heap-growing-percent=30: after a full GC the old generation may grow to 1.3 × the live set
 * (V8 otherwise allows up to 4 ×, and promoted garbage fills it). At 200 connections the API's peak
 * RSS fell from 186-204 MB to 130-138 MB for about 10 % more CPU per request. It only sets when the
 * next full GC runs; the heap still grows as far as the live set needs.
 */
export const NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8', '--heap-growing-percent=30'];
