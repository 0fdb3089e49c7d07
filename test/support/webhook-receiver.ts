/** A local HTTP endpoint that records webhook requests and answers as each test path says. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface WebhookReceiver {
  /** http://127.0.0.1:<port> */
  base: string;
  received: ReceivedWebhook[];
  /** How a path answers its nth request (1-based): a status, or 'hang' (never answers). */
  respond(path: string, answer: (n: number) => number | 'hang'): void;
  /** Requests hanging now (answered by nothing yet). */
  hanging(): number;
  /** Drops the connections of hanging requests (the sender sees a reset). */
  unhang(): void;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const answers = new Map<string, (n: number) => number | 'hang'>();
  const counts = new Map<string, number>();
  const hanging = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const path = req.url ?? '/';
      received.push({ path, headers: req.headers, body });
      const n = (counts.get(path) ?? 0) + 1;
      counts.set(path, n);
      const answer = (answers.get(path) ?? (() => 204))(n);
      if (answer === 'hang') {
        hanging.add(res);
        res.on('close', () => hanging.delete(res)); // the sender gave up
        return;
      }
      if (answer >= 300 && answer < 400) res.setHeader('location', '/redirect-target');
      res.statusCode = answer;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    respond: (path, answer) => void answers.set(path, answer),
    hanging: () => hanging.size,
    unhang: () => {
      for (const res of hanging) res.destroy();
      hanging.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
