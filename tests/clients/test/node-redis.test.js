'use strict';
// node-redis 4 (RESP2), 5 (RESP2, and RESP3 which opens with HELLO 3 SETNAME)
// and 6 (always HELLO 3, no fallback) against the server under test, through
// the library's own command methods.

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const { startServer } = require('../lib/server');
const expect = require('../lib/expect');

const VARIANTS = [
  { label: 'node-redis 4 (RESP2)', module: 'redis4', major: 4, resp: 2, options: {} },
  { label: 'node-redis 5 (RESP2)', module: 'redis5', major: 5, resp: 2, options: {} },
  { label: 'node-redis 5 (RESP: 3)', module: 'redis5', major: 5, resp: 3, options: { RESP: 3 } },
  { label: 'node-redis 6 (HELLO 3)', module: 'redis6', major: 6, resp: 3, options: {} },
];

for (const variant of VARIANTS) {
  const library = require(variant.module);
  const version = require(`${variant.module}/package.json`).version;
  const modern = variant.major >= 5;

  // SET's options object changed shape in v5 (the v4 shape is deprecated there).
  function setOptions({ ex, px, nx, xx, get }) {
    if (!modern) return { EX: ex, PX: px, NX: nx, XX: xx, GET: get };
    const options = {};
    if (ex !== undefined) options.expiration = { type: 'EX', value: ex };
    if (px !== undefined) options.expiration = { type: 'PX', value: px };
    if (nx) options.condition = 'NX';
    if (xx) options.condition = 'XX';
    if (get) options.GET = true;
    return options;
  }

  // GET returning a Buffer instead of a string.
  function getBuffer(client, key) {
    if (!modern) return client.get(library.commandOptions({ returnBuffers: true }), key);
    return client.withTypeMapping({ [library.RESP_TYPES.BLOB_STRING]: Buffer }).get(key);
  }

  describe(`${variant.label} ${version}`, { timeout: 20000 }, () => {
    let server;
    let redis;
    const clients = [];

    async function connect(extra = {}) {
      const client = library.createClient({
        socket: { host: server.host, port: server.port, reconnectStrategy: false },
        ...variant.options,
        ...extra,
      });
      client.on('error', () => {}); // surfaced through the rejected command instead
      clients.push(client);
      await client.connect();
      return client;
    }

    // A server or handshake failure is kept and rethrown by every test, so
    // it shows as failed tests (not cancelled ones) in the summary.
    let startupError = null;
    before(async () => {
      try {
        server = await startServer();
        redis = await connect({ name: 'rivet-main' });
      } catch (err) {
        startupError = err;
      }
    });

    after(async () => {
      for (const client of clients) {
        if (client.isOpen) {
          if (modern) client.destroy();
          else await client.disconnect();
        }
      }
      if (server) await server.stop();
    });

    beforeEach(async () => {
      if (startupError) throw startupError;
      await redis.flushAll();
    });

    it('connects and sets the name from the options', async () => {
      assert.equal(redis.isReady, true);
      assert.equal(await redis.clientGetName(), 'rivet-main');
      assert.equal(await redis.ping(), 'PONG');
      assert.equal(await redis.echo('hello'), 'hello');
    });

    it('speaks the protocol it negotiated', async () => {
      const info = await redis.sendCommand(['CLIENT', 'INFO']);
      assert.match(String(info), new RegExp(`(^| )resp=${variant.resp}( |$)`, 'm'));
    });

    if (variant.resp === 3) {
      it('HELLO 3 replies with a map describing the server', async () => {
        const hello = await redis.hello('3');
        assert.equal(hello.server, 'redis');
        assert.equal(hello.proto, 3);
        expect.assertVersionAtLeast(hello.version, 7);
        assert.equal(typeof hello.id, 'number');
        assert.equal(hello.mode, 'standalone');
        assert.equal(hello.role, 'master');
        assert.ok(Array.isArray(hello.modules));
      });
    }

    it('SET, GET, DEL, EXISTS', async () => {
      assert.equal(await redis.set('greeting', 'hello'), 'OK');
      assert.equal(await redis.get('greeting'), 'hello');
      assert.equal(await redis.get('missing'), null);
      await redis.set('other', '1');
      assert.equal(await redis.exists(['greeting', 'other', 'missing', 'greeting']), 3);
      assert.equal(await redis.del(['greeting', 'missing']), 1);
      assert.equal(await redis.exists('greeting'), 0);
      assert.equal(await redis.get('greeting'), null);
    });

    it('SET with EX, NX, XX and GET', async () => {
      assert.equal(await redis.set('lock', 'token-1', setOptions({ ex: 10, nx: true })), 'OK');
      assert.equal(await redis.set('lock', 'token-2', setOptions({ ex: 10, nx: true })), null);
      assert.equal(await redis.get('lock'), 'token-1');
      const ttl = await redis.ttl('lock');
      assert.ok(ttl > 0 && ttl <= 10, `ttl ${ttl}`);
      assert.equal(await redis.set('absent', 'x', setOptions({ xx: true })), null);
      assert.equal(await redis.exists('absent'), 0);
      assert.equal(await redis.set('lock', 'token-3', setOptions({ get: true })), 'token-1');
      assert.equal(await redis.ttl('lock'), -1, 'a plain SET clears the TTL');
      assert.equal(await redis.set('short', 'v', setOptions({ px: 1500 })), 'OK');
      const pttl = await redis.pTTL('short');
      assert.ok(pttl > 0 && pttl <= 1500, `pttl ${pttl}`);
    });

    it('INCR, INCRBY, INCRBYFLOAT, DECR, DECRBY', async () => {
      assert.equal(await redis.incr('counter'), 1);
      assert.equal(await redis.incrBy('counter', 41), 42);
      assert.equal(await redis.decr('counter'), 41);
      assert.equal(await redis.decrBy('counter', 50), -9);
      assert.equal(await redis.get('counter'), '-9');
      assert.equal(String(await redis.incrByFloat('float', 10.5)), '10.5');
      assert.equal(String(await redis.incrByFloat('float', 0.1)), '10.6');
      assert.equal(await redis.get('float'), '10.6');
    });

    it('MSET and MGET', async () => {
      assert.equal(await redis.mSet(['a', '1', 'b', '2', 'c', '3']), 'OK');
      assert.deepEqual(await redis.mGet(['a', 'missing', 'c', 'b']), ['1', null, '3', '2']);
      assert.equal(Number(await redis.mSetNX(['c', 'x', 'd', '4'])), 0);
      assert.equal(await redis.get('d'), null);
    });

    it('EXPIRE, TTL, PTTL, PERSIST', async () => {
      await redis.set('session', 'data');
      assert.equal(await redis.ttl('session'), -1);
      assert.equal(await redis.ttl('missing'), -2);
      assert.equal(await redis.pTTL('missing'), -2);
      assert.equal(Number(await redis.expire('session', 100)), 1);
      assert.equal(Number(await redis.expire('missing', 100)), 0);
      const ttl = await redis.ttl('session');
      assert.ok(ttl > 98 && ttl <= 100, `ttl ${ttl}`);
      const pttl = await redis.pTTL('session');
      assert.ok(pttl > 98000 && pttl <= 100000, `pttl ${pttl}`);
      assert.equal(Number(await redis.persist('session')), 1);
      assert.equal(Number(await redis.persist('session')), 0);
      assert.equal(await redis.ttl('session'), -1);
      assert.equal(Number(await redis.pExpire('session', 50)), 1);
      await new Promise((resolve) => setTimeout(resolve, 120));
      assert.equal(await redis.get('session'), null);
      assert.equal(await redis.exists('session'), 0);
    });

    it('GETEX and GETDEL', async () => {
      await redis.set('k', 'v');
      const ex = modern ? { type: 'EX', value: 50 } : { EX: 50 };
      assert.equal(await redis.getEx('k', ex), 'v');
      const ttl = await redis.ttl('k');
      assert.ok(ttl > 0 && ttl <= 50, `ttl ${ttl}`);
      const persist = modern ? { type: 'PERSIST' } : { PERSIST: true };
      assert.equal(await redis.getEx('k', persist), 'v');
      assert.equal(await redis.ttl('k'), -1);
      assert.equal(await redis.getDel('k'), 'v');
      assert.equal(await redis.getDel('k'), null);
      assert.equal(await redis.exists('k'), 0);
    });

    it('APPEND, STRLEN, GETRANGE, SETRANGE', async () => {
      assert.equal(await redis.append('text', 'Hello'), 5);
      assert.equal(await redis.append('text', ' World'), 11);
      assert.equal(await redis.strLen('text'), 11);
      assert.equal(await redis.strLen('missing'), 0);
      assert.equal(await redis.getRange('text', 0, 4), 'Hello');
      assert.equal(await redis.getRange('text', -5, -1), 'World');
      assert.equal(await redis.getRange('text', 20, 30), '');
      assert.equal(await redis.setRange('text', 6, 'Redis'), 11);
      assert.equal(await redis.get('text'), 'Hello Redis');
      assert.equal(await redis.setRange('padded', 3, 'x'), 4);
      assert.deepEqual(await getBuffer(redis, 'padded'), Buffer.from([0, 0, 0, 0x78]));
    });

    it('KEYS with patterns', async () => {
      await redis.mSet(['user:1', 'a', 'user:2', 'b', 'user:10', 'c', 'order:1', 'd']);
      assert.deepEqual((await redis.keys('user:*')).sort(), ['user:1', 'user:10', 'user:2']);
      assert.deepEqual((await redis.keys('user:?')).sort(), ['user:1', 'user:2']);
      assert.deepEqual((await redis.keys('nothing*')), []);
    });

    it('scanIterator returns exactly the keys of a 1000-key database', async () => {
      const expected = new Set();
      const writes = [];
      for (let i = 0; i < 1000; i++) {
        expected.add(`scan:${i}`);
        writes.push(redis.set(`scan:${i}`, String(i)));
      }
      await Promise.all(writes);
      assert.equal(await redis.dbSize(), 1000);
      const seen = new Set();
      // v4 yields one key at a time, v5 and later one batch per SCAN call.
      for await (const item of redis.scanIterator({ COUNT: 100 })) {
        for (const key of [].concat(item)) seen.add(key);
      }
      assert.deepEqual(seen, expected);
    });

    it('1000 commands pipelined via Promise.all get every reply', async () => {
      const replies = [];
      for (let i = 0; i < 250; i++) {
        replies.push(redis.set(`p:${i}`, `value-${i}`));
        replies.push(redis.get(`p:${i}`));
        replies.push(redis.incr('p:counter'));
        replies.push(redis.exists([`p:${i}`, `p:missing:${i}`]));
      }
      const results = await Promise.all(replies);
      assert.equal(results.length, 1000);
      for (let i = 0; i < 250; i++) {
        assert.deepEqual(results.slice(i * 4, i * 4 + 4), ['OK', `value-${i}`, i + 1, 1]);
      }
    });

    it('binary-safe values', async () => {
      assert.equal(await redis.set('bin', expect.BINARY_VALUE), 'OK');
      assert.deepEqual(await getBuffer(redis, 'bin'), expect.BINARY_VALUE);
      assert.equal(await redis.strLen('bin'), expect.BINARY_VALUE.length);
      const key = Buffer.concat([Buffer.from('bin:'), expect.BINARY_VALUE]);
      await redis.set(key, 'x');
      assert.equal(await redis.exists(key), 1);
      assert.equal(await redis.set('empty', ''), 'OK');
      assert.equal(await redis.get('empty'), '');
    });

    it('error replies carry the exact text and the connection stays usable', async () => {
      await redis.set('word', 'abc');
      assert.equal(await expect.rejectionMessage(redis.incr('word')), expect.NOT_AN_INTEGER);
      assert.equal(await expect.rejectionMessage(redis.sendCommand(['INCRBY', 'word', 'x'])), expect.NOT_AN_INTEGER);
      assert.equal(await expect.rejectionMessage(redis.sendCommand(['GET'])),
        "ERR wrong number of arguments for 'get' command");
      assert.equal(await redis.get('word'), 'abc');
    });

    it('unknown commands get Redis\'s error text', async () => {
      assert.equal(await expect.rejectionMessage(redis.sendCommand(['NOSUCHCMD', 'a', 'b'])),
        expect.unknownCommand('NOSUCHCMD', ['a', 'b']));
      assert.equal(await expect.rejectionMessage(redis.sendCommand(['CLIENT', 'NOSUCHSUB'])),
        "ERR unknown subcommand 'NOSUCHSUB'. Try CLIENT HELP.");
      assert.equal(await redis.ping(), 'PONG');
    });

    it('functions: FUNCTION LOAD, FCALL, FCALL_RO, FUNCTION LIST and DELETE', async () => {
      await redis.sendCommand(['FUNCTION', 'FLUSH']);
      const code = '#!lua name=clientlib\n' +
        "redis.register_function('getset', function(keys, args)\n" +
        "  local old = redis.call('GET', keys[1]) redis.call('SET', keys[1], args[1]) return old end)\n" +
        "redis.register_function{function_name='peek', flags={'no-writes'},\n" +
        "  callback=function(keys) return redis.call('GET', keys[1]) end}";
      assert.equal(await redis.functionLoad(code), 'clientlib');
      assert.equal(await redis.fCall('getset', { keys: ['fk'], arguments: ['one'] }), null);
      assert.equal(await redis.fCall('getset', { keys: ['fk'], arguments: ['two'] }), 'one');
      assert.equal(await redis.fCallRo('peek', { keys: ['fk'], arguments: [] }), 'two');
      assert.equal(await expect.rejectionMessage(redis.fCallRo('getset', { keys: ['fk'], arguments: ['x'] })),
        'ERR Can not execute a script with write flag using *_ro command.');
      const list = await redis.functionList();
      assert.equal(list.length, 1);
      assert.equal(list[0].libraryName ?? list[0].library_name, 'clientlib');
      assert.deepEqual(list[0].functions.map((f) => f.name).sort(), ['getset', 'peek']);
      assert.equal(await redis.functionDelete('clientlib'), 'OK');
      assert.equal(await expect.rejectionMessage(redis.fCall('getset', { keys: ['fk'], arguments: ['x'] })),
        'ERR Function not found');
    });

    it('CLIENT SETNAME, GETNAME and LIST', async () => {
      const other = await connect();
      assert.equal(await other.clientGetName(), null);
      assert.equal(await other.clientSetName('worker-7'), 'OK');
      assert.equal(await other.clientGetName(), 'worker-7');

      const raw = String(await redis.sendCommand(['CLIENT', 'LIST']));
      const line = expect.clientListLine(raw, 'worker-7');
      assert.ok(line, `no name=worker-7 in CLIENT LIST:\n${raw}`);
      assert.ok(expect.clientListLine(raw, 'rivet-main'), 'main connection missing from CLIENT LIST');

      // The library parses every field of every line: this fails on a malformed list.
      const parsed = await redis.clientList();
      const entry = parsed.find((client) => client.name === 'worker-7');
      assert.ok(entry, 'clientList() has no worker-7 entry');
      assert.equal(Number(entry.id), Number(await other.clientId()));
      assert.match(entry.addr, /^127\.0\.0\.1:\d+$/);
      assert.equal(Number(entry.db), 0);
    });

    it('database option selects a database and isolates keys', async () => {
      const db1 = await connect({ database: 1 });
      await redis.set('shared', 'from-db0');
      assert.equal(await db1.get('shared'), null);
      await db1.set('shared', 'from-db1');
      assert.equal(await redis.get('shared'), 'from-db0');
      assert.equal(await db1.get('shared'), 'from-db1');
      assert.equal(await db1.dbSize(), 1);
    });

    it('INFO parses and reports Redis 7', async () => {
      const info = expect.parseInfo(await redis.info());
      expect.assertVersionAtLeast(info.redis_version, 7);
      assert.equal(info.maxmemory_policy, 'noeviction');
      assert.match(info.used_memory, /^\d+$/);
      const memory = expect.parseInfo(await redis.info('memory'));
      assert.match(memory.used_memory, /^\d+$/);
      assert.equal(memory.redis_version, undefined, 'INFO memory must hold only the memory section');
    });

    it('CONFIG GET maxmemory-policy is noeviction', async () => {
      assert.deepEqual({ ...(await redis.configGet('maxmemory-policy')) }, { 'maxmemory-policy': 'noeviction' });
    });

    it('QUIT closes the connection cleanly', async () => {
      const client = await connect();
      const ended = new Promise((resolve) => client.once('end', resolve));
      assert.equal(await client.quit(), 'OK');
      await ended;
      assert.equal(client.isOpen, false);
      if (modern) {
        const closing = await connect();
        await closing.close();
        assert.equal(closing.isOpen, false);
      }
    });
  });
}
