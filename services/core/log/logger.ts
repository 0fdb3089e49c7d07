/** One pino root per process; modules take child loggers. JSON on stdout, secrets redacted. */
import pino, { type Logger } from 'pino';
import { activeTraceIds } from '../telemetry/tracing';

export type { Logger };

export function createLogger(service: string, level: string): Logger {
  return pino({
    level,
    base: { service, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    // Every line written inside a request or a task carries its trace: logs and traces join.
    mixin: () => activeTraceIds() ?? {},
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', '*.password', 'databaseUrl', 'rabbitmqUrl'],
      censor: '[redacted]',
    },
  });
}

/** Strips credentials from a connection URL before it is logged. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '[unparseable url]';
  }
}
