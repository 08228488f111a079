/**
 * IPFIX (RFC 7011): 16-octet message header, then sets: 2 = templates, 3 = options templates,
 * 256+ = data. Templates are scoped by exporter address + observation domain (RFC 7011 §8).
 * A datagram holding several messages back to back (some capture tools) is decoded message by message.
 */
import type { FlowRecord } from '../../record/flow-record.js';
import { DecodeError, type Decoder, type PacketContext } from '../../pipeline/types.js';
import { MIN_DATA_SET_ID, TemplateFlowDecoder, type TemplateDecoderOptions } from '../template/flow-decoder.js';
import type { TemplateField } from '../template/compile.js';
import type { DomainState } from '../template/store.js';
import { SequenceGaps, UNTRACKED_STREAM } from '../sequence-gaps.js';
import { moreAfter } from '../losses.js';

const HEADER_LEN = 16; // RFC 7011 §3.1
const TEMPLATE_SET = 2, OPTIONS_SET = 3; // RFC 7011 §3.3.2
const ENTERPRISE_BIT = 0x8000; // RFC 7011 §3.2

export class IpfixDecoder extends TemplateFlowDecoder implements Decoder {
  readonly protocol = 'ipfix' as const;
  /** RFC 7011 §3.1: the sequence number counts data records (options data included) sent before the message. */
  protected readonly gaps = new SequenceGaps(['before', 'after']);

  constructor(opts: TemplateDecoderOptions) {
    super(false, 10, 'ipfix', opts, 'templates-ipfix.json');
  }

  decode(buf: Buffer, ctx: PacketContext, out: FlowRecord[]): void {
    let off = 0;
    do {
      if (buf.length - off < HEADER_LEN) throw new DecodeError('short header', `${buf.length - off} bytes`);
      if (buf.readUInt16BE(off) !== 10) throw new DecodeError('bad version', String(buf.readUInt16BE(off)));
      const len = buf.readUInt16BE(off + 2);
      if (len < HEADER_LEN || off + len > buf.length) throw new DecodeError('bad message length', `${len}, datagram has ${buf.length - off}`);
      const sequence = buf.readUInt32BE(off + 8), domain = buf.readUInt32BE(off + 12);
      this.begin(ctx, buf.readUInt32BE(off + 4) * 1000, -1, sequence, domain);
      const records0 = this.wireRecords, options0 = this.wireOptionsRecords, held0 = this.setsHeld;
      let whole = false;
      try {
        this.sets(buf, off + HEADER_LEN, off + len, out);
        whole = true;
      } finally {
        // How far the message moves the sequence is known only when every data set was read: not for
        // a malformed one, nor for data held for its template (its records are not counted yet).
        const s = this.gaps.stream(ctx.exporterIp, ctx.exporterPort, domain, ctx.receivedAt);
        const records = whole && this.setsHeld === held0 ? this.wireRecords - records0 : -1;
        if (s !== null) this.gaps.check(s, ctx.exporterIp, sequence, records, records < 0 ? -1 : records - (this.wireOptionsRecords - options0));
        else this.count(UNTRACKED_STREAM, 1, ctx.exporterIp);
        this.finish();
      }
      off += len;
    } while (buf.length - off >= HEADER_LEN && buf.readUInt16BE(off) === 10);
    // More after the messages (not zero padding): a message length that understates loses the rest.
    if (moreAfter(buf, off)) this.count('bytes after the last message', 1, ctx.exporterIp);
  }

  private sets(buf: Buffer, off: number, end: number, out: FlowRecord[]): void {
    // Looked up, not made: a scope is made by the first template set it gets, so messages without
    // one (a bare header, data only) leave nothing behind.
    let d = this.store.domain(this.exporterIp, this.domainId, false);
    while (end - off >= 4) {
      const id = buf.readUInt16BE(off);
      const len = buf.readUInt16BE(off + 2);
      if (len < 4 || off + len > end) throw new DecodeError('bad set length', `set ${id} length ${len}, ${end - off} octets left`);
      const body = off + 4, setEnd = off + len;
      if (id === TEMPLATE_SET || id === OPTIONS_SET) this.templates((d ??= this.store.domain(this.exporterIp, this.domainId, true, this.receivedAt)), buf, body, setEnd, id === OPTIONS_SET);
      else if (id >= MIN_DATA_SET_ID) this.dataSet(d, id, buf, body, setEnd, out);
      else this.count('reserved set id');
      off = setEnd;
    }
  }

  private templates(d: DomainState | undefined, buf: Buffer, o: number, end: number, options: boolean): void {
    const hdr = options ? 6 : 4;
    while (end - o >= 4) {
      const tid = buf.readUInt16BE(o);
      const n = buf.readUInt16BE(o + 2);
      if (n === 0) {
        // Template withdrawal (RFC 7011 §8.1): the set ID as template ID withdraws all of that kind.
        o += 4;
        if (tid < MIN_DATA_SET_ID && tid !== TEMPLATE_SET && tid !== OPTIONS_SET) { if (tid === 0) return; this.count('bad template id'); continue; }
        if (d !== undefined) {
          const k = tid === TEMPLATE_SET ? 'data' : tid === OPTIONS_SET ? 'options' : null;
          this.count('templates withdrawn', this.store.withdraw(d, tid, k));
        }
        continue;
      }
      if (end - o < hdr) break;
      const scopeCount = options ? buf.readUInt16BE(o + 4) : 0;
      o += hdr;
      if (scopeCount > n) throw new DecodeError('bad options template', `template ${tid}: ${scopeCount} scope fields of ${n}`);
      const fields: TemplateField[] = new Array(n);
      for (let i = 0; i < n; i++) {
        if (o + 4 > end) throw new DecodeError('truncated template', `template ${tid} with ${n} fields`);
        const raw = buf.readUInt16BE(o);
        const len = buf.readUInt16BE(o + 2);
        o += 4;
        let pen = 0;
        if (raw & ENTERPRISE_BIT) {
          if (o + 4 > end) throw new DecodeError('truncated template', `template ${tid} with ${n} fields`);
          pen = buf.readUInt32BE(o);
          o += 4;
        }
        fields[i] = { id: raw & 0x7fff, pen, len };
      }
      this.learnTemplate(d, tid, fields, scopeCount, options);
    }
  }
}
