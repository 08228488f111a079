/**
 * Enterprise-specific information elements (IPFIX enterprise bit set, RFC 7011 §3.2) and the
 * non-IANA NetFlow v9 field types that the captures we hold carry. Names follow each vendor's own
 * documentation; an element not listed here is still kept, under `ie.<pen>.<id>`.
 */
import { IeType } from './ie-types.js';
import type { IeDef } from './ie-registry.js';

/** Private Enterprise Numbers (IANA "Private Enterprise Numbers" registry). */
export const PEN = {
  CISCO: 9,
  JUNIPER: 2636,
  NETSCALER: 5951,
  YAF_CERT: 6871,
  VMWARE: 6876,
  BARRACUDA: 10704,
  FORTINET: 12356,
  PROCERA: 15397,
  PALOALTO: 25461,
  /** RFC 5103 §6.1: reverse information elements. */
  REVERSE: 29305,
  NTOP: 35632,
  IXIA: 3054,
  NOKIA: 637,
  VIPTELA: 41916,
} as const;

const VENDOR_PREFIX: Record<number, string> = {
  [PEN.CISCO]: 'cisco', [PEN.JUNIPER]: 'juniper', [PEN.NETSCALER]: 'netscaler', [PEN.YAF_CERT]: 'yaf',
  [PEN.VMWARE]: 'vmware', [PEN.BARRACUDA]: 'barracuda', [PEN.FORTINET]: 'fortinet', [PEN.PROCERA]: 'procera',
  [PEN.PALOALTO]: 'paloalto', [PEN.NTOP]: 'ntop', [PEN.IXIA]: 'ixia', [PEN.NOKIA]: 'nokia', [PEN.VIPTELA]: 'viptela',
};

export function vendorPrefix(pen: number): string | undefined {
  return VENDOR_PREFIX[pen];
}

