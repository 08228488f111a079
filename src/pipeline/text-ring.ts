/**
 * NDJSON from a decode worker to the main thread without new memory: a SharedArrayBuffer per worker,
 * cut into fixed slots. The worker writes lines into a slot and posts (slot, start, length); the
 * main thread writes that range to the output straight from the shared memory and, once written,
 * decrements the slot's count of outstanding ranges (Atomics). The worker reuses a slot when its
 * count is back to 0: that check is a shared-memory read, so it works even while the worker is so
 * far behind that no message from the main thread could reach it in time.
 *
 * Why: a fresh transferred buffer per message meant first-touch page faults on every byte of NDJSON
 * (measured: copying into fresh memory cost as much as encoding) and external-memory pressure that
 * made both threads' garbage collectors run far more often. When every slot is still in use the
 * worker falls back to a fresh buffer (slower, never lossy).
 */
export const SLOT_BYTES = 1 << 20;
export const SLOTS = 32;

/** What both sides share: the slots' bytes and one outstanding-range count per slot. */
export interface TextRingShared {
  data: SharedArrayBuffer;
  pending: SharedArrayBuffer;
}

export function createTextRing(): TextRingShared {
  return { data: new SharedArrayBuffer(SLOT_BYTES * SLOTS), pending: new SharedArrayBuffer(4 * SLOTS) };
}

/** A range of whole lines in a slot. */
export interface RingPart {
  slot: number;
  start: number;
  length: number;
  records: number;
}

/** The worker's side. */
export class TextRingWriter {
  private readonly buf: Buffer;
  private readonly pending: Int32Array;
  private cur = -1;
  private off = 0;
  private partStart = 0;
  private partRecords = 0;
  private parts: RingPart[] = [];

  constructor(shared: TextRingShared) {
    this.buf = Buffer.from(shared.data);
    this.pending = new Int32Array(shared.pending);
  }

  /** Appends whole lines; false when no slot has room for them (the caller sends them another way). */
  write(text: string, records: number): boolean {
    // A UTF-8 byte is at most 3 per UTF-16 unit: only start what surely fits.
    const need = text.length * 3;
    if (need > SLOT_BYTES) return false;
    if (this.cur < 0 || this.off + need > SLOT_BYTES) {
      this.cut();
      if (!this.nextSlot()) return false;
    }
    this.off += this.buf.write(text, this.cur * SLOT_BYTES + this.off, 'utf8');
    this.partRecords += records;
    return true;
  }

  /** The ranges written since the last call, each now outstanding until the main thread releases it. */
  takeParts(): RingPart[] {
    this.cut();
    const p = this.parts;
    this.parts = [];
    return p;
  }

  private cut(): void {
    if (this.cur < 0 || this.off === this.partStart) return;
    Atomics.add(this.pending, this.cur, 1);
    this.parts.push({ slot: this.cur, start: this.partStart, length: this.off - this.partStart, records: this.partRecords });
    this.partStart = this.off;
    this.partRecords = 0;
  }

  private nextSlot(): boolean {
    for (let k = 1; k <= SLOTS; k++) {
      const i = (this.cur + k + SLOTS) % SLOTS;
      if (i !== this.cur && Atomics.load(this.pending, i) === 0) {
        this.cur = i;
        this.off = 0;
        this.partStart = 0;
        return true;
      }
    }
    this.cur = -1;
    return false;
  }
}

/** The main thread's side. */
export class TextRingReader {
  private readonly buf: Buffer;
  private readonly pending: Int32Array;

  constructor(shared: TextRingShared) {
    this.buf = Buffer.from(shared.data);
    this.pending = new Int32Array(shared.pending);
  }

  /** The part's bytes (a view of the shared memory, valid until release). */
  bytes(p: RingPart): Buffer {
    return this.buf.subarray(p.slot * SLOT_BYTES + p.start, p.slot * SLOT_BYTES + p.start + p.length);
  }

  release(p: RingPart): void {
    Atomics.sub(this.pending, p.slot, 1);
  }
}
