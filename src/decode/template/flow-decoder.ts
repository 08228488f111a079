/**
 * What NetFlow v9 and IPFIX share: the template store, data and options-data sets, data held until
 * its template arrives, counted reasons, and the template cache on disk. The protocol decoders
 * parse their own headers and template sets and call in here.
 *
 * Choices, for the record:
 *  - Biflows (RFC 5103 reverse elements, and NSEL/AVC initiator/responder counters 231/232,
 *    298/299): the forward direction is one record; when the reverse octets or packets are non-zero
 *    a second record follows with the tuple, interfaces, ASes, masks, VLANs and MACs swapped, the
 *    reverse counters and `extra['flow.biflow_direction'] = 'reverse'`. Sums per direction stay right.
 *  - Options data records are state, not flows: sampling rates (per sampler ID and per domain),
 *    systemInitTimeMilliseconds, NBAR application names, interface names. They are counted ('options records').
 *  - An element with no record field is kept in `record.extra` under `ipfix.<IANA name>`,
 *    `<vendor>.<name>` or `ie.<enterprise>.<id>`; a repeated element's earlier occurrences as `<name>.<n>`.
 *  - Every adjustment or loss is counted by reason, in total and per exporter (describe()).
 */
import { join } from 'node:path';
import { FlowRecord, MAX_I64 } from '../../record/flow-record.js';
import type { ExportType } from '../../record/flow-record.js';
import type { PacketContext, Protocol } from '../../pipeline/types.js';
import { log } from '../../log/logger.js';
import { MAX_EXTRAS, rawName, VARLEN, type CompiledTemplate, type TemplateField } from './compile.js';
import { PendingSets, type HeldSet } from './pending.js';
import { cacheFilesIn, readCache, writeCache, writeCacheSync } from './persist.js';
import { applicationIdAt, readRecord, readReverse, RecordScratch, recordRate, resolveCounters, resolveFallbacks, resolveTimes, reverseOf, uintAt, valueAt } from './record-reader.js';
import { TemplateStore, type DomainState } from './store.js';
import { SCOPE_INTERFACE } from '../sampling.js';
import type { SequenceCounts, SequenceGaps } from '../sequence-gaps.js';
import { ExporterReasons } from '../exporter-reasons.js';

export interface TemplateDecoderOptions {
  /** EF_PROCESSOR_DECODE_TEMPLATE_LIFETIME, seconds. */
  templateLifetimeS: number;
  /** EF_PROCESSOR_DECODE_PENDING_MAX: sets held per exporter. */
  pendingMax: number;
  /** EF_PROCESSOR_DECODE_PENDING_TIMEOUT, seconds. */
  pendingTimeoutS: number;
  /** Directory for the template cache; '' keeps templates in memory only. */
  stateDir: string;
  /**
   * The data dir, when stateDir is in it: at start the templates of the exporters `owns` accepts are
   * read from every cache there (cacheFilesIn), not only stateDir's. Where an exporter's templates
   * are saved depends on the number of decode workers, which may differ from the last run's
   * (EF_FLOW_SERVER_WORKERS, or `auto` after outputs changed).
   */
  dataDir?: string;
  owns?: (exporter: string) => boolean;
  /** Minimum seconds between cache writes while templates change. */
  saveIntervalS?: number;
  /**
   * Sees each options data record with its values under their raw names (tests, diagnostics).
   * Options records are state (sampling rates, init time, application names), not flows.
   */
  onOptionsRecord?: (values: Record<string, string | number | boolean>, templateId: number) => void;
}

/** Template IDs below this are set IDs (RFC 7011 §3.4.1, RFC 3954 §5.2). */
export const MIN_DATA_SET_ID = 256;
/** count() reasons that are the normal course of things; every other one is a loss or a change to the data. */
const NOT_LOSSES = new Set(['options records', 'data without template: held', 'data without template: released', 'records released after template', 'templates withdrawn']);
/** Times taken from elsewhere (export time, start for end): said in the decoder's counters only. */
const TIME_REASON = 'time: ';

