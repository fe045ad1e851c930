'use strict';
// node-redis features beyond plain commands: scanIterator (SCAN cursors),
// a blocking BLPOP on a duplicate connection, MULTI with errors and WATCH,
// pub/sub on a dedicated connection and, over RESP3, on the same connection
// as ordinary commands, and v5+ client-side caching (CLIENT TRACKING with
// invalidation pushes).

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

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function eventually(check, what, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await check();
    if (last) return last;
    await sleep(10);
  }
  assert.fail(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
}

for (const variant of VARIANTS) {
  const library = require(variant.module);
  const version = require(`${variant.module}/package.json`).version;
  const modern = variant.major >= 5;

  describe(`${variant.label} ${version} extras`, { timeout: 30000 }, () => {
    let server;
    let redis;
    const clients = [];

    async function connect(extra = {}) {
      const client = library.createClient({
        socket: { host: server.host, port: server.port, reconnectStrategy: false },
        ...variant.options,
        ...extra,
      });
      client.on('error', () => {});
      clients.push(client);
      await client.connect();
      return client;
    }

    async function duplicateOf(client) {
      const copy = client.duplicate();
      copy.on('error', () => {});
      clients.push(copy);
      await copy.connect();
      return copy;
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
      for (const client of clients) {
        try {
          if (modern) client.destroy();
          else await client.disconnect();
        } catch {
          // already closed by the test
        }
      }
      if (server) await server.stop();
    });

    beforeEach(async () => {
      if (startupError) throw startupError;
      await redis.flushAll();
    });

    it('scanIterator and sScanIterator visit every match once', async () => {
      const multi = redis.multi();
      for (let i = 0; i < 500; i++) multi.set(i % 5 === 0 ? `other:${i}` : `item:${i}`, String(i));
      for (let i = 0; i < 200; i++) multi.sAdd('members', `m${i}`);
      await multi.exec();

      // v4 yields one key at a time, v5+ one SCAN batch (an array) at a time.
      async function collect(iterator) {
        const seen = [];
        for await (const step of iterator) {
          if (Array.isArray(step)) seen.push(...step);
          else seen.push(step);
        }
        return seen;
      }
      const items = await collect(redis.scanIterator({ MATCH: 'item:*', COUNT: 37 }));
      assert.equal(items.length, 400);
      assert.equal(new Set(items).size, 400);
      assert.ok(items.every((key) => key.startsWith('item:')));
      const hashes = await collect(redis.scanIterator({ TYPE: 'set' }));
      assert.deepEqual(hashes, ['members']);
      const members = await collect(redis.sScanIterator('members', { MATCH: 'm1?', COUNT: 20 }));
      assert.deepEqual(members.sort(), ['m10', 'm11', 'm12', 'm13', 'm14', 'm15', 'm16', 'm17', 'm18', 'm19']);
    });

    it('BLPOP on a duplicate connection is woken by a push from another', async () => {
      const blocker = await duplicateOf(redis);
      const popped = blocker.blPop('jobs', 0);
      await eventually(async () => /blocked_clients:1\r\n/.test(await redis.info('clients')), 'one blocked client');
      assert.equal(await redis.lPush('jobs', 'job-1'), 1);
      assert.deepEqual(await popped, { key: 'jobs', element: 'job-1' });
      assert.equal(await redis.exists('jobs'), 0);

      // A fractional timeout expires with a nil reply.
      const started = Date.now();
      assert.equal(await blocker.blPop('jobs', 0.2), null);
      assert.ok(Date.now() - started >= 190, 'BLPOP waited for its timeout');

      // BLMOVE hands the element over atomically.
      const moved = blocker.blMove('source', 'dest', 'LEFT', 'RIGHT', 5);
      await eventually(async () => /blocked_clients:1\r\n/.test(await redis.info('clients')), 'BLMOVE blocking');
      await redis.rPush('source', ['a', 'b']);
      assert.equal(await moved, 'a');
      assert.deepEqual(await redis.lRange('dest', 0, -1), ['a']);
      assert.deepEqual(await redis.lRange('source', 0, -1), ['b']);
    });

    it('MULTI: replies in order, a failing command leaves the others applied', async () => {
      // node-redis rejects the whole EXEC, carrying every reply and the
      // positions of the failed ones.
      let failure;
      try {
        await redis.multi().set('k', 'text').incr('k').append('k', '!').get('k').exec();
      } catch (err) {
        failure = err;
      }
      assert.ok(failure, 'EXEC with a failed command rejects');
      assert.deepEqual(failure.errorIndexes, [1]);
      const replies = failure.replies;
      assert.equal(replies[0], 'OK');
      assert.equal(replies[1].message, expect.NOT_AN_INTEGER);
      assert.deepEqual(replies.slice(2), [5, 'text!']);
    });

    it('WATCH: EXEC fails when another client changed the key, succeeds otherwise', async () => {
      const worker = await duplicateOf(redis);
      const other = await duplicateOf(redis);
      await redis.set('stock', '10');

      await worker.watch('stock');
      const before = Number(await worker.get('stock'));
      await other.decrBy('stock', 4);
      await assert.rejects(worker.multi().set('stock', String(before - 1)).exec(), library.WatchError);
      assert.equal(await redis.get('stock'), '6');

      await worker.watch('stock');
      const current = Number(await worker.get('stock'));
      assert.deepEqual(await worker.multi().set('stock', String(current - 1)).get('stock').exec(), ['OK', '5']);

      // An expiry in between also counts as a change.
      await redis.set('session', 'x', { PX: 50 });
      await worker.watch('session');
      await sleep(120);
      await assert.rejects(worker.multi().set('session', 'renewed').exec(), library.WatchError);
      assert.equal(await redis.exists('session'), 0);
    });

    if (!modern) {
      it('v4 executeIsolated: WATCH and blocking commands on a pooled connection of their own', async () => {
        await redis.set('seats', '2');
        // The main connection writes between the isolated WATCH and EXEC.
        const book = (interfere) =>
          redis.executeIsolated(async (isolated) => {
            await isolated.watch('seats');
            const left = Number(await isolated.get('seats'));
            if (interfere) await redis.set('seats', String(left));
            try {
              await isolated.multi().set('seats', String(left - 1)).exec();
              return 'booked';
            } catch (err) {
              if (err instanceof library.WatchError) return 'retry';
              throw err;
            }
          });
        assert.equal(await book(true), 'retry', 'even a SET of the same value touches the key');
        assert.equal(await redis.get('seats'), '2');
        assert.equal(await book(false), 'booked');
        assert.equal(await redis.get('seats'), '1');

        // An isolated BLPOP blocks only its own connection.
        const popped = redis.blPop(library.commandOptions({ isolated: true }), 'queue', 2);
        await eventually(async () => /blocked_clients:1\r\n/.test(await redis.info('clients')), 'the isolated BLPOP');
        assert.equal(await redis.rPush('queue', 'job'), 1);
        assert.deepEqual(await popped, { key: 'queue', element: 'job' });
      });
    }

    it('pub/sub on a dedicated connection: subscribe, pSubscribe, unsubscribe', async () => {
      const sub = await duplicateOf(redis);
      const messages = [];
      await sub.subscribe('orders', (message, channel) => messages.push([channel, message]));
      await sub.pSubscribe('audit.*', (message, channel) => messages.push([`p:${channel}`, message]));
      assert.deepEqual({ ...(await redis.pubSubNumSub(['orders'])) }, { orders: 1 });
      assert.equal(await redis.publish('orders', 'created'), 1);
      assert.equal(await redis.publish('audit.login', 'alice'), 1);
      assert.equal(await redis.publish('nobody', 'x'), 0);
      await eventually(() => messages.length === 2, 'two messages');
      assert.deepEqual(messages, [
        ['orders', 'created'],
        ['p:audit.login', 'alice'],
      ]);
      await sub.unsubscribe('orders');
      await sub.pUnsubscribe('audit.*');
      assert.equal(await redis.publish('orders', 'gone'), 0);
      assert.equal(await redis.publish('audit.login', 'gone'), 0);
    });

    if (variant.resp === 3) {
      it('RESP3: maps, doubles, sets and pushes on the command connection', async () => {
        await redis.hSet('profile', { name: 'ada', lang: 'en' });
        assert.deepEqual({ ...(await redis.hGetAll('profile')) }, { name: 'ada', lang: 'en' });
        await redis.zAdd('scores', [{ score: 1.5, value: 'a' }]);
        assert.equal(await redis.zScore('scores', 'a'), 1.5);
        await redis.sAdd('tags', ['x', 'y']);
        assert.deepEqual([...(await redis.sMembers('tags'))].sort(), ['x', 'y']);

        // Over RESP3 a connection may subscribe and keep running commands:
        // messages arrive as push frames between the replies.
        const messages = [];
        await redis.subscribe('live', (message) => messages.push(message));
        assert.equal(await redis.get('missing'), null);
        assert.equal(await redis.set('still', 'works'), 'OK');
        const publisher = await connect();
        assert.equal(await publisher.publish('live', 'one'), 1);
        assert.equal(await redis.get('still'), 'works');
        await eventually(() => messages.length === 1, 'the push message');
        assert.deepEqual(messages, ['one']);
        await redis.unsubscribe('live');
        assert.equal(await publisher.publish('live', 'two'), 0);
      });

      it('emitInvalidate: the invalidation pushes of every tracking mode', async () => {
        const results = {};
        for (const mode of Object.keys(EXPECTED_INVALIDATIONS)) {
          const tracked = await connect({ emitInvalidate: true });
          const writer = await connect();
          await writer.flushAll();
          const keys = [];
          tracked.on('invalidate', (key) => keys.push(key === null ? '*all*' : String(key)));
          // node-redis switched tracking on in its handshake; restart it in this mode.
          await tracked.sendCommand(['CLIENT', 'TRACKING', 'OFF']);
          await tracked.sendCommand(['CLIENT', 'TRACKING', 'ON', ...(mode ? mode.split(' ') : [])]);
          await writer.mSet({ a1: '1', a2: '2', b1: '3' });
          await writer.hSet('ah', 'f', 'v');
          await writer.sAdd('as', 'x');
          const optin = mode === 'OPTIN';
          const read = async () => {
            if (optin) await tracked.sendCommand(['CLIENT', 'CACHING', 'YES']);
            await tracked.mGet(['a1', 'a2', 'b1']);
            if (optin) await tracked.sendCommand(['CLIENT', 'CACHING', 'YES']);
            await tracked.hGetAll('ah');
            await tracked.sMembers('as');
          };
          const seen = [];
          // A push for the tracked connection is queued before the writer's
          // reply, so a PING on the tracked connection afterwards flushes it.
          const step = async (action) => {
            keys.length = 0;
            await action();
            await tracked.ping();
            seen.push([...keys]);
          };
          await read();
          await step(() => writer.set('a1', 'x'));
          await step(() => writer.set('a1', 'y')); // not read again since
          await read();
          await step(() => writer.expire('a2', 100));
          await read();
          await step(() => writer.persist('a2'));
          await step(() => writer.hSet('ah', 'g', 'w'));
          await read();
          await step(() => writer.rename('a1', 'a9'));
          await read();
          await step(() => writer.eval("redis.call('SET', KEYS[1], 'z')", { keys: ['b1'] }));
          await read();
          await step(() => writer.multi().set('a2', 'm').sAdd('as', 'y').exec());
          await read();
          await step(() => tracked.set('a2', 'self'));
          await read();
          await step(async () => {
            await writer.pExpire('b1', 10);
            await sleep(30);
            await writer.get('b1');
          });
          await read();
          await step(() => writer.flushDb());
          await read();
          await step(() => writer.flushAll('ASYNC'));
          await writer.set('a5', 'v');
          await read();
          await tracked.get('a5');
          await step(async () => {
            await writer.copy('ah', 'acopy');
            await writer.unlink('a5');
          });
          results[mode] = seen;
          tracked.destroy();
          writer.destroy();
        }
        assert.deepEqual(results, EXPECTED_INVALIDATIONS);
      });

      it('clientSideCache: a cached GET is served locally until another client writes', async () => {
        const cache = new library.BasicClientSideCache({ ttl: 0, maxEntries: 0 });
        const cached = await connect({ clientSideCache: cache });
        const writer = await connect();
        // node-redis turns tracking on in its handshake.
        const trackingInfo = await cached.sendCommand(['CLIENT', 'TRACKINGINFO']);
        assert.deepEqual([...(trackingInfo.flags ?? trackingInfo[1])], ['on']);

        await writer.set('price', '100');
        assert.equal(await cached.get('price'), '100');
        assert.equal(await cached.get('price'), '100');
        assert.equal(cache.stats().hitCount, 1, 'the second GET was a local hit');
        assert.equal(cache.stats().missCount, 1);
        assert.equal(cache.size(), 1);

        // The write sends an invalidation push; the next GET goes to the server.
        await writer.set('price', '120');
        await eventually(() => cache.size() === 0, 'the invalidation push');
        assert.equal(await cached.get('price'), '120');
        assert.equal(cache.stats().missCount, 2);

        // Deleting and expiring keys invalidate too.
        assert.equal(await cached.get('price'), '120');
        await writer.del('price');
        await eventually(() => cache.size() === 0, 'invalidation on DEL');
        assert.equal(await cached.get('price'), null);
        await writer.set('flash', 'sale', { PX: 50 });
        assert.equal(await cached.get('flash'), 'sale');
        await eventually(async () => (await writer.exists('flash')) === 0, 'expiry');
        await eventually(() => cache.size() <= 1 && !cache.has(cacheKeyOf(cache, 'flash')), 'invalidation on expiry');

        // FLUSHALL invalidates everything at once (a null key in the push).
        assert.equal(await cached.get('missing-a'), null);
        assert.equal(await cached.get('missing-a'), null);
        assert.ok(cache.size() >= 1);
        await writer.flushAll();
        await eventually(() => cache.size() === 0, 'invalidation on FLUSHALL');
      });
    }
  });
}

