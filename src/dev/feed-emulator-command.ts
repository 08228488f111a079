/** `ufc dev feed-emulator`: serves every built-in threat feed (and Graph reputation) on loopback until interrupted. */
import type { Command } from '../cli/commands.js';
import type { ParsedArgs } from '../cli/common.js';
import { hostPort, listenFailure } from '../host-port.js';
import { EMULATOR_FAULTS, FEED_HITS, startFeedEmulator } from './feed-emulator.js';
import { serveAddress } from './passivetotal-emulator-command.js';

export const feedEmulatorCommand: Command = {
  usage: 'ufc dev feed-emulator [--port N] [--host H]',
  summary: 'Serve every built-in threat feed in its provider\'s shape, with fault modes and a Graph reputation emulator, for tests and demos.',
  boolFlags: [],
  flags: [
    ['--port N', 'Port to serve on (default 8788).'],
    ['--host H', 'IP address to serve on (default 127.0.0.1).'],
  ],
  async run(args: ParsedArgs): Promise<number> {
    const { host, port } = serveAddress(args, 8788);
    const abuseipdbKey = 'emulator-abuseipdb-key-0123456789';
    const otxKey = 'emulator-otx-key-0123456789';
    const graph = { tenant: 'emulator-tenant', clientId: 'emulator-client', clientSecret: 'emulator-secret-0123456789', reputations: { [FEED_HITS['et-compromised']!.ip]: { classification: 'malicious', score: 92 } } };
    const emu = await startFeedEmulator({ host, port, abuseipdbKey, otxKey, graph }).catch((err: unknown) => {
      // A port in use, an address no interface has: one line, as passivetotal-emulator says it.
      process.stderr.write(`ufc dev feed-emulator: cannot listen on ${hostPort(host, port)}: ${listenFailure((err as NodeJS.ErrnoException).code, (err as Error).message)}\n`);
      return null;
    });
    if (emu === null) return 1;
    const out = process.stdout;
    out.write(`Threat feed emulator at ${emu.url}: ${Object.keys(FEED_HITS).map((n) => `/${n}`).join(' ')}\n`);
    out.write(`Switch faults with: curl -X POST '${emu.url}/_emulator/fault?path=/feodo&mode=<${EMULATOR_FAULTS.join('|')}>'\n`);
    out.write('Point the collector at it:\n');
    out.write('  EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_ENABLE=true\n');
    out.write(`  EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_BASE_URL=${emu.url}\n`);
    out.write(`  EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_ABUSEIPDB_API_KEY=${abuseipdbKey}\n`);
    out.write(`  EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_OTX_API_KEY=${otxKey}\n`);
    out.write('  EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_ENABLE=true\n');
    out.write(`  EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_LOGIN_URL=${emu.url} EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_GRAPH_URL=${emu.url}\n`);
    out.write(`  EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_TENANT_ID=${graph.tenant} EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_CLIENT_ID=${graph.clientId} EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_CLIENT_SECRET=${graph.clientSecret}\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    out.write(`served ${[...emu.hits.values()].reduce((a, b) => a + b, 0)} requests\n`);
    await emu.close();
    return 0;
  },
};
