/**
 * The stop signals (src/cli/stop-signals.ts): the first asks for the stop; one that comes while it
 * runs is logged and ignored, its handler still in place (without one, Node would end the process at
 * once with what the outputs held unwritten); release() gives them back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger, setLogger } from '../src/log/logger.js';
import { STOP_SIGNALS, stopSignals } from '../src/cli/stop-signals.js';

test('a second stop signal while stopping is logged and ignored, still handled, until release()', async () => {
  const lines: string[] = [];
  setLogger(createLogger({ level: 'info', encoding: 'json', sink: (l) => lines.push(l) }));
  const before = new Map(STOP_SIGNALS.map((s) => [s, process.listenerCount(s)]));
  const { stopRequested, release } = stopSignals();
  try {
    process.emit('SIGTERM');
    assert.equal(await stopRequested, 'SIGTERM');
    for (const s of STOP_SIGNALS) assert.equal(process.listenerCount(s), before.get(s)! + 1, `${s} still handled while stopping`);
    // The same one again at once: its echo (a Ctrl-C under npm start reaches it twice), not logged.
    process.emit('SIGTERM');
    process.emit('SIGINT');
    process.emit('SIGHUP');
    const msgs = lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
    assert.deepEqual(msgs, [
      'received SIGINT while stopping (after SIGTERM): ignored; the stop ends by itself within its bound (SIGKILL ends it now, with what the outputs hold unwritten)',
      'received SIGHUP while stopping (after SIGTERM): ignored; the stop ends by itself within its bound (SIGKILL ends it now, with what the outputs hold unwritten)',
    ]);
  } finally {
    release();
    setLogger(createLogger({ level: 'info', encoding: 'json' }));
  }
  for (const s of STOP_SIGNALS) assert.equal(process.listenerCount(s), before.get(s)!, `${s} given back`);
});