const T = IeType;
/** `pen id name type`; pen 0 = NetFlow v9 vendor field types (no enterprise number on the wire). */
const VENDOR_TABLE: [number, number, string, IeType][] = [
  // Cisco ASA NSEL over NetFlow v9 (Cisco "ASA NetFlow Implementation Guide", field type table).
  [0, 33000, 'cisco.asa.ingressAclId', T.OCT],
  [0, 33001, 'cisco.asa.egressAclId', T.OCT],
  [0, 33002, 'cisco.asa.fwExtEvent', T.U16],
  [0, 40000, 'cisco.asa.username', T.STR],
  [0, 40001, 'cisco.asa.xlateSrcAddrIPv4', T.IP4],
  [0, 40002, 'cisco.asa.xlateDstAddrIPv4', T.IP4],
  [0, 40003, 'cisco.asa.xlateSrcPort', T.U16],
  [0, 40004, 'cisco.asa.xlateDstPort', T.U16],
  [0, 40005, 'cisco.asa.fwEvent', T.U8],
  // Palo Alto PAN-OS NetFlow v9 ("NetFlow Templates", PAN-OS administrator's guide).
  [0, 56701, 'paloalto.appId', T.STR],
  [0, 56702, 'paloalto.userId', T.STR],
  // nProbe NetFlow v9 field types (nProbe user guide: NTOP_BASE_ID 57472 + element).
  [0, 57590, 'ntop.l7Proto', T.U16],
  // Citrix NetScaler AppFlow (enterprise 5951): the ids the fixtures confirm (names as Logstash's).
  [PEN.NETSCALER, 128, 'netscaler.roundTripTime', T.U32],
  [PEN.NETSCALER, 129, 'netscaler.transactionId', T.U32],
  [PEN.NETSCALER, 130, 'netscaler.httpReqUrl', T.STR],
  [PEN.NETSCALER, 131, 'netscaler.httpReqCookie', T.STR],
  [PEN.NETSCALER, 132, 'netscaler.flowFlags', T.U64],
  [PEN.NETSCALER, 133, 'netscaler.connectionId', T.U32],
  [PEN.NETSCALER, 140, 'netscaler.httpReqReferer', T.STR],
  [PEN.NETSCALER, 141, 'netscaler.httpReqMethod', T.STR],
  [PEN.NETSCALER, 142, 'netscaler.httpReqHost', T.STR],
  [PEN.NETSCALER, 143, 'netscaler.httpReqUserAgent', T.STR],
  [PEN.NETSCALER, 151, 'netscaler.appNameAppId', T.U32],
  [PEN.NETSCALER, 186, 'netscaler.httpReqVia', T.STR],
  [PEN.NETSCALER, 190, 'netscaler.httpReqXForwardedFor', T.STR],
  [PEN.NETSCALER, 192, 'netscaler.connectionChainID', T.OCT],
  [PEN.NETSCALER, 193, 'netscaler.connectionChainHopCount', T.U8],
  [PEN.NETSCALER, 267, 'netscaler.httpDomainName', T.STR],
  // Cisco AVC / Performance Monitor connection records (enterprise 9): the connection's client and
  // server ends, as tshark names them; the record's source and destination (compile.ts VENDOR_OPS).
  [PEN.CISCO, 12236, 'cisco.connectionClientIPv4Address', T.IP4],
  [PEN.CISCO, 12237, 'cisco.connectionServerIPv4Address', T.IP4],
  [PEN.CISCO, 12240, 'cisco.connectionClientTransportPort', T.U16],
  [PEN.CISCO, 12241, 'cisco.connectionServerTransportPort', T.U16],
  // VMware vSphere Distributed Switch IPFIX (enterprise 6876).
  [PEN.VMWARE, 880, 'vmware.tenantProtocol', T.U8],
  [PEN.VMWARE, 881, 'vmware.tenantSourceIPv4', T.IP4],
  [PEN.VMWARE, 882, 'vmware.tenantDestIPv4', T.IP4],
  [PEN.VMWARE, 883, 'vmware.tenantSourceIPv6', T.IP6],
  [PEN.VMWARE, 884, 'vmware.tenantDestIPv6', T.IP6],
  [PEN.VMWARE, 886, 'vmware.tenantSourcePort', T.U16],
  [PEN.VMWARE, 887, 'vmware.tenantDestPort', T.U16],
  [PEN.VMWARE, 888, 'vmware.egressInterfaceAttr', T.U16],
  [PEN.VMWARE, 889, 'vmware.vxlanExportRole', T.U8],
  [PEN.VMWARE, 890, 'vmware.ingressInterfaceAttr', T.U16],
  [PEN.VMWARE, 950, 'vmware.virtualObsID', T.STR],
  // Juniper (enterprise 2636): Common Properties ID, used to tag dropped/sampled records.
  [PEN.JUNIPER, 137, 'juniper.commonPropertiesId', T.U64],
  // ntop nProbe IPFIX (enterprise 35632), same numbering as the v9 ids minus NTOP_BASE_ID.
  [PEN.NTOP, 118, 'ntop.l7Proto', T.U16],
  // Palo Alto IPFIX (enterprise 25461).
  [PEN.PALOALTO, 56, 'paloalto.appId', T.STR],
  [PEN.PALOALTO, 57, 'paloalto.userId', T.STR],
  // Barracuda NG firewall extended uniflow (enterprise 10704).
  [PEN.BARRACUDA, 1, 'barracuda.Timestamp', T.SEC],
  [PEN.BARRACUDA, 2, 'barracuda.LogOp', T.U8],
  [PEN.BARRACUDA, 3, 'barracuda.TrafficType', T.U8],
  [PEN.BARRACUDA, 4, 'barracuda.FW_Rule', T.STR],
  [PEN.BARRACUDA, 5, 'barracuda.ServiceName', T.STR],
  [PEN.BARRACUDA, 6, 'barracuda.Reason', T.U16],
  [PEN.BARRACUDA, 7, 'barracuda.ReasonText', T.STR],
  [PEN.BARRACUDA, 8, 'barracuda.BindIPv4Address', T.IP4],
  [PEN.BARRACUDA, 9, 'barracuda.BindTransportPort', T.U16],
  [PEN.BARRACUDA, 10, 'barracuda.ConnIPv4Address', T.IP4],
  [PEN.BARRACUDA, 11, 'barracuda.ConnTransportPort', T.U16],
  [PEN.BARRACUDA, 12, 'barracuda.AuditCounter', T.U32],
  // Nokia (Alcatel-Lucent, enterprise 637) BRAS NAT logging.
  [PEN.NOKIA, 91, 'nokia.natInsideSvcid', T.U16],
  [PEN.NOKIA, 92, 'nokia.natOutsideSvcid', T.U16],
  [PEN.NOKIA, 93, 'nokia.natSubString', T.STR],
  // Cisco Viptela SD-WAN (enterprise 41916).
  [PEN.VIPTELA, 4321, 'viptela.VPNId', T.U32],
  // Ixia IxFlow (enterprise 3054).
  [PEN.IXIA, 110, 'ixia.l7AppId', T.U32],
  [PEN.IXIA, 111, 'ixia.l7AppName', T.STR],
  [PEN.IXIA, 186, 'ixia.srcAsName', T.STR],
  [PEN.IXIA, 187, 'ixia.dstAsName', T.STR],
  // Procera PacketLogic (enterprise 15397).
  [PEN.PROCERA, 3, 'procera.incomingOctets', T.U64],
  [PEN.PROCERA, 4, 'procera.outgoingOctets', T.U64],
  [PEN.PROCERA, 15, 'procera.flowBehavior', T.STR],
  [PEN.PROCERA, 47, 'procera.templateName', T.STR],
  // CERT NetSA YAF (enterprise 6871); bit 14 of the id marks the reverse element (YAF docs).
  [PEN.YAF_CERT, 14, 'yaf.initialTCPFlags', T.U8],
  [PEN.YAF_CERT, 15, 'yaf.unionTCPFlags', T.U8],
  [PEN.YAF_CERT, 21, 'yaf.reverseFlowDeltaMilliseconds', T.U32],
  [PEN.YAF_CERT, 33, 'yaf.silkAppLabel', T.U16],
  [PEN.YAF_CERT, 40, 'yaf.flowAttributes', T.U16],
  [PEN.YAF_CERT, 100, 'yaf.expiredFragmentCount', T.U32],
  [PEN.YAF_CERT, 101, 'yaf.assembledFragmentCount', T.U32],
  [PEN.YAF_CERT, 102, 'yaf.meanFlowRate', T.U32],
  [PEN.YAF_CERT, 103, 'yaf.meanPacketRate', T.U32],
  [PEN.YAF_CERT, 104, 'yaf.flowTableFlushEventCount', T.U32],
  [PEN.YAF_CERT, 105, 'yaf.flowTablePeakCount', T.U32],
  [PEN.YAF_CERT, 16398, 'yaf.reverseInitialTCPFlags', T.U8],
  [PEN.YAF_CERT, 16399, 'yaf.reverseUnionTCPFlags', T.U8],
  [PEN.YAF_CERT, 16424, 'yaf.reverseFlowAttributes', T.U16],
  // Streamcore NetFlow v9 field types (names as Logstash's netflow.yaml; ids confirmed by the fixture).
  [0, 8193, 'streamcore.netAppRespTime', T.U32],
  [0, 8194, 'streamcore.totalAppRespTime', T.U32],
  [0, 8196, 'streamcore.callDirection', T.U8],
  [0, 8256, 'streamcore.hostname', T.STR],
  [0, 8257, 'streamcore.url', T.STR],
  ...Array.from({ length: 10 }, (_, n): [number, number, string, IeType] => [0, 8384 + n, `streamcore.idRule${n + 1}`, T.U32]),
  // nProbe v9: L7 protocol name (often a fixed-size binary field in practice).
  [0, 57591, 'ntop.l7ProtoName', T.OCT],
];

/** Key for vendor lookups: enterprise number and element id in one safe integer. */
export function ieKey(pen: number, id: number): number {
  return pen * 65536 + id;
}

export const VENDOR_IES: ReadonlyMap<number, IeDef> = (() => {
  const m = new Map<number, IeDef>();
  for (const [pen, id, name, type] of VENDOR_TABLE) m.set(ieKey(pen, id), { id, name, type });
  return m;
})();
