/**
 * What a decoder lost without failing the datagram (its records are kept), per exporter and reason,
 * until the pipeline takes it (Decoder.takeLosses) and counts it as the exporter's errors.
 */
export class Losses {
  private m: Map<string, Map<string, number>> | null = null;

  lose(exporter: string, reason: string): void {
    this.m ??= new Map();
    const byReason = this.m.get(exporter) ?? new Map<string, number>();
    byReason.set(reason, (byReason.get(reason) ?? 0) + 1);
    this.m.set(exporter, byReason);
  }

  take(): ReadonlyMap<string, ReadonlyMap<string, number>> | null {
    const taken = this.m;
    this.m = null;
    return taken;
  }
}

/** True when `buf` holds bytes other than zero from `from` on: more than padding after what its header counted. */
export function moreAfter(buf: Buffer, from: number): boolean {
  for (let i = from; i < buf.length; i++) if (buf[i] !== 0) return true;
  return false;
}
