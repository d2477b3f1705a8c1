// Loopback helpers shared by the browser tests.

import net from 'node:net';

/** A TCP port free on 127.0.0.1 now (the OS's choice). */
export async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}
