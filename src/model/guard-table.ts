/** Where vif guards live in nftables: read by state, written by plan. */
export const GUARD_TABLE = 'bridge xenbridge';
export const MAP_IN = 'vifs-in';
export const MAP_OUT = 'vifs-out';
