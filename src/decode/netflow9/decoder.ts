/**
 * NetFlow v9 (RFC 3954): 20-octet header, then FlowSets: 0 = templates, 1 = options templates,
 * 256+ = data. Templates are scoped by exporter address + source ID (RFC 3954 §5.1).
 */
import type { FlowRecord } from '../../record/flow-record.js';
import { DecodeError, type Decoder, type PacketContext } from '../../pipeline/types.js';
import { MIN_DATA_SET_ID, TemplateFlowDecoder, type TemplateDecoderOptions } from '../template/flow-decoder.js';
import type { TemplateField } from '../template/compile.js';
import { SequenceGaps, UNTRACKED_STREAM } from '../sequence-gaps.js';

const HEADER_LEN = 20; // RFC 3954 §5.1
const TEMPLATE_SET = 0, OPTIONS_SET = 1; // RFC 3954 §5.2, §6.1

export class Netflow9Decoder extends TemplateFlowDecoder implements Decoder {
  readonly protocol = 'netflow9' as const;
  /** RFC 3954 numbers export packets; some exporters number records instead (sequence-gaps.ts). */
  protected readonly gaps = new SequenceGaps(['datagrams', 'before']);

  constructor(opts: TemplateDecoderOptions) {
    super(true, 9, 'netflow', opts, 'templates-netflow9.json');
  }

  decode(buf: Buffer, ctx: PacketContext, out: FlowRecord[]): void {
    if (buf.length < HEADER_LEN) throw new DecodeError('short header', `${buf.length} bytes`);
    const sysUptime = buf.readUInt32BE(4);
    const unixSecs = buf.readUInt32BE(8);
    const sequence = buf.readUInt32BE(12);
    const sourceId = buf.readUInt32BE(16);
    const s = this.gaps.stream(ctx.exporterIp, ctx.exporterPort, sourceId, ctx.receivedAt);
    if (s !== null) this.gaps.check(s, ctx.exporterIp, sequence, buf.readUInt16BE(2));
    else this.count(UNTRACKED_STREAM, 1, ctx.exporterIp);
    this.begin(ctx, unixSecs * 1000, sysUptime, sequence, sourceId);
    try {
      this.flowSets(buf, HEADER_LEN, buf.length, out);
    } finally {
      this.finish();
    }
  }

  private flowSets(buf: Buffer, off: number, end: number, out: FlowRecord[]): void {
    // Looked up, not made: a scope is made by the first template it gets (templates() below), so
    // headers without one (a bare header, data only) leave nothing behind.
    let d = this.store.domain(this.exporterIp, this.domainId, false);
    while (end - off >= 4) {
      const id = buf.readUInt16BE(off);
      const len = buf.readUInt16BE(off + 2);
      if (len < 4) {
        // Some exporters pad the datagram with zeros after the last FlowSet (Palo Alto, Cisco ACI).
        if (id === 0 && len === 0 && zerosFrom(buf, off, end)) return;
        throw new DecodeError('bad flowset length', `flowset ${id} length ${len}`);
      }
      if (off + len > end) throw new DecodeError('truncated flowset', `flowset ${id} length ${len}, ${end - off} octets left`);
      const body = off + 4, setEnd = off + len;
      if (id === TEMPLATE_SET) this.templates(buf, body, setEnd);
      else if (id === OPTIONS_SET) this.optionsTemplates(buf, body, setEnd);
      else if (id >= MIN_DATA_SET_ID) this.dataSet((d ??= this.store.domain(this.exporterIp, this.domainId, false)), id, buf, body, setEnd, out);
      else this.count('reserved flowset id');
      off = setEnd;
    }
  }

  private templates(buf: Buffer, o: number, end: number): void {
    const d = this.store.domain(this.exporterIp, this.domainId, true, this.receivedAt);
    while (end - o >= 4) {
      const tid = buf.readUInt16BE(o);
      const n = buf.readUInt16BE(o + 2);
      if (tid === 0 && n === 0) return; // padding to a 4-octet boundary (some exporters send it)
      o += 4;
      if (o + n * 4 > end) throw new DecodeError('truncated template', `template ${tid} with ${n} fields`);
      const fields: TemplateField[] = new Array(n);
      for (let i = 0; i < n; i++, o += 4) fields[i] = { id: buf.readUInt16BE(o), pen: 0, len: buf.readUInt16BE(o + 2) };
      this.learnTemplate(d, tid, fields, 0, false);
    }
  }

  private optionsTemplates(buf: Buffer, o: number, end: number): void {
    const d = this.store.domain(this.exporterIp, this.domainId, true, this.receivedAt);
    // RFC 3954 §6.1: template ID, scope length and option length in octets, then the fields, then padding.
    while (end - o >= 6) {
      const tid = buf.readUInt16BE(o);
      const scopeLen = buf.readUInt16BE(o + 2);
      const optLen = buf.readUInt16BE(o + 4);
      o += 6;
      if (tid === 0 && scopeLen === 0 && optLen === 0) return; // padding
      if (scopeLen % 4 !== 0 || optLen % 4 !== 0 || o + scopeLen + optLen > end) throw new DecodeError('bad options template', `template ${tid} scope ${scopeLen} options ${optLen}`);
      const n = (scopeLen + optLen) / 4;
      const fields: TemplateField[] = new Array(n);
      for (let i = 0; i < n; i++, o += 4) fields[i] = { id: buf.readUInt16BE(o), pen: 0, len: buf.readUInt16BE(o + 2) };
      this.learnTemplate(d, tid, fields, scopeLen / 4, true);
      // One options template per FlowSet is the norm; what is left shorter than a header is padding.
    }
  }
}

function zerosFrom(buf: Buffer, o: number, end: number): boolean {
  for (let i = o; i < end; i++) if (buf[i] !== 0) return false;
  return true;
}
