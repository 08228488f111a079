/**
 * The CLI's standard streams when what is on the other end goes away: a terminal that hangs up (a
 * closed terminal or SSH session), a pipe whose reader exits, a device that refuses the write.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { needPresent, needTool, REPO_ROOT } from './helpers/tools.js';
import { tempDir } from './helpers/collect.js';

// The sources, in one Node process as bin/ufc runs it (bin/ufc would run dist/, a build that may be older).
const UFC = [process.execPath, '--import', 'tsx', join(REPO_ROOT, 'src', 'cli', 'main.ts')];

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH, HOME: process.env.HOME, EF_DATA_DIR: tempDir('ufc-stdio-'),
    EF_OUTPUT_DUCKDB_ENABLE: 'false', EF_WEBUI_ENABLE: 'false', EF_FLOW_SERVER_UDP_IP: '127.0.0.1', EF_FLOW_SERVER_UDP_PORT: '0', ...extra,
  };
}

/**
 * Runs a command on a new pseudo-terminal that is its controlling terminal (as a login shell's child),
 * waits for `listening for flows`, then either closes the terminal (`hangup`: the kernel hangs it up
 * and sends SIGHUP, and one more SIGHUP follows as the review's repro sent it) or types Ctrl-C
 * (`interrupt`, reading the terminal until the process has exited). `log`: stderr to that file instead.
 * Prints {"status": exit code (negative: killed by that signal), "output": what the terminal showed}.
 */
const PTY_DRIVER = String.raw`
import json, os, pty, select, signal, sys, time
mode, log, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
logfd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600) if log else -1
pid, master = pty.fork()
if pid == 0:
    if log:
        os.dup2(logfd, 2)
    os.execv(argv[0], argv)
out = b''
def read(wait):
    global out
    if not select.select([master], [], [], wait)[0]:
        return True
    try:
        chunk = os.read(master, 65536)
    except OSError:
        return False
    out += chunk
    return chunk != b''
def started():
    return b'listening for flows' in out + (open(log, 'rb').read() if log else b'')
deadline = time.time() + 30
while not started() and time.time() < deadline and read(0.1):
    pass
if not started():
    os.kill(pid, signal.SIGKILL)
elif mode == 'hangup':
    os.close(master)
    os.kill(pid, signal.SIGHUP)
else:
    os.write(master, b'\x03')
status = None
deadline = time.time() + 30
while status is None:
    if mode == 'interrupt':
        read(0.1)
    else:
        time.sleep(0.1)
    done, st = os.waitpid(pid, os.WNOHANG)
    if done:
        status = os.waitstatus_to_exitcode(st)
    elif time.time() > deadline:
        os.kill(pid, signal.SIGKILL)
if mode == 'interrupt':
    while read(0.1):
        pass
print(json.dumps({'status': status, 'output': out.decode(errors='replace')}))
`;

function onTerminal(python: string, mode: 'hangup' | 'interrupt', log = ''): { status: number; output: string } {
  const r = spawnSync(python, ['-c', PTY_DRIVER, mode, log, ...UFC, 'run'], { cwd: REPO_ROOT, encoding: 'utf8', env: env(), timeout: 90_000 });
  assert.equal(r.status, 0, `the pty driver: ${r.stderr}`);
  return JSON.parse(r.stdout) as { status: number; output: string };
}

test('a closed terminal (SIGHUP on a hung-up terminal) ends ufc run with exit 0 after its stopped line, not a Node abort', (t) => {
  const python = needTool(t, 'python3');
  if (python === null) return;
  const all = onTerminal(python, 'hangup');
  assert.equal(all.status, 0, `stdin, stdout and stderr on the closed terminal: exit ${all.status} (-6 is Node's SIGABRT); the terminal showed:\n${all.output}`);
  // The log on a file shows what the terminal no longer can: the stop, and no assertion after it.
  const log = join(tempDir('ufc-stdio-log-'), 'stderr.log');
  const logged = onTerminal(python, 'hangup', log);
  const text = readFileSync(log, 'utf8');
  assert.equal(logged.status, 0, `stderr on a file, stdin and stdout on the closed terminal: exit ${logged.status}; the log:\n${text}`);
  assert.match(text, /received SIGHUP: stopping/, 'the stop was the SIGHUP\'s');
  assert.match(text, /"msg":"stopped"/, 'the stopped line is written before the exit');
  assert.doesNotMatch(text, /Assertion failed|ResetStdio/, 'no abort after it');
});

test('Ctrl-C in a live terminal stops ufc run with exit 0, and the terminal shows the stopped line', (t) => {
  const python = needTool(t, 'python3');
  if (python === null) return;
  const r = onTerminal(python, 'interrupt');
  assert.equal(r.status, 0, `exit ${r.status}; the terminal showed:\n${r.output}`);
  assert.match(r.output, /received SIGINT: stopping/, `the stop was the Ctrl-C's:\n${r.output}`);
  assert.match(r.output, /"msg":"stopped"/, `the last line reached the terminal:\n${r.output}`);
});

/** Runs ufc with its stdout a pipe whose reader is gone before the command writes. */
async function toClosedPipe(args: string[]): Promise<{ status: number | null; stderr: string }> {
  const child = spawn(UFC[0]!, [...UFC.slice(1), ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: env() });
  child.stdout.destroy();
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const status = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { status, stderr };
}

test('stdout a pipe whose reader went away (ufc config | true): the command ends quietly, exit 0', async () => {
  for (const args of [['--version'], ['--help'], ['config', '--help'], ['config']]) {
    const r = await toClosedPipe(args);
    assert.equal(r.stderr, '', `ufc ${args.join(' ')}: nothing on stderr (no EPIPE stack trace)`);
    assert.equal(r.status, 0, `ufc ${args.join(' ')}: exit 0`);
  }
});

test('stdout refusing the write (>/dev/full): one line naming the error on stderr, no stack trace, exit 1', (t) => {
  if (!needPresent(t, existsSync('/dev/full'), '/dev/full')) return;
  for (const args of [['--version'], ['--help'], ['config']]) {
    const full = openSync('/dev/full', 'w');
    const r = spawnSync(UFC[0]!, [...UFC.slice(1), ...args], { cwd: REPO_ROOT, stdio: ['ignore', full, 'pipe'], env: env(), encoding: 'utf8' });
    closeSync(full);
    assert.equal(r.status, 1, `ufc ${args.join(' ')}: exit 1 (${r.stderr})`);
    assert.match(r.stderr, /^ufc: cannot write to standard output: ENOSPC: no space left on device, write\n$/, `ufc ${args.join(' ')}: one line`);
  }
});
