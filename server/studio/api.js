// The public API as the studio calls it: the API key (kept in
// sessionStorage, sent as Authorization: Bearer on /v1 calls), JSON and blob
// fetches, the multipart upload with progress, and problem+json errors.

const KEY_STORE = 'maskattn.apiKey';

export function apiKey() {
	return sessionStorage.getItem(KEY_STORE) || '';
}

export function setApiKey(key) {
	if (key)
		sessionStorage.setItem(KEY_STORE, key);
	else
		sessionStorage.removeItem(KEY_STORE);
}

export function authHeaders(headers = {}) {
	const key = apiKey();
	return key ? { ...headers, Authorization: `Bearer ${key}` } : { ...headers };
}

// An answer that is not 2xx, with its problem document (RFC 9457) or one
// made up from the status when the body is not one.
export class ApiError extends Error {
	constructor(status, problem, retryAfter = null) {
		super(problem.title || `HTTP ${status}`);
		this.status = status;
		this.problem = problem;
		this.retryAfter = retryAfter;
	}
}

function problemFrom(status, statusText, contentType, body) {
	if (/json/.test(contentType || '')) {
		try {
			const doc = JSON.parse(body);
			if (doc && typeof doc === 'object')
				return doc;
		} catch {
			// not JSON after all: described from the status below
		}
	}
	if (status === 0)
		return { title: 'The service cannot be reached', detail: 'check that maskattn is running and try again' };
	return { title: statusText || `HTTP ${status}`, status, detail: (body || '').slice(0, 300) };
}

async function errorOf(res) {
	const body = await res.text();
	return new ApiError(res.status, problemFrom(res.status, res.statusText,
		res.headers.get('Content-Type'), body), res.headers.get('Retry-After'));
}

// fetch() with the key; throws ApiError on a non-2xx answer or no answer.
export async function request(path, options = {}) {
	let res;
	try {
		res = await fetch(path, { ...options, headers: authHeaders(options.headers) });
	} catch (err) {
		if (err.name === 'AbortError')
			throw err;
		throw new ApiError(0, problemFrom(0));
	}
	if (!res.ok)
		throw await errorOf(res);
	return res;
}

export async function getJSON(path) {
	return (await request(path, { cache: 'no-store' })).json();
}

export async function postJSON(path) {
	return (await request(path, { method: 'POST' })).json();
}

export async function getBlob(path) {
	return (await request(path, { cache: 'no-store' })).blob();
}

// POSTs form (multipart) to path with XMLHttpRequest, which reports upload
// progress (onProgress(fraction)); resolves with the JSON answer.
export function upload(path, form, onProgress) {
	return new Promise((resolve, reject) => {
		const xhr = new XMLHttpRequest();
		xhr.open('POST', path);
		for (const [name, value] of Object.entries(authHeaders()))
			xhr.setRequestHeader(name, value);
		xhr.upload.onprogress = (ev) => {
			if (ev.lengthComputable)
				onProgress(ev.loaded / ev.total);
		};
		xhr.onload = () => {
			const type = xhr.getResponseHeader('Content-Type');
			if (xhr.status >= 200 && xhr.status < 300) {
				try {
					resolve(JSON.parse(xhr.responseText));
				} catch {
					reject(new ApiError(xhr.status, { title: 'The answer is not JSON' }));
				}
				return;
			}
			reject(new ApiError(xhr.status, problemFrom(xhr.status, xhr.statusText, type,
				xhr.responseText), xhr.getResponseHeader('Retry-After')));
		};
		xhr.onerror = () => reject(new ApiError(0, problemFrom(0)));
		xhr.send(form);
	});
}

// Renders a problem into el: title and status, detail, each errors[] entry
// as "field: message", and what to do for 401 and 429.
export function showProblem(el, problem, status, retryAfter = null) {
	el.replaceChildren();
	const title = document.createElement('strong');
	title.textContent = problem.title || 'Request failed';
	if (status)
		title.textContent += ` (${status})`;
	el.append(title);
	const lines = [];
	if (problem.detail)
		lines.push(problem.detail);
	if (status === 401)
		lines.push('Enter an API key at the top of the page.');
	if (status === 429 && retryAfter)
		lines.push(`The queue is full: try again in ${retryAfter} s.`);
	for (const text of lines) {
		const p = document.createElement('p');
		p.textContent = text;
		el.append(p);
	}
	if (Array.isArray(problem.errors) && problem.errors.length) {
		const list = document.createElement('ul');
		for (const e of problem.errors) {
			const item = document.createElement('li');
			const field = document.createElement('code');
			field.textContent = e.field || '(request)';
			item.append(field, `: ${e.message || ''}`);
			list.append(item);
		}
		el.append(list);
	}
	el.hidden = false;
}
