import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadConfig, parseEnvFile } from '../src/config/load.js';
import { RECEIVE_REALTIME_PRIORITY } from '../src/pipeline/thread-priority.js';
import { needTool, REPO_ROOT, TESTDATA } from './helpers/tools.js';
import { tempDir } from './helpers/collect.js';

const SEED_OUTPUT = {
  EF_OUTPUT_RISKIQ_ENABLE: 'true',
  EF_OUTPUT_RISKIQ_HOST: 'flow.riskiq.net',
  EF_OUTPUT_RISKIQ_PORT: 20000,
  EF_OUTPUT_RISKIQ_CUSTOMER_UUID: '527dd194-a116-11af-8380-034aba1ce438',
  EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY: 'twBovkmV8YIxx0QyulybZg==',
};
const SEED_ENRICH = {
  EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENABLE: 'true',
  EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_USER: 'user@domain.com',
  EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_KEY: '0ff5abcdefdaf9ef12345675c4c11abcdef61bfe7ad1234568ec395bb288639',
};

test('docker-compose.yml ships the RiskIQ integration off, with the seed snippets\' options and no example credentials, and its environment is a valid configuration', () => {
  // It used to enable both with the vendor page's example values: `docker compose up -d` sent the public
  // side of every flow to flow.riskiq.net, encrypted with a key printed in public.
  const text = readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8');
  const doc = parse(text) as { services: Record<string, { environment: Record<string, string | number>; build: string }> };
  const env = doc.services.ufc!.environment;
  for (const k of Object.keys({ ...SEED_OUTPUT, ...SEED_ENRICH })) assert.ok(k in env, k);
  assert.equal(env.EF_OUTPUT_RISKIQ_ENABLE, 'false');
  assert.equal(env.EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENABLE, 'false');
  for (const v of [SEED_OUTPUT.EF_OUTPUT_RISKIQ_CUSTOMER_UUID, SEED_OUTPUT.EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY, SEED_ENRICH.EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_KEY]) {
    assert.ok(!text.includes(v), `the example value ${v.slice(0, 8)}... is not in the compose file`);
  }
  const res = loadConfig({ env: Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)])) });
  assert.deepEqual(res.errors, []);
  assert.equal(res.config!.EF_OUTPUT_RISKIQ_ENABLE, false);
  assert.equal(res.config!.EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_TIMEOUT, 60);
  // Switched on with the seed snippets pasted verbatim, it still loads (with warnings).
  const seeded = loadConfig({ env: Object.fromEntries(Object.entries({ ...env, ...SEED_OUTPUT, ...SEED_ENRICH }).map(([k, v]) => [k, String(v)])) });
  assert.deepEqual(seeded.errors, []);
});

test('the compose file and the systemd unit allow the receive thread its real-time priority, and no more', () => {
  const doc = parse(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, { ulimits?: { rtprio?: number } }> };
  assert.equal(doc.services.ufc!.ulimits?.rtprio, RECEIVE_REALTIME_PRIORITY);
  const unit = readFileSync(join(REPO_ROOT, 'packaging', 'deb', 'flowcoll.service'), 'utf8');
  assert.match(unit, new RegExp(`^LimitRTPRIO=${RECEIVE_REALTIME_PRIORITY}$`, 'm'));
});

test('the systemd unit keeps the data directory and the files the service creates from other users', () => {
  // Without StateDirectoryMode, systemd reset /var/lib/ufc to 0755 at every start, and files created
  // 0644 (the flows) were readable by every user.
  const unit = readFileSync(join(REPO_ROOT, 'packaging', 'deb', 'flowcoll.service'), 'utf8');
  assert.match(unit, /^StateDirectory=ufc$/m);
  assert.match(unit, /^StateDirectoryMode=0750$/m);
  assert.match(unit, /^UMask=0027$/m);
  const service = unit.slice(unit.indexOf('[Service]'), unit.indexOf('[Install]'));
  for (const key of ['StateDirectoryMode', 'UMask']) assert.match(service, new RegExp(`^${key}=`, 'm'), `${key} is in [Service]`);
});

