import crypto from 'node:crypto';

type OneShotHash = (algorithm: string, data: string | Uint8Array, outputEncoding: 'hex') => string;

// crypto.hash (Node >= 20.12) skips the Hash object: about 3x cheaper for short inputs.
const oneShot = (crypto as { hash?: OneShotHash }).hash;

/** SHA-256 (hex) of a string (UTF-8) or bytes. */
export const sha256: (data: string | Uint8Array) => string =
  typeof oneShot === 'function'
    ? (data) => oneShot('sha256', data, 'hex')
    : (data) => crypto.createHash('sha256').update(data).digest('hex');
