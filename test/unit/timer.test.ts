import { describe, expect, it } from 'vitest';
import { systemdRunArgs, timerArgs, unitName } from '../../src/txn/timer.js';

const cmd = { id: 'ab12cd34', netns: 'lab', node: '/usr/bin/node', bin: '/opt/xenbridge/bin/xenbridge', logFile: '/run/xenbridge/netns-lab/revert.log' };

describe('the revert timer command', () => {
  it('is the hidden revert-timer command of this CLI, for the change and namespace', () => {
    expect(timerArgs(cmd)).toEqual(['/opt/xenbridge/bin/xenbridge', 'revert-timer', '--id', 'ab12cd34', '--netns', 'lab']);
    expect(timerArgs({ ...cmd, netns: undefined })).toEqual(['/opt/xenbridge/bin/xenbridge', 'revert-timer', '--id', 'ab12cd34']);
  });

  it('is told a run directory other than /run/xenbridge on its command line, not through the environment', () => {
    expect(timerArgs({ ...cmd, runDirRoot: '/tmp/xb' })).toEqual(['/opt/xenbridge/bin/xenbridge', 'revert-timer', '--id', 'ab12cd34', '--netns', 'lab', '--run-dir', '/tmp/xb']);
  });

  it('under systemd is a transient unit logging to revert.log, garbage-collected even if it fails', () => {
    expect(systemdRunArgs({ ...cmd, runDirRoot: '/tmp/xb' })).toEqual([
      '--unit=xenbridge-revert-ab12cd34.service',
      '--description=xenbridge: revert change ab12cd34 unless confirmed',
      '--collect',
      '--quiet',
      '--property=StandardOutput=append:/run/xenbridge/netns-lab/revert.log',
      '--property=StandardError=append:/run/xenbridge/netns-lab/revert.log',
      '--',
      '/usr/bin/node', '/opt/xenbridge/bin/xenbridge', 'revert-timer', '--id', 'ab12cd34', '--netns', 'lab', '--run-dir', '/tmp/xb',
    ]);
    expect(unitName('ab12cd34')).toBe('xenbridge-revert-ab12cd34.service');
  });
});
