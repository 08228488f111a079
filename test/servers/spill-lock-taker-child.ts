/**
 * Child process for test/spill-lock-removed.test.ts: a second collector (or a replay) that finds a
 * spill directory whose lock a clean-up job removed. It locks the directory, delivers `count` records
 * from it (peek and commit, as an output does), says on stdout what it found and delivered, and
 * holds the lock until killed.
 * argv: <spill dir> <records to deliver>
 */
import { SpillLog } from '../../src/output/spill/segment-log.js';

const [dir, count] = process.argv.slice(2) as [string, string];
const s = new SpillLog({ dir, maxBytes: 1 << 20, entryRecords: 10 });
const got: number[] = [];
while (got.length < Number(count)) {
  const b = s.peek(10);
  if (b.length === 0) break;
  for (const r of b) got.push(r.sequence);
  s.commit();
}
process.stdout.write(`${JSON.stringify({ recovered: s.c.recovered, got })}\n`);
setInterval(() => undefined, 1000);
