/**
 * Index names: `<prefix>-<schema>` plus, per EF_OUTPUT_ELASTICSEARCH_INDEX_PERIOD, the record's
 * @timestamp period in UTC: hourly `YYYY.MM.DD.HH`, daily `YYYY.MM.DD`, weekly `GGGG.wWW` (ISO 8601
 * week-numbering year and week), monthly `YYYY.MM`, none: no suffix.
 *
 * Records of one batch almost always share a period, so the last period's bounds are cached and a
 * name costs two comparisons.
 */
export type IndexPeriod = 'none' | 'hourly' | 'daily' | 'weekly' | 'monthly';
export type Schema = 'codex' | 'ecs';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const p2 = (n: number): string => (n < 10 ? '0' + n : String(n));

export class IndexNamer {
  private readonly base: string;
  private lo = 1;
  private hi = 0;
  private name = '';

  constructor(prefix: string, schema: Schema, private readonly period: IndexPeriod) {
    this.base = `${prefix}-${schema}`;
  }

  /** The index pattern the template covers. */
  get pattern(): string {
    return this.period === 'none' ? this.base : `${this.base}-*`;
  }

  nameFor(ts: number): string {
    if (this.period === 'none') return this.base;
    if (ts >= this.lo && ts < this.hi) return this.name;
    const d = new Date(ts);
    const y = d.getUTCFullYear();
    const m = d.getUTCMonth();
    const day = d.getUTCDate();
    let suffix: string;
    switch (this.period) {
      case 'hourly': {
        this.lo = Math.floor(ts / HOUR) * HOUR;
        this.hi = this.lo + HOUR;
        suffix = `${y}.${p2(m + 1)}.${p2(day)}.${p2(d.getUTCHours())}`;
        break;
      }
      case 'daily': {
        this.lo = Math.floor(ts / DAY) * DAY;
        this.hi = this.lo + DAY;
        suffix = `${y}.${p2(m + 1)}.${p2(day)}`;
        break;
      }
      case 'weekly': {
        // ISO 8601: weeks start on Monday; week 1 holds the year's first Thursday.
        const dayStart = Math.floor(ts / DAY) * DAY;
        const dow = (d.getUTCDay() + 6) % 7; // Monday 0
        this.lo = dayStart - dow * DAY;
        this.hi = this.lo + 7 * DAY;
        const thursday = new Date(this.lo + 3 * DAY);
        const isoYear = thursday.getUTCFullYear();
        const week = Math.floor((thursday.getTime() - Date.UTC(isoYear, 0, 1)) / (7 * DAY)) + 1;
        suffix = `${isoYear}.w${p2(week)}`;
        break;
      }
      default: {
        this.lo = Date.UTC(y, m, 1);
        this.hi = Date.UTC(y, m + 1, 1);
        suffix = `${y}.${p2(m + 1)}`;
      }
    }
    this.name = `${this.base}-${suffix}`;
    return this.name;
  }
}
