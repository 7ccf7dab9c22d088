/**
 * Server-Sent Events read with fetch (EventSource cannot send an Authorization header).
 * Reconnects with backoff until stopped; stops for good on 401/403 and reports it.
 */

export function parseEventBlock(block) {
  let event = 'message';
  const data = [];
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  return data.length === 0 ? undefined : { event, data: data.join('\n') };
}

/**
 * handlers: { onEvent(name, data), onState(state, detail) } where state is
 * 'connecting' | 'open' | 'retrying' | 'refused'.
 */
export function openEventStream(url, headers, handlers) {
  const controller = new AbortController();
  let delay = 1000;

  const run = async () => {
    while (!controller.signal.aborted) {
      handlers.onState('connecting');
      let response;
      try {
        response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers() }, signal: controller.signal, cache: 'no-store' });
      } catch {
        if (controller.signal.aborted) return;
        handlers.onState('retrying', 'the server cannot be reached');
        await sleep(delay, controller.signal);
        delay = Math.min(delay * 2, 10_000);
        continue;
      }
      if (response.status === 401 || response.status === 403) {
        let message = `HTTP ${response.status}`;
        try {
          const body = await response.json();
          if (body?.error) message = `${body.error.code}: ${body.error.message}`;
        } catch {
          // not JSON
        }
        handlers.onState('refused', message);
        return;
      }
      if (!response.ok || response.body === null) {
        await response.body?.cancel().catch(() => undefined);
        handlers.onState('retrying', `HTTP ${response.status}`);
        await sleep(delay, controller.signal);
        delay = Math.min(delay * 2, 10_000);
        continue;
      }
      delay = 1000;
      handlers.onState('open');
      const reader = response.body.pipeThrough(new window.TextDecoderStream()).getReader();
      let buffer = '';
      try {
        while (true) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value.replace(/\r\n?/g, '\n');
          let end;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const parsed = parseEventBlock(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
            if (parsed === undefined) continue;
            let data;
            try {
              data = JSON.parse(parsed.data);
            } catch {
              data = parsed.data;
            }
            handlers.onEvent(parsed.event, data);
          }
        }
      } catch {
        // The connection broke (or we aborted): fall through to reconnect.
      }
      if (controller.signal.aborted) return;
      handlers.onState('retrying', 'the event stream ended');
      await sleep(delay, controller.signal);
    }
  };
  void run();
  return { close: () => controller.abort() };
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}
