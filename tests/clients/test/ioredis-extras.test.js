'use strict';
// ioredis features beyond plain commands, each of which leans on a server
// behaviour: defineCommand (EVALSHA, NOSCRIPT, then EVAL), a subscriber
// connection (SUBSCRIBE / PSUBSCRIBE replies and message pushes), pipelines
// and MULTI with errors inside, scanStream (SCAN cursors), keyPrefix, and the
// reconnect that replays SELECT and subscriptions after CLIENT KILL.

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const { startServer } = require('../lib/server');
const expect = require('../lib/expect');

const VARIANTS = [
  { label: 'ioredis 5 (RESP2)', module: 'ioredis5', options: {} },
  { label: 'ioredis 6 (HELLO 3)', module: 'ioredis6', options: {} },
];

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Resolves with the arguments of the next `name` event that `match` accepts.
function nextEvent(emitter, name, match = () => true, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(name, listener);
      reject(new Error(`no '${name}' event within ${timeoutMs} ms`));
    }, timeoutMs);
    function listener(...args) {
      if (!match(...args)) return;
      clearTimeout(timer);
      emitter.off(name, listener);
      resolve(args);
    }
    emitter.on(name, listener);
  });
}

// Compare-and-delete, the lock release everyone writes as a script.
const RELEASE_LOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

