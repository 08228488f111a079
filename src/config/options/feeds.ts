/** Threat feeds beyond PassiveTotal (see docs/threat-intel.md). Filled in by the threat-feeds work. */
export const FEED_OPTIONS = {};