test('the shipped drop-in and ufc.env send secrets to ufc.env: systemctl show prints Environment= values to any user', () => {
  const dropIn = readFileSync(join(REPO_ROOT, 'packaging', 'deb', 'flowcoll.conf'), 'utf8');
  const envFile = readFileSync(join(REPO_ROOT, 'packaging', 'deb', 'ufc.env'), 'utf8');
  for (const text of [dropIn, envFile]) {
    assert.match(text, /systemctl show flowcoll/);
    assert.match(text, /EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY/);
  }
  assert.match(dropIn, /No secrets here[^]*\/etc\/ufc\/ufc\.env/);
  // Neither sets anything: the package ships them as comments (and the drop-in's [Service] line).
  assert.deepEqual(loadConfig({ env: {}, envFile: join(REPO_ROOT, 'packaging', 'deb', 'flowcoll.conf') }).set, new Set());
  assert.deepEqual(parseEnvFile(envFile), {});
});

test('npm start execs the collector, so a SIGTERM to it reaches the collector', () => {
  // npm signals only its child: with `sh -c "bin/ufc run"` (dash does not exec the last command) the
  // child was the shell, and the collector kept running after npm had exited.
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  assert.match(pkg.scripts.start!, /^exec bin\/ufc run$/);
  // bin/ufc in turn replaces itself with node.
  assert.match(readFileSync(join(REPO_ROOT, 'bin', 'ufc'), 'utf8'), /^exec "\$\{UFC_NODE:-node\}" /m);
});

test('the licence: LICENSE is the Apache License 2.0 package.json names; the Debian copyright file covers every bundled database', () => {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { license: string; dependencies: Record<string, string> };
  assert.equal(pkg.license, 'Apache-2.0');
  const license = readFileSync(join(REPO_ROOT, 'LICENSE'), 'utf8');
  assert.match(license, /^\s+Apache License\n\s+Version 2\.0, January 2004\n/);
  assert.match(license, /END OF TERMS AND CONDITIONS/);
  const copyright = readFileSync(join(REPO_ROOT, 'packaging', 'deb', 'copyright'), 'utf8');
  assert.match(copyright, /^Format: https:\/\/www\.debian\.org\/doc\/packaging-manuals\/copyright-format\/1\.0\/$/m);
  assert.match(copyright, /^Files: \*\nCopyright: .+\nLicense: Apache-2\.0$/m);
  const databases = Object.keys(pkg.dependencies).filter((d) => d.startsWith('@ip-location-db/'));
  assert.ok(databases.length > 0);
  for (const db of databases) {
    const stanza = new RegExp(`^Files: usr/share/ufc/node_modules/${db.replace(/[/.]/g, '\\$&')}/\\*\nCopyright: .+(\n .+)*\nLicense: CC-BY-4\\.0$`, 'm');
    assert.match(copyright, stanza, db);
  }
  assert.match(copyright, /^License: CC-BY-4\.0\n( .*\n)* .*https:\/\/creativecommons\.org\/licenses\/by\/4\.0\/legalcode/m);
  assert.match(readFileSync(join(REPO_ROOT, 'scripts', 'package-deb.sh'), 'utf8'), /packaging\/deb\/copyright" "\$stage\/usr\/share\/doc\/ufc\/copyright"/);
});

test('the Node.js minimum of package.json and of the deb\'s Depends is the highest any production dependency asks on the 20 line', () => {
  // Each package's lowest Node 20 release: the highest 20.x.y after >= or ^ in its engines range (a
  // range without one, such as >=14, takes every 20.x).
  const lowest20 = (range: string): number[] => {
    const found = [...range.matchAll(/(?:>=|\^)\s*v?20(?:\.(\d+))?(?:\.(\d+))?/g)].map((m) => [20, Number(m[1] ?? 0), Number(m[2] ?? 0)]);
    return found.sort(compare)[0] ?? [20, 0, 0];
  };
  const compare = (a: number[], b: number[]): number => a[0]! - b[0]! || a[1]! - b[1]! || a[2]! - b[2]!;
  const dirs = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim().split('\n').slice(1);
  let need = [20, 0, 0];
  let by = '';
  for (const dir of dirs) {
    const p = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string; engines?: { node?: unknown } };
    if (typeof p.engines?.node !== 'string') continue;
    const v = lowest20(p.engines.node);
    if (compare(v, need) > 0) [need, by] = [v, p.name];
  }
  // undici (through @elastic/transport) asks for 20.18.1; src uses AbortSignal.any (20.3).
  const min = need.join('.');
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
  assert.equal(pkg.engines.node, `>=${min}`, `${by} needs ${min}`);
  assert.match(readFileSync(join(REPO_ROOT, 'scripts', 'package-deb.sh'), 'utf8'), new RegExp(`^Depends: nodejs \\(>= ${min.replace(/\./g, '\\.')}\\), `, 'm'));
});

