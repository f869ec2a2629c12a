/** Where vif guards live in nftables: read by state, written by plan. */
export const GUARD_TABLE = 'bridge xenbridge';
export const MAP_IN = 'vifs-in';
export const MAP_OUT = 'vifs-out';

/**
 * A guarded port's group_fwd_mask: every bridge-local group but pause (which the kernel refuses).
 * Without it the bridge hands a guest's frames to those groups to the port's own stack, past every
 * bridge hook; with it they are forwarded, so the port's guard sees them first (and drops them).
 */
export const GUARDED_PORT_FWD_MASK = 0xfffd;
