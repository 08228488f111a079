/** Records from replayed capture fixtures, for the output tests (ES, OpenSearch, Kafka). */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Collector } from '../../src/collector.js';
import { createOutputs } from '../../src/output/registry.js';
import type { Output } from '../../src/pipeline/types.js';
import type { FlowRecord } from '../../src/record/flow-record.js';
import { CaptureOutput, testConfig } from '../helpers/collect.js';
import { TESTDATA } from '../helpers/tools.js';

/** Real Cisco IPFIX (pmacct test 401, 748 records) and ipt_NETFLOW v5 (flowbeat, 60 records). */
export const FIXTURES = [
  join(TESTDATA, 'pmacct-test-automation', '401-IPFIXv10-BMP-IPv6-CISCO-MPLS-multiple-sources', 'traffic-00.pcap'),
  join(TESTDATA, 'flowbeat', 'pcap', 'ipt_netflow_v5.pcap'),
];

/**
 * Replays the fixtures through a Collector built from `env` (so the outputs come from the registry)
 * plus a CaptureOutput, and returns what the pipeline produced, in order, and the outputs built.
 */
export async function replayFixtures(env: Record<string, string>, extra: Output[] = []): Promise<{ records: FlowRecord[]; outputs: Output[] }> {
  const cap = new CaptureOutput();
  const config = testConfig(env);
  const outputs = createOutputs({ config, dataDir: config.EF_DATA_DIR });
  const c = new Collector(config, { outputs: [...outputs, ...extra, cap] });
  await c.start();
  for (const f of FIXTURES) c.replay(readFileSync(f));
  await c.stop();
  return { records: cap.records, outputs };
}

/** The fixtures' records only (no outputs). */
export async function fixtureRecords(): Promise<FlowRecord[]> {
  const cap = new CaptureOutput();
  const config = testConfig();
  const c = new Collector(config, { outputs: [cap] });
  await c.start();
  for (const f of FIXTURES) c.replay(readFileSync(f));
  await c.stop();
  // Removed now, not at exit: spill-crash-child.ts calls this and is then killed with SIGKILL.
  rmSync(config.EF_DATA_DIR, { recursive: true, force: true });
  return cap.records;
}
