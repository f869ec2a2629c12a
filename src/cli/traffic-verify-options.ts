/** verify's --traffic options, apart from the run so that defining the command loads none of it. */
import type { Command } from 'commander';

export const trafficOptions = (c: Command): Command => c
  .option('--traffic', 'prove it with real traffic: capture on every hop, probe every path, say where frames vanish and why')
  .option('--vlan <id...>', 'with --traffic: only these VLANs ("untagged" for the untagged network)')
  .option('--vif <name...>', 'with --traffic: also check these vif ports against their xenstore bridge')
  .option('--pcap-dir <dir>', 'with --traffic: keep the captures here (one pcap per interface)')
  .option('--listen <seconds>', 'with --traffic: send nothing; tally frames per VLAN per hop for this long')
  .option('--discover', 'with --traffic: no file; read the bridges, uplinks, dom0 and VLANs off the live state (the default when there is no topology file)')
  .option('--no-probe-ports', 'with --traffic: probe from dom0 only, with no probe ports standing in for guests');
