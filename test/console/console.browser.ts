/**
 * Issue 18: the web console in a real browser. Debian's Chromium (headless, driven by
 * playwright-core) against the real API and worker (AUTH_MODE=required), PostgreSQL and RabbitMQ.
 * Every expectation about data comes from PostgreSQL itself, queried here, not from the API.
 *
 * Seeded before the scenarios (client A unless said otherwise), with a worker that runs only
 * `simulate`, so tasks of the test extension's types stay pending and due:
 *  - 4 simulate done; 4 simulate failed (failTimes 3 = every one of its 3 attempts throws, so a
 *    retry or replay, whose attempt is the 4th, succeeds); 2 simulate delayed 10 min;
 *    1 simulate running (10 min); 2 test.record pending and due (no worker takes them);
 *  - client B: 2 simulate done, 1 simulate failed.
 * Scenarios run in order on that state (the retry and the replay change it, and come after the views).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { submitTask } from '../support/api-client';
import { createKey } from '../support/keys';
import { startStack, type Stack } from '../support/stack';
import { taskTypes } from '../../services/core/tasks/task-types';
import { extension } from '../plugin/test-extension';
import {
  NARROW,
  PageErrors,
  axeViolations,
  columnNames,
  credentialInput,
  definitionOf,
  eventually,
  go,
  horizontalOverflow,
  isFocused,
  launchChromium,
  openConsole,
  readTable,
  screenshot,
  signIn,
  signInHeading,
  type ConsolePage,
  type Row,
} from './browser';

const CLIENT_A = 'client-a';
const CLIENT_B = 'client-b';
const ADMIN = 'ops';
const REPLAY_RATE = 20;
const OVERVIEW_COLUMNS = ['Type', 'Due', 'Delayed', 'Running', 'Oldest pending', 'Dead letters', 'Done (1 h)', 'Failed (1 h)'];
const TASK_COLUMNS = ['Task', 'Type', 'Status', 'Attempts', 'Created', 'Last error'];
const ATTEMPT_COLUMNS = ['Attempt', 'Started', 'Duration', 'Outcome', 'Error'];

interface TaskRow {
  id: string;
  type: string;
  status: string;
  attempts: number;
  errors: { message: string; attempt: number }[];
}

describe('console in a real browser (issue 18)', () => {
  let s: Stack;
  let browser: Browser;
  let keyA: string;
  let keyB: string;
  let adminKey: string;
  const errors = new PageErrors();
  const open: ConsolePage[] = [];
  const seeded = { aFailed: [] as string[], aLong: '', aAll: [] as string[], bAll: [] as string[] };

  before(async () => {
    s = await startStack({
      AUTH_MODE: 'required',
      AUTH_KEY_CACHE_MS: '0',
      // Failed attempts come back fast (the simulate type's 3 attempts end within a second).
      RETRY_BASE_MS: '100',
      RETRY_MAX_MS: '200',
      SWEEP_INTERVAL_MS: '200',
      REPLAY_RATE_PER_SECOND: String(REPLAY_RATE),
      // Tasks of the test extension's types stay pending and due: a stable "Due" count.
      WORKER_TASK_TYPES: 'simulate',
    });
    [keyA, keyB, adminKey] = await Promise.all([createKey(s.t.env, CLIENT_A), createKey(s.t.env, CLIENT_B), createKey(s.t.env, ADMIN, true)]);
    browser = await launchChromium();
    await seed();
  });
  after(async () => {
    await Promise.all(open.map((p) => p.close().catch(() => undefined)));
    await browser?.close();
    await s?.stop();
  });

  const auth = (key: string) => ({ authorization: `Bearer ${key}` });
  const submit = (key: string, body: Record<string, unknown>) => submitTask(s.base, body, auth(key));

  async function seed(): Promise<void> {
    const a = (body: Record<string, unknown>) => submit(keyA, body);
    const b = (body: Record<string, unknown>) => submit(keyB, body);
    const done = await Promise.all([1, 2, 3, 4].map(() => a({ payload: { durationMs: 0 } })));
    seeded.aFailed = await Promise.all([1, 2, 3, 4].map(() => a({ payload: { durationMs: 0, failTimes: 3 } })));
    const delayed = await Promise.all([1, 2].map(() => a({ payload: { durationMs: 0 }, delay_ms: 600_000 })));
    seeded.aLong = await a({ payload: { durationMs: 600_000 }, timeout_ms: 900_000 });
    const due = await Promise.all([1, 2].map(() => a({ type: 'test.record', payload: { mode: 'record' } })));
    seeded.aAll = [...done, ...seeded.aFailed, ...delayed, seeded.aLong, ...due];
    seeded.bAll = [
      ...(await Promise.all([1, 2].map(() => b({ payload: { durationMs: 0 } })))),
      await b({ payload: { durationMs: 0, failTimes: 3 } }),
    ];
    await eventually(
      'the seeded tasks to settle (done, failed, one running)',
      async () => {
        const rows = await tasks(`id = ANY(?)`, [[...seeded.aAll, ...seeded.bAll]]);
        const by = (ids: string[]) => rows.filter((r) => ids.includes(r.id)).map((r) => r.status);
        const st = { done: by(done), failed: by(seeded.aFailed), long: by([seeded.aLong]), b: by(seeded.bAll) };
        return {
          ok:
            st.done.every((x) => x === 'done') &&
            st.failed.every((x) => x === 'failed') &&
            st.long[0] === 'processing' &&
            st.b.filter((x) => x === 'done').length === 2 &&
            st.b.filter((x) => x === 'failed').length === 1,
          detail: JSON.stringify(st),
        };
      },
      60_000,
    );
  }

  async function tasks(where: string, params: unknown[]): Promise<TaskRow[]> {
    const r = await s.t.db.raw<{ rows: TaskRow[] }>(
      `SELECT id, type, status, attempts, errors FROM tasks WHERE ${where} ORDER BY created_at DESC, id DESC`,
      params as never,
    );
    return r.rows;
  }
  const countOf = async (where: string, params: unknown[]) =>
    Number((await s.t.db.raw<{ rows: { n: string }[] }>(`SELECT count(*) AS n FROM tasks WHERE ${where}`, params as never)).rows[0]!.n);

  /** The overview's numbers for one client, straight from PostgreSQL, one row per registered type. */
  async function overviewFromDb(clientId: string): Promise<Row[]> {
    const r = await s.t.db.raw<{ rows: Record<string, string>[] }>(
      `SELECT type,
              count(*) FILTER (WHERE status = 'pending' AND run_after <= now()) AS due,
              count(*) FILTER (WHERE status = 'pending' AND run_after > now()) AS delayed,
              count(*) FILTER (WHERE status = 'processing') AS running,
              count(*) FILTER (WHERE status = 'failed') AS dead,
              count(*) FILTER (WHERE status = 'done' AND finished_at > now() - interval '1 hour') AS done_1h,
              count(*) FILTER (WHERE status = 'failed' AND finished_at > now() - interval '1 hour') AS failed_1h
         FROM tasks WHERE client_id = ? GROUP BY type`,
      [clientId],
    );
    return taskTypes([extension])
      .map((t) => t.name)
      .sort()
      .map((type) => {
        const x = r.rows.find((row) => row.type === type);
        return {
          Type: type,
          Due: x?.due ?? '0',
          Delayed: x?.delayed ?? '0',
          Running: x?.running ?? '0',
          'Dead letters': x?.dead ?? '0',
          'Done (1 h)': x?.done_1h ?? '0',
          'Failed (1 h)': x?.failed_1h ?? '0',
        };
      });
  }

  async function newConsole(label: string, opts: Parameters<typeof openConsole>[4] = {}): Promise<Page> {
    const c = await openConsole(browser, s.base, errors, label, opts);
    open.push(c);
    return c.page;
  }
  async function signedIn(label: string, key: string, clientId: string, opts: Parameters<typeof openConsole>[4] = {}): Promise<Page> {
    const page = await newConsole(label, opts);
    await signIn(page, key, clientId);
    return page;
  }
  const tasksTable = (page: Page) => page.getByRole('table', { name: 'Tasks' });
  const taskIdsOnPage = async (page: Page) => (await readTable(tasksTable(page))).map((r) => r.Task!);

  async function checkAxe(t: TestContext, page: Page, view: string): Promise<string[]> {
    const found = await axeViolations(page);
    for (const v of found) t.diagnostic(`axe ${view}: [${v.impact}] ${v.id}: ${v.help} — ${v.targets.join(', ')}`);
    return found.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${view}: ${v.id} (${v.impact})`);
  }

  it('refuses a bad key with a clear message, under a strict Content-Security-Policy', async () => {
    const page = await newConsole('bad key', { expectedStatuses: [401] });
    const res = await page.goto(`${s.base}/ui/`);
    const csp = res?.headers()['content-security-policy'] ?? '';
    assert.match(csp, /default-src 'none'/, `CSP on /ui: ${csp}`);
    assert.match(csp, /script-src 'self'(;|$)/, `CSP on /ui: ${csp}`);
    await signInHeading(page).waitFor();
    await screenshot(page, 'sign-in.png');
    await credentialInput(page).fill(`tsk_0123456789ab_${'A'.repeat(43)}`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.getByRole('alert').filter({ hasText: 'was not accepted' });
    await alert.waitFor();
    assert.match(await alert.innerText(), /was not accepted/);
    assert.equal(await page.getByText(/Signed in as/).count(), 0, 'not signed in');
    assert.ok(await signInHeading(page).isVisible(), 'still on the sign-in view');
  });

  it('signs in with the keyboard only: Tab to the field, type, Enter', async () => {
    const page = await newConsole('keyboard');
    await signInHeading(page).waitFor();
    const field = credentialInput(page);
    let tabs = 0;
    while (!(await isFocused(field))) {
      assert.ok(tabs < 15, 'the credential field is reachable with Tab');
      await page.keyboard.press('Tab');
      tabs++;
    }
    await page.keyboard.type(keyA);
    await page.keyboard.press('Enter');
    await page.getByText(`Signed in as ${CLIENT_A}`).waitFor();
    assert.equal(await page.getByText(`Signed in as ${CLIENT_A} (admin)`).count(), 0, 'a client key is not an admin');
  });

  it("shows, per task type, exactly the counts the database has for the client's tasks", async () => {
    const page = await signedIn('overview', keyA, CLIENT_A);
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Overview' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    const table = page.getByRole('table', { name: 'Task types' });
    await table.waitFor();
    assert.deepEqual(await columnNames(table), OVERVIEW_COLUMNS);
    // What the seed must have produced, so the comparison below is not between zeros.
    const seededDb = await overviewFromDb(CLIENT_A);
    const sim = seededDb.find((r) => r.Type === 'simulate')!;
    assert.deepEqual(
      [sim.Due, sim.Delayed, sim.Running, sim['Dead letters'], sim['Done (1 h)'], sim['Failed (1 h)']],
      ['0', '2', '1', '4', '4', '4'],
    );
    assert.equal(seededDb.find((r) => r.Type === 'test.record')!.Due, '2');

    let shown: Row[] = [];
    await eventually(
      'the overview to show the database counts',
      async () => {
        shown = (await readTable(table)).map((r) => ({ ...r })).sort((x, y) => x.Type!.localeCompare(y.Type!));
        const expected = await overviewFromDb(CLIENT_A);
        const numbers = shown.map(({ 'Oldest pending': _o, ...rest }) => rest);
        return { ok: JSON.stringify(numbers) === JSON.stringify(expected), detail: `page ${JSON.stringify(numbers)} db ${JSON.stringify(expected)}` };
      },
      45_000,
    );
    // Oldest pending: an age where due tasks wait, "—" where none do.
    for (const r of shown) {
      if (r.Due === '0') assert.equal(r['Oldest pending'], '—', `${r.Type} has no due task`);
      else assert.match(r['Oldest pending'] ?? '', /^\d+(\.\d+)? ?(ms|s|min|h|d)$/, `${r.Type}'s oldest pending age`);
    }
    for (const type of ['simulate', 'test.record']) {
      assert.ok(await page.getByRole('figure', { name: `Done and failed per minute: ${type}` }).isVisible(), `chart of ${type}`);
    }
    await screenshot(page, 'overview.png');
  });

  it("filters the list to failed tasks: every row is failed, as many as the client's in the database", async () => {
    const page = await signedIn('list', keyA, CLIENT_A);
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Tasks' }).click();
    await page.getByRole('heading', { name: 'Tasks' }).waitFor();
    const filters = page.getByRole('search', { name: 'Filter tasks' });
    await filters.getByLabel('Status').selectOption('failed');
    await filters.getByRole('button', { name: 'Apply filters' }).click();
    await eventually('the hash to carry the filter', () => {
      const url = page.url();
      return Promise.resolve({ ok: /#\/tasks\?(.*&)?status=failed/.test(url), detail: url });
    });
    const table = tasksTable(page);
    assert.deepEqual(await columnNames(table), TASK_COLUMNS);
    const expected = (await tasks(`client_id = ? AND status = 'failed'`, [CLIENT_A])).map((r) => r.id);
    assert.equal(expected.length, 4);
    await eventually('the failed tasks listed', async () => {
      const rows = await readTable(table);
      const ids = rows.map((r) => r.Task);
      return {
        ok: rows.every((r) => r.Status === 'failed') && JSON.stringify(ids) === JSON.stringify(expected),
        detail: JSON.stringify(rows.map((r) => [r.Task, r.Status])),
      };
    });
    for (const r of await readTable(table)) {
      // The column's format is the UI's ("3" or "3 / 3"); it starts with the attempts made.
      assert.match(r.Attempts ?? '', /^3\b/, `${r.Task}: attempts`);
      assert.match(r['Last error'] ?? '', /simulated failure on attempt 3 of 3 failing/, `${r.Task}: last error`);
    }
    await screenshot(page, 'tasks-failed.png');
  });

  it('opens a failed task from the list: one Attempts row per attempt, with its error', async () => {
    const page = await signedIn('task page', keyA, CLIENT_A);
    await go(page, s.base, '/tasks?status=failed');
    const id = seeded.aFailed[0]!;
    await tasksTable(page).getByRole('link', { name: id, exact: true }).click();
    await page.getByRole('heading', { name: `Task ${id}` }).waitFor();
    assert.match(page.url(), new RegExp(`#/tasks/${id}$`));
    assert.equal(await (await definitionOf(page, 'Status')).innerText(), 'failed');
    assert.equal((await (await definitionOf(page, 'Type')).innerText()).trim(), 'simulate');
    for (const h of ['Payload', 'Result', 'Attempts', 'Webhook deliveries']) {
      assert.ok(await page.getByRole('heading', { name: h, exact: true }).isVisible(), `section ${h}`);
    }
    const [db] = await tasks('id = ?', [id]);
    assert.equal(db!.attempts, 3);
    assert.equal(db!.errors.length, 3);
    const attempts = page.getByRole('table', { name: 'Attempts' });
    assert.deepEqual(await columnNames(attempts), ATTEMPT_COLUMNS);
    const rows = await readTable(attempts);
    assert.equal(rows.length, db!.attempts, JSON.stringify(rows));
    for (const e of db!.errors) {
      const row = rows.find((r) => r.Attempt === String(e.attempt));
      assert.ok(row, `a row for attempt ${e.attempt}: ${JSON.stringify(rows)}`);
      assert.ok(row.Error?.includes(e.message), `attempt ${e.attempt} shows "${e.message}": ${row.Error}`);
    }
    assert.ok(await page.getByRole('button', { name: 'Retry', exact: true }).isEnabled(), 'Retry is offered on a failed task');
    assert.ok(await page.getByRole('button', { name: 'Cancel task' }).isDisabled(), 'Cancel task is not offered on a failed task');
    await screenshot(page, 'task.png');
  });

  it('passes axe-core with no serious or critical violation on every view', async (t) => {
    const found: string[] = [];
    const page = await newConsole('axe');
    await signInHeading(page).waitFor();
    found.push(...(await checkAxe(t, page, 'sign-in')));
    await signIn(page, keyA, CLIENT_A);
    await go(page, s.base, '/overview');
    await page.getByRole('table', { name: 'Task types' }).getByRole('rowheader', { name: 'simulate' }).waitFor();
    found.push(...(await checkAxe(t, page, 'overview')));
    await go(page, s.base, '/tasks?status=failed');
    await tasksTable(page).getByRole('link', { name: seeded.aFailed[0]!, exact: true }).waitFor();
    found.push(...(await checkAxe(t, page, 'task list')));
    await go(page, s.base, `/tasks/${seeded.aFailed[0]!}`);
    await page.getByRole('table', { name: 'Attempts' }).waitFor();
    found.push(...(await checkAxe(t, page, 'task page')));
    await page.getByRole('button', { name: 'Retry', exact: true }).click();
    const retry = page.getByRole('dialog', { name: 'Retry this task?' });
    await retry.waitFor();
    found.push(...(await checkAxe(t, page, 'retry dialog')));
    await page.keyboard.press('Escape');
    await retry.waitFor({ state: 'hidden' });
    await go(page, s.base, '/tasks?status=failed');
    await page.getByRole('button', { name: 'Replay failed tasks…' }).click();
    const replay = page.getByRole('dialog', { name: 'Replay failed tasks' });
    await replay.getByText(/This will replay \d+ failed tasks/).waitFor();
    found.push(...(await checkAxe(t, page, 'replay dialog')));
    await replay.getByRole('button', { name: 'Cancel' }).click();
    assert.deepEqual(found, []);
  });

  it('keeps the list and the task page free of sideways page scroll in a 360 px window', async () => {
    const page = await signedIn('narrow', keyA, CLIENT_A, { viewport: NARROW });
    await go(page, s.base, '/tasks');
    await tasksTable(page).getByRole('link', { name: seeded.aFailed[0]!, exact: true }).waitFor();
    const list = await horizontalOverflow(page);
    await go(page, s.base, `/tasks/${seeded.aFailed[0]!}`);
    await page.getByRole('table', { name: 'Attempts' }).waitFor();
    const task = await horizontalOverflow(page);
    await screenshot(page, 'task-narrow.png');
    // Both views measured before asserting, so one failure reports both.
    assert.deepEqual(
      { list: list.scrollWidth <= list.innerWidth, task: task.scrollWidth <= task.innerWidth },
      { list: true, task: true },
      `page width in a ${list.innerWidth} px window: task list ${list.scrollWidth} px, task page ${task.scrollWidth} px`,
    );
  });

  it('retries a failed task after confirming, and shows it become done without a reload', async () => {
    const page = await signedIn('retry', keyA, CLIENT_A);
    const id = seeded.aFailed[0]!;
    await go(page, s.base, `/tasks/${id}`);
    await page.getByRole('heading', { name: `Task ${id}` }).waitFor();
    assert.equal(await (await definitionOf(page, 'Status')).innerText(), 'failed');
    // A reload would lose this marker; the page must update in place.
    await page.evaluate('window.__noReload = true');
    await page.getByRole('button', { name: 'Retry', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Retry this task?' });
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await page.getByRole('status').filter({ hasText: 'Retry requested.' }).waitFor();
    await eventually(
      'the task page to show done',
      async () => {
        const shown = await (await definitionOf(page, 'Status')).innerText();
        return { ok: shown === 'done', detail: `page: ${shown}, db: ${(await tasks('id = ?', [id]))[0]!.status}` };
      },
      30_000,
    );
    assert.equal(await page.evaluate<boolean>('window.__noReload === true'), true, 'the page was not reloaded');
    const [db] = await tasks('id = ?', [id]);
    assert.equal(db!.status, 'done');
    await eventually('the fourth attempt in the Attempts table', async () => {
      const rows = await readTable(page.getByRole('table', { name: 'Attempts' }));
      return { ok: rows.length === db!.attempts, detail: `${rows.length} rows, ${db!.attempts} attempts in the database` };
    });
  });

  it('cancels a long task after confirming, and shows it cancelled', async () => {
    const id = await submit(keyA, { payload: { durationMs: 60_000 }, timeout_ms: 120_000 });
    seeded.aAll.push(id);
    await eventually('the long task to run', async () => {
      const st = (await tasks('id = ?', [id]))[0]!.status;
      return { ok: st === 'processing', detail: st };
    });
    const page = await signedIn('cancel', keyA, CLIENT_A);
    await go(page, s.base, `/tasks/${id}`);
    await page.getByRole('heading', { name: `Task ${id}` }).waitFor();
    assert.equal(await (await definitionOf(page, 'Status')).innerText(), 'processing');
    await page.getByRole('button', { name: 'Cancel task' }).click();
    await page.getByRole('dialog', { name: 'Cancel this task?' }).getByRole('button', { name: 'Confirm' }).click();
    await page.getByRole('status').filter({ hasText: 'Task cancelled.' }).waitFor();
    await eventually('the task page to show cancelled', async () => {
      const shown = await (await definitionOf(page, 'Status')).innerText();
      return { ok: shown === 'cancelled', detail: shown };
    });
    assert.equal((await tasks('id = ?', [id]))[0]!.status, 'cancelled');
  });

  it('replays the failed tasks in bulk: the dialog states the count the database has, and they run again', async () => {
    const page = await signedIn('replay', keyA, CLIENT_A);
    await go(page, s.base, '/tasks?status=failed');
    await page.getByRole('heading', { name: 'Tasks' }).waitFor();
    const failed = (await tasks(`client_id = ? AND status = 'failed'`, [CLIENT_A])).map((r) => r.id);
    assert.equal(failed.length, 3, 'the seeded failures but the retried one');
    await page.getByRole('button', { name: 'Replay failed tasks…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Replay failed tasks' });
    await dialog.waitFor();
    assert.equal(await dialog.getByLabel('At most').inputValue(), '100');
    const statement = dialog.getByText(/This will replay \d+ failed tasks at/);
    await statement.waitFor();
    const m = /This will replay (\d+) failed tasks at ([\d.]+) per second \(about ([\d.]+) s\)\./.exec(await statement.innerText());
    assert.ok(m, `statement: ${await statement.innerText()}`);
    assert.equal(Number(m[1]), Math.min(failed.length, 100), 'the count the database has');
    assert.equal(Number(m[2]), REPLAY_RATE, 'the configured replay rate');
    await screenshot(page, 'replay-dialog.png');
    await dialog.getByRole('button', { name: `Replay ${failed.length} tasks` }).click();
    await page.getByRole('status').filter({ hasText: `Replayed ${failed.length} tasks.` }).waitFor();
    const now = await tasks('id = ANY(?)', [failed]);
    assert.ok(
      now.every((r) => ['pending', 'processing', 'done'].includes(r.status)),
      `replayed tasks: ${JSON.stringify(now.map((r) => r.status))}`,
    );
    await eventually('the replayed tasks to finish', async () => {
      const st = (await tasks('id = ANY(?)', [failed])).map((r) => r.status);
      return { ok: st.every((x) => x === 'done'), detail: JSON.stringify(st) };
    });
    assert.equal(await countOf(`client_id = ? AND status = 'failed'`, [CLIENT_A]), 0);
  });

  it("shows client B none of client A's tasks", async () => {
    const page = await signedIn('client B', keyB, CLIENT_B, { expectedStatuses: [404] });
    await go(page, s.base, '/tasks');
    const expected = (await tasks('client_id = ?', [CLIENT_B])).map((r) => r.id);
    assert.equal(expected.length, 3);
    await eventually("B's own tasks listed, and only them", async () => {
      const ids = await taskIdsOnPage(page);
      return { ok: JSON.stringify([...ids].sort()) === JSON.stringify([...expected].sort()), detail: JSON.stringify(ids) };
    });
    const ids = await taskIdsOnPage(page);
    assert.deepEqual(ids.filter((id) => seeded.aAll.includes(id)), []);
    const aTask = seeded.aFailed[1]!;
    await go(page, s.base, `/tasks/${aTask}`);
    await page.getByRole('alert').filter({ hasText: `Task ${aTask} not found.` }).waitFor();
    assert.equal(await page.getByRole('table', { name: 'Attempts' }).count(), 0, "no attempts of A's task");
    // And with a filter that matches only A's tasks, the list is empty.
    await go(page, s.base, '/tasks?type=test.record');
    await page.getByText('No tasks match these filters.').waitFor();
  });

  it("shows an admin both clients' tasks", async () => {
    const page = await signedIn('admin', adminKey, ADMIN);
    await page.getByText(`Signed in as ${ADMIN} (admin)`).waitFor();
    await go(page, s.base, '/tasks');
    const expected = (await tasks('true', [])).map((r) => r.id);
    assert.ok(expected.length <= 50, 'every task fits on the first page');
    await eventually("every client's tasks listed", async () => {
      const ids = await taskIdsOnPage(page);
      return { ok: JSON.stringify([...ids].sort()) === JSON.stringify([...expected].sort()), detail: `${ids.length} rows of ${expected.length}` };
    });
    const ids = await taskIdsOnPage(page);
    assert.ok(ids.some((id) => seeded.aAll.includes(id)), "A's tasks");
    assert.ok(ids.some((id) => seeded.bAll.includes(id)), "B's tasks");
  });

  it('logged no console error, uncaught exception or CSP violation on any page', () => {
    assert.deepEqual(errors.seen, []);
  });
});
