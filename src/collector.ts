/**
 * Wires the stages from configuration: decoders, enricher chain, outputs, and the UDP input or a
 * pcap replay feeding them.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Config } from './config/schema.js';
import { createDecoders } from './decode/registry.js';
import { createEnrichers } from './enrich/chain.js';
import { UdpInput } from './input/udp.js';
import { readUdpDatagrams } from './input/pcap.js';
import { log } from './log/logger.js';
import { createOutputs } from './output/registry.js';
import { Pipeline } from './pipeline/pipeline.js';
import { WorkerPool } from './pipeline/worker-pool.js';
import type { Decoder, Enricher, Output, Protocol } from './pipeline/types.js';
import { WebServer } from './web/server.js';

export interface CollectorParts {
  decoders?: Map<Protocol, Decoder>;
  enrichers?: Enricher[];
  outputs?: Output[];
}

export class Collector {
  readonly dataDir: string;
  readonly decoders: Map<Protocol, Decoder>;
  readonly enrichers: Enricher[];
  readonly outputs: Output[];
  readonly pipeline: Pipeline;
  private udp: UdpInput | null = null;
  /** Decode workers (EF_FLOW_SERVER_WORKERS > 0), from listen() to stop(). */
  pool: WorkerPool | null = null;
  /** The web UI, API and /metrics server (EF_WEBUI_ENABLE), running from listen() to stop(). */
  web: WebServer | null = null;

  /** `parts` replaces stages built from config (tests inject outputs that capture records). */
  constructor(readonly config: Config, parts: CollectorParts = {}) {
    this.dataDir = resolve(config.EF_DATA_DIR);
    mkdirSync(this.dataDir, { recursive: true });
    this.decoders = parts.decoders ?? createDecoders({ config, stateDir: this.dataDir });
    this.enrichers = parts.enrichers ?? createEnrichers({ config, dataDir: this.dataDir });
    this.outputs = parts.outputs ?? createOutputs({ config, dataDir: this.dataDir });
    this.pipeline = new Pipeline(this.decoders, this.enrichers, this.outputs);
  }

  async start(): Promise<void> {
    for (const e of this.enrichers) await e.start?.();
    for (const o of this.outputs) await o.start();
    if (this.outputs.length === 0) log.warn('no output is enabled: records are decoded and counted, then discarded');
  }

  async listen(): Promise<number[]> {
    const c = this.config;
    let onDatagram = (buf: Buffer, address: string, port: number, receivedAt: number): void =>
      this.pipeline.handle(buf, { exporterIp: address, exporterPort: port, receivedAt });
    if (c.EF_FLOW_SERVER_WORKERS > 0 && this.pool === null) {
      // Workers decode and run the worker-placed enrichers; records come back to this thread for the
      // main-placed enrichers (threat lists) and the outputs.
      const mainStage = new Pipeline(new Map(), this.enrichers.filter((e) => e.placement === 'main'), this.outputs);
      this.pool = new WorkerPool(c.EF_FLOW_SERVER_WORKERS, c, this.dataDir, (records) => mainStage.emit(records), this.pipeline.stats);
      await this.pool.start();
      const pool = this.pool;
      onDatagram = (buf, address, port, receivedAt) => pool.dispatch(buf, address, port, receivedAt);
    }
    this.udp = new UdpInput(
      { ip: c.EF_FLOW_SERVER_UDP_IP, ports: c.EF_FLOW_SERVER_UDP_PORT.map(Number), readBufferBytes: c.EF_FLOW_SERVER_UDP_READ_BUFFER_MAX_SIZE, receiveThreadBytes: c.EF_FLOW_SERVER_UDP_RECEIVE_QUEUE_MAX_SIZE },
      onDatagram,
    );
    await this.udp.start();
    // The web server belongs to a running collector, not to `ufc replay` (which starts but never listens).
    if (c.EF_WEBUI_ENABLE && this.web === null) {
      this.web = new WebServer(this, { ip: c.EF_WEBUI_IP, port: c.EF_WEBUI_PORT });
      await this.web.start();
      this.web.setReady(true);
    }
    return this.udp.boundPorts();
  }

  /** Feeds every UDP payload of a capture through the pipeline, as if received from its source. */
  replay(file: Buffer): number {
    let n = 0;
    for (const dg of readUdpDatagrams(file)) {
      this.pipeline.handle(dg.payload, { exporterIp: dg.srcIp, exporterPort: dg.srcPort, receivedAt: Math.floor(dg.ts) });
      n++;
    }
    return n;
  }

  async flush(): Promise<void> {
    await this.pool?.sync();
    await Promise.all(this.outputs.map((o) => o.flush()));
  }

  async stop(): Promise<void> {
    await this.web?.stop();
    this.web = null;
    await this.udp?.stop();
    this.udp = null;
    // Workers finish what they were given (and persist their templates) before the outputs close.
    await this.pool?.close();
    this.pool = null;
    await Promise.all(this.outputs.map((o) => o.close()));
    for (const d of this.decoders.values()) await d.close?.();
    for (const e of this.enrichers) await e.stop?.();
  }
}
