/**
 * The traffic verify's model: a path is the chain of interfaces a probe crosses between dom0 and
 * the uplink (plus the vif ports it should reach); each hop says which frames it must see, the
 * captures say which it saw, and the first gap is where packets vanish.
 */
import type { BridgeMode } from '../../model/topology.js';

/** A frame's VLAN as one hop sees it: the VID of its outer tag, or null when untagged. */
export type Tag = number | null;
/** IPv6 adds nd (dom0's neighbour solicitation and its advertisement) and mcast (an echo to all-nodes, the flood every vif must get). */
export type ProbeKind = 'arp' | 'echo' | 'df' | 'nd' | 'mcast';
export type Direction = 'request' | 'reply';
export type HopRole = 'dom0' | 'vlan-device' | 'dom0-veth' | 'bridge-port' | 'uplink' | 'vif' | 'probe';

export interface Check {
  probe: ProbeKind;
  dir: Direction;
}

export interface Hop {
  dev: string;
  role: HopRole;
  /** The bridge it is a port of, as the kernel has it now. */
  master?: string;
  /** The tag this path's frames carry on this hop. */
  tag: Tag;
  checks: Check[];
}

/** What a vif should carry, and where that belief comes from. */
export interface VifExpectation {
  vif: string;
  /** xenstore's `bridge` key, given by the caller (the lab knows), or the live attachment when nothing else is known. */
  source: 'xenstore' | 'given' | 'live';
  /** The `bridge=` value as written (BR[.TAG][:T1…]). */
  request?: string;
  /** The bridge it should be a port of. */
  bridge?: string;
  /** Networks it should carry: vid null is the untagged network; tag is how its frames look on the vif. */
  carries: { vid: number | null; tag: Tag }[];
  /** The IPv6 addresses of xenstore's `ip`: a guest that has one must answer the all-nodes echo. */
  ip6?: string[];
  /** Why the expectation is weaker than asked (xenstore unreadable, request refused). */
  note?: string;
}

export interface PathSpec {
  /** "untagged" or "vlan 10", prefixed with the bridge's name when the file has several. */
  id: string;
  bridge: string;
  mode: BridgeMode;
  /** null: the untagged network. */
  vid: number | null;
  target: string;
  /** dom0's address on this network; absent: ARP probe (sender 0.0.0.0). */
  source?: string;
  /** The interface the probes leave from. */
  origin: string;
  originMac?: string;
  primary: 'echo' | 'arp';
  /** 6: ICMPv6 probes (ping -6), neighbour discovery instead of ARP; absent: IPv4. */
  family?: 6;
  /** IPv4 total length of the don't-fragment probe, IPv6 packet length of the full-size one (the path's MTU); absent: none sent. */
  dfSize?: number;
  /** The chain from dom0 to the uplink, then the vif ports. */
  hops: Hop[];
  /** What stopped the chain from being followed in the live state. */
  problems: string[];
  /** Distinguishes this path's echo payloads from every other path's. */
  index: number;
  /** Sent from a probe port standing in for a guest: the port (in the verified namespace) and where its other end lives. */
  guest?: { port: string; ns: string };
}

export interface Seen {
  count: number;
  /** Distinct tags the matching frames had here. */
  tags: Tag[];
  /** Distinct destination MACs (a reply sent to another interface's MAC never reaches dom0's). */
  dst: string[];
  /** Distinct IP sources (IPv6 paths: which guests' answers a hop saw). */
  src?: string[];
}

export type Miss = 'missing' | 'wrong-tag' | 'no-capture';

export interface CheckResult extends Check {
  expected: Tag;
  seen: Seen;
  ok: boolean;
  why?: Miss;
}

export interface HopResult {
  hop: Hop;
  /** Why no capture ran here (the device is missing or down). */
  captureError?: string;
  checks: CheckResult[];
  /**
   * Observed, not required: the ARP exchange ping needs before its first echo (none when dom0
   * already knows the neighbour). Used to find the gap when the echo never left dom0.
   */
  aux: CheckResult[];
  ok: boolean;
}

/** A place where expected frames stop: the hop that missed them and the last one that had them. */
export interface Vanish {
  hop: string;
  probe: ProbeKind;
  dir: Direction;
  why: Miss;
  /** The last hop, in the frames' own direction, that saw them; undefined: none did. */
  after?: string;
  seenTags: Tag[];
}

export interface ProbeRun {
  probe: ProbeKind;
  argv: string[];
  exitCode: number;
  /** The tool's own words when it failed (e.g. "local error: message too long, mtu=1400"). */
  message?: string;
}

export interface Diagnosis {
  rule: string;
  hop?: string;
  message: string;
  evidence: string[];
  fix: string;
}

export interface PathResult {
  spec: PathSpec;
  ok: boolean;
  hops: HopResult[];
  /** The first place frames vanish (chain first, then vifs). */
  vanished?: Vanish;
  /** Every independent failure: the chain's first, and each vif that missed its frames. */
  failures: Vanish[];
  probes: ProbeRun[];
  diagnoses: Diagnosis[];
}

export interface SkippedPath {
  id: string;
  reason: string;
}
