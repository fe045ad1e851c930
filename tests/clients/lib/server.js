'use strict';
// Starts a Redis-compatible server binary on a free loopback port for one test
// file and stops it afterwards. The binary comes from RIVET_SERVER_BINARY (set
// by run.sh), so the same tests run against rivet-server or real redis-server.

const { spawn } = require('node:child_process');
const net = require('node:net');
const fs = require('node:fs');

const STARTUP_TIMEOUT_MS = 10000;
const HOST = '127.0.0.1';

function serverBinary() {
  const binary = process.env.RIVET_SERVER_BINARY;
  if (!binary) {
    throw new Error('RIVET_SERVER_BINARY is not set (use tests/clients/run.sh SERVER_BINARY)');
  }
  return binary;
}

// Asks the kernel for an unused port by binding port 0. Another process could
// take it before the server binds, so start() retries with a new port.
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, HOST, () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

// One PING over a raw socket: true when the server answers, with +PONG or,
// when started with --requirepass, with -NOAUTH.
function pingOnce(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: HOST });
    let answer = '';
    const finish = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => finish(false));
    socket.on('error', () => finish(false));
    socket.on('connect', () => socket.write('*1\r\n$4\r\nPING\r\n'));
    socket.on('data', (chunk) => {
      answer += chunk.toString('latin1');
      if (answer.includes('\r\n')) finish(answer.startsWith('+PONG') || answer.startsWith('-NOAUTH'));
    });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

class TestServer {
  constructor(child, port, log) {
    this.child = child;
    this.port = port;
    this.host = HOST;
    this.log = log;
    this.exited = false;
    child.on('exit', () => {
      this.exited = true;
    });
  }

  output() {
    return this.log.join('');
  }

  async stop() {
    if (this.exited) return;
    const gone = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await gone;
    clearTimeout(timer);
  }
}

async function launch(binary, port, extraArgs) {
  const args = ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no', ...extraArgs];
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = [];
  child.stdout.on('data', (chunk) => log.push(chunk.toString()));
  child.stderr.on('data', (chunk) => log.push(chunk.toString()));
  const server = new TestServer(child, port, log);
  let spawnError = null;
  child.on('error', (err) => {
    spawnError = err;
  });

  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (spawnError) throw spawnError;
    if (server.exited) return { server: null, log: server.output() };
    if (await pingOnce(port)) return { server, log: '' };
    await sleep(50);
  }
  await server.stop();
  throw new Error(`${binary} did not answer PING on port ${port} within ${STARTUP_TIMEOUT_MS} ms:\n${server.output()}`);
}

// Starts the server and resolves once it answers PING. extraArgs are appended
// to the command line as further "--name value" options.
async function startServer(extraArgs = []) {
  const binary = serverBinary();
  // A bare name such as "redis-server" is looked up on PATH by spawn.
  if (binary.includes('/') && !fs.existsSync(binary)) {
    throw new Error(`server binary not found: ${binary}`);
  }
  let lastLog = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const { server, log } = await launch(binary, port, extraArgs);
    if (server) return server;
    lastLog = log; // most likely the port was taken in between: try another
  }
  throw new Error(`${binary} exited during startup three times:\n${lastLog}`);
}

module.exports = { startServer, HOST };
