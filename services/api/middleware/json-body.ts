/**
 * Reads a JSON request body under a byte limit enforced while streaming (raw-body aborts as soon
 * as the limit is passed, so an oversized body is never buffered whole), then parses it strictly.
 */
import type { Context } from 'koa';
import getRawBody from 'raw-body';
import { ClientError } from '../../core/errors/app-error';

const utf8 = new TextDecoder('utf-8', { fatal: true });

export async function readJsonBody(ctx: Context, limits: { maxBodyBytes: number; maxJsonDepth: number }): Promise<unknown> {
  const limitBytes = limits.maxBodyBytes;
  if (!ctx.is('application/json')) {
    throw new ClientError('unsupported_media_type', 'Content-Type must be application/json', 415);
  }
  const encoding = (ctx.get('Content-Encoding') || 'identity').toLowerCase();
  if (encoding !== 'identity') {
    throw new ClientError('unsupported_media_type', `Content-Encoding ${encoding} is not supported`, 415);
  }
  let raw: Buffer;
  try {
    raw = await getRawBody(ctx.req, { limit: limitBytes, length: ctx.get('Content-Length') || undefined });
  } catch (e: unknown) {
    const type = (e as { type?: string }).type;
    if (type === 'entity.too.large') {
      throw new ClientError('payload_too_large', `request body exceeds ${limitBytes} bytes`, 413);
    }
    if (type === 'request.size.invalid') {
      throw new ClientError('bad_request', 'request body length does not match Content-Length', 400);
    }
    throw new ClientError('bad_request', 'request body could not be read', 400, undefined, { cause: e });
  }
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    throw new ClientError('malformed_json', 'request body is not valid UTF-8', 400);
  }
  if (nestingDepth(text) > limits.maxJsonDepth) {
    throw new ClientError('json_too_deep', `JSON nesting deeper than ${limits.maxJsonDepth} levels`, 400);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new ClientError('malformed_json', `request body is not valid JSON: ${(e as Error).message}`, 400);
  }
}

/** Deepest bracket nesting outside strings, found in one pass before anything is built. */
export function nestingDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) max = Math.max(max, ++depth);
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}
