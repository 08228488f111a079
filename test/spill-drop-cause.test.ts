/**
 * Records the spill loses with a removed or damaged segment are logged and counted as such, not as the
 * disk cap being reached.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SpillLog } from '../src/output/spill/segment-log.js';
import { FakeTarget, opts, records, until } from './helpers/spill-target.js';
import { tempDir } from './helpers/collect.js';
import { withLog } from './helpers/log-lines.js';

test('records lost with a removed or damaged segment are logged as such, not as the disk cap being reached', async () => {
  await withLog(async (lines) => {
    // Removed while running: found gone when it is read.
    const dir = tempDir('ufc-spillw-');
    const t = new FakeTarget(opts(dir, 50_000_000));
    await t.start();
    const next = { n: 0 };
    t.down = true;
    for (let i = 0; i < 3; i++) t.write(records(next, 10));
    await until(() => t.counters().spill_pending === 30, 5000, 'the outage spilled');
    for (const f of readdirSync(dir)) if (f.endsWith('.seg')) rmSync(join(dir, f));
    t.down = false;
    await until(() => t.counters().spill_pending === 0, 10_000, 'the spill read');
    await t.close();
    const c = t.counters();
    assert.equal(c.spill_dropped, 30, `counted as dropped: ${JSON.stringify(c)}`);
    assert.equal(c.spill_dropped_damaged, 30, `and as lost with their segments: ${JSON.stringify(c)}`);
    await new Promise((r) => setImmediate(r));
    assert.ok(!lines.some((l) => l.includes('reached its cap')), `not put down to the cap:\n${lines.join('\n')}`);
    assert.ok(lines.some((l) => l.includes(`fake output: 30 records dropped from the spill directory ${dir}: their segments were damaged, unreadable or removed`)), lines.join('\n'));
    assert.ok(lines.some((l) => l.includes('is gone (its file, or the directory, was removed while in use)')), lines.join('\n'));

    // Damaged, found at start.
    lines.length = 0;
    const dir2 = tempDir('ufc-spillw-');
    const a = new SpillLog({ dir: dir2, maxBytes: 1 << 30, entryRecords: 10 });
    a.append(records({ n: 0 }, 30));
    a.close();
    const p = join(dir2, readdirSync(dir2).find((n) => n.endsWith('.seg'))!);
    const buf = readFileSync(p);
    buf[buf.length - 5] ^= 0xff; // inside the last entry's payload, whose header still frames it
    writeFileSync(p, buf);
    const u = new FakeTarget(opts(dir2, 50_000_000));
    await u.start();
    await until(() => u.got.length === 20, 10_000, 'the intact records delivered');
    await u.close();
    await new Promise((r) => setImmediate(r));
    assert.equal(u.counters().spill_dropped_damaged, 10, 'the damaged entry counted as lost');
    assert.ok(!lines.some((l) => l.includes('reached its cap')), `not put down to the cap:\n${lines.join('\n')}`);
    assert.ok(lines.some((l) => l.includes(`fake output: 10 records dropped from the spill directory ${dir2}: their segments were damaged`)), lines.join('\n'));
  });
});
