/**
 * Helpers for the console's browser tests: Debian's Chromium driven by playwright-core, a page per
 * identity that records console errors and CSP violations, sign-in through the UI, tables read by
 * role (header cells name the columns), axe-core checks and optional screenshots.
 *
 * Elements are found only by role and accessible name or label, as issue 18's console contract
 * fixes them (headings, labels, table captions and header cells, dialog names): never by CSS classes.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const DESKTOP = { width: 1280, height: 800 };
export const NARROW = { width: 360, height: 740 };

export async function launchChromium(): Promise<Browser> {
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    // Chromium refuses to start its sandbox as root (CI containers); everything it loads here is ours.
    args: asRoot ? ['--no-sandbox'] : [],
  });
}

/** Console errors, uncaught page errors and CSP violations seen by every page of the run. */
export class PageErrors {
  readonly seen: string[] = [];

  /**
   * Records the page's console errors and uncaught exceptions. Chromium logs a failed fetch as a
   * console error ("Failed to load resource: … status of 401"); a page that is expected to get such
   * answers (a rejected key, another client's task) names those statuses in `expectedStatuses`.
   * CSP violations arrive as console errors ("Refused to …") and are never expected.
   */
  watch(page: Page, label: string, expectedStatuses: number[] = []): void {
    page.on('console', (m) => {
      if (m.type() !== 'error') return;
      const text = m.text();
      const status = /^Failed to load resource: the server responded with a status of (\d{3})\b/.exec(text)?.[1];
      if (status !== undefined && expectedStatuses.includes(Number(status))) return;
      // Before sign-in the console asks GET /whoami without a credential to learn whether the API
      // wants one at all (AUTH_MODE=none skips the sign-in): its 401 is the expected answer.
      if (status === '401' && new URL(m.location().url || 'about:blank').pathname === '/whoami') return;
      this.seen.push(`${label}: console error: ${text} (${m.location().url})`);
    });
    page.on('pageerror', (e) => this.seen.push(`${label}: uncaught: ${e.message}`));
  }
}

export interface ConsolePage {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

/** A fresh browser context (its own sessionStorage) with one page on the console's sign-in. */
export async function openConsole(
  browser: Browser,
  base: string,
  errors: PageErrors,
  label: string,
  opts: { viewport?: { width: number; height: number }; expectedStatuses?: number[] } = {},
): Promise<ConsolePage> {
  const context = await browser.newContext({ viewport: opts.viewport ?? DESKTOP });
  context.setDefaultTimeout(20_000);
  const page = await context.newPage();
  errors.watch(page, label, opts.expectedStatuses);
  await page.goto(`${base}/ui/`);
  return { context, page, close: () => context.close() };
}

export const signInHeading = (page: Page) => page.getByRole('heading', { name: 'Sign in to Tasker' });
export const credentialInput = (page: Page) => page.getByLabel('API key or JWT');

/** Signs in through the form and waits for the header to name the client. */
export async function signIn(page: Page, credential: string, clientId: string): Promise<void> {
  await signInHeading(page).waitFor();
  await credentialInput(page).fill(credential);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText(`Signed in as ${clientId}`).waitFor();
}

/** Navigates inside the app (hash routing: the document and its sessionStorage stay). */
export async function go(page: Page, base: string, hash: string): Promise<void> {
  await page.goto(`${base}/ui/#${hash}`);
}

export type Row = Record<string, string>;

/** The table's column names (its header cells), in order. */
export async function columnNames(table: Locator): Promise<string[]> {
  return (await table.getByRole('columnheader').allInnerTexts()).map((s) => s.trim());
}

/**
 * The table's body rows as records keyed by column name. A row's cells are its `cell`s and
 * `rowheader`s in document order; rows without them (the header row) are skipped.
 */
export async function readTable(table: Locator): Promise<Row[]> {
  const names = await columnNames(table);
  const rows: Row[] = [];
  for (const row of await table.getByRole('row').all()) {
    const cells = (await row.getByRole('cell').or(row.getByRole('rowheader')).allInnerTexts()).map((s) => s.trim());
    if (cells.length === 0) continue;
    const r: Row = {};
    names.forEach((n, i) => (r[n] = cells[i] ?? ''));
    rows.push(r);
  }
  return rows;
}

/** The `dd` of a `dt` in the page's description list (terms and definitions pair up in order). */
export async function definitionOf(page: Page, term: string): Promise<Locator> {
  // The heading can show before the task is loaded: wait for the term itself.
  await page.getByRole('term').filter({ hasText: term }).first().waitFor();
  const terms = (await page.getByRole('term').allInnerTexts()).map((s) => s.trim());
  const i = terms.indexOf(term);
  if (i < 0) throw new Error(`no term "${term}" on the page (terms: ${JSON.stringify(terms)})`);
  return page.getByRole('definition').nth(i);
}

/** Polls `check` (every 250 ms) until it reports ok, or fails after `timeoutMs` with its last detail. */
export async function eventually(what: string, check: () => Promise<{ ok: boolean; detail: string }>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: string;
  for (;;) {
    try {
      const r = await check();
      if (r.ok) return;
      last = r.detail;
    } catch (e) {
      last = `threw: ${(e as Error).message.split('\n')[0]}`;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${last}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export interface AxeViolation {
  id: string;
  impact: string | null | undefined;
  help: string;
  targets: string[];
}

/** Runs axe-core on the page as it is now and returns every violation. */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  const r = await new AxeBuilder({ page }).analyze();
  return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(' ')) }));
}

/** Saves a screenshot under CONSOLE_SCREENSHOTS_DIR when it is set (docs/console/ takes them). */
export async function screenshot(page: Page, name: string): Promise<void> {
  const dir = process.env.CONSOLE_SCREENSHOTS_DIR;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, name), fullPage: true });
}

/** Page width against the window: a page that scrolls sideways outside its table containers fails. */
export async function horizontalOverflow(page: Page): Promise<{ scrollWidth: number; innerWidth: number }> {
  return page.evaluate<{ scrollWidth: number; innerWidth: number }>(
    '({ scrollWidth: document.scrollingElement.scrollWidth, innerWidth: window.innerWidth })',
  );
}

/** Whether the element has the keyboard focus (it matches the `:focus` state, not a class). */
export async function isFocused(el: Locator): Promise<boolean> {
  return (await el.and(el.page().locator(':focus')).count()) === 1;
}
