import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './helpers/tools.js';
import { tempDir } from './helpers/collect.js';

const UFC = [join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(REPO_ROOT, 'src', 'cli', 'main.ts')];

test('a switch flag given =value is a usage error, not read as on (--gzip=no served gzip, --with-customer=true turned it off)', () => {
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, EF_DATA_DIR: tempDir('ufc-switch-'), EF_OUTPUT_DUCKDB_ENABLE: 'false', EF_WEBUI_ENABLE: 'false' };
  for (const [args, message] of [
    [['dev', 'passivetotal-emulator', '--gzip=no', '--port', '0'], /^ufc dev passivetotal-emulator: --gzip takes no value\nusage: ufc dev passivetotal-emulator /],
    [['dev', 'passivetotal-emulator', '--seed-size=', '--port', '0'], /^ufc dev passivetotal-emulator: --seed-size takes no value\n/],
    [['riskiq-sink', '--with-customer=true', '--count', '1'], /^ufc riskiq-sink: --with-customer takes no value\nusage: ufc riskiq-sink /],
  ] as const) {
    // A timeout, not a hang, if the flag were taken: the emulator and the sink would run until stopped.
    const r = spawnSync(process.execPath, [...UFC, ...args], { encoding: 'utf8', env, timeout: 20_000 });
    assert.equal(r.status, 2, `ufc ${args.join(' ')}: exit 2 (got ${r.status}, ${r.signal ?? 'no signal'}): ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, message, `ufc ${args.join(' ')}: the flag named`);
    assert.equal(r.stdout, '', `ufc ${args.join(' ')}: nothing started`);
  }
});

test('a switch flag without a value still works: --gzip serves gzip, --with-customer passes the flag check', async () => {
  const emulator = spawn(process.execPath, [...UFC, 'dev', 'passivetotal-emulator', '--gzip', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const banner = await new Promise<string>((resolve) => {
    let out = '';
    emulator.stdout.setEncoding('utf8').on('data', (s: string) => {
      out += s;
      if (out.includes('\n')) resolve(out);
    });
    emulator.on('close', () => resolve(out));
  });
  emulator.kill('SIGTERM');
  assert.match(banner, /^PassiveTotal emulator at http:\/\/127\.0\.0\.1:\d+\S*: \d+ entries, \d+ bytes, text\+gzip, fault none\n/, `the banner: ${banner}`);
  const env = {
    PATH: process.env.PATH, HOME: process.env.HOME, EF_DATA_DIR: tempDir('ufc-switch-'),
    EF_OUTPUT_RISKIQ_CUSTOMER_UUID: '527dd194-a116-11af-8380-034aba1ce438', EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY: 'twBovkmV8YIxx0QyulybZg==',
  };
  const sink = spawnSync(process.execPath, [...UFC, 'riskiq-sink', '--with-customer', '--count', '0'], { encoding: 'utf8', env, timeout: 20_000 });
  // --count 0 is refused by the command itself, after main.ts checked the flags: the switch passed.
  assert.equal(sink.status, 2, `exit 2: ${sink.stderr}`);
  assert.match(sink.stderr, /^ufc riskiq-sink: --count "0": expected a positive number\n/, `refused for --count, not for the switch: ${sink.stderr}`);
});
