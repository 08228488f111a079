import { loadConfig } from './src/config/load.js';
import { createLogger, setLogger } from './src/log/logger.js';
import { createEnrichers } from './src/enrich/chain.js';
import { Netflow9Decoder } from './src/decode/netflow9/decoder.js';
import { encoderFor, ndjsonLines, LINES_PER_WRITE } from './src/record/json.js';
import { stream } from './bench/netflow9-stream.js';
import { mkdtempSync } from 'node:fs';
setLogger(createLogger({ level: 'warn', encoding: 'json', sink: () => undefined }));
const dir = mkdtempSync('/tmp/gcx-');
const res = loadConfig({ env: { EF_DATA_DIR: dir, EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_GEOIP_ENABLE: 'true', EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_ASN_ENABLE: 'true' } });
const c = res.config!;
const skip = new Set((process.env.SKIP ?? '').split(',').filter(Boolean));
const chain = createEnrichers({ config: c, dataDir: dir }).filter((e) => !skip.has(e.name));
for (const e of chain) await e.start?.();
const d = new Netflow9Decoder({ templateLifetimeS: 1800, pendingMax: 100, pendingTimeoutS: 10, stateDir: '' });
const enc = encoderFor({ ecs: c.EF_OUTPUT_FILE_ECS_ENABLE, timestampSource: c.EF_OUTPUT_FILE_TIMESTAMP_SOURCE });
const packets = [...stream(8000)];
const slab = Buffer.allocUnsafe(1 << 22);
const stage = Number(process.env.STAGE ?? 3);
function pass() {
  for (const p of packets) {
    const recs: any[] = [];
    d.decode(p, { exporterIp: '127.0.0.1', exporterPort: 2055, receivedAt: Date.now() }, recs);
    if (stage >= 2) for (const e of chain) e.enrich(recs);
    if (stage >= 3) for (let i = 0; i < recs.length; i += LINES_PER_WRITE) slab.write(ndjsonLines(enc, recs, i, Math.min(recs.length, i + LINES_PER_WRITE)), 0, 'utf8');
  }
}
pass(); pass();
console.error('MARK');
for (let i = 0; i < 5; i++) pass();
console.error('END');
process.exit(0);
