/**
 * The data source of a flow or counter sample (sFlow v5, sflow_data_source): compact samples pack
 * the type in the top 8 bits and the index in the low 24 of one word; expanded samples give each a
 * word. Read into one reused object (no allocation per sample); returns the offset after it.
 */
export const dataSource = { type: 0, index: 0 };

export function readDataSource(buf: Buffer, o: number, expanded: boolean): number {
  if (expanded) {
    dataSource.type = buf.readUInt32BE(o);
    dataSource.index = buf.readUInt32BE(o + 4);
    return o + 8;
  }
  const s = buf.readUInt32BE(o);
  dataSource.type = s >>> 24;
  dataSource.index = s & 0xffffff;
  return o + 4;
}
