/**
 * A TEST BROKER speaking the Kafka wire protocol (no real Kafka can run on these machines), enough
 * for kafkajs to connect, authenticate, find partition leaders and produce, and strict about what
 * it decodes. kafkajs talks to it over a real TCP socket on 127.0.0.1 (or ::1, `host`): nothing in
 * the client is replaced.
 *
 * Implemented (non-flexible versions, request header v1, response header v0, per the Apache Kafka
 * protocol guide, https://kafka.apache.org/protocol):
 * - ApiVersions v0-v2 (key 18): advertises exactly the versions below; an unsupported ApiVersions
 *   version is answered with UNSUPPORTED_VERSION (35) as real brokers do.
 * - Metadata v1 (key 3): one broker (node 1, this address; an IPv6 host without brackets, as Kafka
 *   announces an advertised listener PLAINTEXT://[::1]:9092), the configured topics and partitions,
 *   UNKNOWN_TOPIC_OR_PARTITION (3) for others.
 * - Produce v3 (key 0): decodes every record batch (magic 2) fully: the CRC-32C (Castagnoli) over
 *   attributes..end is checked (CORRUPT_MESSAGE, 2, on mismatch), compression must be none, the
 *   batch length, record count, lastOffsetDelta, each record's length and offset deltas must agree,
 *   and a batch over message.max.bytes (1048588) is MESSAGE_TOO_LARGE (10). Keys, values,
 *   timestamps and headers are stored per topic-partition with offsets.
 * - SaslHandshake v0-v1 (17) and SaslAuthenticate v0-v1 (36) with PLAIN (RFC 4616) when a user is
 *   configured; until then every other request closes the connection, as a SASL listener does.
 *
 * TLS: optional (a key and certificate given by the test).
 *
 * Not implemented: Fetch/consumers, groups, transactions and idempotence (InitProducerId),
 * compression codecs, SCRAM, replication, flexible versions. A request with an API or version
 * not advertised closes the connection and is counted in `protocolErrors`.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';

export interface KafkaTestBrokerOptions {
  /** Topic → partition count. */
  topics: Record<string, number>;
  sasl?: { username: string; password: string };
  /** Listen with TLS, with this key and certificate (PEM). */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** Loopback address to listen on and announce in Metadata: 127.0.0.1 (default) or ::1. */
  host?: '127.0.0.1' | '::1';
  /** The largest record batch taken (the broker's message.max.bytes or a topic's max.message.bytes); 1048588 by default. */
  messageMaxBytes?: number;
}

export interface StoredMessage {
  topic: string;
  partition: number;
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: number;
  headers: { key: string; value: Buffer | null }[];
}

const API_PRODUCE = 0;
const API_METADATA = 3;
const API_SASL_HANDSHAKE = 17;
const API_VERSIONS = 18;
const API_SASL_AUTHENTICATE = 36;

const ERR_NONE = 0;
const ERR_CORRUPT_MESSAGE = 2;
const ERR_UNKNOWN_TOPIC_OR_PARTITION = 3;
const ERR_MESSAGE_TOO_LARGE = 10;
const ERR_UNSUPPORTED_SASL_MECHANISM = 33;
const ERR_UNSUPPORTED_VERSION = 35;
const ERR_SASL_AUTHENTICATION_FAILED = 58;
/** Kafka's default message.max.bytes (broker config). */
const MESSAGE_MAX_BYTES = 1048588;
const NODE_ID = 1;

class ProtocolError extends Error {}

/** CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as record batches v2 use. */
const CRC32C = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32c(buf: Buffer): number {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC32C[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Big-endian reader over one request body. */
class Reader {
  off = 0;
  constructor(readonly b: Buffer) {}
  need(n: number): void {
    if (this.off + n > this.b.length) throw new ProtocolError(`read past the end (${this.off}+${n} > ${this.b.length})`);
  }
  i8(): number {
    this.need(1);
    return this.b.readInt8(this.off++);
  }
  i16(): number {
    this.need(2);
    const v = this.b.readInt16BE(this.off);
    this.off += 2;
    return v;
  }
  i32(): number {
    this.need(4);
    const v = this.b.readInt32BE(this.off);
    this.off += 4;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.b.readUInt32BE(this.off);
    this.off += 4;
    return v;
  }
  i64(): bigint {
    this.need(8);
    const v = this.b.readBigInt64BE(this.off);
    this.off += 8;
    return v;
  }
  nullableString(): string | null {
    const n = this.i16();
    if (n === -1) return null;
    if (n < 0) throw new ProtocolError(`bad string length ${n}`);
    this.need(n);
    const s = this.b.toString('utf8', this.off, this.off + n);
    this.off += n;
    return s;
  }
  string(): string {
    const s = this.nullableString();
    if (s === null) throw new ProtocolError('null where a string is required');
    return s;
  }
  bytes(): Buffer | null {
    const n = this.i32();
    if (n === -1) return null;
    if (n < 0) throw new ProtocolError(`bad bytes length ${n}`);
    this.need(n);
    const v = this.b.subarray(this.off, this.off + n);
    this.off += n;
    return v;
  }
  array<T>(f: () => T): T[] | null {
    const n = this.i32();
    if (n === -1) return null;
    if (n < 0 || n > 1_000_000) throw new ProtocolError(`bad array length ${n}`);
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(f());
    return out;
  }
  /** Unsigned LEB128 then zigzag (record fields), up to 64 bits. */
  varlong(): bigint {
    let shift = 0n;
    let v = 0n;
    for (let i = 0; i < 10; i++) {
      this.need(1);
      const byte = this.b[this.off++]!;
      v |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return (v >> 1n) ^ -(v & 1n);
      shift += 7n;
    }
    throw new ProtocolError('varint too long');
  }
  varint(): number {
    const v = this.varlong();
    if (v < -2147483648n || v > 2147483647n) throw new ProtocolError('varint out of int32 range');
    return Number(v);
  }
  done(what: string): void {
    if (this.off !== this.b.length) throw new ProtocolError(`${this.b.length - this.off} bytes left over after ${what}`);
  }
}

/** Big-endian writer for responses. */
class Writer {
  private parts: Buffer[] = [];
  i16(v: number): this {
    const b = Buffer.alloc(2);
    b.writeInt16BE(v);
    this.parts.push(b);
    return this;
  }
  i32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    this.parts.push(b);
    return this;
  }
  i64(v: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(v);
    this.parts.push(b);
    return this;
  }
  bool(v: boolean): this {
    this.parts.push(Buffer.from([v ? 1 : 0]));
    return this;
  }
  string(s: string | null): this {
    if (s === null) return this.i16(-1);
    const b = Buffer.from(s, 'utf8');
    this.i16(b.length);
    this.parts.push(b);
    return this;
  }
  bytes(b: Buffer | null): this {
    if (b === null) return this.i32(-1);
    this.i32(b.length);
    this.parts.push(b);
    return this;
  }
  array<T>(items: readonly T[], f: (w: this, item: T) => void): this {
    this.i32(items.length);
    for (const it of items) f(this, it);
    return this;
  }
  build(): Buffer {
    return Buffer.concat(this.parts);
  }
}

interface ConnState {
  authenticated: boolean;
  handshakeDone: boolean;
  buf: Buffer;
}

export class KafkaTestBroker {
  readonly messages: StoredMessage[] = [];
  readonly requests: { apiKey: number; apiVersion: number; clientId: string | null }[] = [];
  protocolErrors: string[] = [];
  crcFailures = 0;
  authFailures = 0;
  produceRequests = 0;
  /** Per produced partition: return a Kafka error code to refuse it with, or 0. */
  produceFault: ((topic: string, partition: number) => number) | null = null;
  /** Per message of a produced set: a Kafka error code to refuse the whole set with (as a broker's record validation does), or 0. */
  recordFault: ((value: Buffer | null) => number) | null = null;
  /** Record batches refused as larger than messageMaxBytes. */
  refusedTooLarge = 0;
  /** Port named in Metadata as the leader's (null: the listening port), to route clients through a proxy. */
  advertisedPort: number | null = null;
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private port = 0;
  private readonly offsets = new Map<string, number>();

  constructor(private readonly o: KafkaTestBrokerOptions) {}

  /** host:port, the form EF_OUTPUT_KAFKA_BROKERS takes ([::1]:port for IPv6). */
  get address(): string {
    return this.host === '::1' ? `[::1]:${this.port}` : `${this.host}:${this.port}`;
  }

  private get host(): string {
    return this.o.host ?? '127.0.0.1';
  }

  async start(): Promise<void> {
    const server = this.o.tls ? createTlsServer({ key: this.o.tls.key, cert: this.o.tls.cert }, (s) => this.accept(s)) : createServer((s) => this.accept(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.host, () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  /** Stops listening and drops every connection: the broker is down. */
  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (s === null) return;
    for (const sock of this.sockets) sock.destroy();
    await new Promise<void>((r) => s.close(() => r()));
  }

  /** Messages of a topic-partition in offset order. */
  partition(topic: string, p: number): StoredMessage[] {
    return this.messages.filter((m) => m.topic === topic && m.partition === p);
  }

  private accept(s: Socket): void {
    this.sockets.add(s);
    s.on('close', () => this.sockets.delete(s));
    s.on('error', () => undefined);
    const st: ConnState = { authenticated: this.o.sasl === undefined, handshakeDone: false, buf: Buffer.alloc(0) };
    s.on('data', (chunk: Buffer) => {
      st.buf = st.buf.length === 0 ? chunk : Buffer.concat([st.buf, chunk]);
      while (st.buf.length >= 4) {
        const size = st.buf.readInt32BE(0);
        if (size < 0 || size > 100 * 1024 * 1024) {
          this.protocolErrors.push(`bad frame size ${size}`);
          s.destroy();
          return;
        }
        if (st.buf.length < 4 + size) break;
        const frame = st.buf.subarray(4, 4 + size);
        st.buf = st.buf.subarray(4 + size);
        let reply: Buffer | null;
        try {
          reply = this.handle(frame, st);
        } catch (err) {
          this.protocolErrors.push((err as Error).message);
          s.destroy();
          return;
        }
        if (reply !== null) {
          const len = Buffer.alloc(4);
          len.writeInt32BE(reply.length);
          s.write(Buffer.concat([len, reply]));
        }
      }
    });
  }

  private versions(): [number, number, number][] {
    const v: [number, number, number][] = [
      [API_PRODUCE, 3, 3],
      [API_METADATA, 1, 1],
      [API_VERSIONS, 0, 2],
    ];
    if (this.o.sasl !== undefined) v.push([API_SASL_HANDSHAKE, 0, 1], [API_SASL_AUTHENTICATE, 0, 1]);
    return v;
  }

  /** One request frame; returns the response (correlation ID + body) or null for none (acks=0). */
  private handle(frame: Buffer, st: ConnState): Buffer | null {
    const r = new Reader(frame);
    const apiKey = r.i16();
    const apiVersion = r.i16();
    const correlationId = r.i32();
    const clientId = r.nullableString();
    this.requests.push({ apiKey, apiVersion, clientId });
    const head = new Writer().i32(correlationId);
    const supported = this.versions().find(([k]) => k === apiKey);
    if (apiKey === API_VERSIONS && (supported === undefined || apiVersion > supported[2])) {
      // KIP-511: an unknown ApiVersions version is answered in v0 form with UNSUPPORTED_VERSION.
      return Buffer.concat([head.build(), this.apiVersionsBody(0, ERR_UNSUPPORTED_VERSION)]);
    }
    if (supported === undefined || apiVersion < supported[1] || apiVersion > supported[2]) {
      throw new ProtocolError(`api ${apiKey} version ${apiVersion} not advertised`);
    }
    if (!st.authenticated && apiKey !== API_VERSIONS && apiKey !== API_SASL_HANDSHAKE && apiKey !== API_SASL_AUTHENTICATE) {
      this.authFailures++;
      throw new ProtocolError(`api ${apiKey} before SASL authentication`);
    }
    let body: Buffer | null;
    switch (apiKey) {
      case API_VERSIONS:
        r.done('ApiVersions');
        body = this.apiVersionsBody(apiVersion, ERR_NONE);
        break;
      case API_METADATA:
        body = this.metadata(r);
        break;
      case API_PRODUCE:
        body = this.produce(r);
        break;
      case API_SASL_HANDSHAKE: {
        const mech = r.string();
        r.done('SaslHandshake');
        st.handshakeDone = mech === 'PLAIN';
        body = new Writer().i16(mech === 'PLAIN' ? ERR_NONE : ERR_UNSUPPORTED_SASL_MECHANISM).array(['PLAIN'], (w, m) => w.string(m)).build();
        break;
      }
      default: {
        // SaslAuthenticate: PLAIN message is [authzid] NUL authcid NUL passwd (RFC 4616 section 2).
        const bytes = r.bytes() ?? Buffer.alloc(0);
        r.done('SaslAuthenticate');
        const parts = bytes.toString('utf8').split('\u0000');
        const ok = st.handshakeDone && parts.length === 3 && parts[1] === this.o.sasl!.username && parts[2] === this.o.sasl!.password;
        if (!ok) this.authFailures++;
        st.authenticated = ok;
        const w = new Writer().i16(ok ? ERR_NONE : ERR_SASL_AUTHENTICATION_FAILED).string(ok ? null : 'Authentication failed: Invalid username or password').bytes(Buffer.alloc(0));
        if (apiVersion >= 1) w.i64(0n);
        body = w.build();
      }
    }
    return body === null ? null : Buffer.concat([head.build(), body]);
  }

  private apiVersionsBody(version: number, error: number): Buffer {
    const w = new Writer().i16(error).array(this.versions(), (w2, [k, min, max]) => w2.i16(k).i16(min).i16(max));
    if (version >= 1) w.i32(0);
    return w.build();
  }

  private metadata(r: Reader): Buffer {
    const topics = r.array(() => r.string());
    r.done('Metadata');
    const names = topics === null ? Object.keys(this.o.topics) : topics;
    return new Writer()
      .array([0], (w) => w.i32(NODE_ID).string(this.host).i32(this.advertisedPort ?? this.port).string(null))
      .i32(NODE_ID)
      .array(names, (w, name) => {
        const n = this.o.topics[name];
        w.i16(n === undefined ? ERR_UNKNOWN_TOPIC_OR_PARTITION : ERR_NONE).string(name).bool(false);
        w.array(Array.from({ length: n ?? 0 }, (_, i) => i), (w2, p) => w2.i16(ERR_NONE).i32(p).i32(NODE_ID).array([NODE_ID], (w3, id) => w3.i32(id)).array([NODE_ID], (w3, id) => w3.i32(id)));
      })
      .build();
  }

  private produce(r: Reader): Buffer | null {
    this.produceRequests++;
    const transactionalId = r.nullableString();
    if (transactionalId !== null) throw new ProtocolError('transactional produce not supported by the test broker');
    const acks = r.i16();
    if (acks !== 0 && acks !== 1 && acks !== -1) throw new ProtocolError(`bad acks ${acks}`);
    r.i32(); // timeout
    const results: { topic: string; parts: { partition: number; error: number; base: bigint }[] }[] = [];
    const topics = r.array(() => {
      const topic = r.string();
      const parts = r.array(() => ({ partition: r.i32(), records: r.bytes() })) ?? [];
      return { topic, parts };
    }) ?? [];
    r.done('Produce');
    for (const t of topics) {
      const res: { partition: number; error: number; base: bigint }[] = [];
      for (const p of t.parts) {
        const n = this.o.topics[t.topic];
        if (n === undefined || p.partition < 0 || p.partition >= n) {
          res.push({ partition: p.partition, error: ERR_UNKNOWN_TOPIC_OR_PARTITION, base: -1n });
          continue;
        }
        const fault = this.produceFault?.(t.topic, p.partition) ?? 0;
        if (fault !== 0) {
          res.push({ partition: p.partition, error: fault, base: -1n });
          continue;
        }
        const decoded = this.decodeRecordSet(t.topic, p.partition, p.records ?? Buffer.alloc(0));
        if (typeof decoded === 'number') {
          res.push({ partition: p.partition, error: decoded, base: -1n });
          continue;
        }
        const refusal = this.recordFault === null ? 0 : decoded.reduce((code, m) => code || this.recordFault!(m.value), 0);
        if (refusal !== 0) {
          res.push({ partition: p.partition, error: refusal, base: -1n });
          continue;
        }
        const key = `${t.topic}/${p.partition}`;
        const base = this.offsets.get(key) ?? 0;
        decoded.forEach((m, i) => this.messages.push({ ...m, offset: base + i }));
        this.offsets.set(key, base + decoded.length);
        res.push({ partition: p.partition, error: ERR_NONE, base: BigInt(base) });
      }
      results.push({ topic: t.topic, parts: res });
    }
    if (acks === 0) return null;
    return new Writer()
      .array(results, (w, t) => w.string(t.topic).array(t.parts, (w2, p) => w2.i32(p.partition).i16(p.error).i64(p.base).i64(-1n)))
      .i32(0)
      .build();
  }

  /** Record batches v2 (magic 2); an error code when the set is refused. */
  private decodeRecordSet(topic: string, partition: number, set: Buffer): Omit<StoredMessage, 'offset'>[] | number {
    const out: Omit<StoredMessage, 'offset'>[] = [];
    const r = new Reader(set);
    while (r.off < set.length) {
      const start = r.off;
      r.i64(); // baseOffset, assigned by the broker
      const batchLength = r.i32();
      if (12 + batchLength > set.length - start) throw new ProtocolError('record batch runs past the record set');
      if (12 + batchLength > (this.o.messageMaxBytes ?? MESSAGE_MAX_BYTES)) {
        this.refusedTooLarge++;
        return ERR_MESSAGE_TOO_LARGE;
      }
      const end = start + 12 + batchLength;
      r.i32(); // partitionLeaderEpoch
      const magic = r.i8();
      if (magic !== 2) throw new ProtocolError(`record batch magic ${magic}, expected 2`);
      const crc = r.u32();
      if (crc32c(set.subarray(r.off, end)) !== crc) {
        this.crcFailures++;
        return ERR_CORRUPT_MESSAGE;
      }
      const attributes = r.i16();
      if ((attributes & 0x07) !== 0) throw new ProtocolError(`compression ${attributes & 0x07} not supported by the test broker`);
      if ((attributes & 0x30) !== 0) throw new ProtocolError('transactional/control batch not expected');
      const lastOffsetDelta = r.i32();
      const firstTimestamp = Number(r.i64());
      r.i64(); // maxTimestamp
      r.i64(); // producerId
      r.i16(); // producerEpoch
      r.i32(); // baseSequence
      const count = r.i32();
      if (count < 0 || lastOffsetDelta !== count - 1) throw new ProtocolError(`record count ${count} vs lastOffsetDelta ${lastOffsetDelta}`);
      const recs = new Reader(set.subarray(r.off, end));
      for (let i = 0; i < count; i++) {
        const len = recs.varint();
        const recStart = recs.off;
        recs.i8(); // attributes (unused)
        const tsDelta = Number(recs.varlong());
        const offsetDelta = recs.varint();
        if (offsetDelta !== i) throw new ProtocolError(`record ${i} has offset delta ${offsetDelta}`);
        const klen = recs.varint();
        const key = klen < 0 ? null : recs.b.subarray(recs.off, (recs.off += klen));
        const vlen = recs.varint();
        const value = vlen < 0 ? null : recs.b.subarray(recs.off, (recs.off += vlen));
        const hcount = recs.varint();
        const headers: { key: string; value: Buffer | null }[] = [];
        for (let h = 0; h < hcount; h++) {
          const hk = recs.varint();
          const hkey = recs.b.toString('utf8', recs.off, (recs.off += hk));
          const hv = recs.varint();
          headers.push({ key: hkey, value: hv < 0 ? null : recs.b.subarray(recs.off, (recs.off += hv)) });
        }
        if (recs.off - recStart !== len || recs.off > recs.b.length) throw new ProtocolError(`record ${i} length ${len} but ${recs.off - recStart} bytes decoded`);
        out.push({ topic, partition, key: key && Buffer.from(key), value: value && Buffer.from(value), timestamp: firstTimestamp + tsDelta, headers });
      }
      recs.done('record batch');
      r.off = end;
    }
    return out;
  }
}