export abstract class TemplateFlowDecoder {
  abstract readonly protocol: Protocol;
  protected readonly store: TemplateStore;
  private readonly pending: PendingSets;
  private readonly released: FlowRecord[] = [];
  private readonly cachePath: string;
  private readonly saveIntervalMs: number;
  private lastSave = 0;
  private saving: Promise<void> | null = null;
  /** Armed while the store has changes not yet saved: they are saved when it fires, traffic or not. */
  private saveTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private lastSweep = 0;
  /** Sets still held when close() ran (counted then as lost; describe() goes on showing them). */
  private heldAtStop = 0;
  private readonly onOptionsRecord: TemplateDecoderOptions['onOptionsRecord'];
  /** Counted reasons (malformed parts, held/expired data, time adjustments), in total and per exporter. */
  readonly counters = new Map<string, number>();
  private readonly byExporter = new ExporterReasons();
  /** count()s that mean something was lost or changed, per exporter, until takeLosses(). */
  private losses = new Map<string, Map<string, number>>();
  private readonly scratch = new RecordScratch();
  /** For a biflow's reverse elements, read on a pass of their own (readReverse). */
  private readonly reverseScratch = new RecordScratch();
  /** Templates learnt in the current packet: (domain, id) pairs whose held data can now be replayed. */
  private learnt = false;

  // Header values of the packet being decoded (fields, not arguments: no per-record allocation).
  protected exporterIp = '';
  protected exporterPort = 0;
  protected receivedAt = 0;
  protected exportMs = 0;
  /** v9 header sysUptime; -1 for IPFIX. */
  protected sysUptime = -1;
  protected sequence = 0;
  protected domainId = 0;
  /** Data and options data records read off the wire, the options ones, and data sets held for their template, ever (IPFIX sequence advance). */
  protected wireRecords = 0;
  protected wireOptionsRecords = 0;
  protected setsHeld = 0;
  /** Upstream loss from the header's sequence numbers, in each subclass's unit. */
  protected abstract readonly gaps: SequenceGaps;

  protected constructor(private readonly v9: boolean, private readonly version: number, private readonly exportType: ExportType, opts: TemplateDecoderOptions, cacheName: string) {
    this.store = new TemplateStore(v9, opts.templateLifetimeS * 1000);
    this.pending = new PendingSets(opts.pendingMax, opts.pendingTimeoutS * 1000);
    this.saveIntervalMs = (opts.saveIntervalS ?? 10) * 1000;
    this.onOptionsRecord = opts.onOptionsRecord;
    this.cachePath = opts.stateDir === '' ? '' : join(opts.stateDir, cacheName);
    if (this.cachePath !== '') {
      const paths = opts.dataDir === undefined ? [this.cachePath] : cacheFilesIn(opts.dataDir, cacheName);
      const from: string[] = [];
      for (const path of paths) if (this.store.load(readCache(path), Date.now(), opts.owns) > 0) from.push(path);
      // Taken from another cache: saved to this one soon, so it holds them on its own.
      this.store.dirty = from.some((p) => p !== this.cachePath);
      const c = this.store.counts();
      if (from.length > 0) log.info(`loaded ${c.templates + c.optionsTemplates} ${cacheName.replace('.json', '')} from ${from.join(', ')}`);
    }
  }

  count(reason: string, n = 1, exporter = this.exporterIp): void {
    this.counters.set(reason, (this.counters.get(reason) ?? 0) + n);
    if (!NOT_LOSSES.has(reason) && !reason.startsWith(TIME_REASON)) {
      const m = this.losses.get(exporter);
      if (m === undefined) this.losses.set(exporter, new Map([[reason, n]]));
      else m.set(reason, (m.get(reason) ?? 0) + n);
    }
    this.byExporter.add(exporter, reason, n, this.receivedAt);
  }

  /** Sets the per-packet header values. */
  protected begin(ctx: PacketContext, exportMs: number, sysUptime: number, sequence: number, domain: number): void {
    this.exporterIp = ctx.exporterIp;
    this.exporterPort = ctx.exporterPort;
    this.receivedAt = ctx.receivedAt;
    this.exportMs = exportMs;
    this.sysUptime = sysUptime;
    this.sequence = sequence;
    this.domainId = domain;
    this.learnt = false;
    if (this.pending.size > 0) {
      const n = this.pending.expire(this.exporterIp, this.receivedAt);
      if (n > 0) this.count('data without template: expired', n);
    }
  }

