/** A plain flow record numbered `i` (its source port), and the view the file output tests write it in. */
import { FlowRecord } from '../../src/record/flow-record.js';

export const CODEX_VIEW = { ecs: false, timestampSource: 'collect' as const };

export function plainRecord(i: number): FlowRecord {
  const r = new FlowRecord();
  r.collectTs = 1_700_000_000_000 + i;
  r.srcIp = '198.51.100.1';
  r.dstIp = '203.0.113.2';
  r.srcPort = i;
  r.proto = 17;
  r.bytes = 100;
  r.packets = 1;
  return r;
}
