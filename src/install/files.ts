/** What `xenbridge install` writes, as text. Pure, so the golden test sees exactly what lands on disk. */
import { XbError } from '../errors.js';
import { DEFAULT_RUN_ROOT } from '../exec/paths.js';

export const CONFIG_PATH = '/etc/xenbridge/topology.yaml';

/** The unit and the hook name the CLI unquoted: keep its path to characters neither sh nor systemd expands or splits. */
export const checkBinPath = (bin: string): string => {
  if (!/^\/[A-Za-z0-9_./+@:,=~-]+$/.test(bin)) throw new XbError('usage', `--bin must be an absolute path without spaces or quotes, got "${bin}"`);
  return bin;
};

/** The package's unit also names its man pages, which an install from npm does not have. */
export const serviceUnit = (bin: string, from: 'install' | 'package' = 'install'): string => `# ${from === 'install' ? 'Installed by "xenbridge install"' : 'Installed by the xenbridge package'}. Enable with: systemctl enable xenbridge
[Unit]
Description=xenbridge: Xen dom0 bridges, veth pairs and VLANs from ${CONFIG_PATH}
${from === 'package' ? 'Documentation=man:xenbridge(8) man:xenbridge-topology(5)\n' : ''}# Before anything configures addresses (network.target) and before guests start, whose vif hooks
# need the bridges; stopped after them at shutdown, for the same reason.
After=network-pre.target
Wants=network-pre.target
Before=network.target xendomains.service xen-watchdog.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=${bin} apply -c ${CONFIG_PATH}
ExecStop=${bin} stop

[Install]
WantedBy=multi-user.target
`;

/**
 * The vif hook service: up before guests start (xendomains), after the bridges exist; stopped
 * after them at shutdown. A hook finding it gone runs its event itself, so a restart loses nothing.
 */
export const hookdUnit = (bin: string, from: 'install' | 'package' = 'install'): string => `# ${from === 'install' ? 'Installed by "xenbridge install"' : 'Installed by the xenbridge package'}. Enable with: systemctl enable xenbridge-hookd
[Unit]
Description=xenbridge: the vif hook service (attaches guests' vifs without a Node start per event)
${from === 'package' ? 'Documentation=man:xenbridge(8)\n' : ''}After=xenbridge.service
Before=xendomains.service

[Service]
Type=simple
ExecStart=${bin} hookd -c ${CONFIG_PATH}
Restart=on-failure
RestartSec=1

[Install]
WantedBy=multi-user.target
`;

/**
 * Guards back whenever nftables.service replaces the ruleset: Debian's /etc/nftables.conf begins
 * with `flush ruleset`, and its start, reload and stop (a restart is both) take every vif guard with
 * it, silently leaving guests free to spoof. A drop-in of nftables.service itself, not a unit of our
 * own: a reload reaches another unit only while that one is active, so one failed run would have
 * switched the repair off for every later reload. Each line runs right after nftables' own ("-": its
 * failure fails nothing of nftables); from the bundle alone (no snapshot built in nftables' cgroup),
 * never waiting long for the lock (at shutdown, after xenbridge.service has stopped), and not at all
 * where xenbridge has recorded nothing: at boot nftables starts before anything else, /run is empty.
 */
export const guardsDropIn = (bin: string, from: 'install' | 'package' = 'install'): string => `# ${from === 'install' ? 'Installed by "xenbridge install"' : 'Installed by the xenbridge package'}: vif guards back after nftables loads or flushes its ruleset.
[Service]
Environment=XENBRIDGE_NO_SNAPSHOT=1 XENBRIDGE_LOCK_TIMEOUT=10
${['ExecStartPost', 'ExecReload', 'ExecStopPost'].map((k) => `${k}=-/bin/sh -c '[ ! -d ${DEFAULT_RUN_ROOT} ] || exec ${bin} repair-guards'`).join('\n')}
`;

/** The shim with XENBRIDGE_BIN fixed: xl runs hotplug scripts with a minimal PATH. */
export const vifHook = (shim: string, bin: string): string => {
  const lines = shim.split('\n');
  const at = lines.findIndex((l) => l.startsWith('exec '));
  if (at < 0) throw new XbError('bug', 'hooks/vif-xenbridge has no exec line to point at the CLI');
  return [...lines.slice(0, at), '# Set by "xenbridge install".', `XENBRIDGE_BIN=${bin}`, ...lines.slice(at)].join('\n');
};

export const SAMPLE_TOPOLOGY = `# xenbridge topology: the network of this Xen dom0. Applied at boot by xenbridge.service.
# Try a change safely: xenbridge try 120  (reverted after 120 s unless "xenbridge confirm" runs).
# Every key is described in the README ("The topology file"). As shipped it changes nothing.
version: 1
bridges: []
# bridges:
#   - name: xenbr0
#     uplink: eth0            # the NIC that becomes a port of the bridge (renamed peth0)
#     mode: classic           # classic | filtering
#     dom0:                   # dom0's own interface: a veth pair, eth0 keeps the NIC's MAC
#       addresses: [192.0.2.10/24]
#       gateway: 192.0.2.1
#     vlans:
#       - id: 10
#         addresses: [10.10.0.2/24]
`;

/** xl.conf with `key="value"`: the active setting replaced, or added at the end. */
export const withXlSetting = (xlConf: string, key: string, value: string): string => {
  const lines = xlConf === '' ? [] : xlConf.replace(/\n$/, '').split('\n');
  const active = new RegExp(`^\\s*${key.replace(/\./g, '\\.')}\\s*=`);
  const line = `${key}="${value}"`;
  const at = lines.findIndex((l) => active.test(l));
  if (at >= 0) lines[at] = line;
  else lines.push(line);
  return `${lines.join('\n')}\n`;
};

export const withDefaultScript = (xlConf: string): string => withXlSetting(xlConf, 'vif.default.script', 'vif-xenbridge');

/**
 * Both defaults: libxl writes vif.default.bridge (xenbr0 unless set) into xenstore for every vif
 * without bridge=, and the hook refuses a bridge the topology does not have.
 */
export const withXlDefaults = (xlConf: string, bridge: string): string => withXlSetting(withDefaultScript(xlConf), 'vif.default.bridge', bridge);
