/** One line per action, to stderr (libxl captures it) and to Xen's hotplug log as its own scripts do. */
import { appendFileSync } from 'node:fs';

export const hotplugLog = (line: string): void => {
  const text = `vif-xenbridge: ${line}\n`;
  process.stderr.write(text);
  try {
    // Created 0640 whatever the umask: guests' names and errors are not for every local user.
    appendFileSync(process.env.XENBRIDGE_HOTPLUG_LOG ?? '/var/log/xen/xen-hotplug.log', `[${new Date().toISOString()}] ${text}`, { mode: 0o640 });
  } catch {
    // No Xen log directory (not a Xen host, or a test): stderr already has the line.
  }
};
