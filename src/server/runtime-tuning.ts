import { setFlagsFromString } from 'node:v8';

/**
 * V8 settings for a process that runs the bus server: `agent-bus serve` applies them at start-up,
 * before it loads the server; an application that embeds buildServer() may call
 * tuneProcessForServer() early, or start node with the same flags.
 *
 * --no-allocation-site-pretenuring: V8 allocates objects straight into the old generation when
 * most objects from the same place in the code were still alive at a young collection. The
 * server's messages live for a few milliseconds, from the frame that carried them to the
 * recipient's ack, and V8 decided to pretenure them: the old generation filled with dead messages
 * and a major collection ran every few seconds under load, each delaying ~40 ms of traffic by up
 * to ~20 ms. Measured with the WebSocket server at 40k msgs/s (four 3-second rounds, scratch
 * harness): with pretenuring, p99 2.3–15 ms and the old generation growing ~0.8 MB per young
 * collection; without, p99 1.1–1.8 ms, young pauses 0.5 ms, the old generation flat.
 */
export const SERVER_V8_FLAGS: readonly string[] = ['--no-allocation-site-pretenuring'];

/**
 * Applies SERVER_V8_FLAGS, except a setting the process was started with: the same flag, on or off,
 * in node's own arguments (or NODE_OPTIONS, for the flags node accepts there) wins. Returns the
 * flags it applied.
 */
export function tuneProcessForServer(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): string[] {
  const given = [...execArgv, ...nodeOptions.split(/\s+/)].filter((arg) => arg.startsWith('--')).map(bareName);
  const applied = SERVER_V8_FLAGS.filter((flag) => {
    const name = bareName(flag).replace(/^no-/, '');
    return !given.some((g) => g === name || g === `no-${name}` || g === `no${name}`);
  });
  for (const flag of applied) setFlagsFromString(flag);
  return applied;
}

/** `--foo_bar=1` is foo-bar, `--no-foo-bar` no-foo-bar (V8 also reads `--nofoo-bar` as its negation). */
function bareName(flag: string): string {
  return flag.replace(/=.*$/, '').replace(/^--/, '').replaceAll('_', '-');
}