  /**
   * Stores a template record of the current packet's scope `d` (undefined: the store had no room for
   * the scope) and counts what the store refused or evicted for it.
   */
  protected learnTemplate(d: DomainState | undefined, tid: number, fields: TemplateField[], scopeCount: number, isOptions: boolean): void {
    if (d === undefined) { this.count('template refused: too many exporters'); return; }
    if (tid < MIN_DATA_SET_ID) { this.count('bad template id'); return; }
    const ev = this.store.add(d, tid, fields, scopeCount, isOptions, this.receivedAt);
    if (ev === 'refused' || ev === 'changed, refused') this.count('template refused: too many templates');
    else if (ev === 'refused: address share' || ev === 'changed, refused: address share') this.count('template refused: too many templates from this address');
    else {
      this.learnt = true;
      if (ev === 'new' || ev === 'changed') {
        const skipped = d.templates.get(tid)?.skippedExtras ?? 0;
        if (skipped > 0) this.count(`template: unmapped fields past ${MAX_EXTRAS} skipped`, skipped);
      }
    }
    // The ID's earlier layout is no longer used: its data waits as data without a template.
    if (ev === 'changed, refused' || ev === 'changed, refused: address share') this.count('template withdrawn: its new layout refused');
    const evicted = this.store.takeEvicted();
    // Counted under the address that lost them: its data waits for them to be announced again.
    if (evicted !== null) for (const [exporter, n] of evicted) this.count('templates evicted: idle at a full table', n, exporter);
  }

  /** Data set with template `tid` at [off, end). */
  protected dataSet(d: DomainState | undefined, tid: number, buf: Buffer, off: number, end: number, out: FlowRecord[]): void {
    const t = d === undefined ? undefined : this.store.get(d, tid, this.receivedAt);
    if (t === undefined) {
      this.hold(tid, buf, off, end);
      return;
    }
    if (t.isOptions) this.optionsRecords(d!, t, buf, off, end);
    else {
      // Before the records use them: a rate not announced within the lifetime no longer applies.
      if (d!.sampling.expire(this.receivedAt, this.store.lifetimeMs)) this.store.dirty = true;
      this.dataRecords(d!, t, buf, off, end, out);
    }
  }

  private hold(tid: number, buf: Buffer, off: number, end: number): void {
    const set: HeldSet = {
      domain: this.domainId, templateId: tid, data: Buffer.from(buf.subarray(off, end)), exportMs: this.exportMs,
      sysUptime: this.sysUptime, sequence: this.sequence, receivedAt: this.receivedAt, exporterPort: this.exporterPort,
    };
    this.setsHeld++;
    const r = this.pending.hold(this.exporterIp, set);
    if (r < 0) this.count('data without template: dropped (holding disabled or full)');
    else {
      this.count('data without template: held');
      if (r > 0) this.count('data without template: evicted (EF_PROCESSOR_DECODE_PENDING_MAX)', r);
    }
  }

  /** Replays held sets whose template this packet brought; call at the end of each packet. */
  protected finish(): void {
    if (this.learnt && this.pending.size > 0) {
      const d = this.store.domain(this.exporterIp, this.domainId, false);
      if (d !== undefined) {
        const held = this.pending.take(this.exporterIp, this.domainId, (id) => this.store.get(d, id, this.receivedAt) !== undefined);
        if (held.length > 0) {
          const save = [this.exportMs, this.sysUptime, this.sequence, this.receivedAt, this.exporterPort] as const;
          for (const h of held) {
            this.exportMs = h.exportMs; this.sysUptime = h.sysUptime; this.sequence = h.sequence;
            this.receivedAt = h.receivedAt; this.exporterPort = h.exporterPort;
            const n0 = this.released.length;
            try {
              this.dataSet(d, h.templateId, h.data, 0, h.data.length, this.released);
            } catch {
              this.count('data without template: malformed on release');
            }
            this.count('data without template: released', 1);
            this.count('records released after template', this.released.length - n0);
          }
          [this.exportMs, this.sysUptime, this.sequence, this.receivedAt, this.exporterPort] = save;
        }
      }
    }
    this.sweep(this.receivedAt);
    // Changes are saved by a timer, not by a later packet: a template learnt in the last packet before
    // an exporter falls silent (or a worker stops) is on disk within the interval all the same.
    if (this.store.dirty && this.saveTimer === null && this.cachePath !== '') this.armSave();
  }

