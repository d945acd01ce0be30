/**
 * Regenerates what is made from schema.ts: templates/deploy.schema.json and the reference part
 * of docs/configuration.md:
 *   npm run build && node dist/config/write-schema.js
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { JSON_SCHEMA_PATH, renderJsonSchema } from './json-schema.js';
import { REFERENCE_PATH, withConfigReference } from './reference.js';

export async function writeJsonSchema(file: string = JSON_SCHEMA_PATH): Promise<string> {
  await writeFile(file, renderJsonSchema());
  return file;
}

export async function writeConfigReference(file: string = REFERENCE_PATH): Promise<string> {
  await writeFile(file, withConfigReference(await readFile(file, 'utf8')));
  return file;
}

const runAsScript = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (runAsScript) {
  for (const written of [await writeJsonSchema(), await writeConfigReference()]) {
    process.stdout.write(`wrote ${path.relative(process.cwd(), written)}\n`);
  }
}
