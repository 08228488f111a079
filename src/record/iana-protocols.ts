/**
 * IANA Assigned Internet Protocol Numbers: keyword by number (lower case).
 * Source: https://www.iana.org/assignments/protocol-numbers (the common subset; the enrichment
 * issue replaces this with the full registry).
 */
export const PROTOCOL_KEYWORDS: Readonly<Record<number, string>> = {
  0: 'hopopt', 1: 'icmp', 2: 'igmp', 4: 'ipv4', 6: 'tcp', 8: 'egp', 9: 'igp', 17: 'udp', 41: 'ipv6',
  43: 'ipv6-route', 44: 'ipv6-frag', 46: 'rsvp', 47: 'gre', 50: 'esp', 51: 'ah', 58: 'ipv6-icmp',
  59: 'ipv6-nonxt', 60: 'ipv6-opts', 88: 'eigrp', 89: 'ospf', 94: 'ipip', 103: 'pim', 112: 'vrrp',
  115: 'l2tp', 132: 'sctp', 137: 'mpls-in-ip',
};
