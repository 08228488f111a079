import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasIpv6Loopback, REPO_ROOT, TESTDATA } from './helpers/tools.js';
import { tempDir } from './helpers/collect.js';

const CLI = [join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(REPO_ROOT, 'src', 'cli', 'main.ts')];
const SECRETS = {
  EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY: 'twBovkmV8YIxx0QyulybZg==',
  EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_KEY: '0ff5abcdefdaf9ef12345675c4c11abcdef61bfe7ad1234568ec395bb288639',
  EF_OUTPUT_ELASTICSEARCH_PASSWORD: 'correct-horse-battery',
};

function baseEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
  return { ...env, EF_DATA_DIR: tempDir('ufc-cli-'), EF_OUTPUT_DUCKDB_ENABLE: 'false', EF_WEBUI_ENABLE: 'false', ...extra };
}

test('ufc --version and --help', () => {
  const v = spawnSync(process.execPath, [...CLI, '--version'], { encoding: 'utf8' });
  assert.equal(v.status, 0);
  assert.equal(v.stdout.trim(), JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version);
  const h = spawnSync(process.execPath, [...CLI, '--help'], { encoding: 'utf8' });
  assert.equal(h.status, 0);
  for (const cmd of ['ufc run', 'ufc config', 'ufc replay']) assert.ok(h.stdout.includes(cmd), cmd);
});

test('ufc COMMAND --help: the command\'s usage and what each of its flags means, every flag of the usage listed', async () => {
  const { COMMANDS } = await import('../src/cli/commands.js');
  for (const [name, load] of Object.entries(COMMANDS)) {
    const c = await load();
    const inUsage = [...c.usage.matchAll(/--([a-z][a-z-]*)/g)].map((m) => m[1]!);
    const described = (c.flags ?? []).map(([f]) => /^--([a-z][a-z-]*)/.exec(f)![1]!);
    assert.deepEqual([...new Set(inUsage)].sort(), [...new Set(described)].sort(), `${name}: the flags of its usage and of its help`);
  }
  const h = spawnSync(process.execPath, [...CLI, 'dev', 'passivetotal-emulator', '--help'], { encoding: 'utf8' });
  assert.equal(h.status, 0);
  assert.match(h.stdout, /^usage: ufc dev passivetotal-emulator /);
  assert.match(h.stdout, /--fault F +Fault to start with: none, 401, 500, stall, slow, truncate, garbage, empty/);
  const sink = spawnSync(process.execPath, [...CLI, 'help', 'riskiq-sink'], { encoding: 'utf8' });
  assert.match(sink.stdout, /^usage: ufc riskiq-sink /);
  assert.match(sink.stdout, /--count N +Exit after N rows\./);
});

test('bad configuration: every problem listed, exit 2, no socket opened', async () => {
  const r = spawnSync(process.execPath, [...CLI, 'run'], {
    encoding: 'utf8',
    env: baseEnv({ EF_FLOW_SERVER_UDP_IP: '127.0.0.1', EF_FLOW_SERVER_UDP_PORT: '0', EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_REFRESH_INTERVAL: '30', EF_LOGGER_LEVEL: 'chatty', EF_FLOW_OUTPUT_RISKIQ_ENABLE: 'true' }),
    timeout: 30_000,
  });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /configuration has 3 problems/);
  assert.match(r.stderr, /EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_REFRESH_INTERVAL="30": a whole number of at least 60/);
  assert.match(r.stderr, /EF_LOGGER_LEVEL="chatty": one of debug, info, warn, error/);
  assert.match(r.stderr, /EF_FLOW_OUTPUT_RISKIQ_ENABLE: this name was removed in 6.0.0; use EF_OUTPUT_RISKIQ_ENABLE instead/);
  assert.doesNotMatch(r.stderr, /listening for flows/);
});

