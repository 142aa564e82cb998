import { Agent, request as httpRequest } from 'node:http';
import { connect } from 'node:net';

/**
 * The bytes of hostile requests, built by hand where `JSON.stringify` or `fetch` would
 * refuse or normalize them: raw number tokens (`1e309`, `-0`), `__proto__` as a key,
 * invalid UTF-8, repeated query keys, header names such as `constructor`.
 */

/** A JSON token written exactly as given (`9007199254740993`, `1e-400`). */
export class RawJson {
  constructor(readonly text: string) {}
  toJSON(): string {
    return `<raw ${this.text}>`;
  }
}

/** A string whose bytes are sent as they are (invalid UTF-8): quoted in JSON, %-encoded in URLs. */
export class RawBytes {
  constructor(readonly bytes: Buffer) {}
  toJSON(): string {
    return `<bytes ${this.bytes.toString('hex')}>`;
  }
}

/** JSON text of a value; own keys named `__proto__` are kept, `RawJson`/`RawBytes` spliced in. */
export function jsonBytes(value: unknown): Buffer {
  const parts: Buffer[] = [];
  const emit = (v: unknown): void => {
    if (v instanceof RawJson) parts.push(Buffer.from(v.text, 'utf8'));
    else if (v instanceof RawBytes) parts.push(Buffer.from('"'), v.bytes, Buffer.from('"'));
    else if (Array.isArray(v)) {
      parts.push(Buffer.from('['));
      v.forEach((item, i) => {
        if (i > 0) parts.push(Buffer.from(','));
        emit(item === undefined ? null : item);
      });
      parts.push(Buffer.from(']'));
    } else if (v !== null && typeof v === 'object') {
      parts.push(Buffer.from('{'));
      let first = true;
      for (const k of Object.keys(v)) {
        const item = (v as Record<string, unknown>)[k];
        if (item === undefined) continue;
        if (!first) parts.push(Buffer.from(','));
        first = false;
        parts.push(Buffer.from(`${JSON.stringify(k)}:`));
        emit(item);
      }
      parts.push(Buffer.from('}'));
    } else parts.push(Buffer.from(JSON.stringify(v) ?? 'null', 'utf8'));
  };
  emit(value);
  return Buffer.concat(parts);
}

/** An object whose keys may include `__proto__` as an ordinary own key. */
export function bareObject(entries: Iterable<readonly [string, unknown]> = []): Record<string, unknown> {
  const o = Object.create(null) as Record<string, unknown>;
  for (const [k, v] of entries) o[k] = v;
  return o;
}

/** A query string value given pre-encoded (`%FF`, `%`), sent as is. */
export class RawQuery {
  constructor(readonly text: string) {}
  toJSON(): string {
    return `<query ${this.text}>`;
  }
}

/**
 * encodeURIComponent that also takes lone surrogates, sending their WTF-8 bytes
 * (`%ED%A0%80`): what a careless client puts on the wire.
 */
export function encodeComponent(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    let out = '';
    for (const ch of s) {
      const cp = ch.codePointAt(0) as number;
      if (cp >= 0xd800 && cp <= 0xdfff) {
        out += percentBytes(Buffer.from([0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)]));
      } else out += encodeURIComponent(ch);
    }
    return out;
  }
}

