// Validates an OpenAPI document with @apidevtools/swagger-parser (which
// checks it against the OpenAPI 3.1 schema and resolves every $ref).
// Usage: node validate.js FILE. Prints the API's title and version, or the
// error, and exits non-zero on an invalid document.
"use strict";
const SwaggerParser = require("@apidevtools/swagger-parser");

async function main(file) {
	const api = await SwaggerParser.validate(file);
	console.log(`valid: ${api.info.title} ${api.info.version} (OpenAPI ${api.openapi})`);
}

main(process.argv[2]).catch((err) => {
	console.error(`invalid: ${err.message}`);
	process.exit(1);
});