for (const variant of VARIANTS) {
  const Redis = require(variant.module);
  const version = require(`${variant.module}/package.json`).version;

  describe(`${variant.label} ${version} extras`, { timeout: 30000 }, () => {
    let server;
    let redis;
    const clients = [];

    async function connect(extra = {}) {
      const client = new Redis({
        host: server.host,
        port: server.port,
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
        ...variant.options,
        ...extra,
      });
      client.on('error', () => {});
      clients.push(client);
      await client.connect();
      return client;
    }

    let startupError = null;
    before(async () => {
      try {
        server = await startServer();
        redis = await connect();
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
      await redis.script('FLUSH');
    });

    it('defineCommand: EVALSHA, and EVAL when the server answers NOSCRIPT', async () => {
      redis.defineCommand('releaseLock', { numberOfKeys: 1, lua: RELEASE_LOCK });
      const sha = await redis.script('LOAD', RELEASE_LOCK);
      await redis.script('FLUSH');
      assert.deepEqual(await redis.script('EXISTS', sha), [0]);

      // The first call's EVALSHA gets NOSCRIPT, so ioredis resends as EVAL,
      // which also puts the script in the cache.
      await redis.set('lock:a', 'token-1');
      assert.equal(await redis.releaseLock('lock:a', 'wrong-token'), 0);
      assert.equal(await redis.get('lock:a'), 'token-1');
      assert.deepEqual(await redis.script('EXISTS', sha), [1]);
      assert.equal(await redis.releaseLock('lock:a', 'token-1'), 1);
      assert.equal(await redis.exists('lock:a'), 0);

      // Pipelined calls after a flush: ioredis sends EVALSHA for each and
      // falls back per command.
      await redis.script('FLUSH');
      await redis.mset('lock:b', 't', 'lock:c', 't');
      const results = await redis.pipeline().releaseLock('lock:b', 't').releaseLock('lock:c', 'x').exec();
      assert.deepEqual(results, [
        [null, 1],
        [null, 0],
      ]);
    });

    it('defineCommand: key count at call time, nested replies, script errors', async () => {
      redis.defineCommand('echoKeys', {
        lua: `return {KEYS, ARGV, #KEYS, 3.7, true, false, {ok = 'fine'}, {err = 'custom failure'}}`,
      });
      const reply = await redis.echoKeys(2, 'k1', 'k2', 'a1');
      // Redis's conversions: floats truncate, true is 1, false is nil, a
      // status table is a status reply, an error table inside an array is an
      // error element.
      assert.deepEqual(reply.slice(0, 7), [['k1', 'k2'], ['a1'], 2, 3, 1, null, 'fine']);
      assert.ok(reply[7] instanceof Error);
      assert.equal(reply[7].message, 'custom failure');

      redis.defineCommand('failing', { numberOfKeys: 0, lua: `return redis.error_reply('MYERR went wrong')` });
      assert.equal(await expect.rejectionMessage(redis.failing()), 'MYERR went wrong');
      redis.defineCommand('wrongType', { numberOfKeys: 1, lua: `return redis.call('LPUSH', KEYS[1], 'x')` });
      await redis.set('plain', 'v');
      assert.match(
        await expect.rejectionMessage(redis.wrongType('plain')),
        /^WRONGTYPE Operation against a key holding the wrong kind of value/,
      );
      redis.defineCommand('caught', {
        numberOfKeys: 1,
        lua: `local r = redis.pcall('INCR', KEYS[1]); return r['err']`,
      });
      assert.equal(await redis.caught('plain'), expect.NOT_AN_INTEGER);
    });

    it('pub/sub: subscribe, psubscribe, message and pmessage, unsubscribe', async () => {
      const sub = await connect();
      assert.equal(await sub.subscribe('news', 'alerts'), 2);
      assert.equal(await sub.psubscribe('user.*'), 3);
      assert.deepEqual(await redis.pubsub('NUMSUB', 'news', 'nobody'), ['news', 1, 'nobody', 0]);
      assert.equal(await redis.pubsub('NUMPAT'), 1);

      const received = [];
      sub.on('message', (channel, message) => received.push(['message', channel, message]));
      sub.on('pmessage', (pattern, channel, message) => received.push(['pmessage', pattern, channel, message]));

      const gotAll = nextEvent(sub, 'pmessage');
      assert.equal(await redis.publish('news', 'hello'), 1);
      assert.equal(await redis.publish('alerts', 'fire'), 1);
      assert.equal(await redis.publish('user.42', 'login'), 1);
      assert.equal(await redis.publish('other', 'nobody listens'), 0);
      await gotAll;
      assert.deepEqual(received, [
        ['message', 'news', 'hello'],
        ['message', 'alerts', 'fire'],
        ['pmessage', 'user.*', 'user.42', 'login'],
      ]);

      // Binary payloads arrive intact through messageBuffer.
      const binary = nextEvent(sub, 'messageBuffer');
      await redis.publish('alerts', expect.BINARY_VALUE);
      const [channelBuffer, payload] = await binary;
      assert.equal(channelBuffer.toString(), 'alerts');
      assert.deepEqual(payload, expect.BINARY_VALUE);

      assert.equal(await sub.unsubscribe('news'), 2);
      assert.equal(await redis.publish('news', 'gone'), 0);
      assert.equal(await sub.punsubscribe('user.*'), 1);
      assert.equal(await redis.publish('user.42', 'gone'), 0);
      assert.equal(await sub.unsubscribe('alerts'), 0);
      // Out of subscribed mode, the connection takes normal commands again.
      assert.equal(await sub.ping(), 'PONG');
      sub.disconnect();
    });

    it('pipeline with errors: each reply in its slot, errors as Error objects', async () => {
      const results = await redis.pipeline().set('n', '1').incr('n').lpush('n', 'x').get('n').hget('h', 'f').exec();
      assert.deepEqual(results[0], [null, 'OK']);
      assert.deepEqual(results[1], [null, 2]);
      assert.ok(results[2][0] instanceof Error);
      assert.match(results[2][0].message, /^WRONGTYPE /);
      assert.deepEqual(results[3], [null, '2']);
      assert.deepEqual(results[4], [null, null]);
    });

    it('MULTI with a runtime error runs the rest; a queue-time error aborts with EXECABORT', async () => {
      const results = await redis.multi().set('s', 'text').incr('s').append('s', '!').get('s').exec();
      assert.deepEqual(results[0], [null, 'OK']);
      assert.ok(results[1][0] instanceof Error);
      assert.equal(results[1][0].message, expect.NOT_AN_INTEGER);
      assert.deepEqual(results.slice(2), [
        [null, 5],
        [null, 'text!'],
      ]);

      // A wrong argument count is caught when queued: EXEC discards everything.
      const aborted = redis.multi().set('t', '1').call('GET').set('u', '2').exec();
      const message = await expect.rejectionMessage(aborted);
      assert.equal(message, 'EXECABORT Transaction discarded because of previous errors.');
      assert.equal(await redis.exists('t', 'u'), 0);

      // WATCH: another client's write in between makes EXEC return null.
      const other = await connect();
      await redis.set('balance', '10');
      await redis.watch('balance');
      await other.incrby('balance', 5);
      assert.equal(await redis.multi().decrby('balance', 3).exec(), null);
      assert.equal(await redis.get('balance'), '15');
      other.disconnect();
    });

    it('scanStream, hscanStream, sscanStream and zscanStream see every element once', async () => {
      const pipeline = redis.pipeline();
      for (let i = 0; i < 700; i++) pipeline.set(i % 7 === 0 ? `other:${i}` : `user:${i}`, i);
      for (let i = 0; i < 300; i++) {
        pipeline.hset('hash', `f${i}`, i);
        pipeline.sadd('set', `m${i}`);
        pipeline.zadd('zset', i, `z${i}`);
      }
      await pipeline.exec();

      async function collect(stream) {
        const seen = [];
        for await (const batch of stream) seen.push(...batch);
        return seen;
      }
      const users = await collect(redis.scanStream({ match: 'user:*', count: 50 }));
      assert.equal(new Set(users).size, 600);
      assert.ok(users.every((key) => key.startsWith('user:')));
      const typed = await collect(redis.scanStream({ type: 'hash' }));
      assert.deepEqual(typed, ['hash']);
      const fields = await collect(redis.hscanStream('hash', { count: 40 }));
      assert.equal(fields.length, 600); // field, value pairs
      assert.equal(new Set(fields.filter((_, i) => i % 2 === 0)).size, 300);
      const members = await collect(redis.sscanStream('set', { match: 'm1*' }));
      assert.equal(new Set(members).size, 111); // m1, m10..m19, m100..m199
      const scored = await collect(redis.zscanStream('zset'));
      assert.equal(scored.length, 600);
      assert.equal(scored[scored.indexOf('z299') + 1], '299');
    });

    it('keyPrefix applies to keys in commands, pipelines, MULTI and scripts', async () => {
      const prefixed = await connect({ keyPrefix: 'app:' });
      await prefixed.set('k', 'v');
      await prefixed.mset('a', '1', 'b', '2');
      assert.deepEqual(await redis.mget('app:k', 'app:a', 'app:b', 'k'), ['v', '1', '2', null]);
      assert.deepEqual(await prefixed.mget('k', 'a'), ['v', '1']);
      await prefixed.multi().incr('a').expire('a', 100).exec();
      assert.equal(await redis.get('app:a'), '2');
      assert.ok((await redis.ttl('app:a')) > 0);
      prefixed.defineCommand('getTwice', { numberOfKeys: 1, lua: `return {KEYS[1], redis.call('GET', KEYS[1])}` });
      assert.deepEqual(await prefixed.getTwice('b'), ['app:b', '2']);
      assert.equal(await prefixed.del('k', 'a', 'b'), 3);
      assert.equal(await redis.dbsize(), 0);
    });

    it('reconnects after CLIENT KILL and replays SELECT and subscriptions', async () => {
      const retrying = { retryStrategy: () => 20, maxRetriesPerRequest: 5 };
      const client = await connect({ db: 3, ...retrying });
      await client.set('where', 'db3');
      const sub = await connect(retrying);
      const subId = await sub.client('ID'); // before subscribing: RESP2 allows no CLIENT then
      await sub.subscribe('events');
      await sub.psubscribe('ev*');

      const idBefore = await client.client('ID');
      const reconnected = nextEvent(client, 'ready');
      const subReconnected = nextEvent(sub, 'ready');
      assert.equal(await redis.client('KILL', 'ID', String(idBefore)), 1);
      assert.equal(await redis.client('KILL', 'ID', String(subId)), 1);
      await Promise.all([reconnected, subReconnected]);

      assert.notEqual(await client.client('ID'), idBefore);
      assert.equal(await client.get('where'), 'db3', 'the new connection selected db 3 again');
      assert.equal(await redis.get('where'), null);

      // The subscriber resubscribed to both its channels and its patterns.
      await expectPubsubCounts(redis, 'events', 1, 1);
      const message = nextEvent(sub, 'message');
      const pmessage = nextEvent(sub, 'pmessage');
      assert.equal(await redis.publish('events', 'after-kill'), 2);
      assert.deepEqual(await message, ['events', 'after-kill']);
      assert.deepEqual(await pmessage, ['ev*', 'events', 'after-kill']);
      client.disconnect();
      sub.disconnect();
    });

    // The resubscription is sent right after 'ready': poll briefly for it.
    async function expectPubsubCounts(client, channel, channels, patterns) {
      const deadline = Date.now() + 3000;
      for (;;) {
        const numsub = await client.pubsub('NUMSUB', channel);
        const numpat = await client.pubsub('NUMPAT');
        if (numsub[1] === channels && numpat === patterns) return;
        if (Date.now() > deadline) assert.fail(`NUMSUB ${numsub} NUMPAT ${numpat}`);
        await sleep(20);
      }
    }
  });
}
