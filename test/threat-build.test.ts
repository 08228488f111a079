/** Parsing and indexing on a worker thread gives the same index as on the calling thread. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildHere, buildOnWorker } from '../src/threat/build.js';
import { ListFormatError } from '../src/threat/formats.js';
import { Slicer } from '../src/threat/slicer.js';
import { generateList } from '../src/dev/passivetotal-emulator.js';

test('buildOnWorker: same index as buildHere, body handed back intact, builtOn worker', async () => {
  const list = generateList({ entries: 20_000, format: 'json-object', seed: 21, gzip: true });
  const copy = Buffer.from(list.body);
  const here = await buildHere(list.body, 'blocklist', new Slicer());
  const { built, body } = await buildOnWorker(list.body, 'blocklist');
  assert.ok(body.equals(copy), 'the body comes back unchanged');
  assert.equal(built.builtOn, 'worker');
  assert.equal(here.builtOn, 'main');
  assert.equal(built.index.size, here.index.size);
  assert.ok(built.index.size > 19_000);
  assert.equal(built.format, 'json');
  assert.equal(built.gzip, true);
  for (const { addr, name } of list.sample) {
    assert.equal(built.index.nameOf(addr.split('/')[0]!), name, addr);
    assert.equal(here.index.nameOf(addr.split('/')[0]!), name, addr);
  }
  assert.equal(built.index.nameOf('127.0.0.1'), null);
});

test('buildOnWorker: a small pooled body is copied before transfer; unreadable bodies reject with ListFormatError', async () => {
  const small = Buffer.from('192.0.2.1 ; x\n'); // lives in Node's shared pool
  const { built, body } = await buildOnWorker(small, 'blocklist');
  assert.equal(built.index.nameOf('192.0.2.1'), 'x');
  assert.equal(small.toString(), '192.0.2.1 ; x\n', 'the caller\'s pooled buffer is untouched');
  assert.equal(body.toString(), '192.0.2.1 ; x\n');
  await assert.rejects(buildOnWorker(Buffer.from('{"count": 1}'), 'blocklist'), (e: Error) => e instanceof ListFormatError && /holds no array/.test(e.message));
  const bad = await buildOnWorker(Buffer.from('nothing here\n'), 'blocklist');
  assert.equal(bad.built.index.size, 0);
  assert.equal(bad.built.bad, 1);
});
