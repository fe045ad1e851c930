'use strict';
// Reply texts and helpers shared by the ioredis and node-redis suites. The
// error texts are Redis 7's, byte for byte: libraries (BullMQ among them)
// match on them.

const assert = require('node:assert/strict');

const NOT_AN_INTEGER = 'ERR value is not an integer or out of range';

function unknownCommand(name, args) {
  const quoted = args.map((arg) => `'${arg}' `).join('');
  return `ERR unknown command '${name}', with args beginning with: ${quoted}`;
}

// Bytes that break any client or server that treats values as C strings or
// lines: NUL, CR LF, a fake RESP header, and bytes that are not valid UTF-8.
const BINARY_VALUE = Buffer.from([
  0x00, 0x01, 0x0d, 0x0a, 0x24, 0x33, 0x0d, 0x0a, 0x00, 0xff, 0xfe, 0x80, 0x0d, 0x0a, 0x2a, 0x00,
]);

// Parses an INFO reply into { field: value }, skipping section headers.
function parseInfo(text) {
  const fields = {};
  for (const line of String(text).split('\r\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon > 0) fields[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return fields;
}

function assertVersionAtLeast(version, major) {
  assert.match(version, /^\d+\.\d+\.\d+/, `redis_version "${version}" is not x.y.z`);
  assert.ok(Number(version.split('.')[0]) >= major, `redis_version ${version} is below ${major}`);
}

// Finds this connection's line in a CLIENT LIST reply by its name.
function clientListLine(listText, name) {
  return String(listText)
    .split('\n')
    .map((line) => line.trim())
    .find((line) => line.split(' ').includes(`name=${name}`));
}

// Waits for a promise that must reject, and returns the error's message.
async function rejectionMessage(promise) {
  try {
    await promise;
  } catch (err) {
    return err.message;
  }
  assert.fail('expected the command to fail');
}

module.exports = {
  NOT_AN_INTEGER,
  unknownCommand,
  BINARY_VALUE,
  parseInfo,
  assertVersionAtLeast,
  clientListLine,
  rejectionMessage,
};