// What Redis 7 sends for the steps of the emitInvalidate test, by tracking
// mode: one list of invalidated keys per step ('*all*' for a flush).
// Steps, in order: SET a1; SET a1 again (not read since); EXPIRE a2;
// PERSIST a2; HSET ah; RENAME a1 a9; a script SETs b1; MULTI SET a2 + SADD as;
// the tracking client's own SET a2; b1 expires; FLUSHDB; FLUSHALL ASYNC;
// COPY ah acopy + UNLINK a5.
const EXPECTED_INVALIDATIONS = {
  '': [['a1'], [], ['a2'], ['a2'], ['ah'], ['a1'], ['b1'], ['a2', 'as'], ['a2'], ['b1'], ['*all*'], ['*all*'], ['a5']],
  BCAST: [['a1'], ['a1'], ['a2'], ['a2'], ['ah'], ['a1', 'a9'], ['b1'], ['a2', 'as'], ['a2'], ['b1', 'b1'], ['*all*'], ['*all*'], ['a5']],
  'BCAST PREFIX a': [['a1'], ['a1'], ['a2'], ['a2'], ['ah'], ['a1', 'a9'], [], ['a2', 'as'], ['a2'], [], ['*all*'], ['*all*'], ['a5']],
  OPTIN: [['a1'], [], ['a2'], ['a2'], ['ah'], ['a1'], ['b1'], ['a2'], ['a2'], ['b1'], ['*all*'], ['*all*'], []],
  OPTOUT: [['a1'], [], ['a2'], ['a2'], ['ah'], ['a1'], ['b1'], ['a2', 'as'], ['a2'], ['b1'], ['*all*'], ['*all*'], ['a5']],
  NOLOOP: [['a1'], [], ['a2'], ['a2'], ['ah'], ['a1'], ['b1'], ['a2', 'as'], [], ['b1'], ['*all*'], ['*all*'], ['a5']],
};

// The cache indexes entries by a key that includes the command; find the one
// for a Redis key by looking at its key-to-entries index.
function cacheKeyOf(cache, redisKey) {
  for (const [key, entries] of cache.keySetEntries()) {
    if (String(key) === redisKey) return [...entries][0];
  }
  return undefined;
}
