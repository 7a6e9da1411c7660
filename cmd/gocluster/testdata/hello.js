// A Node HTTP server for gocluster run and for pm2: it serves on the socket
// passed as fd 3 (LISTEN_FDS) or on PORT, says it is ready with
// process.send('ready') (pm2's wait_ready), answers messages, and drains on
// SIGTERM or SIGINT: "Connection: close" for a second, then close.
'use strict';
const http = require('http');

const worker = process.env.GOCLUSTER_WORKER_ID || process.env.NODE_APP_INSTANCE || '?';
let draining = false;
const server = http.createServer((req, res) => {
  if (draining) res.setHeader('Connection', 'close');
  res.end(`node worker ${worker} pid ${process.pid}\n`);
});
const target = process.env.LISTEN_FDS ? { fd: 3 } : { port: Number(process.env.PORT || 8080), host: '127.0.0.1' };
server.listen(target, () => {
  if (process.send) process.send('ready');
  console.log(`node worker ${worker} serving`);
});
process.on('message', (m) => {
  console.log(`node worker ${worker} got ${JSON.stringify(m)}`);
});
function drain() {
  if (draining) return;
  draining = true;
  setTimeout(() => {
    server.close(() => process.exit(0));
    server.closeIdleConnections();
  }, 1000);
}
process.on('SIGTERM', drain);
process.on('SIGINT', drain);
