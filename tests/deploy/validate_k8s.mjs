// Validates Kubernetes objects against the Kubernetes API schemas, offline.
//
// Usage: node validate_k8s.mjs DOCS.json
//   DOCS.json: [{"source": "file.yaml#0", "doc": {...}}, ...] (the YAML documents,
//   already parsed; tests/deploy/test_k8s.py writes it).
// Prints one JSON object: {"results": [{"source", "kind", "errors": [...]}, ...]};
// exits 1 when any document has an error, 2 on bad usage.
//
// Two checks per document, both generated from the Kubernetes OpenAPI definitions by
// the pinned kubernetes-models package:
//   1. schema: the model's JSON-schema validator (types, required fields, enums,
//      formats such as int-or-string and quantities);
//   2. strict: the document as a TypeScript object literal typed with the model's
//      interface and type-checked with the pinned compiler, which rejects properties
//      the API does not define at any depth (what `kubeconform -strict` or
//      `kubectl --validate=strict` reject), as well as missing required ones.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const here = path.dirname(fileURLToPath(import.meta.url));

// apiVersion "apps/v1", kind "Deployment" -> "kubernetes-models/apps/v1/Deployment";
// the core group ("v1") is "kubernetes-models/v1/Kind".
function modelPath(apiVersion, kind) {
	if (typeof apiVersion !== "string" || typeof kind !== "string" || !/^[A-Za-z0-9]+$/.test(kind))
		return null;
	if (!/^([a-z0-9.-]+\/)?v[0-9a-z]+$/.test(apiVersion))
		return null;
	return `kubernetes-models/${apiVersion}/${kind}`;
}

async function schemaErrors(entry) {
	const { apiVersion, kind } = entry.doc;
	const mod = modelPath(apiVersion, kind);
	if (!mod)
		return [`no Kubernetes API type for apiVersion ${apiVersion} kind ${kind}`];
	let Model;
	try {
		Model = (await import(mod))[kind];
	} catch {
		Model = undefined;
	}
	if (typeof Model !== "function")
		return [`no Kubernetes API type for apiVersion ${apiVersion} kind ${kind}`];
	try {
		new Model(entry.doc).validate();
		return [];
	} catch (err) {
		const details = err.errors || err.details;
		if (Array.isArray(details) && details.length)
			return details.map((e) => `${e.instancePath || "/"} ${e.message}${e.params ? " " + JSON.stringify(e.params) : ""}`);
		return [String(err.message || err)];
	}
}

// One in-memory TypeScript file holding every typed document; diagnostics are mapped
// back to documents by line.
function strictErrors(entries) {
	const file = path.join(here, "__manifests__.ts");
	const lines = [];
	const owner = [];
	entries.forEach((entry, i) => {
		const mod = modelPath(entry.doc.apiVersion, entry.doc.kind);
		if (!mod)
			return;
		const body = `import type { I${entry.doc.kind} as T${i} } from ${JSON.stringify(mod)};\n` +
			`export const doc${i}: T${i} = ${JSON.stringify(entry.doc, null, 1)};\n`;
		for (const _ of body.split("\n"))
			owner.push(i);
		lines.push(body);
	});
	const text = lines.join("");
	const options = {
		strict: true,
		noEmit: true,
		target: ts.ScriptTarget.ES2022,
		module: ts.ModuleKind.NodeNext,
		moduleResolution: ts.ModuleResolutionKind.NodeNext,
		skipLibCheck: true,
		types: [],
	};
	const host = ts.createCompilerHost(options);
	const getSourceFile = host.getSourceFile.bind(host);
	host.getSourceFile = (name, lang, ...rest) =>
		path.resolve(name) === file ? ts.createSourceFile(name, text, lang, true) : getSourceFile(name, lang, ...rest);
	const fileExists = host.fileExists.bind(host);
	host.fileExists = (name) => path.resolve(name) === file || fileExists(name);
	const readFile = host.readFile.bind(host);
	host.readFile = (name) => (path.resolve(name) === file ? text : readFile(name));
	const program = ts.createProgram([file], options, host);
	const out = entries.map(() => []);
	for (const d of ts.getPreEmitDiagnostics(program)) {
		const msg = ts.flattenDiagnosticMessageText(d.messageText, "\n").split("\n")
			.map((s) => s.trim()).filter(Boolean);
		if (d.file && path.resolve(d.file.fileName) === file && d.start !== undefined) {
			const { line } = d.file.getLineAndCharacterOfPosition(d.start);
			const near = text.split("\n")[line].trim();
			// The last line of a chain names the property or value at fault.
			out[owner[line]].push(`strict: ${msg[msg.length - 1]} (at ${near})`);
		} else {
			out.forEach((errs) => errs.push(`strict: ${msg.join(" ")}`));
		}
	}
	return out;
}

async function main() {
	if (process.argv.length !== 3) {
		console.error("usage: node validate_k8s.mjs DOCS.json");
		process.exit(2);
	}
	const entries = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
	const strict = strictErrors(entries);
	const results = [];
	for (const [i, entry] of entries.entries()) {
		const errors = [...(await schemaErrors(entry)), ...strict[i]];
		results.push({ source: entry.source, kind: `${entry.doc.apiVersion}/${entry.doc.kind}`, errors });
	}
	console.log(JSON.stringify({ results }, null, 1));
	process.exit(results.some((r) => r.errors.length) ? 1 : 0);
}

main().catch((err) => {
	console.error(err.stack || String(err));
	process.exit(2);
});
