/** The shared-memory ring decode workers write NDJSON into (src/pipeline/text-ring.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTextRing, SLOT_BYTES, SLOTS, TextRingReader, TextRingWriter, type RingPart } from '../src/pipeline/text-ring.js';

test('text ring: ranges read back as written, slots reused only once released, full ring refuses', () => {
  const shared = createTextRing();
  const w = new TextRingWriter(shared);
  const r = new TextRingReader(shared);
  // Lines of 100 000 characters: a line starts in a slot while 3 bytes per character still fit, so
  // eight go in a 1 MiB slot (the last from offset 700 000).
  const line = (i: number): string => `${String(i).padStart(6, '0')}${'x'.repeat(100_000 - 7)}\n`;
  const written: string[] = [];
  const parts: RingPart[] = [];
  let i = 0;
  for (; ; i++) {
    const text = line(i);
    if (!w.write(text, 1)) break;
    written.push(text);
    if (i % 2 === 1) parts.push(...w.takeParts());
  }
  parts.push(...w.takeParts());
  assert.equal(written.length, SLOTS * (Math.floor((SLOT_BYTES - 300_000) / 100_000) + 1), 'every slot filled, then refused');
  assert.equal(parts.reduce((n, p) => n + p.records, 0), written.length);
  assert.equal(parts.map((p) => r.bytes(p).toString('utf8')).join(''), written.join(''));
  // Releasing every range of one slot makes exactly that slot writable again.
  const slot = parts[5]!.slot;
  for (const p of parts) if (p.slot === slot) r.release(p);
  assert.equal(w.write(line(i), 1), true);
  const [again] = w.takeParts();
  assert.equal(again!.slot, slot);
  assert.equal(r.bytes(again!).toString('utf8'), line(i));
  // A text that could never fit a slot is refused at once.
  assert.equal(w.write('y'.repeat(SLOT_BYTES), 1), false);
});
