/**
 * zap-compatible JSON logs on stderr: {"level":"info","ts":1619704514.940934,"caller":"enrich/x.ts:64","msg":"..."}.
 * pino does the formatting and level filtering; this module adds the zap field names, the caller
 * (only computed for enabled levels), the console encoding, and secret redaction of the message and
 * every field's strings before they are serialized.
 */
import pino from 'pino';
import { isRegularFile, writeAll } from '../fd-write.js';
import { Writable } from 'node:stream';
import { redact, redactDeep } from './redact.js';

export type Level = 'debug' | 'info' | 'warn' | 'error';
export type Fields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  isEnabled(level: Level): boolean;
}

export interface LoggerOptions {
  level: Level;
  encoding: 'json' | 'console';
  /** Where lines go; stderr by default. */
  sink?: (line: string) => void;
}

const SRC_MARK = '/src/';

/** file:line of the first stack frame outside this module (only computed for enabled levels). */
function callerOf(): string {
  const holder: { stack?: string } = {};
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 8;
  Error.captureStackTrace(holder, callerOf);
  Error.stackTraceLimit = limit;
  for (const frame of (holder.stack ?? '').split('\n').slice(1)) {
    const m = /\(?((?:file:\/\/)?[^()\s]+):(\d+):\d+\)?$/.exec(frame);
    if (!m || /log\/logger\.[jt]s$/.test(m[1]!)) continue;
    let file = m[1]!;
    const at = file.lastIndexOf(SRC_MARK);
    file = at >= 0 ? file.slice(at + SRC_MARK.length) : file.slice(file.lastIndexOf('/') + 1);
    return `${file.replace(/\.js$/, '.ts')}:${m[2]}`;
  }
  return 'unknown';
}

/**
 * Control characters, C1 included, and the JavaScript line separators: text from outside the process
 * (a server's error body, an HTTP reason phrase, a feed's first bytes quoted by JSON.parse) may hold
 * them, and written raw they forge log lines or move a terminal's cursor.
 */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const CONTROLS_JSON = /[\u007f-\u009f\u2028\u2029]/g;
const escapeControl = (c: string): string => (c === '\n' ? '\\n' : c === '\t' ? '\\t' : c === '\r' ? '\\r' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

function consoleLine(json: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json; // not expected (values are redacted before pino writes them); a log line must never throw
  }
  const { level, ts, caller, msg, ...rest } = o;
  const extra = Object.keys(rest).length > 0 ? '\t' + JSON.stringify(rest).replace(CONTROLS_JSON, escapeControl) : '';
  // Tabs separate the columns: the message's own are written escaped too (JSON.stringify did the extras').
  return `${String(ts)}\t${String(level)}\t${String(caller)}\t${String(msg).replace(CONTROLS, escapeControl)}${extra}`;
}

let linesLost = 0;

/** Log lines that could not be written (stderr a file on a full disk, a closed pipe), since start. */
export function logLinesLost(): number {
  return linesLost;
}

/**
 * One line to stderr redirected to a file, written to the descriptor directly: through process.stderr,
 * a failed write (a full disk) is an 'error' event that ends the process, and the stream is dead after
 * it; here the line is counted as lost and the next one tries again.
 */
function toStderrFile(line: string): void {
  try {
    writeAll(2, Buffer.from(line + '\n'));
  } catch {
    linesLost++;
  }
}

/**
 * A pipe or terminal goes through process.stderr, which queues what a slow reader has not taken (Node
 * makes a pipe's descriptor non-blocking, so a direct write would fail as soon as its buffer is full).
 * A reader that is gone (EPIPE) fails the write, counted, never the process.
 */
function toStderrStream(line: string): void {
  process.stderr.write(line + '\n', (err) => {
    if (err) linesLost++;
  });
}

let stderrSink: ((line: string) => void) | null = null;

function defaultSink(): (line: string) => void {
  if (stderrSink === null) {
    const file = isRegularFile(2);
    if (!file) process.stderr.on('error', () => undefined); // counted in the write's callback
    stderrSink = file ? toStderrFile : toStderrStream;
  }
  return stderrSink;
}

export function createLogger(opts: LoggerOptions): Logger {
  const sink = opts.sink ?? defaultSink();
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const json of chunk.toString('utf8').split('\n')) {
        if (json === '') continue;
        // JSON.stringify escapes C0 controls but writes C1 ones (U+009B, a terminal's CSI) as they are.
        sink(opts.encoding === 'console' ? consoleLine(json) : json.replace(CONTROLS_JSON, escapeControl));
      }
      done();
    },
  });
  const p = pino(
    {
      level: opts.level,
      base: null,
      messageKey: 'msg',
      timestamp: () => `,"ts":${((performance.timeOrigin + performance.now()) / 1000).toFixed(6)}`,
      formatters: { level: (label) => ({ level: label }) },
    },
    stream,
  );
  const emit = (level: Level, msg: string, fields?: Fields): void => {
    if (!p.isLevelEnabled(level)) return;
    p[level]({ caller: callerOf(), ...(fields === undefined ? undefined : (redactDeep(fields) as Fields)) }, redact(msg));
  };
  return {
    debug: (msg, fields) => emit('debug', msg, fields),
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
    isEnabled: (level) => p.isLevelEnabled(level),
  };
}

let current: Logger = createLogger({ level: 'info', encoding: 'json' });

/** The process-wide logger; `setLogger` replaces it once the configuration is known. */
export const log: Logger = {
  debug: (msg, fields) => current.debug(msg, fields),
  info: (msg, fields) => current.info(msg, fields),
  warn: (msg, fields) => current.warn(msg, fields),
  error: (msg, fields) => current.error(msg, fields),
  isEnabled: (level) => current.isEnabled(level),
};

export function setLogger(l: Logger): void {
  current = l;
}
