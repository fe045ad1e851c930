'use strict';
// The authenticated handshakes against a server started with --requirepass:
// ioredis sends AUTH [user] pass before anything else (ioredis 6 inside HELLO
// 3 AUTH), node-redis 4/5 send AUTH then CLIENT SETNAME, and node-redis with
// RESP3 puts both in HELLO 3 AUTH user pass SETNAME name. A wrong password
// must fail the connection with Redis's WRONGPASS text.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer } = require('../lib/server');

const PASSWORD = 'correct horse';
const WRONGPASS = 'WRONGPASS invalid username-password pair or user is disabled.';

describe('password-protected server', { timeout: 30000 }, () => {
  let server;
  let startupError = null;
  before(async () => {
    try {
      server = await startServer(['--requirepass', PASSWORD]);
    } catch (err) {
      startupError = err;
    }
  });
  after(async () => {
    if (server) await server.stop();
  });

  for (const module of ['ioredis5', 'ioredis6']) {
    const Redis = require(module);
    const version = require(`${module}/package.json`).version;

    async function tryConnect(options) {
      if (startupError) throw startupError;
      const client = new Redis({
        host: server.host,
        port: server.port,
        lazyConnect: true,
        retryStrategy: () => null,
        maxRetriesPerRequest: 0,
        ...options,
      });
      const errors = [];
      client.on('error', (err) => errors.push(err.message));
      try {
        await client.connect();
        await client.set('who', module);
        return { name: await client.client('GETNAME'), value: await client.get('who') };
      } catch (err) {
        return { failed: err.message, errors };
      } finally {
        client.disconnect();
      }
    }

    it(`${module} ${version}: password, username + password, wrong password, none`, async () => {
      assert.deepEqual(await tryConnect({ password: PASSWORD, connectionName: 'a' }), { name: 'a', value: module });
      assert.deepEqual(await tryConnect({ username: 'default', password: PASSWORD }), { name: null, value: module });
      const wrong = await tryConnect({ password: 'nope' });
      assert.ok(wrong.errors.some((message) => message.includes(WRONGPASS)), JSON.stringify(wrong));
      const none = await tryConnect({});
      assert.ok(none.failed, 'no password: the ready check (INFO) is refused');
      assert.ok(none.errors.some((message) => message.startsWith('NOAUTH')), JSON.stringify(none));
    });
  }

  const NODE_REDIS = [
    { module: 'redis4', resp3: false },
    { module: 'redis5', resp3: true },
    { module: 'redis6', resp3: true },
  ];
  for (const { module, resp3 } of NODE_REDIS) {
    const library = require(module);
    const version = require(`${module}/package.json`).version;

    async function tryConnect(options) {
      if (startupError) throw startupError;
      const client = library.createClient({
        socket: { host: server.host, port: server.port, reconnectStrategy: false },
        ...options,
      });
      client.on('error', () => {});
      try {
        await client.connect();
        await client.set('who', module);
        return { name: await client.sendCommand(['CLIENT', 'GETNAME']), value: await client.get('who') };
      } catch (err) {
        return { failed: err.message };
      } finally {
        try {
          await client.disconnect();
        } catch {
          // never connected
        }
      }
    }

    it(`${module} ${version}: password with name, username + password, wrong password`, async () => {
      assert.deepEqual(await tryConnect({ password: PASSWORD, name: 'n1' }), { name: 'n1', value: module });
      assert.deepEqual(await tryConnect({ username: 'default', password: PASSWORD }), { name: null, value: module });
      assert.deepEqual(await tryConnect({ password: 'nope' }), { failed: WRONGPASS });
      if (resp3) {
        assert.deepEqual(await tryConnect({ RESP: 3, password: PASSWORD, name: 'n3' }), { name: 'n3', value: module });
        assert.deepEqual(await tryConnect({ RESP: 3, password: 'nope', name: 'n3' }), { failed: WRONGPASS });
      }
    });
  }
});
