/**
 * EF_OUTPUT_KAFKA_BROKERS to kafkajs's seed brokers and socket factory. kafkajs 2.2.4 splits a seed
 * broker on ':' (src/cluster/connectionPoolBuilder.js: `host = broker.split(':')[0]`), so
 * `[::1]:9092` became the host "[" and every connection failed with `getaddrinfo ENOTFOUND [`. Each
 * seed broker with an IPv6 literal is handed to kafkajs under a stand-in host name without ':'
 * (`[2001:db8::1]:9092` as `2001-db8--1.ipv6-literal.invalid:9092`, after Windows's ipv6-literal.net
 * names, under the .invalid TLD of RFC 6761 section 6.4 so that it can never resolve), and the socket
 * factory connects to the literal behind it.
 *
 * Brokers named in Metadata responses need nothing: kafkajs keeps their host and port apart, and
 * Kafka sends an IPv6 host without brackets (an advertised listener PLAINTEXT://[::1]:9092 is
 * announced as host "::1"), which net.connect and tls.connect take as it is.
 */
import { connect as netConnect, isIP, isIPv6 } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { ISocketFactory } from 'kafkajs';

/** As kafkajs's own factory (src/network/socketFactory.js). */
const KEEP_ALIVE_DELAY_MS = 60_000;

export interface KafkaSeeds {
  brokers: string[];
  socketFactory: ISocketFactory;
}

export function kafkaSeeds(brokers: readonly string[]): KafkaSeeds {
  const literals = new Map<string, string>();
  const seeds = brokers.map((b) => {
    const m = /^\[([^\]]+)\]:(\d+)$/.exec(b);
    if (m === null || !isIPv6(m[1]!)) return b;
    const standIn = `${m[1]!.replaceAll(':', '-').replaceAll('%', 's')}.ipv6-literal.invalid`;
    literals.set(standIn, m[1]!);
    return `${standIn}:${m[2]!}`;
  });
  // kafkajs's default factory, with the stand-in names mapped back. TLS to an IP literal sends no
  // server name (RFC 6066 section 3 allows none that is an address) and checks the certificate
  // against the address, not against the stand-in name.
  const socketFactory: ISocketFactory = ({ host, port, ssl, onConnect }) => {
    const to = literals.get(host) ?? host;
    const socket = ssl
      ? tlsConnect({ host: to, port, ...(isIP(to) === 0 ? { servername: to } : {}), ...ssl }, onConnect)
      : netConnect({ host: to, port }, onConnect);
    socket.setKeepAlive(true, KEEP_ALIVE_DELAY_MS);
    return socket;
  };
  return { brokers: seeds, socketFactory };
}
