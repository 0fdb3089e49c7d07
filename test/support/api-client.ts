/** Small HTTP helpers for tests that drive a running API. */
import assert from 'node:assert/strict';

/** POSTs a task and returns its id, asserting the 202. */
export async function submitTask(base: string, body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<string> {
  const r = await fetch(`${base}/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  assert.equal(r.status, 202, await r.clone().text());
  return ((await r.json()) as { task_id: string }).task_id;
}

export async function getTask<T = Record<string, unknown>>(base: string, id: string, headers: Record<string, string> = {}): Promise<T> {
  return (await (await fetch(`${base}/tasks/${id}`, { headers })).json()) as T;
}
