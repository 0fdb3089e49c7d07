/**
 * The walls between Tasker's parts, enforced by `npm run lint` (dependency-cruiser):
 * api and worker never import each other, core imports neither, production code never imports
 * tests or the benchmark, the browser console is an island (it talks to the API over HTTP only),
 * and there is no import cycle anywhere.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    { name: 'no-cycles', severity: 'error', comment: 'import cycles make load order fragile', from: {}, to: { circular: true } },
    { name: 'api-not-worker', severity: 'error', comment: 'api and worker share only core', from: { path: '^services/api/' }, to: { path: '^services/worker/' } },
    { name: 'worker-not-api', severity: 'error', comment: 'api and worker share only core', from: { path: '^services/worker/' }, to: { path: '^services/api/' } },
    {
      name: 'core-not-services',
      severity: 'error',
      comment: 'core is what api and worker share; it depends on neither',
      from: { path: '^services/core/' },
      to: { path: '^services/(api|worker|migrate|keys|local)/' },
    },
    {
      name: 'production-not-tests',
      severity: 'error',
      comment: 'test code (task types, fault hooks, helpers) reaches a process only through EXTENSIONS',
      from: { path: '^(services|migrations)/' },
      to: { path: '^(test|bench)/' },
    },
    { name: 'bench-not-tests', severity: 'error', comment: 'the benchmark shares code with tests only through services/', from: { path: '^bench/' }, to: { path: '^test/' } },
    {
      name: 'console-is-an-island',
      severity: 'error',
      comment: 'the browser console reaches the API over HTTP only; it imports no server code, and no server code imports it',
      from: { path: '^services/console/' },
      to: { path: '^(services/(?!console/)|test/|bench/|migrations/|knexfile)' },
    },
    {
      name: 'nothing-imports-console',
      severity: 'error',
      comment: 'the console is a browser bundle (dist/console), not a library for the services',
      from: { path: '^(services/(?!console/)|test/|bench/|migrations/|knexfile)' },
      to: { path: '^services/console/' },
    },
    {
      name: 'console-runs-in-browsers',
      severity: 'error',
      comment: 'the console bundle runs in a browser: no Node built-ins (its build script excepted)',
      from: { path: '^services/console/', pathNot: '^services/console/build\\.mjs$' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'entry-points-apart',
      severity: 'error',
      comment: 'a main.ts is an entry point; nothing imports it',
      from: {},
      to: { path: '/main\\.ts$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    moduleSystems: ['cjs', 'es6'],
  },
};