test('secrets never appear in ufc config or in any log line', () => {
  const env = baseEnv({ ...SECRETS, EF_LOGGER_LEVEL: 'debug', EF_OUTPUT_RISKIQ_CUSTOMER_UUID: '527dd194-a116-11af-8380-034aba1ce438', EF_NOT_AN_OPTION: SECRETS.EF_OUTPUT_ELASTICSEARCH_PASSWORD });
  const c = spawnSync(process.execPath, [...CLI, 'config'], { encoding: 'utf8', env });
  assert.equal(c.status, 0, c.stderr);
  const r = spawnSync(process.execPath, [...CLI, 'replay', join(TESTDATA, 'akvorado', 'netflow', 'nfv5.pcap')], { encoding: 'utf8', env });
  assert.equal(r.status, 0, r.stderr);
  const all = c.stdout + c.stderr + r.stdout + r.stderr;
  assert.match(c.stdout, /EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY=\*\*\*/);
  assert.match(r.stderr, /replay finished/);
  for (const s of Object.values(SECRETS)) assert.ok(!all.includes(s), `secret leaked: ${s.slice(0, 6)}...`);
});

test('ufc config reads the files the enrichers load as start-up does and lists every one that does not load (exit 2); good files pass', () => {
  const dir = tempDir('ufc-cli-files-');
  writeFileSync(join(dir, 'ipaddrs.yml'), '192.0.2.0/24:\n  vlan: 9999\n');
  writeFileSync(join(dir, 'netifs.yml'), '192.0.2.1:\n  x: { ifName: ge-0/0/1 }\n');
  const env = {
    EF_PROCESSOR_ENRICH_IPADDR_METADATA_ENABLE: 'true', EF_PROCESSOR_ENRICH_IPADDR_METADATA_USERDEF_PATH: join(dir, 'ipaddrs.yml'),
    EF_PROCESSOR_ENRICH_NETIF_METADATA_ENABLE: 'true', EF_PROCESSOR_ENRICH_NETIF_METADATA_USERDEF_PATH: join(dir, 'netifs.yml'),
  };
  const bad = spawnSync(process.execPath, [...CLI, 'config'], { encoding: 'utf8', env: baseEnv(env) });
  assert.equal(bad.status, 2, bad.stderr);
  assert.equal(bad.stdout, '', 'no configuration printed when a file does not load');
  assert.match(bad.stderr, /configuration has 2 problems:\n {2}EF_PROCESSOR_ENRICH_NETIF_METADATA_USERDEF_PATH: .*netifs\.yml: 192\.0\.2\.1: x: not an interface index.*\n {2}EF_PROCESSOR_ENRICH_IPADDR_METADATA_USERDEF_PATH: .*ipaddrs\.yml: 192\.0\.2\.0\/24: vlan is a VLAN ID/);
  writeFileSync(join(dir, 'ipaddrs.yml'), '192.0.2.0/24:\n  vlan: 99\n');
  writeFileSync(join(dir, 'netifs.yml'), '192.0.2.1:\n  1: { ifName: ge-0/0/1 }\n');
  const good = spawnSync(process.execPath, [...CLI, 'config'], { encoding: 'utf8', env: baseEnv(env) });
  assert.equal(good.status, 0, good.stderr);
  assert.match(good.stdout, /^EF_PROCESSOR_ENRICH_IPADDR_METADATA_ENABLE=true$/m);
  // The threat feeds file (read as the chain is built) and the RiskIQ include/exclude file: both listed.
  writeFileSync(join(dir, 'feeds.yml'), 'feeds:\n  - nonsense: 1\n');
  writeFileSync(join(dir, 'inclexcl.yml'), 'include: [\n');
  const threat = spawnSync(process.execPath, [...CLI, 'config'], { encoding: 'utf8', env: baseEnv({
    ...env,
    EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_ENABLE: 'true', EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_USERDEF_PATH: join(dir, 'feeds.yml'),
    EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENABLE: 'true', EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_USER: 'analyst@example.com', EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_KEY: 'not-a-real-key-0123456789',
    EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_INCLEXCL_PATH: join(dir, 'inclexcl.yml'), EF_OUTPUT_RISKIQ_ENABLE: 'false',
  }) });
  assert.equal(threat.status, 2, threat.stderr);
  assert.match(threat.stderr, /configuration has 2 problems:\n {2}EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_USERDEF_PATH: .*feeds\.yml: feed 1: unknown key "nonsense".*\n {2}EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_INCLEXCL_PATH: .*inclexcl\.yml: /);
});

