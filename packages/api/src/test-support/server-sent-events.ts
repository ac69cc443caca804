// Test helpers for live updates: bounded waits on iterators, and a minimal reader of the
// text/event-stream a real HTTP subscription returns (Node 20 has no EventSource).

/** The next value of an iterator, or a failure naming what was awaited once the time is up. */
export async function nextWithin<T>(iterator: AsyncIterator<T>, what: string, timeoutMs = 5_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    const result = await Promise.race([iterator.next(), timeout]);
    if (result.done === true) throw new Error(`the stream ended while waiting for ${what}`);
    return result.value;
  } finally {
    clearTimeout(timer);
  }
}

export interface ServerSentEvent {
  event: string;
  data: string;
}

/** Parses a text/event-stream body into events (event and data fields; comments and ids ignored). */
export async function* readServerSentEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<ServerSentEvent> {
  let buffer = "";
  for await (const chunk of body.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    for (let boundary = buffer.indexOf("\n\n"); boundary !== -1; boundary = buffer.indexOf("\n\n")) {
      const block = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary + 2);
      let event = "message";
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice("event:".length).trim();
        else if (line.startsWith("data:")) data.push(line.slice("data:".length).trimStart());
      }
      if (data.length > 0 || event !== "message") yield { event, data: data.join("\n") };
    }
  }
}
