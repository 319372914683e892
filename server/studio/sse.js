// Server-Sent Events over fetch(): EventSource cannot send an Authorization
// header, so the stream is read with a ReadableStream reader and parsed here
// (the event-stream format of the HTML standard: event, data, id, retry and
// comment lines, events ended by a blank line, any of CRLF, LF or CR).

export class SSEParser {
	constructor(onEvent) {
		this.onEvent = onEvent;
		this.buffer = '';
		this.lastId = '';
		this.retry = null;
		this.type = '';
		this.data = [];
	}

	// Feeds decoded text; calls onEvent({type, data, id}) for each whole event.
	push(text) {
		this.buffer += text;
		for (;;) {
			const at = this.buffer.search(/[\r\n]/);
			if (at < 0)
				return;
			// A CR at the end of the text may be the first half of a CRLF.
			if (this.buffer[at] === '\r' && at === this.buffer.length - 1)
				return;
			const width = this.buffer.startsWith('\r\n', at) ? 2 : 1;
			const line = this.buffer.slice(0, at);
			this.buffer = this.buffer.slice(at + width);
			this.line(line);
		}
	}

	line(line) {
		if (line === '') {
			if (this.data.length)
				this.onEvent({ type: this.type || 'message', data: this.data.join('\n'), id: this.lastId });
			this.type = '';
			this.data = [];
			return;
		}
		if (line[0] === ':')
			return;
		const colon = line.indexOf(':');
		const field = colon < 0 ? line : line.slice(0, colon);
		let value = colon < 0 ? '' : line.slice(colon + 1);
		if (value[0] === ' ')
			value = value.slice(1);
		if (field === 'event')
			this.type = value;
		else if (field === 'data')
			this.data.push(value);
		else if (field === 'id' && !value.includes('\0'))
			this.lastId = value;
		else if (field === 'retry' && /^\d+$/.test(value))
			this.retry = Number(value);
	}
}

// The stream could not be opened (status 0 when the network failed).
export class StreamError extends Error {
	constructor(status, message) {
		super(message);
		this.status = status;
	}
}

// Reads the event stream at url until the server closes it, calling
// onEvent for each event. Rejects with a StreamError when the answer is not
// an event stream, or with the reader's error when the connection breaks.
export async function readEvents(url, { headers = {}, signal, onEvent }) {
	const res = await fetch(url, {
		headers: { ...headers, Accept: 'text/event-stream' },
		cache: 'no-store',
		signal,
	});
	const type = res.headers.get('Content-Type') || '';
	if (!res.ok || !type.startsWith('text/event-stream')) {
		// An error's body (a problem document) is read to its end; anything
		// else, which may not end, is dropped.
		await (res.ok ? res.body?.cancel() : res.text());
		throw new StreamError(res.status, `no event stream (HTTP ${res.status})`);
	}
	const parser = new SSEParser(onEvent);
	const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
	for (;;) {
		const { value, done } = await reader.read();
		if (done)
			return;
		parser.push(value);
	}
}
