'use strict';
// ioredis 5 (RESP2: SELECT, CLIENT SETNAME, INFO ready check) and ioredis 6
// (opens with HELLO 3, also run with protocol: 2) against the server under
// test, through the library's own command methods.

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const { startServer } = require('../lib/server');
const expect = require('../lib/expect');

const VARIANTS = [
  { label: 'ioredis 5 (RESP2)', module: 'ioredis5', options: {}, resp: 2 },
  { label: 'ioredis 6 (HELLO 3)', module: 'ioredis6', options: {}, resp: 3 },
  { label: 'ioredis 6 (protocol 2)', module: 'ioredis6', options: { protocol: 2 }, resp: 2 },
];

for (const variant of VARIANTS) {
  const Redis = require(variant.module);
  const version = require(`${variant.module}/package.json`).version;

  describe(`${variant.label} ${version}`, { timeout: 20000 }, () => {
    let server;
    let redis;
    const clients = [];

    // Every client fails fast instead of retrying, so a broken server gives a
    // clear error rather than a hung test.
    async function connect(extra = {}) {
      const client = new Redis({
        host: server.host,
        port: server.port,
        lazyConnect: true,
        enableReadyCheck: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
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
        redis = await connect({ connectionName: 'rivet-main' });
      } catch (err) {
        startupError = err;
      }
    });

    after(async () => {
      for (const client of clients) client.disconnect();
      if (server) await server.stop();
    });

    beforeEach(async () => {
      if (startupError) throw startupError;
      await redis.flushall();
    });

    it('connects with the ready check and the name from the options', async () => {
      assert.equal(redis.status, 'ready');
      assert.equal(await redis.client('GETNAME'), 'rivet-main');
      assert.equal(await redis.ping(), 'PONG');
      assert.equal(await redis.echo('hello'), 'hello');
    });

    it('speaks the protocol it negotiated', async () => {
      const info = await redis.client('INFO');
      assert.match(info, new RegExp(`(^| )resp=${variant.resp}( |$)`, 'm'));
    });

    it('SET, GET, DEL, EXISTS', async () => {
      assert.equal(await redis.set('greeting', 'hello'), 'OK');
      assert.equal(await redis.get('greeting'), 'hello');
      assert.equal(await redis.get('missing'), null);
      await redis.set('other', '1');
      assert.equal(await redis.exists('greeting', 'other', 'missing', 'greeting'), 3);
      assert.equal(await redis.del('greeting', 'missing'), 1);
      assert.equal(await redis.exists('greeting'), 0);
      assert.equal(await redis.get('greeting'), null);
    });

    it('SET with EX, NX, XX and GET', async () => {
      assert.equal(await redis.set('lock', 'token-1', 'EX', 10, 'NX'), 'OK');
      assert.equal(await redis.set('lock', 'token-2', 'EX', 10, 'NX'), null);
      assert.equal(await redis.get('lock'), 'token-1');
      const ttl = await redis.ttl('lock');
      assert.ok(ttl > 0 && ttl <= 10, `ttl ${ttl}`);
      assert.equal(await redis.set('absent', 'x', 'XX'), null);
      assert.equal(await redis.exists('absent'), 0);
      assert.equal(await redis.set('lock', 'token-3', 'GET'), 'token-1');
      assert.equal(await redis.ttl('lock'), -1, 'a plain SET clears the TTL');
      assert.equal(await redis.set('short', 'v', 'PX', 1500), 'OK');
      const pttl = await redis.pttl('short');
      assert.ok(pttl > 0 && pttl <= 1500, `pttl ${pttl}`);
    });

    it('INCR, INCRBY, INCRBYFLOAT, DECR, DECRBY', async () => {
      assert.equal(await redis.incr('counter'), 1);
      assert.equal(await redis.incrby('counter', 41), 42);
      assert.equal(await redis.decr('counter'), 41);
      assert.equal(await redis.decrby('counter', 50), -9);
      assert.equal(await redis.get('counter'), '-9');
      assert.equal(await redis.incrbyfloat('float', '10.5'), '10.5');
      assert.equal(await redis.incrbyfloat('float', '0.1'), '10.6');
      // Redis adds in long double and prints 17 significant digits, so this
      // sum shows the extended-precision rounding rather than "-4989.4".
      assert.equal(await redis.incrbyfloat('float', '-5e3'), '-4989.39999999999999991');
      assert.equal(await redis.incrbyfloat('float', '4989.39999999999999991'), '0');
      await redis.set('big', '9223372036854775806');
      await redis.incr('big'); // the reply is past 2^53, so read the exact value back as a string
      assert.equal(await redis.get('big'), '9223372036854775807');
      assert.equal(await expect.rejectionMessage(redis.incr('big')), 'ERR increment or decrement would overflow');
    });

    it('MSET and MGET', async () => {
      assert.equal(await redis.mset('a', '1', 'b', '2', 'c', '3'), 'OK');
      assert.deepEqual(await redis.mget('a', 'missing', 'c', 'b'), ['1', null, '3', '2']);
      assert.equal(await redis.msetnx('c', 'x', 'd', '4'), 0);
      assert.equal(await redis.get('d'), null);
    });

    it('EXPIRE, TTL, PTTL, PERSIST', async () => {
      await redis.set('session', 'data');
      assert.equal(await redis.ttl('session'), -1);
      assert.equal(await redis.ttl('missing'), -2);
      assert.equal(await redis.pttl('missing'), -2);
      assert.equal(await redis.expire('session', 100), 1);
      assert.equal(await redis.expire('missing', 100), 0);
      const ttl = await redis.ttl('session');
      assert.ok(ttl > 98 && ttl <= 100, `ttl ${ttl}`);
      const pttl = await redis.pttl('session');
      assert.ok(pttl > 98000 && pttl <= 100000, `pttl ${pttl}`);
      assert.equal(await redis.persist('session'), 1);
      assert.equal(await redis.persist('session'), 0);
      assert.equal(await redis.ttl('session'), -1);
      assert.equal(await redis.pexpire('session', 50), 1);
      await new Promise((resolve) => setTimeout(resolve, 120));
      assert.equal(await redis.get('session'), null);
      assert.equal(await redis.exists('session'), 0);
    });

    it('GETEX and GETDEL', async () => {
      await redis.set('k', 'v');
      assert.equal(await redis.getex('k', 'EX', 50), 'v');
      const ttl = await redis.ttl('k');
      assert.ok(ttl > 0 && ttl <= 50, `ttl ${ttl}`);
      assert.equal(await redis.getex('k', 'PERSIST'), 'v');
      assert.equal(await redis.ttl('k'), -1);
      assert.equal(await redis.getex('missing'), null);
      assert.equal(await redis.getdel('k'), 'v');
      assert.equal(await redis.getdel('k'), null);
      assert.equal(await redis.exists('k'), 0);
    });

    it('APPEND, STRLEN, GETRANGE, SETRANGE', async () => {
      assert.equal(await redis.append('text', 'Hello'), 5);
      assert.equal(await redis.append('text', ' World'), 11);
      assert.equal(await redis.strlen('text'), 11);
      assert.equal(await redis.strlen('missing'), 0);
      assert.equal(await redis.getrange('text', 0, 4), 'Hello');
      assert.equal(await redis.getrange('text', -5, -1), 'World');
      assert.equal(await redis.getrange('text', 20, 30), '');
      assert.equal(await redis.setrange('text', 6, 'Redis'), 11);
      assert.equal(await redis.get('text'), 'Hello Redis');
      assert.equal(await redis.setrange('padded', 3, 'x'), 4);
      assert.deepEqual(await redis.getBuffer('padded'), Buffer.from([0, 0, 0, 0x78]));
    });

    it('KEYS with patterns', async () => {
      await redis.mset('user:1', 'a', 'user:2', 'b', 'user:10', 'c', 'order:1', 'd');
      assert.deepEqual((await redis.keys('user:*')).sort(), ['user:1', 'user:10', 'user:2']);
      assert.deepEqual((await redis.keys('user:?')).sort(), ['user:1', 'user:2']);
      assert.deepEqual((await redis.keys('*')).sort(), ['order:1', 'user:1', 'user:10', 'user:2']);
      assert.deepEqual(await redis.keys('nothing*'), []);
    });

    it('scanStream returns exactly the keys of a 1000-key database', async () => {
      const expected = new Set();
      const pipeline = redis.pipeline();
      for (let i = 0; i < 1000; i++) {
        expected.add(`scan:${i}`);
        pipeline.set(`scan:${i}`, String(i));
      }
      await pipeline.exec();
      assert.equal(await redis.dbsize(), 1000);

      const seen = new Set();
      const stream = redis.scanStream({ count: 100 });
      for await (const batch of stream) {
        for (const key of batch) seen.add(key);
      }
      assert.deepEqual(seen, expected);

      const matched = new Set();
      for await (const batch of redis.scanStream({ match: 'scan:99*', count: 50 })) {
        for (const key of batch) matched.add(key);
      }
      assert.deepEqual([...matched].sort(), ['scan:99', 'scan:990', 'scan:991', 'scan:992', 'scan:993',
        'scan:994', 'scan:995', 'scan:996', 'scan:997', 'scan:998', 'scan:999']);
    });

    it('a 1000-command pipeline gets every reply in order', async () => {
      const pipeline = redis.pipeline();
      for (let i = 0; i < 250; i++) {
        pipeline.set(`p:${i}`, `value-${i}`);
        pipeline.get(`p:${i}`);
        pipeline.incr('p:counter');
        pipeline.exists(`p:${i}`, `p:missing:${i}`);
      }
      const results = await pipeline.exec();
      assert.equal(results.length, 1000);
      for (let i = 0; i < 250; i++) {
        const [set, get, incr, exists] = results.slice(i * 4, i * 4 + 4);
        assert.deepEqual(set, [null, 'OK']);
        assert.deepEqual(get, [null, `value-${i}`]);
        assert.deepEqual(incr, [null, i + 1]);
        assert.deepEqual(exists, [null, 1]);
      }
    });

    it('a pipeline reports an error reply in place and goes on', async () => {
      const results = await redis.pipeline().set('word', 'abc').incr('word').get('word').exec();
      assert.deepEqual(results[0], [null, 'OK']);
      assert.ok(results[1][0] instanceof Error);
      assert.equal(results[1][0].message, expect.NOT_AN_INTEGER);
      assert.deepEqual(results[2], [null, 'abc']);
    });

    it('auto-pipelining: 500 concurrent GETs', async () => {
      const auto = await connect({ enableAutoPipelining: true });
      await Promise.all(Array.from({ length: 500 }, (_, i) => auto.set(`auto:${i}`, `v${i}`)));
      const values = await Promise.all(Array.from({ length: 500 }, (_, i) => auto.get(`auto:${i}`)));
      assert.deepEqual(values, Array.from({ length: 500 }, (_, i) => `v${i}`));
      assert.equal(auto.autoPipelineQueueSize, 0);
      await auto.quit();
    });

    it('binary-safe keys and values', async () => {
      const key = Buffer.concat([Buffer.from('bin:'), expect.BINARY_VALUE]);
      assert.equal(await redis.set(key, expect.BINARY_VALUE), 'OK');
      assert.deepEqual(await redis.getBuffer(key), expect.BINARY_VALUE);
      assert.equal(await redis.strlen(key), expect.BINARY_VALUE.length);
      assert.equal(await redis.append(key, Buffer.from([0, 0x0d, 0x0a])), expect.BINARY_VALUE.length + 3);
      assert.deepEqual(await redis.getBuffer(key),
        Buffer.concat([expect.BINARY_VALUE, Buffer.from([0, 0x0d, 0x0a])]));
      const keys = await redis.keysBuffer('bin:*');
      assert.deepEqual(keys, [key]);
      assert.equal(await redis.set('empty', ''), 'OK');
      assert.equal(await redis.get('empty'), '');
    });

    it('error replies carry the exact text and the connection stays usable', async () => {
      await redis.set('word', 'abc');
      assert.equal(await expect.rejectionMessage(redis.incr('word')), expect.NOT_AN_INTEGER);
      assert.equal(await expect.rejectionMessage(redis.incrby('counter', 'x')), expect.NOT_AN_INTEGER);
      assert.equal(await expect.rejectionMessage(redis.incrbyfloat('word', '1')),
        'ERR value is not a valid float');
      assert.equal(await expect.rejectionMessage(redis.set('k', 'v', 'EX', 0)),
        "ERR invalid expire time in 'set' command");
      assert.equal(await expect.rejectionMessage(redis.call('GET')),
        "ERR wrong number of arguments for 'get' command");
      assert.equal(await redis.get('word'), 'abc');
    });

    it('unknown commands get Redis\'s error text', async () => {
      assert.equal(await expect.rejectionMessage(redis.call('NOSUCHCMD', 'a', 'b')),
        expect.unknownCommand('NOSUCHCMD', ['a', 'b']));
      assert.equal(await expect.rejectionMessage(redis.call('nosuchcmd')), expect.unknownCommand('nosuchcmd', []));
      assert.equal(await expect.rejectionMessage(redis.client('NOSUCHSUB', 'x')),
        "ERR unknown subcommand 'NOSUCHSUB'. Try CLIENT HELP.");
      assert.equal(await redis.ping(), 'PONG');
    });

    it('functions: FUNCTION LOAD, FCALL, FCALL_RO, FUNCTION LIST and DELETE', async () => {
      await redis.call('FUNCTION', 'FLUSH');
      const code = '#!lua name=clientlib\n' +
        "redis.register_function('getset', function(keys, args)\n" +
        "  local old = redis.call('GET', keys[1]) redis.call('SET', keys[1], args[1]) return old end)\n" +
        "redis.register_function{function_name='peek', flags={'no-writes'},\n" +
        "  callback=function(keys) return redis.call('GET', keys[1]) end}";
      assert.equal(await redis.call('FUNCTION', 'LOAD', code), 'clientlib');
      assert.equal(await redis.fcall('getset', 1, 'fk', 'one'), null);
      assert.equal(await redis.fcall('getset', 1, 'fk', 'two'), 'one');
      assert.equal(await redis.fcall_ro('peek', 1, 'fk'), 'two');
      assert.equal(await expect.rejectionMessage(redis.fcall_ro('getset', 1, 'fk', 'x')),
        'ERR Can not execute a script with write flag using *_ro command.');
      const list = await redis.call('FUNCTION', 'LIST', 'LIBRARYNAME', 'client*');
      assert.equal(list.length, 1);
      // RESP2 gives a flat name/value list, RESP3 a map.
      const library = Array.isArray(list[0]) ? list[0] : Object.entries(list[0]).flat();
      assert.equal(library[library.indexOf('library_name') + 1], 'clientlib');
      assert.equal(await redis.call('FUNCTION', 'DELETE', 'clientlib'), 'OK');
      assert.equal(await expect.rejectionMessage(redis.fcall('getset', 1, 'fk', 'x')), 'ERR Function not found');
    });

    it('CLIENT SETNAME, GETNAME and LIST', async () => {
      const other = await connect();
      assert.equal(await other.client('GETNAME'), null);
      assert.equal(await other.client('SETNAME', 'worker-7'), 'OK');
      assert.equal(await other.client('GETNAME'), 'worker-7');
      assert.equal(await expect.rejectionMessage(other.client('SETNAME', 'has space')),
        'ERR Client names cannot contain spaces, newlines or special characters.');

      const list = await redis.client('LIST');
      const line = expect.clientListLine(list, 'worker-7');
      assert.ok(line, `no name=worker-7 in CLIENT LIST:\n${list}`);
      assert.match(line, /(^| )id=\d+ /);
      assert.match(line, / addr=127\.0\.0\.1:\d+ /);
      assert.ok(expect.clientListLine(list, 'rivet-main'), 'main connection missing from CLIENT LIST');
      const id = await other.client('ID');
      assert.ok(line.startsWith(`id=${id} `), `CLIENT ID ${id} does not match ${line}`);
      await other.quit();
    });

    it('db option selects a database and isolates keys', async () => {
      const db1 = await connect({ db: 1 });
      await redis.set('shared', 'from-db0');
      assert.equal(await db1.get('shared'), null);
      await db1.set('shared', 'from-db1');
      assert.equal(await redis.get('shared'), 'from-db0');
      assert.equal(await db1.get('shared'), 'from-db1');
      assert.equal(await db1.dbsize(), 1);
      assert.match(await db1.client('INFO'), / db=1 /);
      await db1.quit();
    });

    it('INFO parses and reports Redis 7', async () => {
      const info = expect.parseInfo(await redis.info());
      expect.assertVersionAtLeast(info.redis_version, 7);
      assert.equal(info.loading, '0');
      assert.equal(info.maxmemory_policy, 'noeviction');
      assert.match(info.used_memory, /^\d+$/);
      assert.match(info.connected_clients, /^\d+$/);
      const server = expect.parseInfo(await redis.info('server'));
      assert.equal(server.redis_version, info.redis_version);
      assert.equal(server.used_memory, undefined, 'INFO server must hold only the server section');
      if (redis.serverInfo) assert.equal(redis.serverInfo.redis_version, info.redis_version);
    });

    it('CONFIG GET maxmemory-policy is noeviction', async () => {
      assert.deepEqual(await redis.config('GET', 'maxmemory-policy'), ['maxmemory-policy', 'noeviction']);
      assert.deepEqual(await redis.config('GET', 'no-such-parameter'), []);
    });

    it('QUIT closes the connection cleanly', async () => {
      const client = await connect();
      const ended = new Promise((resolve) => client.once('end', resolve));
      assert.equal(await client.quit(), 'OK');
      await ended;
      assert.equal(client.status, 'end');
    });
  });
}