  /**
   * Drops held data past EF_PROCESSOR_DECODE_PENDING_TIMEOUT and templates past their lifetime, at
   * most once a second of `now`: after each datagram, and from the pipeline's timer when none comes
   * (held data of an exporter that fell silent was otherwise never dropped, nor counted).
   */
  sweep(now: number): void {
    // Either direction: a replayed capture may run behind the last sweep.
    if (Math.abs(now - this.lastSweep) <= 1000) return;
    this.lastSweep = now;
    if (this.pending.size > 0) this.pending.expireAll(now, (exporter, n) => this.count('data without template: expired', n, exporter));
    this.store.reclaim(now);
    // In the decoder's totals only: they are every exporter's, not one datagram's exporter's.
    const expired = this.store.takeExpired();
    if (expired > 0) this.counters.set('templates expired', (this.counters.get('templates expired') ?? 0) + expired);
    // Dropped templates are saved as other changes are, datagram or not.
    if (this.store.dirty && this.saveTimer === null && this.cachePath !== '') this.armSave();
  }

  takeLosses(): ReadonlyMap<string, ReadonlyMap<string, number>> | null {
    if (this.losses.size === 0) return null;
    const taken = this.losses;
    this.losses = new Map();
    return taken;
  }

  takeSequenceGaps(): ReadonlyMap<string, SequenceCounts> | null {
    return this.gaps.take();
  }

  drainReleased(out: FlowRecord[]): void {
    if (this.released.length === 0) return;
    for (let i = 0; i < this.released.length; i++) out.push(this.released[i]!);
    this.released.length = 0;
  }

  private dataRecords(d: DomainState, t: CompiledTemplate, buf: Buffer, off: number, end: number, out: FlowRecord[]): void {
    // A template whose records take no octets would loop forever over a set (RFC 7011 §3.4.3 padding rule).
    if (t.minLen === 0) { this.count('template with zero-length records'); return; }
    const s = this.scratch;
    const tb = { exportMs: this.exportMs, sysUptime: this.sysUptime, sysInitMs: d.sysInitMs };
    let o = off;
    let timeReason = '', timeReasonN = 0;
    while (end - o >= t.minLen) {
      const r = new FlowRecord();
      s.reset();
      const at = o;
      const next = readRecord(buf, o, end, t, r, s);
      if (next < 0) {
        // Shorter than a record: padding when zero (RFC 7011 §3.3.1), a truncated record otherwise.
        if (!allZero(buf, o, end)) this.count('truncated data record');
        break;
      }
      o = next;
      this.wireRecords++;
      r.collectTs = this.receivedAt;
      r.exportTs = this.exportMs;
      r.exporterIp = this.exporterIp;
      r.exportVersion = this.version;
      r.exportType = this.exportType;
      r.observationDomain = this.domainId;
      r.sequence = this.sequence;
      resolveCounters(r, s);
      resolveFallbacks(buf, r, s);
      const why = resolveTimes(r, s, tb);
      if (why !== '') {
        // Counted once per set and reason, not per record (a whole set usually shares the cause).
        if (why !== timeReason) { if (timeReasonN > 0) this.count(timeReason, timeReasonN); timeReason = why; timeReasonN = 0; }
        timeReasonN++;
      }
      if (s.appId !== '') {
        // The exporter's name for it (NBAR options data, IE 96) when known; the ID is kept either way.
        const name = r.application === '' ? d.appNames.get(s.appId) : undefined;
        if (r.application === '' && name === undefined) r.application = s.appId;
        else {
          if (name !== undefined) r.application = name;
          r.setExtra('ipfix.applicationId', s.appId);
        }
      }
      if (r.proto === 1 || r.proto === 58) {
        // No ICMP fields: exporters put type*256+code in the destination port (Cisco convention).
        if (r.icmpType === 0 && r.icmpCode === 0 && r.dstPort !== 0) { r.icmpType = r.dstPort >>> 8; r.icmpCode = r.dstPort & 0xff; }
      }
      const own = recordRate(s);
      const rate = own > 0 ? own : d.sampling.rateFor(s.samplerId, r.inIf);
      if (rate > 0) {
        r.samplingRate = rate;
        if (rate > 1) { r.bytes *= rate; r.packets *= rate; s.revBytes *= rate; s.revPkts *= rate; }
      }
      // Counters past a signed 64-bit integer (a 2^64 counter, or one scaled past it) are garbage no
      // output can store as a number (an Elasticsearch long refused the document): held at the top.
      if (r.bytes > MAX_I64 || r.packets > MAX_I64 || s.revBytes > MAX_I64 || s.revPkts > MAX_I64) {
        this.count('counter beyond 2^63 clamped');
        r.bytes = Math.min(r.bytes, MAX_I64); r.packets = Math.min(r.packets, MAX_I64);
        s.revBytes = Math.min(s.revBytes, MAX_I64); s.revPkts = Math.min(s.revPkts, MAX_I64);
      }
      if (d.ifNames.size > 0) {
        if (r.inIf !== 0) r.inIfName = d.ifNames.get(r.inIf) ?? '';
        if (r.outIf !== 0) r.outIfName = d.ifNames.get(r.outIf) ?? '';
      }
      // Biflows (RFC 5103) and NSEL initiator/responder counters: the reverse direction becomes a
      // record of its own, so byte and packet sums per direction stay right. It takes the reverse
      // elements the exporter sent (ToS, VLANs, ...), else the forward record's values, swapped.
      let v: FlowRecord | null = null;
      if (s.revBytes > 0 || s.revPkts > 0) {
        v = reverseOf(r, s.revBytes, s.revPkts, s.revTcpFlags);
        if (t.reverse !== null) {
          readReverse(buf, at, end, t.reverse, v, this.reverseScratch);
          if (d.ifNames.size > 0) {
            if (v.inIf !== 0 && v.inIfName === '') v.inIfName = d.ifNames.get(v.inIf) ?? '';
            if (v.outIf !== 0 && v.outIfName === '') v.outIfName = d.ifNames.get(v.outIf) ?? '';
          }
        }
      } else if (t.reverseRaw !== null) {
        // No reverse direction to carry them: the reverse elements stay on this record, raw.
        this.reverseScratch.reset();
        readRecord(buf, at, end, t.reverseRaw, r, this.reverseScratch);
      }
      out.push(r);
      if (v !== null) out.push(v);
    }
    // Fewer octets left than any record takes (the loop stopped without reading them): padding when
    // zero, else a record cut short (or data sent under a longer, since replaced template).
    if (end - o < t.minLen && o < end && !allZero(buf, o, end)) this.count('truncated data record');
    if (timeReasonN > 0) this.count(timeReason, timeReasonN);
  }

