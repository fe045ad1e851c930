'use strict';
// The patterns teams write against Redis today (see /work/shared/CLIENTS.md),
// each as a service would write it with ioredis, checked for the outcome the
// service depends on: cache-aside, stampede locks released by a script, tag
// sets, sliding and fixed windows, sessions with revoke-all, idempotency keys,
// metrics, leaderboards, retry schedules, stream consumer groups, and
// invalidation fanned out over pub/sub and keyspace notifications.

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const { startServer } = require('../lib/server');

const VARIANTS = [
  { label: 'ioredis 5 (RESP2)', module: 'ioredis5' },
  { label: 'ioredis 6 (HELLO 3)', module: 'ioredis6' },
];

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const RELEASE_LOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

for (const variant of VARIANTS) {
  const Redis = require(variant.module);
  const version = require(`${variant.module}/package.json`).version;

  describe(`patterns over ${variant.label} ${version}`, { timeout: 30000 }, () => {
    let server;
    let redis;
    const clients = [];

    async function connect() {
      const client = new Redis({
        host: server.host,
        port: server.port,
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
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
        redis.defineCommand('releaseLock', { numberOfKeys: 1, lua: RELEASE_LOCK });
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

    it('cache-aside with a jittered TTL, and a stampede lock released by compare-and-delete', async () => {
      let loads = 0;
      async function loadUser(id) {
        const cached = await redis.get(`user:${id}`);
        if (cached !== null) return JSON.parse(cached);
        const token = `t-${Math.random()}`;
        if ((await redis.set(`lock:user:${id}`, token, 'EX', 10, 'NX')) !== 'OK') {
          await sleep(20); // someone else is loading it
          return loadUser(id);
        }
        loads += 1;
        const user = { id, name: `user ${id}` };
        await redis.set(`user:${id}`, JSON.stringify(user), 'EX', 60 + Math.floor(Math.random() * 10));
        assert.equal(await redis.releaseLock(`lock:user:${id}`, 'not-my-token'), 0);
        assert.equal(await redis.releaseLock(`lock:user:${id}`, token), 1);
        return user;
      }
      const users = await Promise.all([1, 1, 1, 2].map(loadUser));
      assert.deepEqual(
        users.map((user) => user.name),
        ['user 1', 'user 1', 'user 1', 'user 2'],
      );
      assert.equal(loads, 2, 'one load per key despite concurrent misses');
      const ttl = await redis.ttl('user:1');
      assert.ok(ttl >= 59 && ttl <= 70, `ttl ${ttl}`);
      assert.equal(await redis.exists('lock:user:1', 'lock:user:2'), 0);
    });

    it('tag sets: pipelined SET/SADD/EXPIRE, then SMEMBERS + UNLINK invalidates a tag', async () => {
      const pipeline = redis.pipeline();
      for (let i = 0; i < 5; i++) {
        pipeline.set(`page:${i}`, `<html>${i}</html>`, 'EX', 300);
        pipeline.sadd(i % 2 ? 'tag:odd' : 'tag:even', `page:${i}`);
        pipeline.expire(i % 2 ? 'tag:odd' : 'tag:even', 300);
      }
      const results = await pipeline.exec();
      assert.ok(results.every(([err]) => err === null));
      const members = (await redis.smembers('tag:even')).sort();
      assert.deepEqual(members, ['page:0', 'page:2', 'page:4']);
      assert.equal(await redis.unlink(...members, 'tag:even'), 4);
      assert.deepEqual(await redis.mget('page:0', 'page:1', 'page:2', 'page:3', 'page:4'), [
        null,
        '<html>1</html>',
        null,
        '<html>3</html>',
        null,
      ]);
    });

    it('sliding-window limit as MULTI ZREMRANGEBYSCORE ZADD ZCARD PEXPIRE', async () => {
      const windowMs = 200;
      const limit = 3;
      let sequence = 0;
      async function allow(user) {
        const now = Date.now();
        sequence += 1;
        const [, , [, count]] = await redis
          .multi()
          .zremrangebyscore(`rl:${user}`, 0, now - windowMs)
          .zadd(`rl:${user}`, now, `${now}-${sequence}`)
          .zcard(`rl:${user}`)
          .pexpire(`rl:${user}`, windowMs)
          .exec();
        return count <= limit;
      }
      const first = [];
      for (let i = 0; i < 5; i++) first.push(await allow('ann'));
      assert.deepEqual(first, [true, true, true, false, false]);
      assert.equal(await allow('bob'), true, 'windows are per user');
      await sleep(windowMs + 50);
      assert.equal(await allow('ann'), true, 'the window slid past the old hits');
      const pttl = await redis.pttl('rl:ann');
      assert.ok(pttl > 0 && pttl <= windowMs, `pttl ${pttl}`);
    });

    it('fixed window as INCR + EXPIRE on the first hit', async () => {
      async function hit(key) {
        const count = await redis.incr(key);
        if (count === 1) await redis.expire(key, 60);
        return count;
      }
      const counts = [];
      for (let i = 0; i < 4; i++) counts.push(await hit('fw:ip:1:minute:42'));
      assert.deepEqual(counts, [1, 2, 3, 4]);
      const ttl = await redis.ttl('fw:ip:1:minute:42');
      assert.ok(ttl > 0 && ttl <= 60, `ttl ${ttl}`);
    });

    it('sessions with a per-user set for revoke-all; idempotency keys with SET NX EX', async () => {
      for (const sid of ['s1', 's2', 's3']) {
        await redis.set(`session:${sid}`, JSON.stringify({ user: 'u1' }), 'EX', 3600);
        await redis.sadd('user:u1:sessions', sid);
      }
      await redis.set('session:other', JSON.stringify({ user: 'u2' }), 'EX', 3600);
      const sids = await redis.smembers('user:u1:sessions');
      const removed = await redis.del(...sids.map((sid) => `session:${sid}`), 'user:u1:sessions');
      assert.equal(removed, 4);
      assert.equal(await redis.exists('session:s1', 'session:s2', 'session:s3', 'session:other'), 1);

      const outcomes = [];
      for (let i = 0; i < 3; i++) outcomes.push(await redis.set('idem:payment-77', '1', 'NX', 'EX', 86400));
      assert.deepEqual(outcomes, ['OK', null, null]);
    });

    it('metrics with INCR / HINCRBY / HGETALL; a leaderboard with ZINCRBY and ZREVRANGE WITHSCORES', async () => {
      const pipeline = redis.pipeline();
      for (const [route, status] of [
        ['/a', 200],
        ['/a', 200],
        ['/b', 500],
        ['/a', 404],
      ]) {
        pipeline.incr('metrics:requests');
        pipeline.hincrby('metrics:status', String(status), 1);
        pipeline.hincrby('metrics:route', route, 1);
      }
      await pipeline.exec();
      assert.equal(await redis.get('metrics:requests'), '4');
      assert.deepEqual(await redis.hgetall('metrics:status'), { 200: '2', 404: '1', 500: '1' });
      assert.deepEqual(await redis.hgetall('metrics:route'), { '/a': '3', '/b': '1' });

      await redis.zincrby('board', 10, 'ann');
      await redis.zincrby('board', 25, 'bob');
      await redis.zincrby('board', 7.5, 'cyd');
      await redis.zincrby('board', 20, 'ann');
      assert.deepEqual(await redis.zrevrange('board', 0, 1, 'WITHSCORES'), ['ann', '30', 'bob', '25']);
      assert.equal(await redis.zrevrank('board', 'cyd'), 2);
      assert.equal(await redis.zscore('board', 'cyd'), '7.5');
    });

    it('saga state in a hash with EXPIRE; a retry schedule in a sorted set read with ZRANGEBYSCORE', async () => {
      await redis.hset('saga:o-1', { step: 'reserve', attempts: 0, order: 'o-1' });
      await redis.expire('saga:o-1', 600);
      await redis.hset('saga:o-1', 'step', 'charge');
      await redis.hincrby('saga:o-1', 'attempts', 1);
      assert.deepEqual(await redis.hgetall('saga:o-1'), { step: 'charge', attempts: '1', order: 'o-1' });
      assert.ok((await redis.ttl('saga:o-1')) > 590, 'HSET keeps the hash TTL');

      const now = Date.now();
      await redis.zadd('retries', now - 1000, 'job-a', now - 10, 'job-b', now + 60000, 'job-c');
      const due = await redis.zrangebyscore('retries', '-inf', now, 'LIMIT', 0, 10);
      assert.deepEqual(due, ['job-a', 'job-b']);
      assert.equal(await redis.zrem('retries', ...due), 2);
      assert.deepEqual(await redis.zrange('retries', 0, -1), ['job-c']);
    });

    it('stream consumer group: XADD, XREADGROUP (blocking), XACK, XPENDING, XAUTOCLAIM', async () => {
      assert.equal(await redis.xgroup('CREATE', 'orders', 'billing', '$', 'MKSTREAM'), 'OK');
      const consumer = await connect();
      const waiting = consumer.xreadgroup('GROUP', 'billing', 'c1', 'COUNT', 10, 'BLOCK', 5000, 'STREAMS', 'orders', '>');
      await sleep(50);
      const id1 = await redis.xadd('orders', '*', 'order', 'o-1', 'total', '10');
      const [[stream, entries]] = await waiting;
      assert.equal(stream, 'orders');
      assert.deepEqual(entries, [[id1, ['order', 'o-1', 'total', '10']]]);

      const id2 = await redis.xadd('orders', 'MAXLEN', '~', 1000, '*', 'order', 'o-2', 'total', '20');
      const read = await redis.xreadgroup('GROUP', 'billing', 'c2', 'STREAMS', 'orders', '>');
      assert.deepEqual(read, [['orders', [[id2, ['order', 'o-2', 'total', '20']]]]]);
      assert.equal(await redis.xack('orders', 'billing', id1), 1);
      const [count, smallest, largest, perConsumer] = await redis.xpending('orders', 'billing');
      assert.deepEqual([count, smallest, largest, perConsumer], [1, id2, id2, [['c2', '1']]]);
      // c2 died: c3 claims what has been pending for a while.
      await sleep(30);
      const [next, claimed, deleted] = await redis.xautoclaim('orders', 'billing', 'c3', 20, '0-0');
      assert.equal(next, '0-0');
      assert.deepEqual(claimed, [[id2, ['order', 'o-2', 'total', '20']]]);
      assert.deepEqual(deleted, []);
      assert.equal(await redis.xack('orders', 'billing', id2), 1);
      assert.equal((await redis.xpending('orders', 'billing'))[0], 0);
    });

    it('invalidation fan-out: PUBLISH to SUBSCRIBE/PSUBSCRIBE, and keyspace notifications', async () => {
      const subscriber = await connect();
      const events = [];
      subscriber.on('message', (channel, message) => events.push(`${channel} ${message}`));
      subscriber.on('pmessage', (pattern, channel, message) => events.push(`${pattern} ${channel} ${message}`));
      await subscriber.subscribe('invalidate');
      await subscriber.psubscribe('__keyspace@0__:product:*', '__keyevent@0__:expired');
      await redis.config('SET', 'notify-keyspace-events', 'KEgx$h');

      assert.equal(await redis.publish('invalidate', 'product:1'), 1);
      await redis.set('product:1', 'v1');
      await redis.hset('product:2', 'price', '9');
      await redis.set('other', 'x'); // outside the pattern
      await redis.set('product:3', 'v', 'PX', 20);
      await redis.del('product:1');
      const deadline = Date.now() + 3000;
      while (events.length < 8 && Date.now() < deadline) await sleep(20);
      await sleep(50); // nothing further may arrive
      assert.deepEqual(events, [
        'invalidate product:1',
        '__keyspace@0__:product:* __keyspace@0__:product:1 set',
        '__keyspace@0__:product:* __keyspace@0__:product:2 hset',
        '__keyspace@0__:product:* __keyspace@0__:product:3 set',
        '__keyspace@0__:product:* __keyspace@0__:product:3 expire', // SET ... PX also says expire
        '__keyspace@0__:product:* __keyspace@0__:product:1 del',
        '__keyspace@0__:product:* __keyspace@0__:product:3 expired',
        '__keyevent@0__:expired __keyevent@0__:expired product:3',
      ]);
      await redis.config('SET', 'notify-keyspace-events', '');
    });
  });
}
