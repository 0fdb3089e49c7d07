/**
 * Node/V8 flags every Tasker process runs with: package.json scripts, the image's NODE_OPTIONS, and
 * the processes the tests, the benchmark and `npm start` spawn (a unit test keeps them in step).
 *
 * --max-semi-space-size=8: V8's young generation otherwise grows to 2 × 64 MB under load, which
 * alone put every process above 250 MB peak RSS in the benchmark (issue 7); request- and task-sized
 * garbage dies young either way, so 8 MB semi-spaces cost no measurable throughput.
 */
export const NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8'];