  /** Options data: sampling rates, system init time, application and interface names. Not emitted as flows. */
  private optionsRecords(d: DomainState, t: CompiledTemplate, buf: Buffer, off: number, end: number): void {
    if (t.minLen === 0) { this.count('template with zero-length records'); return; }
    const values = new Map<number, number>();
    let o = off;
    while (end - o >= t.minLen) {
      values.clear();
      let appId = '', appName = '', ifName = '', ifDescr = '';
      // The interface the record is scoped to: it wins over an IE 10 among the record's other fields.
      let scopeIf = -1;
      let ok = true;
      const named: Record<string, string | number | boolean> | null = this.onOptionsRecord ? {} : null;
      for (let i = 0; i < t.fields.length; i++) {
        const f = t.fields[i]!;
        let len = f.len;
        if (len === VARLEN) {
          if (o >= end) { ok = false; break; }
          len = buf[o++]!;
          if (len === 255) { if (o + 2 > end) { ok = false; break; } len = buf.readUInt16BE(o); o += 2; }
        }
        if (o + len > end) { ok = false; break; }
        const scope = this.v9 && i < t.scopeCount;
        // v9 scope Interface (type 2), IPFIX ingressInterface as a scope field: the rates and names in
        // this record are that interface's.
        if (i < t.scopeCount && len > 0 && len <= 8 && (scope ? f.id === 2 : f.pen === 0 && f.id === SCOPE_INTERFACE)) scopeIf = uintAt(buf, o, len);
        if (named !== null && len > 0) named[rawName(f.pen, f.id, scope)] = !scope && f.pen === 0 && f.id === 95 ? applicationIdAt(buf, o, len) : valueAt(buf, o, len, scope ? 0 : t.types[i]!);
        if (!scope && f.pen === 0 && len > 0) {
          if (f.id === 95) appId = applicationIdAt(buf, o, len);
          else if (f.id === 96) appName = String(valueAt(buf, o, len, 14));
          // Interface table (Cisco's 'option interface-table', IPFIX scoped by ingressInterface).
          else if (f.id === 82) ifName = String(valueAt(buf, o, len, 14)).trim();
          else if (f.id === 83) ifDescr = String(valueAt(buf, o, len, 14)).trim();
          // samplingProbability (IE 311) is a float64 (RFC 5477 §8.2.4); the others are unsigned.
          else if (f.id === 311) { if (len === 8 || len === 4) values.set(311, len === 8 ? buf.readDoubleBE(o) : buf.readFloatBE(o)); }
          else if (len <= 8) values.set(f.id, uintAt(buf, o, len));
        }
        o += len;
      }
      if (!ok) {
        if (!allZero(buf, o, end)) this.count('truncated options record');
        return; // counted: o is inside the record, not at its start
      }
      if (scopeIf >= 0) values.set(SCOPE_INTERFACE, scopeIf);
      this.count('options records');
      this.wireRecords++;
      this.wireOptionsRecords++;
      if (named !== null) this.onOptionsRecord!(named, t.id);
      if (d.sampling.learn(values, this.receivedAt)) this.store.dirty = true;
      const init = values.get(160);
      if (init !== undefined && init > 0 && init !== d.sysInitMs) { d.sysInitMs = init; this.store.dirty = true; }
      if (appId !== '' && appName !== '' && this.store.learnAppName(d, appId, appName)) this.count('options data: application name refused (too many names)');
      if (ifName !== '' || ifDescr !== '') {
        // Keyed by the interface the record is scoped to (v9 scope Interface, or IE 10; IE 14 else).
        const ifIndex = values.get(SCOPE_INTERFACE) ?? values.get(14);
        if (ifIndex !== undefined && ifIndex > 0 && this.store.learnIfName(d, ifIndex, ifName !== '' ? ifName : ifDescr)) this.count('options data: interface name refused (too many names)');
      }
    }
    if (end - o < t.minLen && o < end && !allZero(buf, o, end)) this.count('truncated options record');
  }