test('a password in a URL option is masked in ufc config; a secret that also occurs in numbers leaves every log line valid', () => {
  const c = spawnSync(process.execPath, [...CLI, 'config'], { encoding: 'utf8', env: baseEnv({ EF_OUTPUT_CLICKHOUSE_ADDRESSES: 'http://chuser:UrlPassw0rdZZ@127.0.0.1:18124' }) });
  assert.equal(c.status, 0, c.stderr);
  assert.match(c.stdout, /^EF_OUTPUT_CLICKHOUSE_ADDRESSES=http:\/\/chuser:\*\*\*@127\.0\.0\.1:18124$/m);
  assert.ok(!c.stdout.includes('UrlPassw0rdZZ'));
  // The first three digits of the time (they change every 116 days): in every line's "ts". Replacing it
  // inside the serialized line broke the JSON, and the console encoding (which parses it) stopped the
  // process at its first line.
  const inTs = String(Math.floor(Date.now() / 1000)).slice(0, 3);
  for (const encoding of ['json', 'console']) {
    const r = spawnSync(process.execPath, [...CLI, 'replay', join(TESTDATA, 'akvorado', 'netflow', 'nfv5.pcap')], {
      encoding: 'utf8', env: baseEnv({ EF_OUTPUT_CLICKHOUSE_PASSWORD: inTs, EF_LOGGER_ENCODING: encoding, EF_OUTPUT_FILE_ENABLE: 'true' }),
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /replay finished/);
    if (encoding === 'json') {
      for (const l of r.stderr.trim().split('\n')) assert.doesNotThrow(() => JSON.parse(l), l);
      assert.ok(r.stderr.includes(`"ts":${inTs}`), 'the secret is in the times');
    }
  }
});

test('logs are zap-style JSON lines with level, ts, caller and msg', () => {
  const r = spawnSync(process.execPath, [...CLI, 'replay', join(TESTDATA, 'akvorado', 'netflow', 'nfv5.pcap')], { encoding: 'utf8', env: baseEnv({}) });
  const lines = r.stderr.trim().split('\n').filter((l) => l.startsWith('{'));
  assert.ok(lines.length > 0);
  for (const l of lines) {
    const o = JSON.parse(l) as Record<string, unknown>;
    assert.deepEqual(Object.keys(o).slice(0, 3), ['level', 'ts', 'caller']);
    assert.match(String(o.caller), /^[\w/.-]+\.ts:\d+$/);
    assert.equal(typeof o.ts, 'number');
    assert.ok(Math.abs((o.ts as number) - Date.now() / 1000) < 120);
    assert.equal(typeof o.msg, 'string');
  }
  const con = spawnSync(process.execPath, [...CLI, 'replay', join(TESTDATA, 'akvorado', 'netflow', 'nfv5.pcap')], { encoding: 'utf8', env: baseEnv({ EF_LOGGER_ENCODING: 'console' }) });
  assert.match(con.stderr, /^\d+\.\d+\tinfo\tcli\/replay\.ts:\d+\treplay finished/m);
});

test('ufc run: UDP in, NetFlow v5 to stdout, SIGTERM flushes and exits 0', async () => {
  const child = spawn(process.execPath, [...CLI, 'run'], {
    env: baseEnv({ EF_FLOW_SERVER_UDP_IP: '127.0.0.1', EF_FLOW_SERVER_UDP_PORT: '0,0', EF_OUTPUT_STDOUT_ENABLE: 'true' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const ports: number[] = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('collector did not start: ' + stderr)), 30_000);
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      const found = [...stderr.matchAll(/listening for flows on udp 127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
      if (found.length === 2) {
        clearTimeout(timer);
        resolve(found);
      }
    });
  });
  assert.equal(new Set(ports).size, 2, 'two sockets');
  const payload = readFileSync(join(TESTDATA, 'logstash-codec-netflow', 'dat', 'netflow5_test_microtik.dat'));
  const sock = dgram.createSocket('udp4');
  for (const port of ports) await new Promise<void>((r) => sock.send(payload, port, '127.0.0.1', () => r()));
  // A datagram of no known protocol is counted, not fatal.
  await new Promise<void>((r) => sock.send(Buffer.from('hello world!'), ports[0]!, '127.0.0.1', () => r()));
  sock.close();
  await new Promise((r) => setTimeout(r, 500));
  child.kill('SIGTERM');
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  assert.equal(code, 0, stderr);
  const recs = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(recs.length, 60, '30 records on each port');
  assert.equal(recs[29]!['flow.src.ip.addr'], '10.0.8.1');
  assert.equal(recs[29]!['flow.export.ip.addr'], '127.0.0.1');
  assert.match(stderr, /"packets":3,"records":60,"errors":1/);
});

test('a port already in use stops start-up with one clear line and exit 1; an IPv6 address is written [addr]:port there', async (t) => {
  const v6 = await hasIpv6Loopback();
  if (!v6) t.diagnostic('no IPv6 loopback (::1) on this host: the IPv4 case only');
  for (const [type, ip, shown] of [['udp4', '127.0.0.1', '127\\.0\\.0\\.1'], ['udp6', '::1', '\\[::1\\]']] as const) {
    if (type === 'udp6' && !v6) continue;
    const blocker = dgram.createSocket(type);
    await new Promise<void>((r) => blocker.bind(0, ip, () => r()));
    const port = blocker.address().port;
    const r = spawnSync(process.execPath, [...CLI, 'run'], { encoding: 'utf8', env: baseEnv({ EF_FLOW_SERVER_UDP_IP: ip, EF_FLOW_SERVER_UDP_PORT: String(port) }), timeout: 30_000 });
    blocker.close();
    assert.equal(r.status, 1);
    const said = `${r.stdout}${r.stderr}`.match(new RegExp(`cannot listen on udp ${shown}:${port}: the port is already in use`, 'g')) ?? [];
    assert.equal(said.length, 1, `${ip}: said once (the receive thread logged it as well as the caller)`);
    assert.doesNotMatch(r.stderr, /at node:dgram/);
  }
});

test('a web UI port in use stops start-up with one line saying so and naming its options, exit 1', async () => {
  const { createServer } = await import('node:net');
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  const port = (blocker.address() as { port: number }).port;
  const r = spawnSync(process.execPath, [...CLI, 'run'], {
    encoding: 'utf8', timeout: 30_000,
    env: baseEnv({ EF_FLOW_SERVER_UDP_IP: '127.0.0.1', EF_FLOW_SERVER_UDP_PORT: '0', EF_WEBUI_ENABLE: 'true', EF_WEBUI_IP: '127.0.0.1', EF_WEBUI_PORT: String(port) }),
  });
  blocker.close();
  assert.equal(r.status, 1);
  assert.match(r.stderr, new RegExp(`web UI: cannot listen on 127\\.0\\.0\\.1:${port}: the port is already in use \\(another collector\\?\\); see EF_WEBUI_IP and EF_WEBUI_PORT, or EF_WEBUI_ENABLE=false`));
  assert.doesNotMatch(r.stderr, /EADDRINUSE/);
});

test('a configured file that will not load (YAML, an MMDB database, a sampling-rate or feed file) stops start-up with one line naming its option, exit 2 (not restarted), no stack trace, and nothing left running', () => {
  const dir = tempDir('ufc-cli-start-');
  const lists = join(dir, 'inclexcl.yml');
  writeFileSync(lists, 'include: [\n');
  const mmdb = join(dir, 'city.mmdb');
  writeFileSync(mmdb, 'garbage');
  const rates = join(dir, 'rates.yml');
  writeFileSync(rates, 'foo: [1,2]\n');
  const cases: [Record<string, string>, RegExp][] = [
    [{
      EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENABLE: 'true', EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_USER: 'user@domain.com',
      EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_KEY: SECRETS.EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_KEY,
      // Nothing listens on the discard port of loopback: the download fails fast, but it is not reached.
      EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENDPOINT: 'http://127.0.0.1:9/download',
      EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_INCLEXCL_PATH: lists,
    }, /start-up failed: EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_INCLEXCL_PATH: .*inclexcl\.yml: /],
    [{ EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_GEOIP_ENABLE: 'true', EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_GEOIP_PATH: mmdb },
      /start-up failed: EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_GEOIP_PATH: .*city\.mmdb is not a readable MaxMind \(MMDB\) database/],
    // With decode workers the database is the workers' to open: the main thread checks it first.
    [{ EF_FLOW_SERVER_WORKERS: '1', EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_ASN_ENABLE: 'true', EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_ASN_PATH: mmdb },
      /start-up failed: EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_ASN_PATH: .*city\.mmdb is not a readable MaxMind \(MMDB\) database/],
    [{ EF_PROCESSOR_ENRICH_SAMPLERATE_USERDEF_ENABLE: 'true', EF_PROCESSOR_ENRICH_SAMPLERATE_USERDEF_PATH: lists },
      /start-up failed: EF_PROCESSOR_ENRICH_SAMPLERATE_USERDEF_PATH: .*inclexcl\.yml: /],
    [{ EF_PROCESSOR_ENRICH_SAMPLERATE_USERDEF_ENABLE: 'true', EF_PROCESSOR_ENRICH_SAMPLERATE_USERDEF_PATH: rates },
      /start-up failed: EF_PROCESSOR_ENRICH_SAMPLERATE_USERDEF_PATH: .*rates\.yml: foo: rate \[1,2\] is not a whole number >= 1"/],
    [{
      EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_ENABLE: 'true', EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_BASE_URL: 'http://127.0.0.1:9',
      EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_USERDEF_PATH: lists,
    }, /start-up failed: EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_USERDEF_PATH: .*inclexcl\.yml: /],
  ];
  for (const [env, line] of cases) {
    // Exiting at all shows that what did start (the list's timers) was stopped again.
    const r = spawnSync(process.execPath, [...CLI, 'run'], { encoding: 'utf8', env: baseEnv({ EF_FLOW_SERVER_UDP_IP: '127.0.0.1', EF_FLOW_SERVER_UDP_PORT: '0', ...env }), timeout: 30_000 });
    assert.equal(r.status, 2, r.stderr);
    const failed = r.stderr.split('\n').filter((l) => l.includes('start-up failed'));
    assert.equal(failed.length, 1, r.stderr);
    assert.match(failed[0]!, line);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
});

/** Starts a collector command and resolves once it listens; its stderr so far comes along. */
async function started(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ child: ReturnType<typeof spawn>; stderr: () => string }> {
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('collector did not start: ' + stderr));
    }, 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`collector exited (${code}) before listening: ${stderr}`));
    });
    child.stderr!.on('data', () => {
      if (stderr.includes('listening for flows')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return { child, stderr: () => stderr };
}

async function stopped(child: ReturnType<typeof spawn>): Promise<number | null> {
  // No pause first: SIGTERM the moment it listens must stop it cleanly too (exit 0).
  if (child.exitCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  child.kill('SIGTERM');
  return await exited;
}

test('bin/ufc fixes glibc\'s mmap threshold unless the environment sets one; started without it, the log says so', { skip: process.platform !== 'linux' && 'Linux only (/proc, glibc)' }, async () => {
  const env = baseEnv({ EF_FLOW_SERVER_UDP_IP: '127.0.0.1', EF_FLOW_SERVER_UDP_PORT: '0', UFC_NODE: process.execPath });
  const environ = (pid: number): string[] => readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  const NOTE = /mmap threshold is not fixed/;
  for (const [preset, expected] of [[undefined, '131072'], ['65536', '65536']] as const) {
    const { child, stderr } = await started(join(REPO_ROOT, 'bin', 'ufc'), ['run'], preset === undefined ? env : { ...env, MALLOC_MMAP_THRESHOLD_: preset });
    // bin/ufc execs node, so the pid is the collector's own.
    const vars = environ(child.pid!);
    assert.ok(vars.includes(`MALLOC_MMAP_THRESHOLD_=${expected}`), vars.filter((v) => v.startsWith('MALLOC')).join(' ') || 'no MALLOC_ variable');
    const argv = readFileSync(`/proc/${child.pid!}/cmdline`, 'utf8').split('\0');
    assert.equal(argv[1], join(REPO_ROOT, 'bin', 'ufc.mjs'), `the launcher ran node on bin/ufc.mjs: ${argv.join(' ')}`);
    assert.doesNotMatch(stderr(), NOTE);
    assert.equal(await stopped(child), 0, stderr());
  }
  const glibc = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime !== undefined;
  const direct = await started(process.execPath, [...CLI, 'run'], env);
  assert.ok(!environ(direct.child.pid!).some((v) => v.startsWith('MALLOC_MMAP_THRESHOLD_=')));
  if (glibc) {
    assert.match(direct.stderr(), NOTE);
    // The hint names the value the launcher sets.
    const launcherDefault = /MALLOC_MMAP_THRESHOLD_:=(\d+)/.exec(readFileSync(join(REPO_ROOT, 'bin', 'ufc'), 'utf8'))?.[1];
    assert.equal(launcherDefault, '131072');
    assert.match(direct.stderr(), new RegExp(`set MALLOC_MMAP_THRESHOLD_=${launcherDefault} in the environment`));
  } else assert.doesNotMatch(direct.stderr(), NOTE);
  assert.equal(await stopped(direct.child), 0, direct.stderr());
});

test('SIGHUP (a closed terminal) stops the collector like SIGTERM: outputs flushed, exit 0', async () => {
  const env = baseEnv({ EF_FLOW_SERVER_UDP_IP: '127.0.0.1', EF_FLOW_SERVER_UDP_PORT: '0' });
  // Node itself with tsx as a loader, not tsx's CLI: that wrapper process would die of the SIGHUP itself.
  const { child, stderr } = await started(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src', 'cli', 'main.ts'), 'run'], env);
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  child.kill('SIGHUP');
  assert.equal(await exited, 0, stderr());
  assert.match(stderr(), /received SIGHUP: stopping input, flushing outputs/);
  assert.match(stderr(), /"msg":"stopped"/);
});

test('bin/ufc: a log line\'s caller names the TypeScript line, also in modules loaded first', () => {
  const r = spawnSync(join(REPO_ROOT, 'bin', 'ufc'), ['config'], { encoding: 'utf8', env: baseEnv({ EF_NOT_AN_OPTION: '1' }) });
  assert.equal(r.status, 0, r.stderr);
  const line = r.stderr.split('\n').find((l) => l.includes('EF_NOT_AN_OPTION'));
  assert.ok(line !== undefined, r.stderr);
  const src = readFileSync(join(REPO_ROOT, 'src', 'cli', 'common.ts'), 'utf8').split('\n');
  const at = src.findIndex((l) => l.includes('for (const w of res.warnings) log.warn(w);')) + 1;
  assert.equal((JSON.parse(line) as { caller: string }).caller, `cli/common.ts:${at}`);
  // The container's entrypoint (plain Node, the compiled code) alike.
  const inContainer = spawnSync(process.execPath, [join(REPO_ROOT, 'packaging', 'docker', 'entrypoint.mjs'), '--', 'config'], { encoding: 'utf8', env: baseEnv({ EF_NOT_AN_OPTION: '1' }) });
  const cline = inContainer.stderr.split('\n').find((l) => l.includes('EF_NOT_AN_OPTION'));
  assert.ok(cline !== undefined, inContainer.stderr);
  assert.equal((JSON.parse(cline) as { caller: string }).caller, `cli/common.ts:${at}`, 'the entrypoint\'s caller names the .ts line');
});

test('bin/ufc: a missing --env-file is ufc\'s configuration problem (Node 20 took the flag as its own), unknown options and stray arguments are usage errors', () => {
  const bin = join(REPO_ROOT, 'bin', 'ufc');
  const missing = spawnSync(bin, ['config', '--env-file', '/nonexistent/ufc.env'], { encoding: 'utf8', env: baseEnv({}) });
  assert.equal(missing.status, 2, missing.stderr);
  assert.match(missing.stderr, /--env-file \/nonexistent\/ufc\.env: no such file/);
  for (const [args, message] of [
    [['config', '--envfile', 'x'], /ufc config: unknown option --envfile/],
    [['config', '--env-file'], /ufc config: --env-file needs a value/],
    [['config', 'extra'], /ufc config: unexpected argument "extra"/],
    [['--bogus'], /ufc run: unknown option --bogus/],
  ] as const) {
    const r = spawnSync(bin, [...args], { encoding: 'utf8', env: baseEnv({}) });
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /listening/);
  }
  const ports = spawnSync(bin, ['run'], { encoding: 'utf8', env: baseEnv({ EF_FLOW_SERVER_UDP_PORT: ' , ' }), timeout: 20_000 });
  assert.equal(ports.status, 2, ports.stderr);
  assert.match(ports.stderr, /EF_FLOW_SERVER_UDP_PORT="": cannot be empty/);
});

test('--env-file may be given more than once: files read in order, a later file\'s value wins, the environment wins over all; another flag given twice is refused', () => {
  const dir = tempDir('ufc-cli-envs-');
  const first = join(dir, 'first.env');
  const second = join(dir, 'second.env');
  writeFileSync(first, 'EF_LOGGER_LEVEL=debug\nEF_WEBUI_PORT=8181\nEF_OUTPUT_RISKIQ_PORT=20001\n');
  writeFileSync(second, '[Service]\nEnvironment="EF_WEBUI_PORT=8282" "EF_OUTPUT_RISKIQ_PORT=20002"\n');
  // `--` first, as bin/ufc passes it: Node 20 would take an --env-file after the script as its own.
  for (const args of [['--env-file', first, '--env-file', second], [`--env-file=${first}`, `--env-file=${second}`]]) {
    // Only the last file was read: EF_LOGGER_LEVEL fell back to its default without a word.
    const c = spawnSync(process.execPath, [...CLI, '--', 'config', ...args], { encoding: 'utf8', env: baseEnv({ EF_OUTPUT_RISKIQ_PORT: '20003' }) });
    assert.equal(c.status, 0, c.stderr);
    assert.match(c.stdout, /^EF_LOGGER_LEVEL=debug$/m, 'from the first file');
    assert.match(c.stdout, /^EF_WEBUI_PORT=8282$/m, 'the second file over the first');
    assert.match(c.stdout, /^EF_OUTPUT_RISKIQ_PORT=20003$/m, 'the environment over both');
  }
  const missing = spawnSync(process.execPath, [...CLI, '--', 'config', '--env-file', first, '--env-file', join(dir, 'missing.env')], { encoding: 'utf8', env: baseEnv({}) });
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /--env-file \S+missing\.env: no such file/);
  const twice = spawnSync(process.execPath, [...CLI, 'replay', '--port', '2055', '--port', '9995', join(TESTDATA, 'akvorado', 'netflow', 'nfv5.pcap')], { encoding: 'utf8', env: baseEnv({}) });
  assert.equal(twice.status, 2, twice.stderr);
  assert.match(twice.stderr, /ufc replay: --port is given 2 times; it may be given once/);
});

test('the service\'s view: the unit file, the drop-in and ufc.env, in systemd\'s order (the unit\'s own Environment= lines read, EnvironmentFile= values over Environment=)', () => {
  const dir = tempDir('ufc-cli-unit-');
  const dropIn = join(dir, 'flowcoll.conf');
  const envFile = join(dir, 'ufc.env');
  // The shipped drop-in with the seed's lines below its [Service] line, as docs/operations.md says.
  writeFileSync(dropIn, readFileSync(join(REPO_ROOT, 'packaging', 'deb', 'flowcoll.conf'), 'utf8') + 'Environment="EF_LOGGER_LEVEL=warn" "EF_OUTPUT_RISKIQ_PORT=20001"\n');
  writeFileSync(envFile, readFileSync(join(REPO_ROOT, 'packaging', 'deb', 'ufc.env'), 'utf8') + 'EF_OUTPUT_RISKIQ_PORT=20002\n');
  const env = baseEnv({});
  delete env.EF_DATA_DIR;
  const c = spawnSync(process.execPath, [...CLI, '--', 'config', '--env-file', join(REPO_ROOT, 'packaging', 'deb', 'flowcoll.service'), '--env-file', dropIn, '--env-file', envFile], { encoding: 'utf8', env });
  assert.equal(c.status, 0, c.stderr);
  assert.match(c.stdout, /^EF_DATA_DIR=\/var\/lib\/ufc$/m, 'the unit\'s Environment= line');
  assert.match(c.stdout, /^EF_OUTPUT_FILE_PATH=\/var\/lib\/ufc\/flows\.ndjson$/m);
  assert.match(c.stdout, /^EF_LOGGER_LEVEL=warn$/m, 'the drop-in');
  assert.match(c.stdout, /^EF_OUTPUT_RISKIQ_PORT=20002$/m, 'ufc.env over the drop-in');
  // The command the shipped drop-in gives for this is the one above.
  const comment = readFileSync(join(REPO_ROOT, 'packaging', 'deb', 'flowcoll.conf'), 'utf8');
  assert.match(comment.replace(/\\\n#\s*/g, ' '), /ufc config --env-file \/lib\/systemd\/system\/flowcoll\.service --env-file \/etc\/systemd\/system\/flowcoll\.service\.d\/flowcoll\.conf --env-file \/etc\/ufc\/ufc\.env/);
});

test('ufc run: log lines a slow reader of stderr has not taken yet still reach it after the stop (the exit waits for them)', async () => {
  // About 100 KB of start-up warnings (unknown options), more than a pipe holds: they queue in the process.
  const unknown: Record<string, string> = {};
  for (let i = 0; i < 700; i++) unknown[`EF_UNKNOWN_OPTION_${i}`] = 'x';
  // Readiness from the web UI's /healthz: the log is not read until after the stop.
  const { createServer } = await import('node:net');
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const web = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const child = spawn(process.execPath, [...CLI, 'run'], {
    env: baseEnv({ EF_FLOW_SERVER_UDP_IP: '127.0.0.1', EF_FLOW_SERVER_UDP_PORT: '0', EF_FLOW_SERVER_WORKERS: '0', EF_WEBUI_ENABLE: 'true', EF_WEBUI_PORT: String(web), ...unknown }),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr.pause();
  const exited = new Promise<number | null>((r) => child.on('exit', r));
  for (const end = Date.now() + 60_000; Date.now() < end;) {
    if (await fetch(`http://127.0.0.1:${web}/healthz`).then((r) => r.ok, () => false)) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 3000));
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const ended = new Promise((r) => child.stderr.on('end', r));
  child.stderr.resume();
  assert.equal(await exited, 0);
  await ended;
  assert.ok(stderr.length > 64 * 1024, `${stderr.length} bytes of log`);
  assert.match(stderr, /"msg":"stopped"/, 'the last line arrived');
});

test('ufc run: a store file that is no DuckDB database is a configuration problem (exit 2, which the unit does not restart), with what to do', () => {
  const data = tempDir('ufc-cli-');
  writeFileSync(join(data, 'flows.duckdb'), 'this is not a database\n'.repeat(500));
  const r = spawnSync(process.execPath, [...CLI, 'run'], {
    encoding: 'utf8', timeout: 60_000,
    env: { ...baseEnv({ EF_FLOW_SERVER_UDP_IP: '127.0.0.1', EF_FLOW_SERVER_UDP_PORT: '0', EF_FLOW_SERVER_WORKERS: '0' }), EF_DATA_DIR: data, EF_OUTPUT_DUCKDB_ENABLE: 'true' },
  });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /the store .*flows\.duckdb is not a DuckDB database \(or its header is damaged\): restore it from a backup, or move it aside/);
});