/** Every byte as `%XX`. */
export function percentBytes(bytes: Buffer): string {
  return [...bytes].map((b) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`).join('');
}

/** A query string from an object: arrays repeat the key, scalars are their text. */
export function queryString(input: Record<string, unknown>): string {
  const out: string[] = [];
  const one = (k: string, v: unknown) => {
    if (v === undefined) return;
    const key = encodeComponent(k);
    if (v instanceof RawQuery) out.push(`${key}=${v.text}`);
    else if (v instanceof RawJson) out.push(`${key}=${encodeComponent(v.text)}`);
    else if (v instanceof RawBytes) out.push(`${key}=${percentBytes(v.bytes)}`);
    else if (v !== null && typeof v === 'object') out.push(`${key}=${encodeComponent(JSON.stringify(v))}`);
    else out.push(`${key}=${encodeComponent(String(v))}`);
  };
  for (const k of Object.keys(input)) {
    const v = input[k];
    if (Array.isArray(v)) for (const item of v) one(k, item);
    else one(k, v);
  }
  return out.join('&');
}

/** One HTTP request as it goes on the wire. */
export interface WireRequest {
  readonly method: string;
  /** Path, already percent-encoded as it should be sent. */
  readonly path: string;
  /** Query string without `?`, already encoded; '' for none. */
  readonly query: string;
  readonly headers: readonly (readonly [string, string])[];
  readonly body?: Buffer;
  /**
   * The whole request as bytes, for requests Node's HTTP client refuses to send (a NUL
   * in a header, a lying content-length). Method/path/headers/body are then descriptive.
   */
  readonly raw?: Buffer;
}

export interface WireAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

const agent = new Agent({ keepAlive: true, maxSockets: 8 });

/** Frees the keep-alive sockets (at the end of a run). */
export function closeWire(): void {
  agent.destroy();
}

/** Sends a request to `base` (http://127.0.0.1:port); rejects on no answer within `timeoutMs`. */
export function send(base: string, req: WireRequest, timeoutMs: number): Promise<WireAnswer> {
  const url = new URL(base);
  if (req.raw) return sendRaw(url, req.raw, timeoutMs);
  return new Promise((resolve, reject) => {
    const r = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: req.method,
        path: `${req.path}${req.query ? `?${req.query}` : ''}`,
        agent,
        // An array of pairs keeps names such as `__proto__` as plain headers; Node then
        // adds neither Host nor Content-Length itself.
        headers: [
          ['host', url.host],
          ...(req.body ? [['content-length', String(req.body.length)]] : []),
          ...req.headers,
        ].flat() as unknown as Record<string, string>,
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    r.on('timeout', () => r.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    r.on('error', reject);
    if (req.body) r.end(req.body);
    else r.end();
  });
}

/** Writes bytes to a fresh connection and parses the one answer (Connection: close). */
function sendRaw(url: URL, bytes: Buffer, timeoutMs: number): Promise<WireAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err) => {
      clearTimeout(timer);
      // A reset after a complete answer is the server closing a bad connection.
      if (chunks.length) resolve(parseRawAnswer(Buffer.concat(chunks)));
      else reject(err);
    });
    socket.on('end', () => {
      clearTimeout(timer);
      resolve(parseRawAnswer(Buffer.concat(chunks)));
      socket.destroy();
    });
    socket.write(bytes);
  });
}

function parseRawAnswer(buf: Buffer): WireAnswer {
  const headEnd = buf.indexOf('\r\n\r\n');
  if (headEnd < 0) return { status: 0, headers: {}, body: buf };
  const lines = buf.subarray(0, headEnd).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  let body = buf.subarray(headEnd + 4);
  const length = Number(headers['content-length']);
  if (Number.isFinite(length)) body = body.subarray(0, length);
  return { status, headers, body };
}

/** The request as HTTP/1.1 bytes with `Connection: close`, for raw sends. */
export function rawRequestBytes(
  method: string,
  target: string,
  headers: readonly (readonly [string, string])[],
  body?: Buffer,
  extraHeadBytes?: Buffer,
): Buffer {
  const head = [`${method} ${target} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
  for (const [k, v] of headers) head.push(`${k}: ${v}`);
  const parts: Buffer[] = [Buffer.from(`${head.join('\r\n')}\r\n`, 'latin1')];
  if (extraHeadBytes) parts.push(extraHeadBytes, Buffer.from('\r\n'));
  parts.push(Buffer.from('\r\n'));
  if (body) parts.push(body);
  return Buffer.concat(parts);
}

/** A short printable form of a request, for findings. */
export function describeRequest(req: WireRequest, max = 400): string {
  const clip = (s: string) => (s.length > max ? `${s.slice(0, max)}... (${s.length} chars)` : s);
  const target = `${req.path}${req.query ? `?${req.query}` : ''}`;
  const headers = req.headers.map(([k, v]) => `${k}: ${clip(v)}`).join('; ');
  const bytes = req.raw ?? req.body;
  let body = '';
  if (bytes) {
    const text = bytes.toString('utf8');
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what makes a body unprintable
    const printable = !text.includes('\uFFFD') && !/[\x00-\x08\x0e-\x1f]/.test(text);
    body = printable
      ? clip(text)
      : `hex:${clip(bytes.subarray(0, 200).toString('hex'))}${bytes.length > 200 ? ` (${bytes.length} bytes)` : ''}`;
  }
  return `${req.method} ${clip(target)}${headers ? ` [${headers}]` : ''}${body ? ` body=${body}` : ''}`;
}
