// Usage: node subscribe.mjs <ws-url> <access-token> <query> [results-wanted]
// Subscribes with the reference graphql-transport-ws client and prints one JSON line per thing
// that happens (connected, next, error, complete, closed); exits after `results-wanted` results
// (default 1), or when the operation or the connection ends.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [url, token, query, wanted = '1'] = process.argv.slice(2);
const print = (line) => console.log(JSON.stringify(line));

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: { Authorization: `Bearer ${token}` },
  retryAttempts: 0,
  on: {
    connected: () => print({ event: 'connected' }),
    closed: (event) => print({ event: 'closed', code: event.code, reason: event.reason }),
  },
});

let results = 0;
await new Promise((resolve) => {
  const unsubscribe = client.subscribe(
    { query },
    {
      next: (result) => {
        print({ event: 'next', result });
        if (++results >= Number(wanted)) {
          unsubscribe();
          resolve();
        }
      },
      error: (error) => {
        const detail = Array.isArray(error)
          ? error
          : { code: error?.code, reason: error?.reason, message: error?.message };
        print({ event: 'error', error: detail });
        resolve();
      },
      complete: () => {
        print({ event: 'complete' });
        resolve();
      },
    },
  );
});
await client.dispose();
