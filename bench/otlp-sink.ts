/**
 * A local OTLP/HTTP sink for the tracing-on runs: accepts every export (protobuf or JSON), discards
 * it and answers 200 with an empty (valid) ExportTraceServiceResponse. Counts what it received, so
 * the report can show that spans were really exported.
 */
import http from 'node:http';
import type net from 'node:net';

export interface OtlpSink {
  endpoint: string;
  stats(): { requests: number; bytes: number };
  close(): Promise<void>;
}

export function startOtlpSink(): Promise<OtlpSink> {
  let requests = 0;
  let bytes = 0;
  const server = http.createServer((req, res) => {
    req.on('data', (d: Buffer) => (bytes += d.length));
    req.on('end', () => {
      requests++;
      const json = (req.headers['content-type'] ?? '').includes('json');
      res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' });
      res.end(json ? '{}' : undefined);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      resolve({
        endpoint: `http://127.0.0.1:${port}`,
        stats: () => ({ requests, bytes }),
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    });
  });
}