test('the container gets the glibc mmap threshold bin/ufc sets (its entrypoint is plain Node)', () => {
  const launcher = /^\s*: "\$\{MALLOC_MMAP_THRESHOLD_:=(\d+)\}"$/m.exec(readFileSync(join(REPO_ROOT, 'bin', 'ufc'), 'utf8'));
  assert.ok(launcher !== null, 'bin/ufc sets a default');
  const df = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
  assert.match(df, new RegExp(`^ENV .*\\bMALLOC_MMAP_THRESHOLD_=${launcher[1]}\\b`, 'm'));
  // The Debian wrapper goes through bin/ufc.
  assert.match(readFileSync(join(REPO_ROOT, 'packaging', 'deb', 'ufc'), 'utf8'), /exec \/usr\/share\/ufc\/bin\/ufc "\$@"/);
});

test('Dockerfile: multi-stage, production dependencies only, non-root', () => {
  const df = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
  assert.equal((df.match(/^FROM /gm) ?? []).length, 2);
  assert.match(df, /npm ci --omit=dev/);
  assert.match(df, /^USER ufc$/m);
  assert.match(df, /ENTRYPOINT \["node", "\/usr\/share\/ufc\/packaging\/docker\/entrypoint\.mjs", "--"\]/);
  // Everything the image copies exists in the repo.
  for (const m of df.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) for (const p of m[1]!.split(/\s+/)) assert.ok(existsSync(join(REPO_ROOT, p)), `${p} exists`);
});

test('the container entrypoint runs under plain Node', () => {
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: REPO_ROOT });
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'packaging', 'docker', 'entrypoint.mjs'), 'config'], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, EF_DATA_DIR: tempDir('ufc-ep-') },
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^EF_WEBUI_IP=0\.0\.0\.0$/m);
  // As the Dockerfile runs it, with `--`: a missing --env-file is ufc's configuration problem, not Node's.
  const missing = spawnSync(process.execPath, [join(REPO_ROOT, 'packaging', 'docker', 'entrypoint.mjs'), '--', 'config', '--env-file', '/nonexistent/ufc.env'], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, EF_DATA_DIR: tempDir('ufc-ep-') },
  });
  assert.equal(missing.status, 2, missing.stderr);
  assert.match(missing.stderr, /--env-file \/nonexistent\/ufc\.env: no such file/);
});

