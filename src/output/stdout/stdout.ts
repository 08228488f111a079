/** EF_OUTPUT_STDOUT_*: records on standard output, one JSON object per line (or indented). */
import { isRegularFile, writeAll } from '../../fd-write.js';
import type { FlowRecord } from '../../record/flow-record.js';
import type { ViewOptions } from '../../record/fields.js';
import { toJson, toNdjsonBuffer } from '../../record/json.js';
import { BatchingOutput } from '../batching.js';

export class StdoutOutput extends BatchingOutput {
  readonly name = 'stdout';
  /**
   * Standard output redirected to a file: written to descriptor 1 directly. Through the stream, a
   * failed write (a full disk) is an 'error' event that ends the process, and the stream is dead after
   * it; here the send fails, is retried once there is room, and goes on from the byte it got to.
   */
  private readonly fd: number;
  /** The batch being written to the file and how far it got, so a retry neither repeats nor cuts a line. */
  private partial: { batch: FlowRecord[]; bytes: Buffer; written: number } | null = null;

  constructor(private readonly view: ViewOptions, private readonly pretty: boolean, private readonly stream: NodeJS.WritableStream = process.stdout) {
    super({ batchMax: 1000, deadlineMs: 100, queueMax: 200_000 });
    this.fd = stream === process.stdout && isRegularFile(1) ? 1 : -1;
    // A pipe whose reader went away (EPIPE) fails the sends (counted, then dropped), never the process.
    stream.on('error', () => undefined);
  }

  protected send(batch: FlowRecord[]): Promise<void> {
    if (this.fd >= 0) {
      if (this.partial?.batch !== batch) {
        const t = this.text(batch);
        this.partial = { batch, bytes: typeof t === 'string' ? Buffer.from(t) : t, written: 0 };
      }
      const p = this.partial;
      try {
        writeAll(this.fd, p.bytes, p.written, null, (n) => (p.written += n));
      } catch (err) {
        return Promise.reject(err as Error);
      }
      this.partial = null;
      return Promise.resolve();
    }
    const text = this.text(batch);
    // Settled by the write's own callback: a write that fails is not counted as sent.
    return new Promise((resolve, reject) => {
      this.stream.write(text, (err) => (err ? reject(err) : resolve()));
    });
  }

  private text(batch: FlowRecord[]): string | Buffer {
    return this.pretty ? batch.map((r) => toJson(r, this.view, true) + '\n').join('') : toNdjsonBuffer(batch, this.view);
  }
}
