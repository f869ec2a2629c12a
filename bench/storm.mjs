// Boot storm: 64 `online` events at once on one bridge (guards on, the default), through the hook
// service (coalesced into few transactions) and through the direct path (a Node start and a
// transaction each), against one online alone; all in one run, ratios printed.
import './env.mjs';
import { hookBed, median } from './hookd-bed.mjs';

export const benchStorm = async (count = 64, singles = 7) => {
  const b = hookBed('storm');
  let d = 1;
  const range = () => Array.from({ length: count }, () => d++);
  try {
    const one = { direct: [], hook: [] };
    for (let i = 0; i < singles; i++) {
      b.vif(d);
      one.direct.push(b.event('direct', d++, 'online'));
    }
    const direct = range();
    direct.forEach((v) => b.vif(v));
    const directStorm = await b.storm('direct', direct, 'online');
    const out = await b.startService();
    for (let i = 0; i < singles; i++) {
      b.vif(d);
      one.hook.push(b.event('hook', d++, 'online'));
    }
    const svc = range();
    svc.forEach((v) => b.vif(v));
    const before = (out().match(/onlines in one transaction/g) ?? []).length;
    const serviceStorm = await b.storm('hook', svc, 'online');
    const joint = (out().match(/onlines in one transaction/g) ?? []).length - before;
    return { count, oneDirect: median(one.direct), oneService: median(one.hook), directStorm, serviceStorm, joint };
  } finally {
    await b.done();
  }
};

export const printStorm = (r) => {
  const f = (x) => `${x.toFixed(0)} ms`;
  const x = (a, b) => `${(a / b).toFixed(2)}x`;
  console.log(`boot storm: ${r.count} onlines at once on one bridge (guards on), native speed:`);
  console.log(`  one online: direct ${f(r.oneDirect)}, through the service ${f(r.oneService)}`);
  const failed = (s) => (s.failed > 0 ? `, ${s.failed} FAILED` : '');
  console.log(`  ${r.count} at once: through the service ${f(r.serviceStorm.ms)} (${r.joint} joint transactions${failed(r.serviceStorm)}), direct ${f(r.directStorm.ms)}${failed(r.directStorm)}`);
  console.log(`  -> service storm / one direct online ${x(r.serviceStorm.ms, r.oneDirect)} (target <= 3x), direct storm / one direct online ${x(r.directStorm.ms, r.oneDirect)}, service storm / direct storm ${x(r.serviceStorm.ms, r.directStorm.ms)}`);
};

if (import.meta.url === `file://${process.argv[1]}`) printStorm(await benchStorm());