test('the container\'s defaults (EF_WEBUI_IP, EF_DATA_DIR) give way to an --env-file that sets them, and the environment beats both', () => {
  // The defaults used to be put in the real environment, which wins over the file: a file asking for
  // loopback got 0.0.0.0.
  const dir = tempDir('ufc-ep-');
  const file = join(dir, 'u.env');
  writeFileSync(file, `EF_WEBUI_IP=127.0.0.1\nEF_DATA_DIR=${dir}\n`);
  const entrypoint = join(REPO_ROOT, 'packaging', 'docker', 'entrypoint.mjs');
  const config = (args: string[], env: Record<string, string> = {}): string => {
    const r = spawnSync(process.execPath, [entrypoint, '--', 'config', ...args], { encoding: 'utf8', env: { PATH: process.env.PATH, ...env } });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  for (const args of [['--env-file', file], [`--env-file=${file}`]]) {
    const shown = config(args);
    assert.match(shown, /^EF_WEBUI_IP=127\.0\.0\.1$/m, args.join(' '));
    assert.ok(shown.includes(`\nEF_DATA_DIR=${dir}\n`), args.join(' '));
  }
  assert.match(config([]), /^EF_DATA_DIR=\/var\/lib\/ufc$/m);
  assert.match(config(['--env-file', file], { EF_WEBUI_IP: '::1' }), /^EF_WEBUI_IP=::1$/m);
  // The image sets neither in its environment, where it would beat the file.
  assert.doesNotMatch(readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8'), /^ENV .*\bEF_(WEBUI_IP|DATA_DIR)=/m);
});

test('Debian package: scripts/package-deb.sh builds under umask 027 and ships only this build\'s output (no install)', { timeout: 300_000 }, (t) => {
  if (needTool(t, 'dpkg-deb') === null) return;
  // npm ci would fetch the production dependencies from the registry: a stand-in leaves them out, as
  // this test looks only at what the script stages itself.
  const fakeBin = tempDir('ufc-deb-npm-');
  const npm = execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim();
  writeFileSync(join(fakeBin, 'npm'), `#!/bin/sh\n[ "$1" = ci ] && exec mkdir -p node_modules\nexec ${npm} "$@"\n`, { mode: 0o755 });
  // A file of an old build, left in the checkout's dist/ (the script used to copy dist/ as it was).
  const stale = join(REPO_ROOT, 'dist', 'src', 'stale-from-an-old-build.js');
  mkdirSync(join(REPO_ROOT, 'dist', 'src'), { recursive: true });
  writeFileSync(stale, 'export {};\n');
  const out = tempDir('ufc-deb-');
  try {
    const r = spawnSync('bash', ['-c', 'umask 027 && exec bash "$0" "$1" none', join(REPO_ROOT, 'scripts', 'package-deb.sh'), out], {
      encoding: 'utf8', env: { ...process.env, PATH: `${fakeBin}:${process.env.PATH}` },
    });
    assert.equal(r.status, 0, r.stderr);
    const deb = r.stdout.trim().split('\n').pop()!;
    const contents = execFileSync('dpkg-deb', ['--contents', deb], { encoding: 'utf8' });
    assert.match(contents, /^-rw-r--r-- root\/root .* \.\/usr\/share\/ufc\/dist\/src\/cli\/main\.js$/m);
    assert.match(contents, /^-rwxr-xr-x root\/root .* \.\/usr\/share\/ufc\/bin\/ufc$/m);
    assert.doesNotMatch(contents, /stale-from-an-old-build/);
    assert.match(contents, /^-rw-r--r-- root\/root .* \.\/usr\/share\/doc\/ufc\/copyright$/m);
    for (const line of contents.trim().split('\n').filter((l) => l.startsWith('d'))) assert.match(line, /^drwxr-xr-x /, line);
  } finally {
    rmSync(stale, { force: true });
    rmSync(out, { recursive: true, force: true });
  }
});

test('Debian package: builds, installs, unit verifies, runs the seed drop-in, removes cleanly keeping the data', { timeout: 600_000 }, async (t) => {
  if (needTool(t, 'dpkg-deb') === null || needTool(t, 'systemd-analyze') === null) return;
  if (process.getuid?.() !== 0) {
    if (process.env.UFC_REQUIRE_TOOLS === '1') assert.fail('the package test needs root');
    t.skip('needs root to dpkg -i');
    return;
  }
  if (existsSync('/usr/share/ufc') && process.env.CI !== 'true' && process.env.UFC_REQUIRE_TOOLS !== '1') {
    t.skip('ufc is already installed on this machine; not replacing it outside CI');
    return;
  }
  const out = tempDir('ufc-deb-');
  const deb = execFileSync('bash', [join(REPO_ROOT, 'scripts', 'package-deb.sh'), out, 'none'], { encoding: 'utf8' }).trim().split('\n').pop()!;
  const contents = execFileSync('dpkg-deb', ['--contents', deb], { encoding: 'utf8' });
  for (const p of ['./usr/bin/ufc', './usr/share/ufc/bin/ufc', './usr/share/ufc/bin/ufc.mjs', './lib/systemd/system/flowcoll.service', './usr/share/ufc/dist/src/cli/main.js', './usr/share/ufc/node_modules/pino/']) assert.ok(contents.includes(p), p);
  assert.ok(!contents.includes('./usr/share/ufc/node_modules/typescript/'), 'no dev dependencies');
  // The archive's root is recorded 0755 (dpkg-deb -x or tar onto / would apply it); the files with keys are not world-readable.
  assert.match(contents.split('\n')[0]!, /^drwxr-xr-x root\/root .* \.\/$/);
  assert.match(contents, /^-rw-r----- root\/root .* \.\/etc\/ufc\/ufc\.env$/m);
  assert.match(contents, /^-rw------- root\/root .* \.\/etc\/systemd\/system\/flowcoll\.service\.d\/flowcoll\.conf$/m);
  assert.match(execFileSync('dpkg-deb', ['--field', deb, 'Depends'], { encoding: 'utf8' }), /libc6 \(>= 2\.25\), libstdc\+\+6, libgcc-s1/);
  // A machine left with the package's conffiles (dpkg -r keeps them) and the drop-in deleted, as this
  // test deletes it: dpkg would ask what to do about a changed drop-in, and with no terminal stop
  // with the package unconfigured. The defaults (keep what is there) are taken without asking. Inside
  // the try: an install that fails half-way is removed too.
  try {
    execFileSync('dpkg', ['--force-confdef', '--force-confold', '-i', deb], { stdio: 'pipe' });
    assert.ok(existsSync('/var/lib/ufc'));
    execFileSync('getent', ['passwd', 'ufc']);
    assert.equal(execFileSync('stat', ['-c', '%a %U:%G', '/etc/ufc/ufc.env'], { encoding: 'utf8' }).trim(), '640 root:ufc');
    assert.match(readFileSync('/lib/systemd/system/flowcoll.service', 'utf8'), /^RestartPreventExitStatus=2$/m);
    const verify = spawnSync('systemd-analyze', ['verify', '/lib/systemd/system/flowcoll.service'], { encoding: 'utf8' });
    assert.equal(verify.status, 0, verify.stderr);
    // The seed's drop-in, verbatim, as the environment file.
    const dropDir = '/etc/systemd/system/flowcoll.service.d';
    mkdirSync(dropDir, { recursive: true });
    writeFileSync(join(dropDir, 'flowcoll.conf'), Object.entries(SEED_OUTPUT).map(([k, v]) => `Environment="${k}=${v}"`).join('\n') + '\n');
    const data = tempDir('ufc-deb-data-');
    // The real environment wins over the file: the receiver is pointed at a loopback socket so nothing
    // leaves this machine (the kernel holds its datagrams; replay exits 1 when an output drops records).
    const receiver = createSocket('udp4');
    await new Promise<void>((r) => receiver.bind(0, '127.0.0.1', () => r()));
    const run = spawnSync('/usr/bin/ufc', ['replay', '--env-file', join(dropDir, 'flowcoll.conf'), join(TESTDATA, 'akvorado', 'netflow', 'nfv5.pcap')], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, EF_DATA_DIR: data, EF_OUTPUT_RISKIQ_HOST: '127.0.0.1', EF_OUTPUT_RISKIQ_PORT: String(receiver.address().port), EF_OUTPUT_FILE_ENABLE: 'true', EF_OUTPUT_FILE_PATH: join(data, 'f.ndjson'), EF_WEBUI_ENABLE: 'false' },
    });
    receiver.close();
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /replay finished/);
    assert.equal(readFileSync(join(data, 'f.ndjson'), 'utf8').trim().split('\n').length, 29);
    rmSync(data, { recursive: true, force: true });
    rmSync(dropDir, { recursive: true, force: true });
    writeFileSync('/var/lib/ufc/keep-me', 'user data');
  } finally {
    execFileSync('dpkg', ['-r', 'ufc'], { stdio: 'pipe' });
    // The package's build tree is ~330 MB: not left in /tmp run after run.
    rmSync(out, { recursive: true, force: true });
  }
  assert.ok(!existsSync('/usr/bin/ufc'));
  assert.ok(!existsSync('/usr/share/ufc/dist'));
  assert.ok(existsSync('/var/lib/ufc/keep-me'), 'data kept');
  rmSync('/var/lib/ufc/keep-me');
});