  /** Saves the changes at most once per interval: now if the last save is that old, else when it will be. */
  private armSave(): void {
    if (this.closed) return;
    // Never longer than one interval: a clock stepped back must not postpone the save by the step.
    const wait = Math.min(this.saveIntervalMs, Math.max(0, this.lastSave + this.saveIntervalMs - Date.now()));
    this.saveTimer = setTimeout(() => {
      this.saveTimer = null;
      if (this.store.dirty) this.saveSoon();
    }, wait);
    this.saveTimer.unref();
  }

  private saveSoon(): void {
    if (this.saving !== null) return; // its end arms the timer again if changes came meanwhile
    this.lastSave = Date.now();
    this.store.dirty = false;
    const snapshot = this.store.toJSON();
    this.saving = writeCache(this.cachePath, snapshot)
      .catch((err: Error) => {
        this.store.dirty = true;
        log.warn(`template cache ${this.cachePath}: write failed: ${err.message}`);
      })
      .finally(() => {
        this.saving = null;
        if (this.store.dirty && this.saveTimer === null) this.armSave();
      });
  }

  /**
   * Writes the template cache now (close, or tests). Data still held for its template is lost with
   * the process: counted per exporter as `data without template: held at stop` (takeLosses), and
   * still shown by describe()'s `pending`.
   */
  async close(): Promise<void> {
    if (!this.closed && this.pending.size > 0) {
      // Every held set is past a time after all of them: expireAll hands each exporter's count over.
      this.pending.expireAll(Infinity, (exporter, n) => {
        this.count('data without template: held at stop', n, exporter);
        this.heldAtStop += n;
      });
    }
    this.closed = true;
    if (this.saveTimer !== null) clearTimeout(this.saveTimer);
    this.saveTimer = null;
    if (this.saving !== null) await this.saving;
    if (this.cachePath === '') return;
    try {
      writeCacheSync(this.cachePath, this.store.toJSON());
      this.store.dirty = false;
    } catch (err) {
      log.warn(`template cache ${this.cachePath}: write failed: ${(err as Error).message}`);
    }
  }

  describe(): Record<string, unknown> {
    return {
      ...this.store.counts(),
      pending: this.pending.size + this.heldAtStop,
      counters: Object.fromEntries(this.counters),
      byExporter: this.byExporter.toJSON(),
      scopes: this.store.describe(),
    };
  }
}

function allZero(buf: Buffer, o: number, end: number): boolean {
  for (let i = o; i < end; i++) if (buf[i] !== 0) return false;
  return true;
}
