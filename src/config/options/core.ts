import { isIP } from 'node:net';
import { opt } from '../spec.js';

const G = 'Server and logging';
const port = { test: (s: string) => /^\d+$/.test(s) && Number(s) >= 0 && Number(s) <= 65535, allowed: 'UDP ports 0-65535 (0: any free port)' };

export const CORE_OPTIONS = {
  EF_FLOW_SERVER_UDP_IP: opt.checked(G, '0.0.0.0', 'Address the UDP listeners bind to (IPv4 or IPv6; `::` takes both families).', 'an IPv4 or IPv6 address',
    (s) => (isIP(s) === 0 ? 'an IPv4 or IPv6 address' : null)),
  EF_FLOW_SERVER_UDP_PORT: opt.list(G, '2055,4739,6343,9995', 'UDP ports to listen on. Any protocol is accepted on any port: each datagram is sniffed.', port),
  EF_FLOW_SERVER_UDP_READ_BUFFER_MAX_SIZE: opt.int(G, 33554432, 'Socket receive buffer requested per port, in bytes. The kernel caps it at net.core.rmem_max; the granted size is logged.', { min: 65536, max: 2147483647 }),
  EF_FLOW_SERVER_UDP_RECEIVE_QUEUE_MAX_SIZE: opt.int(G, 67108864, 'Read the UDP sockets on a thread of their own and queue up to this many bytes of datagrams for the pipeline, so bursts and pauses (garbage collection, slow outputs) are absorbed here rather than dropped by the kernel. Beyond it datagrams are dropped, with a warning at most once a minute. Costs CPU (a second thread copying every datagram; see docs/operations.md, Sizing). 0 reads the sockets on the main thread.', { min: 0, max: 2147483647 }),
  EF_FLOW_SERVER_WORKERS: opt.checked(G, 'auto', 'Decode worker threads. Each decodes, enriches (its own GeoIP/ASN copy, copies of the threat lists) and encodes the NDJSON of the exporters assigned to it (every exporter to one worker, so its records stay in order), and hands the text back through shared memory. 0 does all of that on the main thread, which suits outputs that need records (DuckDB, ClickHouse, Elasticsearch, Kafka, RiskIQ: records would be packed across threads). `auto` (the default) is 1 when every output is a file output and the machine has 2 or more cores, else 0: on 2 cores, in a 40,000 packets/s burst, one worker delivered 88-100% of the records at about the CPU per record of 0, which delivered 85-92%; two sustained 500,000 records/s from 50 exporters (see docs/operations.md, Sizing).', 'auto or a whole number from 0 to 64', (s) => (/^\s*(auto|\d+)\s*$/.test(s) && (s.trim() === 'auto' || Number(s) <= 64) ? null : 'auto or a whole number from 0 to 64')),
  EF_FLOW_SERVER_WORKERS_NICE: opt.int(G, 0, 'Added to the nice value of each decode worker thread (Linux; nice values are per thread), so that when the cores are all busy the UDP receive thread and the main thread are scheduled first. On a machine that runs nothing else busy, 5 raised records per CPU-second by ~30% in 2-second bursts at 40,000 packets/s; but any other busy process then also wins over the workers, and in a sustained run beside one (the soak\'s traffic generator) they fell behind and dropped records. Hence 0 by default (docs/operations.md, Sizing).', { min: 0, max: 19 }),
  EF_LOGGER_LEVEL: opt.oneOf(G, 'info', ['debug', 'info', 'warn', 'error'] as const, 'Least severe log level written.'),
  EF_LOGGER_ENCODING: opt.oneOf(G, 'json', ['json', 'console'] as const, 'json: one zap-style JSON object per line. console: tab-separated, for people.'),
  EF_DATA_DIR: opt.str(G, 'data', 'Directory for state that survives restarts: template cache, last good threat lists, the embedded store. Created on start.', 'a directory path'),
};
