// Run inside a namespace: `node tcp-echo.mjs server PORT` echoes lines; `node tcp-echo.mjs client HOST PORT MS`
// sends a line every 50 ms for MS milliseconds over ONE connection and prints a JSON summary with the
// times echoes came back, so a test can tell whether that connection lived through an apply.
import net from 'node:net';

const [mode, a, b, c] = process.argv.slice(2);
if (mode === 'server') {
  const srv = net.createServer((s) => s.pipe(s));
  srv.listen(Number(a), () => console.log('listening'));
} else {
  const started = Date.now();
  const echoes = [];
  let sent = 0;
  let error = null;
  let closed = false;
  const sock = net.connect(Number(b), a);
  sock.setNoDelay(true);
  sock.on('data', (d) => {
    for (const _ of d.toString().split('\n').filter(Boolean)) echoes.push(Date.now() - started);
  });
  sock.on('error', (e) => (error = e.message));
  sock.on('close', () => (closed = true));
  const t = setInterval(() => {
    if (!closed) {
      sock.write(`${sent++}\n`);
    }
  }, 50);
  setTimeout(() => {
    clearInterval(t);
    setTimeout(() => {
      console.log(JSON.stringify({ sent, received: echoes.length, last: echoes.at(-1) ?? -1, echoes, error, closed }));
      sock.destroy();
      process.exit(0);
    }, 1500);
  }, Number(c));
}
