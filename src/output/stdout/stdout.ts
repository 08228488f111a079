/** EF_OUTPUT_STDOUT_*: records on standard output, one JSON object per line (or indented). */
import type { FlowRecord } from '../../record/flow-record.js';
import type { ViewOptions } from '../../record/fields.js';
import { toJson, toNdjsonBuffer } from '../../record/json.js';
import { BatchingOutput } from '../batching.js';

export class StdoutOutput extends BatchingOutput {
  readonly name = 'stdout';

  constructor(private readonly view: ViewOptions, private readonly pretty: boolean, private readonly stream: NodeJS.WritableStream = process.stdout) {
    super({ batchMax: 1000, deadlineMs: 100, queueMax: 200_000 });
  }

  protected send(batch: FlowRecord[]): Promise<void> {
    const text = this.pretty ? batch.map((r) => toJson(r, this.view, true) + '\n').join('') : toNdjsonBuffer(batch, this.view);
    return new Promise((resolve, reject) => {
      const ok = this.stream.write(text, (err) => (err ? reject(err) : undefined));
      if (ok) resolve();
      else this.stream.once('drain', resolve);
    });
  }
}
