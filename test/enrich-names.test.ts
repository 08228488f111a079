/** Names for numbers: the IANA protocol registry, IANA service names of ports, TCP flag names. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { portName, protoName, tcpFlagTags } from '../src/record/names.js';
import { PROTOCOL_KEYWORDS } from '../src/record/iana-protocols.js';
import { needPresent } from './helpers/tools.js';

test('protoName: IANA keywords, lower case; numbers without a keyword show as numbers', () => {
  const want: Array<[number, string]> = [[0, 'hopopt'], [1, 'icmp'], [6, 'tcp'], [17, 'udp'], [33, 'dccp'], [41, 'ipv6'], [47, 'gre'],
    [50, 'esp'], [58, 'ipv6-icmp'], [89, 'ospfigp'], [103, 'pim'], [112, 'vrrp'], [132, 'sctp'], [136, 'udplite'], [143, 'ethernet'],
    [145, 'nsh'], [61, '61'], [99, '99'], [200, '200'], [253, '253'], [255, 'reserved']];
  for (const [n, name] of want) assert.equal(protoName(n), name, String(n));
  // Every assigned number 0-145 except the keyword-less "any ..." entries has a keyword.
  for (let n = 0; n <= 145; n++) if (![61, 63, 68, 99, 114].includes(n)) assert.ok(PROTOCOL_KEYWORDS[n], `keyword for ${n}`);
});

test('portName: IANA service names by transport', () => {
  const want: Array<[number, number, string]> = [[6, 22, 'ssh'], [6, 80, 'http'], [17, 53, 'domain'], [6, 443, 'https'], [17, 443, 'https'],
    [17, 123, 'ntp'], [17, 161, 'snmp'], [6, 3306, 'mysql'], [6, 5432, 'postgresql'], [6, 8080, 'http-alt'], [17, 2055, 'iop'],
    [17, 4739, 'ipfix'], [17, 6343, 'sflow'], [132, 80, 'http'], [1, 80, ''], [6, 0, ''], [6, 49152, ''], [6, 65535, '']];
  for (const [p, port, name] of want) assert.equal(portName(p, port), name, `${p}/${port}`);
});

test('portName agrees with the system services(5) file where both name a port', (t) => {
  // /etc/services (netbase) is an independent subset of the same IANA registry.
  if (!needPresent(t, existsSync('/etc/services'), '/etc/services (netbase)')) return;
  let agree = 0, total = 0;
  for (const line of readFileSync('/etc/services', 'utf8').split('\n')) {
    const m = /^([\w.+-]+)\s+(\d+)\/(tcp|udp)(.*)$/.exec(line);
    if (m === null || Number(m[2]) >= 49152) continue;
    const ours = portName(m[3] === 'tcp' ? 6 : 17, Number(m[2]));
    if (ours === '') continue;
    total++;
    const aliases = [m[1]!, ...(m[4]!.split('#')[0]!.trim().split(/\s+/))].map((s) => s.toLowerCase());
    if (aliases.includes(ours)) agree++;
  }
  console.log(`services(5) agreement: ${agree}/${total}`);
  assert.ok(total > 200, `${total} comparable ports`);
  // netbase also lists unofficial names (kerberos4 on 750, zebra on 2601, ...), so not all agree.
  assert.ok(agree / total > 0.8, `${agree}/${total} agree`);
});

test('tcpFlagTags', () => {
  assert.deepEqual(tcpFlagTags(0x12), ['SYN', 'ACK']);
  assert.deepEqual(tcpFlagTags(0x1ff), ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR', 'NS']);
});
