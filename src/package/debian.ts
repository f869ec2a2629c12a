/** The Debian control files of the package, as text. Pure: the package test reads what lands. */
import { XbError } from '../errors.js';

export const MAINTAINER = 'xenbridge maintainers <maintainers@xenbridge.invalid>';
export const BIN = '/usr/bin/xenbridge';
/** The CLI's startup snapshots, one per boot and node binary (src/cli/snapshot-build.ts). */
export const SNAPSHOT_DIR = '/var/cache/xenbridge/snapshot';
export const UNIT = 'lib/systemd/system/xenbridge.service';
export const HOOKD_UNIT = 'lib/systemd/system/xenbridge-hookd.service';
export const GUARDS_DROP_IN = 'lib/systemd/system/nftables.service.d/xenbridge-guards.conf';
export const HOOK = 'etc/xen/scripts/vif-xenbridge';
export const SAMPLE = 'etc/xenbridge/topology.yaml';
/** Files under /etc are the admin's once installed: dpkg keeps their edits on upgrade. */
export const CONFFILES = [HOOK, SAMPLE];

export interface ControlInfo {
  version: string;
  /** KiB, as dpkg counts it. */
  installedSize: number;
}

export const control = (c: ControlInfo): string => `Package: xenbridge
Version: ${c.version}
Architecture: all
Maintainer: ${MAINTAINER}
Installed-Size: ${c.installedSize}
Depends: nodejs (>= 20), iproute2, nftables
Recommends: tcpdump, iputils-arping, dhcpcd-base
Section: net
Priority: optional
Description: declarative network setup for a Xen dom0
 xenbridge configures the network of a Xen dom0 from one declarative file:
 bridges, the dom0 veth pair, VLAN interfaces and bridges, stable interface
 names. It applies the file to the live kernel in one transaction with exact
 rollback, attaches guests through its vif hotplug script (vif-xenbridge) and
 proves the result with real packet capture (verify --traffic).
 .
 Installing changes nothing on the network: enable xenbridge.service once
 /etc/xenbridge/topology.yaml describes the host.
`;

export const conffiles = (): string => CONFFILES.map((f) => `/${f}\n`).join('');

/**
 * Maintainer scripts change no network: the unit is neither enabled nor started on install, and
 * never stopped on removal (stopping it runs "xenbridge stop", which would take down the network of
 * a host that may only be reachable through it). DPKG_ROOT is set when dpkg installs into another
 * root: the running systemd is not that root's.
 */
const reload = `if [ -z "\${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then
    systemctl --system daemon-reload >/dev/null 2>&1 || true
fi`;

export const postinst = (): string => `#!/bin/sh
set -e
if [ "$1" = configure ]; then
${reload.replace(/^/gm, '    ')}
fi
exit 0
`;

export const postrm = (): string => `#!/bin/sh
set -e
case "$1" in
    purge)
        # The link "systemctl enable" made names this package's unit: it goes with it.
        for unit in xenbridge.service xenbridge-hookd.service; do
            link="\${DPKG_ROOT:-}/etc/systemd/system/multi-user.target.wants/$unit"
            if [ -L "$link" ]; then rm -f "$link"; fi
        done
        rm -rf "\${DPKG_ROOT:-}/var/cache/xenbridge"
        ;;
esac
case "$1" in
    remove | purge)
${reload.replace(/^/gm, '        ')}
        ;;
esac
exit 0
`;

export interface Bundled {
  name: string;
  version: string;
  license: string;
}

const MIT = `Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:
.
The above copyright notice and this permission notice shall be included in
all copies or substantial portions of the Software.
.
THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN
THE SOFTWARE.`;

const ISC = `Permission to use, copy, modify, and/or distribute this software for any
purpose with or without fee is hereby granted, provided that the above
copyright notice and this permission notice appear in all copies.
.
THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.`;

const TEXTS: Record<string, string> = { MIT, ISC };

/** Machine-readable debian/copyright: xenbridge, and the libraries bundled into its JavaScript. */
export const copyright = (license: string, year: number, bundled: Bundled[]): string => {
  const used = [...new Set([license, ...bundled.map((b) => b.license)])];
  const missing = used.filter((l) => TEXTS[l] === undefined);
  if (missing.length > 0) throw new XbError('bug', `no license text for ${missing.join(', ')} in src/package/debian.ts`);
  return [
    'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
    'Upstream-Name: xenbridge',
    '',
    'Files: *',
    `Copyright: ${year} xenbridge developers`,
    `License: ${license}`,
    '',
    'Files: usr/lib/xenbridge/dist/cli/*',
    `Copyright: ${year} xenbridge developers${bundled.map((b) => `\n           the ${b.name} authors`).join('')}`,
    `License: ${used.join(' and ')}`,
    `Comment: xenbridge bundled with ${bundled.map((b) => `${b.name} ${b.version} (${b.license})`).join(', ')}`,
    '',
    ...used.flatMap((l) => [`License: ${l}`, ...(TEXTS[l] ?? '').split('\n').map((t) => ` ${t}`), '']),
  ].join('\n');
};

/** A native package's changelog: one entry for the version built. */
export const changelog = (version: string, rfc2822Date: string): string =>
  `xenbridge (${version}) unstable; urgency=medium\n\n  * Release ${version}.\n\n -- ${MAINTAINER}  ${rfc2822Date}\n`;
