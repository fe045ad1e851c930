'use strict';
// BullMQ end to end against the server under test: a Queue, a Worker and
// QueueEvents on their own connections, the way a NestJS service runs them.
// BullMQ is nearly all Lua (EVALSHA with many keys, cmsgpack, cjson), wakes
// its worker with BZPOPMIN on a marker key, and streams its events with
// XADD / XREAD BLOCK, so this is the broadest single check of scripting,
// blocking and streams working together.

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const { startServer } = require('../lib/server');
const bullmq = require('bullmq');

const { Queue, Worker, QueueEvents, FlowProducer, RedisConnection } = bullmq;
const bullmqVersion = require('bullmq/package.json').version;

// BullMQ loads the package named "ioredis" by default; the suite keeps its
// client libraries under versioned aliases, so hand BullMQ the driver through
// its client factory instead (the hook BullMQ documents for other drivers).
const VARIANTS = [
  {
    label: 'ioredis 5',
    namesConnections: true,
    factory: (opts) => bullmq.createIORedisClient(new (require('ioredis5'))(opts)),
  },
  {
    // ioredis 6 opens with HELLO 3, so every script reply comes back in RESP3.
    label: 'ioredis 6 (RESP3)',
    namesConnections: true,
    factory: (opts) => bullmq.createIORedisClient(new (require('ioredis6'))(opts)),
  },
  {
    label: 'node-redis 5',
    // BullMQ's node-redis adapter leaves connections unnamed, so
    // Queue.getWorkers() (which reads CLIENT LIST) cannot find them there.
    namesConnections: false,
    factory: (opts) => {
      const { createClient } = require('redis5');
      const raw = createClient({ socket: { host: opts.host, port: opts.port }, database: opts.db });
      raw.on('error', () => {});
      return bullmq.createNodeRedisClient(raw);
    },
  },
];

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Resolves with the first event whose payload satisfies `match`; fails the
// test after `timeoutMs` instead of hanging it.
function nextEvent(emitter, name, match = () => true, timeoutMs = 10000) {
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

// Polls until `check` returns a truthy value.
async function eventually(check, what, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await check();
    if (last) return last;
    await sleep(25);
  }
  assert.fail(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
}

for (const variant of VARIANTS) {
  describe(`BullMQ ${bullmqVersion} over ${variant.label}`, { timeout: 60000 }, () => {
    let server;
    let connection;
    let admin; // a plain connection of the test's own, to look at the keyspace
    const closables = [];
    let queueCounter = 0;

    // Every test gets a queue of its own, so a leftover job from one test can
    // never satisfy another's assertion.
    function freshName() {
      queueCounter += 1;
      return `jobs-${queueCounter}`;
    }

    // Connection errors (expected when a test kills connections) show up as
    // failed assertions, not as unhandled 'error' events.
    function track(thing) {
      closables.push(thing);
      thing.on('error', () => {});
      return thing;
    }

    async function openQueue(name) {
      const queue = track(new Queue(name, { connection }));
      await queue.waitUntilReady();
      return queue;
    }

    async function openEvents(name) {
      const events = track(new QueueEvents(name, { connection, blockingTimeout: 200 }));
      await events.waitUntilReady();
      return events;
    }

    function openWorker(name, processor, options = {}) {
      return track(new Worker(name, processor, { connection, ...options }));
    }

    let startupError = null;
    before(async () => {
      try {
        RedisConnection.clientFactory = variant.factory;
        server = await startServer();
        connection = { host: server.host, port: server.port };
        admin = new (require('ioredis5'))({ ...connection, maxRetriesPerRequest: 0 });
        await admin.ping();
      } catch (err) {
        startupError = err;
      }
    });

    after(async () => {
      // Workers first: closing them ends their blocking BZPOPMIN.
      for (const thing of closables.reverse()) {
        try {
          await thing.close();
        } catch {
          // a close after a failed test may find the connection gone already
        }
      }
      RedisConnection.clientFactory = undefined;
      if (admin) admin.disconnect();
      if (server) await server.stop();
    });

    beforeEach(() => {
      if (startupError) throw startupError;
    });

    it('connects: version check passes, connections are named', async () => {
      const name = freshName();
      const queue = await openQueue(name);
      const info = await admin.info();
      const version = /redis_version:(\S+)/.exec(info)[1];
      assert.ok(!bullmq.isRedisVersionLowerThan(version, '6.2.0'), `redis_version ${version}`);
      assert.match(info, /maxmemory_policy:noeviction/);
      // BullMQ names its connections "bull:" + base64 of the queue name and
      // finds its workers again through CLIENT LIST.
      const worker = openWorker(name, async () => 'ok');
      await worker.waitUntilReady();
      if (variant.namesConnections) {
        await eventually(async () => (await queue.getWorkers()).length === 1, 'the worker in CLIENT LIST');
      }
      await worker.close();
    });

    it('a custom prefix in another database keeps the queue to itself', async () => {
      const name = freshName();
      const elsewhere = { ...connection, db: 2 };
      const options = { connection: elsewhere, prefix: '{shop}' };
      const queue = track(new Queue(name, options));
      const events = track(new QueueEvents(name, { ...options, blockingTimeout: 200 }));
      await events.waitUntilReady();
      const worker = track(new Worker(name, async (job) => job.data.n + 1, options));
      const job = await queue.add('inc', { n: 41 });
      assert.equal(await job.waitUntilFinished(events, 10000), 42);
      assert.deepEqual(await admin.keys(`*${name}*`), [], 'nothing in database 0');
      await admin.select(2);
      const keys = await admin.keys(`{shop}:${name}:*`);
      await admin.select(0);
      assert.ok(keys.includes(`{shop}:${name}:${job.id}`), keys.join(' '));
      await worker.close();
    });

    it('processes plain, delayed and prioritized jobs; QueueEvents sees them complete', async () => {
      const name = freshName();
      const queue = await openQueue(name);
      const events = await openEvents(name);

      // Prioritized jobs added before the worker starts run lowest number first.
      await queue.add('p', { n: 3 }, { priority: 3 });
      await queue.add('p', { n: 1 }, { priority: 1 });
      await queue.add('p', { n: 2 }, { priority: 2 });
      assert.deepEqual(await queue.getJobCounts('prioritized', 'wait'), { prioritized: 3, wait: 0 });

      const order = [];
      const worker = openWorker(name, async (job) => {
        order.push(`${job.name}${job.data.n}`);
        return job.data.n * 10;
      });

      await eventually(async () => (await queue.getJobCounts('completed')).completed === 3, 'the prioritized jobs');
      const completedPlain = nextEvent(events, 'completed', ({ returnvalue }) => String(returnvalue) === '420');
      const plain = await queue.add('plain', { n: 42 });
      const [{ jobId, returnvalue }] = await completedPlain;
      assert.equal(jobId, plain.id);
      assert.equal(String(returnvalue), '420');

      const addedAt = Date.now();
      const delayed = await queue.add('delayed', { n: 7 }, { delay: 300 });
      assert.equal(await delayed.getState(), 'delayed');
      assert.equal(await delayed.waitUntilFinished(events, 10000), 70);
      const finished = await queue.getJob(delayed.id);
      assert.ok(finished.processedOn - addedAt >= 290, `delayed job ran after ${finished.processedOn - addedAt} ms`);

      await eventually(async () => (await queue.getJobCounts('completed')).completed === 5, '5 completed jobs');
      assert.deepEqual(order.slice(0, 3), ['p1', 'p2', 'p3']);
      assert.deepEqual(order.slice(3), ['plain42', 'delayed7']);
      assert.deepEqual(await queue.getJobCounts('completed', 'failed', 'wait', 'delayed', 'active', 'prioritized'), {
        completed: 5,
        failed: 0,
        wait: 0,
        delayed: 0,
        active: 0,
        prioritized: 0,
      });
      await worker.close();
    });

    it('retries with backoff after a failed first attempt, and fails for good after the last', async () => {
      const name = freshName();
      const queue = await openQueue(name);
      const events = await openEvents(name);
      const attempts = {};
      const worker = openWorker(name, async (job) => {
        attempts[job.id] = (attempts[job.id] || 0) + 1;
        if (job.name === 'flaky' && job.attemptsMade === 0) throw new Error('first attempt fails');
        if (job.name === 'broken') throw new Error(`broken attempt ${job.attemptsMade + 1}`);
        return 'done';
      });
      const workerFailures = [];
      worker.on('failed', (job, err) => workerFailures.push(`${job.name}:${err.message}`));

      const flaky = await queue.add('flaky', {}, { attempts: 3, backoff: { type: 'fixed', delay: 150 } });
      assert.equal(await flaky.waitUntilFinished(events, 10000), 'done');
      const flakyDone = await queue.getJob(flaky.id);
      assert.equal(flakyDone.attemptsMade, 2);
      assert.equal(attempts[flaky.id], 2);
      assert.ok(flakyDone.finishedOn - flakyDone.timestamp >= 140, 'the retry waited for the backoff');

      const failedEvent = nextEvent(events, 'failed', ({ jobId }) => jobId !== flaky.id);
      const broken = await queue.add('broken', {}, { attempts: 2, backoff: { type: 'exponential', delay: 50 } });
      const [{ jobId, failedReason }] = await failedEvent;
      assert.equal(jobId, broken.id);
      assert.equal(failedReason, 'broken attempt 2');
      await assert.rejects(broken.waitUntilFinished(events, 1000), /broken attempt 2/);
      const brokenDone = await queue.getJob(broken.id);
      assert.equal(brokenDone.attemptsMade, 2);
      assert.equal(await brokenDone.getState(), 'failed');
      assert.deepEqual(brokenDone.stacktrace.length, 2);
      assert.deepEqual(workerFailures, ['flaky:first attempt fails', 'broken:broken attempt 1', 'broken:broken attempt 2']);

      assert.deepEqual(await queue.getJobCounts('completed', 'failed', 'delayed', 'wait', 'active'), {
        completed: 1,
        failed: 1,
        delayed: 0,
        wait: 0,
        active: 0,
      });
      await worker.close();
    });

    it('pause keeps jobs waiting, resume lets the worker take them', async () => {
      const name = freshName();
      const queue = await openQueue(name);
      const events = await openEvents(name);
      const done = [];
      const worker = openWorker(name, async (job) => {
        done.push(job.data.n);
      });
      await worker.waitUntilReady();

      await queue.pause();
      assert.equal(await queue.isPaused(), true);
      await queue.addBulk([1, 2, 3].map((n) => ({ name: 'bulk', data: { n } })));
      await sleep(300);
      assert.deepEqual(done, []);
      // BullMQ 5+ keeps a paused queue's jobs in its wait list (and counts
      // them there), with the pause recorded in the queue's meta hash.
      assert.deepEqual(await queue.getJobCounts('wait', 'completed'), { wait: 3, completed: 0 });

      const lastCompleted = nextEvent(events, 'completed', () => done.length === 3);
      await queue.resume();
      assert.equal(await queue.isPaused(), false);
      await lastCompleted;
      assert.deepEqual(done.sort(), [1, 2, 3]);
      assert.deepEqual(await queue.getJobCounts('paused', 'wait', 'completed'), { paused: 0, wait: 0, completed: 3 });
      await worker.close();
    });

    it('a job scheduler repeats a job at a fixed interval', async () => {
      const name = freshName();
      const queue = await openQueue(name);
      const runs = [];
      const worker = openWorker(name, async (job) => {
        runs.push(job.name);
      });
      await queue.upsertJobScheduler('tick', { every: 100, limit: 3 }, { name: 'tick', data: {} });
      assert.equal(await queue.getJobSchedulersCount(), 1);
      await eventually(() => runs.length >= 3, 'three scheduled runs');
      await sleep(250);
      assert.deepEqual(runs, ['tick', 'tick', 'tick'], 'the limit stops the scheduler at three runs');
      assert.equal(await queue.removeJobScheduler('tick'), true);
      assert.equal(await queue.getJobSchedulersCount(), 0);
      await worker.close();
    });

    it('progress and logs reach QueueEvents; concurrency runs jobs side by side', async () => {
      const name = freshName();
      const queue = await openQueue(name);
      const events = await openEvents(name);
      let running = 0;
      let peak = 0;
      const worker = openWorker(
        name,
        async (job) => {
          running += 1;
          peak = Math.max(peak, running);
          await job.updateProgress(50);
          await job.log(`working on ${job.data.n}`);
          await sleep(100);
          await job.updateProgress({ done: true });
          running -= 1;
          return job.data.n;
        },
        { concurrency: 4 },
      );
      const progress = [];
      events.on('progress', ({ jobId, data }) => progress.push([jobId, data]));
      const jobs = await queue.addBulk([1, 2, 3, 4].map((n) => ({ name: 'c', data: { n } })));
      const results = await Promise.all(jobs.map((job) => job.waitUntilFinished(events, 10000)));
      assert.deepEqual(results, [1, 2, 3, 4]);
      assert.ok(peak >= 2, `jobs overlapped (peak ${peak})`);
      await eventually(() => progress.length === 8, 'eight progress events');
      const first = progress.filter(([jobId]) => jobId === jobs[0].id).map(([, data]) => data);
      assert.deepEqual(first, [50, { done: true }]);
      const { logs, count } = await queue.getJobLogs(jobs[2].id);
      assert.deepEqual(logs, ['working on 3']);
      assert.equal(count, 1);
      assert.deepEqual(
        (await queue.getJobs(['completed'])).map((job) => job.returnvalue).sort(),
        [1, 2, 3, 4],
      );
      await worker.close();
    });

    it('a flow runs the children first and hands their results to the parent', async () => {
      const name = freshName();
      const flows = track(new FlowProducer({ connection }));
      const queue = await openQueue(name);
      const events = await openEvents(name);
      const worker = openWorker(name, async (job) => {
        if (job.name === 'part') return job.data.price;
        const children = await job.getChildrenValues();
        return Object.values(children).reduce((sum, value) => sum + value, 0);
      });
      const tree = await flows.add({
        name: 'total',
        queueName: name,
        children: [10, 20, 12].map((price) => ({ name: 'part', queueName: name, data: { price } })),
      });
      assert.equal(await tree.job.getState(), 'waiting-children');
      assert.equal(await tree.job.waitUntilFinished(events, 10000), 42);
      const counts = await queue.getJobCounts('completed', 'waiting-children');
      assert.deepEqual(counts, { completed: 4, 'waiting-children': 0 });
      await worker.close();
    });

    it('the rate limiter spaces jobs out', async () => {
      const name = freshName();
      const queue = await openQueue(name);
      const events = await openEvents(name);
      const startedAt = [];
      const worker = openWorker(
        name,
        async () => {
          startedAt.push(Date.now());
        },
        { limiter: { max: 2, duration: 300 } },
      );
      const jobs = await queue.addBulk([1, 2, 3, 4, 5].map((n) => ({ name: 'r', data: { n } })));
      await Promise.all(jobs.map((job) => job.waitUntilFinished(events, 10000)));
      // Five jobs at two per 300 ms window need at least two further windows.
      const span = startedAt[4] - startedAt[0];
      assert.ok(span >= 550, `five jobs took ${span} ms`);
      await worker.close();
    });

    it('deduplication and removeOnComplete keep the queue small', async () => {
      const name = freshName();
      const queue = await openQueue(name);
      const first = await queue.add('d', { v: 1 }, { deduplication: { id: 'same' }, removeOnComplete: 2 });
      const second = await queue.add('d', { v: 2 }, { deduplication: { id: 'same' } });
      assert.equal(second.id, first.id, 'a duplicate add returns the existing job');
      assert.equal((await queue.getJobCounts('wait')).wait, 1);

      const events = await openEvents(name);
      const worker = openWorker(name, async () => 'ok');
      await first.waitUntilFinished(events, 10000);
      const more = await queue.addBulk([1, 2, 3, 4].map((n) => ({ name: 'k', data: { n }, opts: { removeOnComplete: 2 } })));
      await Promise.all(more.map((job) => job.waitUntilFinished(events, 10000)));
      await eventually(async () => (await queue.getJobCounts('completed')).completed === 2, 'two completed jobs kept');
      assert.equal(await queue.getJob(more[0].id), undefined, 'older completed jobs are removed');
      await worker.close();
    });

    it('a job whose worker vanished is taken over by another worker after its lock expires', async () => {
      const name = freshName();
      const queue = await openQueue(name);
      const events = await openEvents(name);
      // The first worker takes the job by hand and never finishes or renews it,
      // as if its process had died.
      const dead = openWorker(name, null, { lockDuration: 300, autorun: false });
      const job = await queue.add('stuck', { n: 1 });
      const taken = await dead.getNextJob('dead-token');
      assert.equal(taken.id, job.id);
      assert.equal(await job.getState(), 'active');

      const stalled = nextEvent(events, 'stalled', ({ jobId }) => jobId === job.id);
      const rescuer = openWorker(name, async () => 'rescued', { stalledInterval: 200, lockDuration: 300 });
      await stalled;
      assert.equal(await job.waitUntilFinished(events, 10000), 'rescued');
      await rescuer.close();
    });

    it('job management: promote, changePriority, updateData, remove, retry of failed jobs, metrics', async () => {
      const name = freshName();
      const queue = await openQueue(name);
      const events = await openEvents(name);

      const later = await queue.add('later', { v: 1 }, { delay: 60000 });
      const low = await queue.add('low', {}, { priority: 10 });
      const high = await queue.add('high', {}, { priority: 5 });
      const doomed = await queue.add('doomed', {});
      assert.deepEqual(await queue.getJobCounts('delayed', 'prioritized', 'wait'), { delayed: 1, prioritized: 2, wait: 1 });

      await later.updateData({ v: 2 });
      await later.promote();
      assert.equal(await later.getState(), 'waiting');
      await low.changePriority({ priority: 1 });
      await doomed.remove();
      assert.equal(await queue.getJob(doomed.id), undefined);
      assert.deepEqual(await queue.getJobCounts('delayed', 'prioritized', 'wait'), { delayed: 0, prioritized: 2, wait: 1 });

      const order = [];
      let failFirstRun = true;
      const worker = openWorker(
        name,
        async (job) => {
          order.push(job.name);
          if (job.name === 'later' && failFirstRun) throw new Error(`saw v${job.data.v}`);
          return job.data.v ?? 0;
        },
        { metrics: { maxDataPoints: 60 } },
      );
      await assert.rejects(later.waitUntilFinished(events, 10000), /saw v2/);
      await high.waitUntilFinished(events, 10000);
      assert.deepEqual(order, ['later', 'low', 'high'], 'waiting first, then by the changed priorities');

      // Retry every failed job: it goes back to wait and now succeeds.
      failFirstRun = false;
      await queue.retryJobs({ state: 'failed' });
      await eventually(async () => (await later.getState()) === 'completed', 'the retried job completing');
      assert.equal((await queue.getJob(later.id)).returnvalue, 2);
      assert.deepEqual(await queue.getJobCounts('completed', 'failed'), { completed: 3, failed: 0 });

      const metrics = await queue.getMetrics('completed');
      assert.equal(metrics.meta.count, 3);
      assert.match(await queue.exportPrometheusMetrics(), /bullmq_job_count\{queue="jobs-\d+", state="completed"\} 3/);
      await worker.close();
    });

    it('after CLIENT KILL of every BullMQ connection, all reconnect and no job or event is lost', async () => {
      const name = freshName();
      const queue = await openQueue(name);
      const events = await openEvents(name);
      const completedIds = new Set();
      events.on('completed', ({ jobId }) => completedIds.add(jobId));
      const worker = openWorker(name, async (job) => job.data.n);
      const before = await queue.addBulk([1, 2, 3].map((n) => ({ name: 'k', data: { n } })));
      await eventually(() => completedIds.size === 3, 'the first three completions');

      // The worker is blocked in BZPOPMIN and QueueEvents in XREAD BLOCK: kill
      // them all (but this test's own connection) while they wait.
      const myId = await admin.client('ID');
      const killed = await admin.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
      assert.ok(killed >= 3, `killed ${killed} connections`);
      assert.equal(String(await admin.client('ID')), String(myId));

      // The queue's own connection reconnects on its next command.
      const after = await eventually(async () => {
        try {
          return await queue.addBulk([4, 5, 6].map((n) => ({ name: 'k', data: { n } })));
        } catch {
          return null; // still reconnecting
        }
      }, 'adding after the kill');
      const all = [...before, ...after].map((job) => job.id);
      await eventually(() => all.every((id) => completedIds.has(id)), 'completed events for all six jobs', 15000);
      assert.deepEqual(await queue.getJobCounts('completed', 'wait', 'active'), { completed: 6, wait: 0, active: 0 });
      await worker.close();
    });

    it('two workers at concurrency 20 finish 1000 mixed jobs exactly once', async () => {
      const name = freshName();
      const queue = await openQueue(name);
      const events = await openEvents(name);
      const total = 1000;
      const runs = new Map();
      let completed = 0;
      const allDone = new Promise((resolve) => {
        events.on('completed', () => {
          completed += 1;
          if (completed === total) resolve();
        });
      });
      const processor = async (job) => {
        runs.set(job.data.i, (runs.get(job.data.i) || 0) + 1);
        // Every tenth job fails its first attempt and is retried after 10 ms.
        if (job.data.i % 10 === 0 && job.attemptsMade === 0) throw new Error('retry me');
        return job.data.i;
      };
      const workers = [openWorker(name, processor, { concurrency: 20 }), openWorker(name, processor, { concurrency: 20 })];
      for (let start = 0; start < total; start += 100) {
        await queue.addBulk(
          Array.from({ length: 100 }, (_, k) => {
            const i = start + k;
            const opts = { attempts: 2, backoff: { type: 'fixed', delay: 10 } };
            if (i % 3 === 0) opts.priority = 5;
            if (i % 7 === 0) opts.delay = 20;
            return { name: 'load', data: { i }, opts };
          }),
        );
      }
      let timer;
      const timeout = new Promise((resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`only ${completed} of ${total} completed`)), 20000);
      });
      await Promise.race([allDone, timeout]).finally(() => clearTimeout(timer));
      assert.equal(runs.size, total);
      for (const [i, count] of runs) assert.equal(count, i % 10 === 0 ? 2 : 1, `job ${i} ran ${count} times`);
      assert.deepEqual(await queue.getJobCounts('completed', 'failed', 'wait', 'active', 'delayed', 'prioritized'), {
        completed: total,
        failed: 0,
        wait: 0,
        active: 0,
        delayed: 0,
        prioritized: 0,
      });
      await Promise.all(workers.map((worker) => worker.close()));
    });

    it('clean removes finished jobs, obliterate removes the whole queue', async () => {
      const name = freshName();
      const queue = await openQueue(name);
      const events = await openEvents(name);
      const worker = openWorker(name, async (job) => {
        if (job.data.fail) throw new Error('nope');
        return 'ok';
      });
      const ok = await queue.add('ok', {});
      const bad = await queue.add('bad', { fail: true });
      await ok.waitUntilFinished(events, 10000);
      await assert.rejects(bad.waitUntilFinished(events, 10000), /nope/);
      await worker.close();

      assert.deepEqual(await queue.clean(0, 100, 'completed'), [ok.id]);
      assert.deepEqual(await queue.clean(0, 100, 'failed'), [bad.id]);
      assert.deepEqual(await queue.getJobCounts('completed', 'failed'), { completed: 0, failed: 0 });

      await queue.add('left', {}, { delay: 60000 });
      await queue.add('left', {});
      assert.ok((await admin.keys(`bull:${name}:*`)).length > 0);
      await queue.obliterate({ force: true });
      assert.deepEqual(await admin.keys(`bull:${name}:*`), []);
    });
  });
}
