/**
 * Records numbered by their source port, and the numbers read back from what the file output wrote:
 * a file's content told as the records it holds, in order.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { FlowRecord } from '../../src/record/flow-record.js';
import { plainRecord } from './plain-record.js';

/** Plain records numbered `from` up to `to` (not included). */
export const recs = (from: number, to: number): FlowRecord[] => Array.from({ length: to - from }, (_, i) => plainRecord(from + i));

/** The numbers `from` up to `to` (not included). */
export const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

/** The source ports (record numbers) in a file, in order; none when it is not there. */
export function ports(path: string): number[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').filter((l) => l !== '').map((l) => (JSON.parse(l) as Record<string, number>)['flow.src.l4.port.id']!);
}
